"""The real phone photo test1.jpg: "a b c d e f g h i j k" handwritten in one line on beige paper.

Expected text: "abcdefghijk".  The writer left a gap after every letter, and the
gaps are all alike (3 to 54 px, median 30 px at 1600x1200; e and f almost touch),
so no gap is clearly (2x) wider than the line's typical gap: by the spacing rule
the eleven letters are one word.
"""
import os

import numpy as np
import pytest
from conftest import letters_classifier
from PIL import Image

from hdl_native.models import LettersCNN
from hdl_native.ocr import read_page
from hdl_native.ocr.boxes import find_glyphs
from hdl_native.ocr.image_io import load_photo
from hdl_native.ocr.language import DEFAULT_LANGUAGE, load_language
from hdl_native.ocr.lighting import ink_map, ink_mask
from hdl_native.ocr.recognize import LetterClassifier

# where each letter's ink is centred in the 1600x1200 photo (read off the picture by eye)
LETTER_CENTRES = {"a": (512, 388), "b": (485, 504), "c": (496, 636), "d": (472, 753), "e": (476, 860),
                  "f": (471, 934), "g": (495, 1028), "h": (468, 1113), "i": (478, 1167), "j": (486, 1216),
                  "k": (473, 1269)}
LETTERS = [chr(ord("a") + i) for i in range(26)]


def photo_path(data_root):
    path = data_root / "realworld" / "test1.jpg"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return path


def test_all_eleven_letters_are_boxed_in_one_line(data_root):
    photo = load_photo(photo_path(data_root))
    _, glyph_lines = find_glyphs(ink_mask(ink_map(photo.grey, photo.rgb)))
    assert len(glyph_lines) == 1
    glyphs = glyph_lines[0]
    assert len(glyphs) == 11
    for glyph, (letter, (row, column)) in zip(glyphs, LETTER_CENTRES.items()):
        assert glyph.top <= row < glyph.bottom and glyph.left <= column < glyph.right, letter


@pytest.mark.xfail(strict=False, reason="target not met: the shipped reader (trained on four letter sets, issue 13) "
                   "reads 7/11 of this writer's letters ('?lcdefzhik'): the a, written with a tail, unsure (u or "
                   "o), the b (with its lead-in stroke) read as l, the g as z, and the undotted j answered 'other'")
def test_all_eleven_letters_are_read(data_root):
    classifier = letters_classifier(os.environ.get("HDL_OCR_MODEL"))
    result = read_page(photo_path(data_root), classifier, language=load_language(DEFAULT_LANGUAGE))  # as `ocr` reads
    readings = [f"{r.letter}:{r.confidence:.2f}" for line in result.lines for r in line]
    print("\n" + " ".join(readings))
    assert result.texts == ["abcdefghijk"], readings


def test_twelve_megapixel_photo_is_processed(data_root, tmp_path):
    upscaled = Image.open(photo_path(data_root)).resize((4000, 3000), Image.Resampling.BICUBIC)
    upscaled.save(tmp_path / "big.jpg", quality=90)
    classifier = LetterClassifier(LettersCNN(seed=0).eval(), LETTERS, 0.172575, 0.25)
    result = read_page(tmp_path / "big.jpg", classifier)
    assert result.photo.original_size == (4000, 3000) and max(result.photo.grey.shape) <= 2000
    assert [len(line) for line in result.lines] == [11]
    for reading, (row, column) in zip(result.lines[0], LETTER_CENTRES.values()):
        top, bottom, left, right = reading.box  # in the 4000x3000 picture's pixels
        assert top <= row * 2.5 < bottom and left <= column * 2.5 < right
    assert np.isfinite(sum(result.timings.values()))


@pytest.mark.parametrize("change", ["rotate -5", "rotate 4", "shadow", "low contrast", "grainy", "half size"])
def test_the_eleven_boxes_survive_a_worse_photo(data_root, tmp_path, change):
    photo = Image.open(photo_path(data_root)).convert("RGB")
    pixels = np.asarray(photo, np.float32)
    if change.startswith("rotate"):
        photo = photo.rotate(float(change.split()[1]), resample=Image.Resampling.BICUBIC, fillcolor=(150, 145, 130))
    elif change == "shadow":  # the right side gets only 35% of the light
        photo = Image.fromarray((pixels * np.linspace(1, 0.35, photo.width)[None, :, None]).astype(np.uint8))
    elif change == "low contrast":
        photo = Image.fromarray((pixels.mean() + 0.4 * (pixels - pixels.mean())).clip(0, 255).astype(np.uint8))
    elif change == "grainy":
        noise = np.random.default_rng(0).normal(0, 12, pixels.shape)
        photo = Image.fromarray((pixels + noise).clip(0, 255).astype(np.uint8))
    elif change == "half size":
        photo = photo.resize((800, 600), Image.Resampling.LANCZOS)
    photo.save(tmp_path / "worse.jpg", quality=85)
    loaded = load_photo(tmp_path / "worse.jpg")
    _, glyph_lines = find_glyphs(ink_mask(ink_map(loaded.grey, loaded.rgb)))
    assert [len(line) for line in glyph_lines] == [11]
