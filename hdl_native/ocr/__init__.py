"""Reading handwritten letters in photos: the tutorial's chapter 8, done for real photos.

The stages live in their own modules and run in this order:
image_io (load, bring to a working size of 1,600 to 2,000 px, and turn: `read_page(..., turn=90)`, or "auto"
to try every way up as orientation.py does) -> lighting (ink map, paper white) -> lines (text lines)
-> boxes (one box per character) -> crops (28x28 like the training letters)
-> recognize (one batch per line) -> word_cuts (a word's touching letters cut as
its language reads best) -> the line's zones, sizes and words weigh the
readings (zones, sizes, words) -> language (words read as English where they look
like it) -> render (boxed.png).  `pipeline.read_page` ties them together:

    from hdl_native.ocr import read_page
    from hdl_native.ocr.language import load_language
    from hdl_native.ocr.model import load_letter_classifier
    result = read_page("photo.jpg", load_letter_classifier(), language=load_language("english"))
    print(result.text)
"""
from .pipeline import OcrResult, read_page

__all__ = ["OcrResult", "read_page"]
