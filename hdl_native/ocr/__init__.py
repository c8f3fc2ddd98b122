"""Reading handwritten letters in photos: the tutorial's chapter 8, done for real photos.

The stages live in their own modules and run in this order (`pipeline.read_page` ties them together):

1. image_io: load any photo (EXIF orientation, a working size of 1,600 to 2,000 px, light writing on a dark
   ground swapped), or a page of a PDF or TIFF scan (`read_page(..., page=2)`; `page_count` says how many), turned
   as asked (`read_page(..., turn=90)`, or "auto" to try every way up: orientation);
2. lighting: the paper under the ink and the ink as darkness relative to it, on the sheet alone where the paper
   lies on a desk (sheet), with the printed lines of ruled or squared paper taken out (rules);
3. deskew and deslant: a photo held askew turned straight, writing that leans sheared upright;
4. boxes: one box per character, in text lines found straight (lines) or followed where they wander (tracks),
   letters joined by a faint bridge cut apart (bridges), wide marks offered cut in several ways;
5. crops: each character in a 28x28 frame, as the training letters were made;
6. recognize: every crop of a line classified in one batch, each mark's cut chosen, word_cuts: a word's touching
   letters cut as its language reads best;
7. zones, sizes, words, language: where a glyph sits in its line, how big it is, the word it stands in and the
   language it is written in weigh the network's readings; digits: of the glyphs left out as 'other', those a
   second network reads as digits printed (`read_page(..., digits=load_digit_reader())`);
8. render: the photo with its boxes and letters (boxed.png), the crops as pictures; user_crops: `--crops DIR`
   and the corrected labels `letters --finetune DIR` reads back; model: which network reads the crops.

    from hdl_native.ocr import read_page
    from hdl_native.ocr.language import load_language
    from hdl_native.ocr.model import load_letter_classifier
    result = read_page("photo.jpg", load_letter_classifier(), language=load_language("english"))
    print(result.text)
"""
from .image_io import page_count
from .pipeline import OcrResult, read_page

__all__ = ["OcrResult", "page_count", "read_page"]
