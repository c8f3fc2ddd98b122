"""Quantised weights: a model's weight tensors stored as n-bit codes (8, 4 or 2 bits), the tutorial's chapter 7.

- packing.py: n-bit codes bit-packed into bytes and back.
- schemes.py: the two ways of turning float32 weights into codes (equal-population bins, linear symmetric).
- section.py: the "quantized" section of a state file, and reading it back as float32 parameters.
- state.py: a quantised state file written from a float32 one (``quantize_state``).

checkpoint.py dequantises a quantised state as it reads one (section.dequantized_params), so every reader
of state files (evaluate, ocr, hdl_native.checkpoint.load_model) gets an ordinary float32 model.
"""
