"""The sheet in a photo: a paper lying on a darker desk is found; shadows and plain paper are not mistaken for one."""
import numpy as np
import pytest

from hdl_native.ocr.lighting import strong_ink_share
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


def test_the_dim_end_of_a_sheet_lit_from_one_side_is_still_the_sheet():
    """A lamp on the left: the light on the sheet falls to a quarter at its right end, as dark as the wooden desk
    there. Otsu's bright region stops half way; the paper's colour carries the sheet to its edge."""
    brightness = np.full(SMALL, 60.0)
    brightness[50:250, 80:330] = np.linspace(210.0, 52.0, 250)[None, :]
    colours = np.broadcast_to(WOOD_COLOUR, SMALL + (3,)).copy()
    colours[50:250, 80:330] = PAPER_COLOUR
    paper, rgb = photo_of(brightness, colours)
    sheet = sheet_mask(paper, PHOTO, rgb)
    assert sheet[150 * SCALE, 300 * SCALE] and sheet[150 * SCALE, 100 * SCALE]  # both ends of the sheet
    assert not sheet[150 * SCALE, 360 * SCALE] and not sheet[10 * SCALE, 200 * SCALE]  # the desk beside it
    share = (200 * 250) / (300 * 400)
    assert 0.8 * share < sheet.mean() < share


def written_ink(rng, rows, cols, every=40):
    """(H, W) float32 relative darkness: paper grain everywhere, 'letters' (stroked 24x16 px boxes, 0.7 dark) every
    `every` px within rows x cols of the small copy (scaled to the photo)."""
    ink = np.abs(rng.normal(0, 0.02, PHOTO)).astype(np.float32)
    for top in range(rows.start * SCALE + 20, rows.stop * SCALE - 40, every):
        for left in range(cols.start * SCALE + 20, cols.stop * SCALE - 40, every):
            ink[top:top + 24, left:left + 4] = ink[top:top + 4, left:left + 16] = 0.7
    return ink


def black_ground_below(row):
    """(closed grey copy, colours) of paper whose lower part from `row` of the small copy keeps a fifth of the light,
    colourless: a black desk and a deep shadow look alike here."""
    brightness = np.full(SMALL, 210.0)
    brightness[row:] = 42.0
    return photo_of(brightness, np.full(SMALL + (3,), 128.0, np.float32))


def test_a_deep_shadow_holding_writing_is_no_desk():
    """Sunlight's shadow keeps 10-30% of the light, as dark as a black desk; the letters in it stay as dark relative
    to their paper, and by them it is told from a desk (whose own noise sets its own, higher, thresholds)."""
    rng = np.random.default_rng(0)
    paper, rgb = black_ground_below(150)
    assert sheet_mask(paper, PHOTO, rgb) is not None  # by brightness and colour alone: a desk
    ink = written_ink(rng, slice(0, 300), slice(0, 400))  # writing on both sides of the shadow's edge
    assert sheet_mask(paper, PHOTO, rgb, ink, strong_ink_share) is None
    desk_ink = written_ink(rng, slice(0, 150), slice(0, 400))  # writing on the sheet; the desk's noise below it
    desk_ink[150 * SCALE:] = np.abs(rng.normal(0, 0.1, desk_ink[150 * SCALE:].shape))
    sheet = sheet_mask(paper, PHOTO, rgb, desk_ink, strong_ink_share)
    assert sheet is not None and sheet[100 * SCALE, 200 * SCALE] and not sheet[200 * SCALE, 200 * SCALE]


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
