"""A photo out of focus: its blur is measured from the writing's edges, and where it is soft enough the ink map is
sharpened so letters the blur ran together come apart (a grainy photo after its smoothing, its grain cored out);
sharp photos are left as they are."""
import numpy as np
from PIL import Image, ImageDraw, ImageFilter
from scipy import ndimage

from hdl_native.ocr import focus, lighting
from hdl_native.ocr.lighting import ink_map, ink_mask

PAIRS = 12


def written_row(blur, gap=8, pen=3):
    """A light page with PAIRS pairs of an o (26 px wide, 40 tall) and an l `gap` px to its right, pen `pen` px,
    blurred by a Gaussian of `blur` px as an out-of-focus photo: (H, W) float32 grey in 0..1."""
    image = Image.fromarray(np.full((200, 1000), 225, np.uint8))
    draw = ImageDraw.Draw(image)
    for pair in range(PAIRS):
        left = 40 + 70 * pair
        draw.ellipse((left, 70, left + 26, 110), outline=60, width=pen)
        draw.line((left + 26 + gap + pen // 2, 60, left + 26 + gap + pen // 2, 110), fill=60, width=pen)
    if blur:
        image = image.filter(ImageFilter.GaussianBlur(blur))
    return np.asarray(image, np.float32) / 255


def marks(grey):
    return ndimage.label(ink_mask(ink_map(grey)))[1]


def unsharpened(monkeypatch):
    monkeypatch.setattr(lighting, "in_focus", lambda ink, above, writing: (ink, 0.0))


def measured_blur(grey, monkeypatch):
    """focus.blur_sigma of a photo's ink map, as ink_map measures it (whether or not it then sharpens)."""
    measured = []

    def measuring(ink, above, writing):
        measured.append(focus.blur_sigma(ink, above, writing))
        return focus.in_focus(ink, above, writing)

    with monkeypatch.context() as patched:
        patched.setattr(lighting, "in_focus", measuring)
        ink_map(grey)
    (blur,) = measured
    return blur


def test_the_measured_blur_grows_with_the_blur(monkeypatch):
    measured = [measured_blur(written_row(blur), monkeypatch) for blur in (0, 1.5, 2.5, 3.5)]
    assert measured[0] < focus.MIN_BLUR
    assert measured == sorted(measured) and measured[-1] > focus.MIN_BLUR
    # a sharp drawing's strokes are sharper than a page photo's (SHARP_SOFTNESS), so its blur measures lower
    assert measured[-1] < 3.5


def test_letters_run_together_by_the_blur_come_apart(monkeypatch):
    grey = written_row(blur=2.5)
    assert marks(grey) == 2 * PAIRS
    unsharpened(monkeypatch)
    assert marks(grey) == PAIRS  # without sharpening each o and its l are one mark


def test_a_sharp_photo_is_read_as_it_is(monkeypatch):
    for blur in (0, 1.0):
        grey = written_row(blur)
        ink = ink_map(grey)
        unsharpened(monkeypatch)
        before = ink_map(grey)
        monkeypatch.undo()
        assert np.array_equal(ink.ink, before.ink) and (ink.low, ink.high) == (before.low, before.high)


def grainy(grey, sd=0.06):
    """The photo with Gaussian grain of `sd` (0..1 grey) added, seeded: one taken in poor light."""
    return np.clip(grey + np.random.default_rng(0).normal(0, sd, grey.shape).astype(np.float32), 0, 1)


def test_a_grainy_photo_out_of_focus_is_sharpened_after_its_smoothing(monkeypatch):
    grey = grainy(written_row(blur=3.0, gap=10))
    ink = ink_map(grey)
    assert ink.blur > focus.GRAINY_MIN_BLUR - lighting.DENOISE_SIGMA  # the photo's blur, without the smoothing
    parted = ndimage.label(ink_mask(ink))[1]
    monkeypatch.setattr(lighting, "grainy_in_focus", lambda ink, *args: (ink, 0.0))
    joined = ndimage.label(ink_mask(ink_map(grey)))[1]
    assert joined <= PAIRS + 1 and parted >= joined + 4  # without it nearly every o and its l are one mark


def test_a_grainy_photo_in_focus_is_read_as_it_is(monkeypatch):
    for blur in (0, 1.0):
        grey = grainy(written_row(blur))
        ink = ink_map(grey)
        monkeypatch.setattr(lighting, "grainy_in_focus", lambda ink, *args: (ink, 0.0))
        before = ink_map(grey)
        monkeypatch.undo()
        assert ink.blur == 0.0 and np.array_equal(ink.ink, before.ink)
        assert (ink.low, ink.high) == (before.low, before.high)
        assert ndimage.label(ink_mask(ink))[1] == 2 * PAIRS


def test_the_grain_is_cored_out_of_the_sharpening():
    ink = np.full((40, 40), 0.2, np.float32)  # grey enough that the grain is not clipped at 0
    ink[10:30, 18:22] = 0.6
    grainy_ink = ink + np.random.default_rng(1).normal(0, 0.01, ink.shape).astype(np.float32)
    cored = focus.sharpened(grainy_ink, 2.0, spread_of=lambda differences: 0.01)
    plain = focus.sharpened(grainy_ink, 2.0)
    paper = np.s_[:, :10]  # far from the stroke: grain only
    changed_by = [np.abs(sharp[paper] - grainy_ink[paper]).mean() for sharp in (cored, plain)]
    assert changed_by[0] < changed_by[1] / 5  # the grain, within two spreads of its own, sharpened no longer
    assert cored[20, 20] > 0.7  # the stroke still is
    unchanged = focus.sharpened(grainy_ink, 2.0, spread_of=lambda differences: 1.0)
    assert np.array_equal(unchanged, grainy_ink)  # every difference cored out: nothing changes


def test_sharpening_keeps_the_ink_map_in_range():
    ink = np.zeros((40, 40), np.float32)
    ink[10:30, 18:22] = 0.9
    sharp = focus.sharpened(ink, 2.0)
    assert sharp.dtype == np.float32 and sharp.min() >= 0 and sharp.max() <= 1
    assert sharp[20, 20] > ink[20, 20] and sharp[20, 10] == 0  # the stroke darker, the paper beside it paper


def test_a_photo_without_writing_is_left_alone():
    ink = np.zeros((20, 20), np.float32)
    result, blur = focus.in_focus(ink, ink > 0, None)
    assert result is ink and blur == 0.0
