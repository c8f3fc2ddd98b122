"""A photo held askew: the page's skew is measured over a wide range, the ink map turned straight, and the boxes
found on it turned back onto the photo."""
import numpy as np
import pytest
from conftest import letters_classifier
from PIL import Image, ImageDraw

from hdl_native.ocr.deskew import page_skew, straightened
from hdl_native.ocr.lighting import InkMap


def text_rows(degrees, width=1200, height=800):
    """(H, W) bool: five rows of letter-sized blocks turned by `degrees` (positive: the rows rise to the right)."""
    picture = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(picture)
    for row in range(5):
        for column in range(20):
            left, top = 150 + column * 45, 200 + row * 80
            draw.rectangle((left, top, left + 25, top + 40), fill=255)
    return np.asarray(picture.rotate(degrees, resample=Image.Resampling.NEAREST)) > 0


@pytest.mark.parametrize("degrees", [-20.0, -7.5, 0.0, 12.0, 25.0])
def test_the_skew_of_rows_of_letters_is_measured_with_its_sign(degrees):
    assert page_skew(text_rows(degrees)) == pytest.approx(degrees, abs=0.3)


def test_too_little_ink_tells_no_skew():
    mask = np.zeros((400, 400), bool)
    mask[100:110, 50:60] = True
    assert page_skew(mask) == 0.0


def test_the_turned_ink_is_straight_and_its_boxes_turn_back_onto_the_photo():
    mask = text_rows(12.0)
    ink = InkMap(mask.astype(np.float32) * 0.8, low=0.1, high=0.3, noise=0.01)
    turned, straightening = straightened(ink, page_skew(mask))
    assert turned.low == ink.low and turned.high == ink.high
    assert abs(page_skew(turned.ink > turned.low)) <= 0.3  # straight now
    assert turned.ink.shape[0] > mask.shape[0] and turned.ink.shape[1] > mask.shape[1]  # nothing cut off
    assert turned.ink.min() >= 0 and turned.ink.max() <= 1
    # one block of the turned ink, its box turned back, lands on the same block in the photo
    ys, xs = np.nonzero(turned.ink > turned.low)
    top = ys.min()
    first = (ys <= top + 40) & (xs <= xs[ys <= top + 40].min() + 25)
    box = (ys[first].min(), ys[first].max() + 1, xs[first].min(), xs[first].max() + 1)
    back_top, back_bottom, back_left, back_right = straightening.box_back(*box)
    inside = mask[int(back_top):int(np.ceil(back_bottom)), int(back_left):int(np.ceil(back_right))]
    assert inside.sum() >= 25 * 40 * 0.9  # the block (26 x 41 px) lies within the box turned back
    assert (back_bottom - back_top) < 41 * 1.5 and (back_right - back_left) < 26 * 2.5



def wavy_rows(wave, seed, width=1200, height=800):
    """(H, W) bool: five rows of letter-sized blocks 40 px tall whose baselines wander up and down by `wave` x 40
    px along a sine of their own (a hand writing on unruled paper), the page itself straight."""
    rng = np.random.default_rng(seed)
    picture = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(picture)
    for row in range(5):
        period, phase = rng.uniform(0.6, 1.2) * width, rng.uniform(0, 2 * np.pi)
        for column in range(20):
            left = 150 + column * 45
            top = 200 + row * 80 + wave * 40 * np.sin(2 * np.pi * left / period + phase)
            draw.rectangle((left, top, left + 25, top + 40), fill=255)
    return np.asarray(picture) > 0


@pytest.mark.parametrize("seed", range(4))
def test_wandering_baselines_on_a_straight_page_are_not_turned(seed):
    """Their sharpest angle may lie beyond DESKEW_FROM_DEGREES by chance (here 4 to 7.7 degrees), but it sharpens
    the rows no more than the best angle within it: no skew to straighten."""
    assert page_skew(wavy_rows(0.6, seed)) == 0.0


def test_a_photo_read_straightened_says_by_how_much(tmp_path):
    from hdl_native.ocr import read_page
    classifier = letters_classifier()
    blocks = text_rows(12.0)
    path = tmp_path / "askew.png"
    Image.fromarray(np.where(blocks, 30, 225).astype(np.uint8)).save(path)
    result = read_page(path, classifier, turn=0)  # blocks are no letters: which way up reads them surest is moot
    assert result.skew == pytest.approx(12.0, abs=0.3)
    assert result.as_dict()["skew"] == pytest.approx(12.0, abs=0.3)
    top, bottom, left, right = result.lines[0][0].box  # the first block of the top row, in the photo's pixels
    assert blocks[top:bottom, left:right].sum() >= 0.9 * 26 * 41
