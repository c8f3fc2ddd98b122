"""Quantised weights: a model's weight tensors stored as n-bit codes (8, 4 or 2 bits), the tutorial's chapter 7.

- packing.py: n-bit codes bit-packed into bytes and back.
- schemes.py: the two ways of turning float32 weights into codes (equal-population bins, linear symmetric).
- state.py: a quantised state file (a checkpoint with a "quantized" section) written from a float one.

checkpoint.py dequantises a quantised state when it reads one (``dequantize_section`` in schemes.py), so
every reader of state files (evaluate, ocr, the Python API) gets an ordinary float32 model.
"""
