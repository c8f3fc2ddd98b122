"""Reading handwritten letters in photos: the tutorial's chapter 8, done for real photos.

The stages live in their own modules and run in this order:
image_io (load and downscale) -> lighting (ink map, paper white) -> lines (text lines)
-> boxes (one box per character) -> crops (28x28 like the training letters)
-> recognize (one batch per line) -> render (boxed.png).  `pipeline.read_page`
ties them together.
"""
from .pipeline import OcrResult, read_page

__all__ = ["OcrResult", "read_page"]
