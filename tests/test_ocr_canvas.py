"""A photo on a flat canvas (canvas.py): a screenshot's bars, an editor's filled corners, a small photo pasted into
a big picture are found and hold no ink; pages without one (uniform paper, squared paper, a clipped white scan,
a grainy photo) are left alone."""
import json

import numpy as np
import pytest
from PIL import Image

from hdl_native.ocr.canvas import canvas_mask, off_canvas, painted
from hdl_native.ocr.image_io import load_photo
from test_ocr_cli import run_ocr, untrained_model
from test_ocr_photo_formats import mottled_page, two_lines_of_ink


def grainy_photo(height=300, width=400, seed=0):
    """(H, W) float32: paper at 0.55 with grain (sd 0.02) and two dark strokes, as a photo's luminance."""
    rng = np.random.default_rng(seed)
    photo = 0.55 + 0.02 * rng.standard_normal((height, width))
    photo[100:200, 60:66] = 0.15
    photo[150:156, 60:300] = 0.15
    return photo.astype(np.float32)


def test_a_screenshot_s_bars_are_the_canvas():
    photo = grainy_photo()
    screen = np.ones((300 + 2 * 180, 400), np.float32)
    screen[180:480] = photo
    canvas = canvas_mask(screen)
    assert canvas is not None
    assert canvas[:180].all() and canvas[480:].all()
    assert canvas[180:480].mean() < 0.01  # only the photo's grain pixels near a bar that happen to be white: none
    assert not off_canvas(canvas)[:180].any() and off_canvas(canvas)[200:460].all()


def test_bars_as_bright_as_the_photo_s_grainy_paper_are_a_canvas_and_flat_paper_is_none():
    """Light grey bars (0.95) beside a well-lit photo's paper (0.85, with grain) are a canvas: their flat pixels,
    most of the picture, made the grain's spread nothing.  The same picture with the photo's paper flat (a shadow
    on a page drawn without grain, a coarse JPEG's blocks) is paper throughout: no canvas."""
    photo = grainy_photo() + np.float32(0.3)
    screen = np.full((660, 400), 0.95, np.float32)
    screen[180:480] = photo
    assert canvas_mask(screen) is not None
    screen[180:480] = np.where(photo > 0.6, np.float32(0.85), photo)
    assert canvas_mask(screen) is None


def test_a_turned_photo_s_filled_corners_are_the_canvas_to_their_tips():
    photo = Image.fromarray((grainy_photo() * 255).astype(np.uint8))
    turned = np.asarray(photo.rotate(20, expand=True, fillcolor=255), dtype=np.float32) / 255
    canvas = canvas_mask(turned)
    assert canvas is not None
    corners = turned >= 254 / 255
    assert canvas[corners].mean() > 0.99  # the corners' tips too, where the photo meets the picture's border
    inside = np.asarray(photo.rotate(20, expand=True, fillcolor=0).point(lambda v: 255 if v else 0)) > 0
    assert canvas[inside].mean() < 0.01


@pytest.mark.parametrize("page", ["uniform", "squared", "clipped", "grainy"])
def test_pages_without_a_canvas_are_left_alone(page):
    if page == "grainy":
        grey = grainy_photo()
    else:
        paper = 1.0 if page == "clipped" else 0.85
        grey = np.full((300, 400), paper, np.float32)
        grey[100:200, 60:66] = 0.2
        grey[150:156, 60:300] = 0.2
        if page == "squared":
            grey[::20] = 0.7
            grey[:, ::20] = 0.7
    assert canvas_mask(grey) is None


@pytest.mark.parametrize("quality", [5, 10])
def test_a_coarse_jpeg_s_flat_paper_is_no_canvas(tmp_path, quality):
    """Saved at quality 10 or 5, smooth paper is flat 8x8 blocks, a third or more of the picture at the border's
    level and joined to the border; but it is as bright as the paper beside it (within a DC step or two), so it is
    paper, and its writing is read."""
    assert canvas_mask(load_photo(mottled_page(tmp_path / "chat.jpg", quality)).grey) is None


def test_the_canvas_is_painted_darker_than_most_of_the_photo():
    photo = grainy_photo()
    screen = np.ones((660, 400), np.float32)
    screen[180:480] = photo
    canvas = canvas_mask(screen)
    level = painted(screen, canvas)[0, 0]
    assert np.mean(photo > level) > 0.9 and (painted(screen, canvas)[~canvas] == screen[~canvas]).all()


def dim_photo(tmp_path):
    """The two lines of test_ocr_cli's page on paper as a phone photo indoors shows it: grey (0.55), with grain,
    a little lighter to the right; a JPEG."""
    ink = two_lines_of_ink()
    paper = 130 + 20 * np.arange(900)[None, :] / 900 + 4 * np.random.default_rng(1).standard_normal(ink.shape)
    grey = np.clip(paper * (1 - 0.75 * ink), 0, 255).astype(np.uint8)
    path = tmp_path / "dim.jpg"
    Image.fromarray(grey).convert("RGB").save(path, quality=90)
    return path


def screenshot(page_path, level, turn=0):
    """The picture at `page_path` shown between bars of grey `level` (0.6 of its height each), or turned `turn`
    degrees with its corners filled with `level` instead: saved as PNG beside it."""
    page = Image.open(page_path).convert("RGB")
    if turn:
        picture = page.rotate(turn, expand=True, fillcolor=(level,) * 3, resample=Image.Resampling.BICUBIC)
    else:
        bar = round(0.6 * page.height)
        picture = Image.new("RGB", (page.width, page.height + 2 * bar), (level,) * 3)
        picture.paste(page, (0, bar))
    path = page_path.with_name(f"shown_{level}_{turn}.png")
    picture.save(path)
    return path


@pytest.mark.parametrize("level, turn", [(255, 0), (242, 0), (0, 0), (255, 12)])
def test_a_page_on_a_canvas_is_boxed_as_the_page_is(tmp_path, level, turn):
    """Between white bars (or light grey, as a light theme's) the bars were taken for the sheet and the photo for
    a desk: nothing or noise was read."""
    model = untrained_model(tmp_path)
    result = run_ocr(screenshot(dim_photo(tmp_path), level, turn), "--model", model, "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.splitlines()[-1])
    assert [len(line["boxes"]) for line in summary["lines"]] == [10, 8]
