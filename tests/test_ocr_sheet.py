"""The sheet in a photo: a paper lying on a darker desk is found; shadows and plain paper are not mistaken for one."""
import numpy as np
import pytest

from hdl_native.ocr.sheet import largest_bright_region, otsu_threshold, sheet_mask

SMALL = (300, 400)    # the closed copy the finder works on
PHOTO = (1200, 1600)  # the photo it answers for
SCALE = PHOTO[0] // SMALL[0]
PAPER_COLOUR = np.array([232, 222, 200], np.float32)  # beige
WOOD_COLOUR = np.array([90, 60, 35], np.float32)


def photo_of(brightness, colours):
    """(closed grey copy (h, w), photo colours (H, W, 3) uint8) from a brightness map and a colour per pixel."""
    rgb = np.clip(colours * brightness[..., None] / colours.mean(axis=-1, keepdims=True), 0, 255)
    big = np.repeat(np.repeat(rgb, SCALE, axis=0), SCALE, axis=1).astype(np.uint8)
    return brightness.astype(np.float32), big


def sheet_on_desk(rows=slice(50, 250), cols=slice(80, 330)):
    brightness = np.full(SMALL, 60.0)
    colours = np.broadcast_to(WOOD_COLOUR, SMALL + (3,)).copy()
    brightness[rows, cols] = 210.0
    colours[rows, cols] = PAPER_COLOUR
    return photo_of(brightness, colours)


def test_otsu_splits_two_groups_between_them():
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.normal(60, 5, 3000), rng.normal(200, 8, 7000)])
    threshold = otsu_threshold(values)
    assert (values[:3000] < threshold).mean() > 0.99 and (values[3000:] > threshold).all()


def test_a_sheet_on_a_desk_is_found_and_its_edge_left_out():
    paper, rgb = sheet_on_desk()
    sheet = sheet_mask(paper, PHOTO, rgb)
    assert sheet.shape == PHOTO
    assert sheet[150 * SCALE, 200 * SCALE] and not sheet[10 * SCALE, 10 * SCALE]
    assert not sheet[50 * SCALE + 1, 200 * SCALE]  # the sheet's edge band is not searched for ink
    share = (200 * 250) / (300 * 400)
    assert 0.8 * share < sheet.mean() < share
    assert sheet_mask(paper, PHOTO) is None  # without the colours, no sheet is looked for


def test_a_sheet_on_a_black_desk_is_found_by_how_dark_the_desk_is():
    brightness = np.full(SMALL, 45.0)
    colours = np.full(SMALL + (3,), 128.0, np.float32)  # no colour to go by
    brightness[50:250, 80:330] = 210.0
    colours[50:250, 80:330] = 200.0
    paper, rgb = photo_of(brightness, colours)
    assert sheet_mask(paper, PHOTO, rgb)[150 * SCALE, 200 * SCALE]


def test_a_sheet_running_off_the_picture_is_found_too():
    paper, rgb = sheet_on_desk(rows=slice(0, 300), cols=slice(0, 300))  # the desk shows on the right only
    sheet = sheet_mask(paper, PHOTO, rgb)
    assert sheet is not None and sheet[:, :1000].mean() > 0.95 and not sheet[:, 1200:].any()


@pytest.mark.parametrize("name", ["uniform", "shadow", "hard shadow", "tiny background", "dark blot inside",
                                  "grey desk"])
def test_no_sheet_where_the_whole_photo_is_paper(name):
    yy, xx = np.mgrid[0:SMALL[0], 0:SMALL[1]].astype(np.float32)
    brightness = np.full(SMALL, 200.0)
    colours = np.broadcast_to(PAPER_COLOUR, SMALL + (3,)).copy()
    if name == "shadow":             # light falling from 1 to 0.45 across the page: gradual, not an edge
        brightness *= 1 - 0.55 * xx / SMALL[1]
    if name == "hard shadow":        # a sharp-edged shadow in sunlight: an edge, but the paper's own colour
        brightness[150:, :200] *= 0.5
    if name == "tiny background":    # a sliver of desk in one corner: too little to matter
        brightness[:12, :40] = 50.0
        colours[:12, :40] = WOOD_COLOUR
    if name == "dark blot inside":   # a dark patch surrounded by paper is a hole of the sheet, not a desk
        brightness[100:200, 150:250] = 40.0
    if name == "grey desk":          # colourless and only half as bright: cannot be told from a shadow
        brightness[:, 300:] = 100.0
        colours[:, 300:] = 128.0
    paper, rgb = photo_of(brightness, colours)
    assert sheet_mask(paper, PHOTO, rgb) is None


def test_the_largest_bright_region_has_its_holes_filled():
    paper = np.full(SMALL, 50.0, np.float32)
    paper[50:250, 80:330] = 210.0
    paper[100:120, 100:200] = 40.0  # writing left dark inside the sheet
    region = largest_bright_region(paper)
    assert region[110, 150] and not region[10, 10]
