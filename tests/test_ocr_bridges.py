"""Letters run together by a blurred photo are cut apart where the bridge between them is faint; letters whose
strokes are as dark across their whole width stay whole."""
import numpy as np
from PIL import Image, ImageDraw, ImageFilter
from scipy import ndimage

from hdl_native.ocr.boxes import find_segments
from hdl_native.ocr.bridges import bridge_columns, split_faint_bridges
from hdl_native.ocr import lighting
from hdl_native.ocr.lighting import ink_map, ink_mask

LETTER_HEIGHT = 40


def two_blocks(bridge_darkness, gap=6):
    """(mask, ink) of two dark letters 20 px wide and 40 px tall joined at mid-height by a bridge `gap` px long."""
    ink = np.zeros((LETTER_HEIGHT, 40 + gap), np.float32)
    ink[:, :20] = 0.8
    ink[:, 20 + gap:] = 0.8
    ink[18:22, 20:20 + gap] = bridge_darkness
    return ink > 0.1, ink


def test_two_letters_joined_by_a_faint_bridge_are_cut_inside_it():
    mask, ink = two_blocks(0.2)
    cuts = bridge_columns(mask, ink, LETTER_HEIGHT)
    assert len(cuts) == 1 and 20 <= cuts[0] < 26


def test_a_bridge_as_dark_as_the_strokes_is_part_of_the_letter():
    mask, ink = two_blocks(0.8)  # the joint of an n, the bar of an H: the pen's own stroke
    assert bridge_columns(mask, ink, LETTER_HEIGHT) == []


def test_a_pale_end_of_a_letter_is_no_bridge():
    mask, ink = two_blocks(0.2)
    ink[:, 26:] = 0.2  # the second block pale too: no core on that side of the gap
    assert bridge_columns(mask, ink, LETTER_HEIGHT) == []


def test_split_marks_get_new_labels_and_other_marks_keep_theirs():
    labels = np.zeros((60, 120), np.int32)
    mask, ink_block = two_blocks(0.2)
    labels[10:50, 10:56][mask] = 1
    labels[10:50, 70:90] = 2  # a letter on its own
    ink = np.zeros(labels.shape, np.float32)
    ink[10:50, 10:56] = ink_block
    ink[10:50, 70:90] = 0.8
    split, count = split_faint_bridges(labels, 2, ink, LETTER_HEIGHT)
    assert count == 3
    assert set(np.unique(split[10:50, 10:30])) == {1} and 3 in split[10:50, 30:56]
    assert (split[10:50, 70:90] == 2).all()
    assert (labels[10:50, 10:56][mask] == 1).all()  # the caller's labels are not changed


def blurred_page(gap):
    """A light page with a row of round letters (60 px wide, 70 tall, pen 6 px) and two narrow ones (30 px wide:
    together about one letter wide, so never offered cut) drawn `gap` px apart, blurred by a Gaussian of 1.5 px as
    an out-of-focus photo: (H, W) float32 grey in 0..1."""
    image = Image.fromarray(np.full((200, 1000), 229, np.uint8))
    draw = ImageDraw.Draw(image)
    for left in (50, 150, 250, 350, 450):
        draw.ellipse((left, 60, left + 60, 130), outline=20, width=6)
    draw.ellipse((600, 60, 630, 130), outline=20, width=6)
    draw.ellipse((630 + gap, 60, 660 + gap, 130), outline=20, width=6)
    return np.asarray(image.filter(ImageFilter.GaussianBlur(1.5)), np.float32) / 255


def test_two_letters_run_together_by_blur_are_read_as_two(monkeypatch):
    # the ink map unsharpened: focus.py parts most such marks first, not all (the cut is for those it leaves)
    monkeypatch.setattr(lighting, "in_focus", lambda ink, above, writing: (ink, 0.0))
    ink = ink_map(blurred_page(gap=5))
    mask = ink_mask(ink)
    assert ndimage.label(mask[:, 590:680])[1] == 1  # the blur joins them into one mark
    _, without = find_segments(mask)
    _, with_ink = find_segments(mask, ink.ink)
    assert sum(len(line) for line in without) == 6  # one box for both, offered whole only
    assert sum(len(line) for line in with_ink) == 7  # cut apart: each its own box
    narrow = [glyph.width for line in with_ink for segment in line for glyph in segment.options[0]
              if glyph.left >= 590]
    assert len(narrow) == 2 and max(narrow) < 40


def test_a_blurred_wide_letter_in_one_stroke_stays_whole():
    image = Image.fromarray(np.full((200, 1000), 229, np.uint8))
    draw = ImageDraw.Draw(image)
    for left in (50, 150, 250, 350, 450):
        draw.ellipse((left, 60, left + 60, 130), outline=20, width=6)
    draw.line([(600, 130), (600, 70), (640, 70), (640, 130), (640, 70), (690, 70), (690, 130)], fill=20, width=6)
    grey = np.asarray(image.filter(ImageFilter.GaussianBlur(1.5)), np.float32) / 255
    ink = ink_map(grey)
    mask = ink_mask(ink)
    labels, count = ndimage.label(mask, structure=np.ones((3, 3), bool))
    assert split_faint_bridges(labels, count, ink.ink, 70)[1] == count  # the m: nothing cut
