"""The writing on a sheet's back showing through does not join the front's letters into one mark (show_through.py),
and photos without it, or grainy ones, are masked as before."""
import numpy as np
import pytest
from PIL import Image, ImageDraw
from scipy import ndimage

from hdl_native.ocr import lighting, show_through
from hdl_native.ocr.lighting import ink_map, ink_mask

LETTERS = 12
PAPER, INK = 225, 60


def front_darkness():
    """(H, W) float32 darkness 0..1 of a row of LETTERS o's 16 px apart, pen 3 px: the sheet's front."""
    image = Image.fromarray(np.zeros((200, 1000), np.uint8))
    draw = ImageDraw.Draw(image)
    for letter in range(LETTERS):
        left = 40 + 76 * letter
        draw.ellipse((left, 70, left + 60, 110), outline=255, width=3)
    return np.asarray(image, np.float32) / 255


def back_darkness():
    """(H, W) float32 darkness 0..1 of the back's writing as the front shows it: strokes across the whole row,
    the front's own row mirrored and a wavy line through it, softened by the paper (a Gaussian of 2 px)."""
    image = Image.fromarray(np.zeros((200, 1000), np.uint8))
    draw = ImageDraw.Draw(image)
    draw.line([(x, 90 + 12 * np.sin(x / 23)) for x in range(20, 980, 4)], fill=255, width=4)
    back = np.asarray(image, np.float32) / 255
    return ndimage.gaussian_filter(np.maximum(back, front_darkness()[:, ::-1]), 2.0)


def photo(show_through_share, grain=0.0):
    """(H, W) float32 grey 0..1: the front on paper whose back darkens it by up to `show_through_share` of the
    ink, with Gaussian grain of sd `grain` (seeded)."""
    paper = PAPER * (1 - show_through_share * (1 - INK / PAPER) * back_darkness())
    grey = paper * (1 - front_darkness()) + INK * front_darkness()
    grey = grey / 255 + np.random.default_rng(0).normal(0, grain, paper.shape)
    return np.clip(grey, 0, 1).astype(np.float32)


def marks(grey):
    return count(ink_mask(ink_map(grey)))


def count(mask):
    """Marks of an ink mask, joined as ink_mask joins its pixels (diagonal neighbours too)."""
    return ndimage.label(mask, structure=np.ones((3, 3), bool))[1]


def as_before(monkeypatch):
    monkeypatch.setattr(lighting, "without_the_back", lambda candidate, strong, smoothed: candidate)


def test_the_back_showing_through_does_not_join_the_letters(monkeypatch):
    grey = photo(0.3)
    assert marks(grey) == LETTERS
    as_before(monkeypatch)
    assert marks(grey) <= LETTERS - 4  # the back's line ties o's together


def test_a_photo_without_a_back_showing_is_masked_as_before(monkeypatch):
    grey = photo(0.0)
    mask = ink_mask(ink_map(grey))
    as_before(monkeypatch)
    assert np.array_equal(mask, ink_mask(ink_map(grey)))
    assert count(mask) == LETTERS


def test_a_grainy_photo_is_masked_as_before(monkeypatch):
    grey = photo(0.3, grain=0.08)
    ink = ink_map(grey)
    assert ink.smoothed
    mask = ink_mask(ink)
    as_before(monkeypatch)
    assert np.array_equal(mask, ink_mask(ink))


def test_only_pixels_far_from_strong_ink_are_left_out():
    ink = np.zeros((30, 60), np.float32)
    ink[10:20, 5:8] = 0.9  # a strong stroke
    ink[14:16, 8:55] = 0.2  # a faint line from it, far longer than a soft edge
    strong = ink > 0.5
    candidate = ink > 0.1
    kept = show_through.without_the_back(candidate, strong, smoothed=False)
    assert kept[:, :8].sum() == candidate[:, :8].sum()  # the stroke whole
    last = 7 + int(show_through.REACH)  # the stroke's last column, and as far as its soft edge reaches
    assert kept[14, last] and not kept[14, last + 1:].any()
    short = ink.copy()
    short[14:16, 12:] = 0  # a faint tail whose far pixels are fewer than FAR_SHARE: kept
    assert np.array_equal(show_through.without_the_back(short > 0.1, short > 0.5, smoothed=False), short > 0.1)


@pytest.mark.parametrize("radius", range(7))
def test_within_disc_is_the_dilation_by_that_disc(radius):
    rows, columns = np.mgrid[-radius:radius + 1, -radius:radius + 1]
    disc = rows ** 2 + columns ** 2 <= radius ** 2
    rng = np.random.default_rng(radius)
    for shape in [(1, 1), (3, 5), (40, 37), (9, 2)]:
        for share in (0.01, 0.1, 0.5):
            mask = rng.random(shape) < share
            np.testing.assert_array_equal(show_through.within_disc(mask, radius),
                                          ndimage.binary_dilation(mask, structure=disc), err_msg=f"{shape} {share}")
