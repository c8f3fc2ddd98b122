"""int8 inference of the letters network: uint8 activations, int8 weights, int32 accumulation.

``Int8Classifier.from_float(model, calibration_images)`` quantises a trained letter reader (LettersCNN or LettersVGG);
``logits(images)`` then runs it on the native int8 kernels (pyx/int8.pyx).
"""
from .runner import Int8Classifier

__all__ = ["Int8Classifier"]
