"""Writing that leans: the page's slant is measured, the ink sheared upright, and the boxes found on it sheared
back onto the photo around their ink."""
import numpy as np
import pytest
from conftest import letters_classifier
from PIL import Image, ImageDraw

from hdl_native.ocr.deslant import page_slant, upright
from hdl_native.ocr.lighting import InkMap


def leaning_letters(degrees, width=1200, height=700, rows=4, columns=18, letter="n"):
    """(H, W) bool: rows of letters 40 px tall leaning by `degrees` (positive: their tops to the right), n-shaped
    (two strokes and a bar across their tops) or L-shaped (a stroke and a foot), and [(top, bottom, left, right)]
    the box of each."""
    picture = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(picture)
    lean = np.tan(np.deg2rad(degrees)) * 40
    boxes = []
    for row in range(rows):
        for column in range(columns):
            left, bottom = 120 + column * 50, 180 + row * 110
            if letter == "n":
                for x in (left, left + 20):  # the two strokes, from the foot up to the top
                    draw.line([(x, bottom), (x + lean, bottom - 40)], fill=255, width=4)
                draw.line([(left + lean, bottom - 40), (left + 20 + lean, bottom - 40)], fill=255, width=4)
                xs = [left, left + 20, left + lean, left + 20 + lean]
            else:
                draw.line([(left, bottom), (left + lean, bottom - 40)], fill=255, width=4)
                draw.line([(left, bottom), (left + 20, bottom)], fill=255, width=4)
                xs = [left, left + 20, left + lean]
            boxes.append((bottom - 42, bottom + 2, min(xs) - 2, max(xs) + 2))
    return np.asarray(picture) > 0, boxes


@pytest.mark.parametrize("degrees", [-25.0, 20.0, 35.0])
def test_the_slant_of_leaning_letters_is_measured_with_its_sign(degrees):
    mask, _ = leaning_letters(degrees)
    assert page_slant(mask) == pytest.approx(degrees, abs=1.0)


def test_upright_letters_have_no_slant():
    mask, _ = leaning_letters(0.0)
    assert page_slant(mask) == 0.0


def test_the_sheared_ink_stands_upright_and_its_boxes_shear_back_around_the_letters():
    """An L leaning by 30 degrees: its upright box sheared back is a parallelogram half again as wide as the L,
    whose top is one stroke; the box around its ink sheared back is the L's own."""
    mask, boxes = leaning_letters(30.0, letter="L")
    ink = InkMap(mask.astype(np.float32) * 0.8, low=0.1, high=0.3, noise=0.01)
    sheared, sheared_mask, uprighting = upright(ink, mask, page_slant(mask))
    assert sheared.low == ink.low and sheared.high == ink.high
    assert sheared_mask.shape == sheared.ink.shape and sheared_mask.sum() == pytest.approx(mask.sum(), rel=0.05)
    assert abs(page_slant(sheared_mask)) <= 1.0  # upright now
    # the first letter's ink on the sheared picture, its box sheared back: the letter's own box in the photo
    ys, xs = np.nonzero(sheared_mask)
    first = (ys < ys.min() + 45) & (xs < xs[ys < ys.min() + 45].min() + 30)
    box = (ys[first].min(), ys[first].max() + 1, xs[first].min(), xs[first].max() + 1)
    top, bottom, left, right = uprighting.box_back(*box)
    true_top, true_bottom, true_left, true_right = boxes[0]
    assert abs(top - true_top) <= 3 and abs(bottom - true_bottom) <= 3
    assert abs(left - true_left) <= 4 and abs(right - true_right) <= 4


def test_a_photo_read_upright_says_by_how_much(tmp_path):
    from hdl_native.ocr import read_page
    classifier = letters_classifier()
    mask, boxes = leaning_letters(25.0, rows=2, columns=8)
    path = tmp_path / "leaning.png"
    Image.fromarray(np.where(mask, 30, 235).astype(np.uint8)).save(path)
    result = read_page(path, classifier)
    assert result.slant == pytest.approx(25.0, abs=1.0)
    assert result.as_dict()["slant"] == pytest.approx(25.0, abs=1.0)
    found = [reading.box for line in result.lines for reading in line]
    assert len(found) == len(boxes)
    for (top, bottom, left, right), (true_top, true_bottom, true_left, true_right) in zip(found, boxes):
        assert abs(left - true_left) <= 4 and abs(right - true_right) <= 4  # on the leaning letter, not beside it
