"""The sheet in a photo: a paper lying on a darker desk is found; shadows and plain paper are not mistaken for one."""
import numpy as np
import pytest

from hdl_native.ocr.sheet import largest_bright_region, otsu_threshold, sheet_mask

SMALL = (300, 400)   # the closed copy the finder works on
PHOTO = (1200, 1600)  # the photo it answers for


def test_otsu_splits_two_groups_between_them():
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.normal(60, 5, 3000), rng.normal(200, 8, 7000)])
    threshold = otsu_threshold(values)
    assert (values[:3000] < threshold).mean() > 0.99 and (values[3000:] > threshold).all()


def test_a_sheet_on_a_desk_is_found_and_its_edge_left_out():
    paper = np.full(SMALL, 60.0, np.float32)       # the desk
    paper[50:250, 80:330] = 210.0                  # the sheet, with a sharp edge
    sheet = sheet_mask(paper, PHOTO)
    assert sheet.shape == PHOTO
    scale = PHOTO[0] // SMALL[0]
    assert sheet[150 * scale, 200 * scale] and not sheet[10 * scale, 10 * scale]
    assert not sheet[50 * scale + 1, 200 * scale]  # the sheet's edge band is not searched for ink
    share = sheet.mean()
    assert 0.8 * (200 * 250) / (300 * 400) < share < (200 * 250) / (300 * 400)


def test_a_sheet_running_off_the_picture_is_found_too():
    paper = np.full(SMALL, 210.0, np.float32)
    paper[:, 300:] = 50.0  # the desk shows on the right only
    sheet = sheet_mask(paper, PHOTO)
    assert sheet is not None and sheet[:, :1000].mean() > 0.95 and not sheet[:, 1200:].any()


@pytest.mark.parametrize("name", ["uniform", "shadow", "tiny background", "dark blot inside"])
def test_no_sheet_where_the_whole_photo_is_paper(name):
    yy, xx = np.mgrid[0:SMALL[0], 0:SMALL[1]].astype(np.float32)
    paper = np.full(SMALL, 200.0, np.float32)
    if name == "shadow":           # light falling from 1 to 0.45 across the page: gradual, not an edge
        paper *= 1 - 0.55 * xx / SMALL[1]
    if name == "tiny background":  # a sliver of desk in one corner: too little to matter
        paper[:12, :40] = 50.0
    if name == "dark blot inside":  # a dark patch surrounded by paper is a hole of the sheet, not a desk
        paper[100:200, 150:250] = 40.0
    assert sheet_mask(paper, PHOTO) is None


def test_the_largest_bright_region_has_its_holes_filled():
    paper = np.full(SMALL, 50.0, np.float32)
    paper[50:250, 80:330] = 210.0
    paper[100:120, 100:200] = 40.0  # writing left dark inside the sheet
    region = largest_bright_region(paper)
    assert region[110, 150] and not region[10, 10]
