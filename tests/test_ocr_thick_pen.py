"""A thick pen's page: its strokes are measured as thick, letters touching at a neck are cut apart while a letter
of one thick stroke stays whole, and its ink is thinned for reading; a usual pen's page is left alone."""
import numpy as np
import pytest
from PIL import Image, ImageDraw
from scipy import ndimage

from hdl_native.ocr.boxes import find_segments, page_letter_height
from hdl_native.ocr.thick_pen import (NECK_DEPTH, NORMAL_STROKE, THICK_STROKE, nearest_core, pen_excess,
                                      split_thick_joins, stroke_width, thinned_ink)

LETTER_HEIGHT = 40


def drawn(draw_letters, pen, shape=(80, 200)):
    """(H, W) bool mask of what draw_letters(draw, pen) draws on a blank picture with a pen `pen` px wide."""
    image = Image.new("L", shape[::-1], 0)
    draw_letters(ImageDraw.Draw(image), pen)
    return np.asarray(image) > 0


def x_and_v_touching(draw, pen):
    """An x and a v 40 px tall whose upper arms' ends meet: with a thick pen they touch at a neck."""
    draw.line([20, 20, 50, 60], fill=255, width=pen)
    draw.line([50, 20, 20, 60], fill=255, width=pen)
    draw.line([56, 20, 71, 60, 86, 20], fill=255, width=pen, joint="curve")


def one_bar(draw, pen):
    """An l: one upright stroke 40 px tall."""
    draw.line([60, 20, 60, 60], fill=255, width=pen)


def letter_m(draw, pen):
    """An m 40 px tall and 50 wide: three upright strokes joined by two arches, one stroke throughout."""
    draw.line([30, 30, 30, 60], fill=255, width=pen)
    draw.arc([30, 20, 55, 44], 180, 360, fill=255, width=pen)
    draw.line([55, 30, 55, 60], fill=255, width=pen)
    draw.arc([55, 20, 80, 44], 180, 360, fill=255, width=pen)
    draw.line([80, 30, 80, 60], fill=255, width=pen)


@pytest.mark.parametrize("pen", [3, 6, 10])
def test_stroke_width_is_the_pen_width(pen):
    mask = drawn(lambda draw, width: draw.line([20, 40, 220, 40], fill=255, width=width), pen, shape=(80, 240))
    assert stroke_width(mask) == pytest.approx(pen, abs=1.5)
    assert stroke_width(np.zeros((10, 10), bool)) == 0.0


def photographed(mask, blur=0.0):
    """The (H, W) float32 ink map of a photo of the mask's strokes (darkness 0.8), blurred by `blur` px (sd)."""
    return ndimage.gaussian_filter(mask * np.float32(0.8), blur) if blur else mask * np.float32(0.8)


def test_a_usual_pen_has_no_excess_and_a_thick_one_has_its_extra_width():
    thin = drawn(x_and_v_touching, 4)  # 0.10 letter heights: a usual pen
    assert pen_excess(thin, LETTER_HEIGHT, photographed(thin)) == 0.0
    thick = drawn(x_and_v_touching, 10)
    assert stroke_width(thick) >= THICK_STROKE * LETTER_HEIGHT
    assert pen_excess(thick, LETTER_HEIGHT, photographed(thick)) == pytest.approx(
        (stroke_width(thick) - NORMAL_STROKE * LETTER_HEIGHT) / 2)


def test_a_blurred_photo_of_a_usual_pen_is_no_thick_pen():
    ink = photographed(drawn(x_and_v_touching, 4), blur=2.0)
    mask = ink > 0.05  # the blur's soft edges make the strokes wide in the mask ...
    assert stroke_width(mask) >= THICK_STROKE * LETTER_HEIGHT
    assert pen_excess(mask, LETTER_HEIGHT, ink) == 0.0  # ... but not at half their darkness


def test_two_letters_touching_at_a_neck_are_cut_apart():
    mask = drawn(x_and_v_touching, 10)
    labels, count = ndimage.label(mask, structure=np.ones((3, 3), bool))
    assert count == 1  # one mark as drawn
    split, split_count = split_thick_joins(labels, count, pen_excess(mask, LETTER_HEIGHT, photographed(mask)),
                                           LETTER_HEIGHT)
    assert split_count == 2
    assert (split[mask] > 0).all() and (split[~mask] == 0).all()  # every ink pixel kept, none added
    for label, (left, right) in zip((1, 2), ((15, 55), (51, 91))):  # the x and the v each hold their own side
        columns = np.flatnonzero((split == label).any(axis=0))
        assert columns.min() >= left - 5 and columns.max() <= right + 5, (label, columns.min(), columns.max())
    assert (labels[mask] == 1).all()  # the caller's labels are not changed


@pytest.mark.parametrize("letter", [one_bar, letter_m], ids=["l", "m"])
def test_a_letter_of_one_thick_stroke_stays_whole(letter):
    mask = drawn(letter, 10)
    excess = pen_excess(mask, LETTER_HEIGHT, photographed(mask))
    assert excess > 0
    assert nearest_core(mask, NECK_DEPTH * excess) is None


def test_a_small_letter_on_the_far_side_of_the_page_stays_whole():
    """An m 0.7 times as tall as the page's letters, its pen as much thinner (a page photographed at an angle): the
    page's full depth would erode it into pieces, the depth in proportion to its height keeps it whole."""
    page = drawn(x_and_v_touching, 10)
    excess = pen_excess(page, LETTER_HEIGHT, photographed(page))

    def small_m(draw, pen, scale=0.7):
        letter_m(ScaledDraw(draw, scale), pen)

    mask = drawn(small_m, 7)
    labels, count = ndimage.label(mask, structure=np.ones((3, 3), bool))
    assert count == 1 and mask.any(axis=1).sum() < 0.8 * LETTER_HEIGHT
    assert nearest_core(mask, NECK_DEPTH * excess) is not None  # as deep as the page's letters: in pieces
    assert split_thick_joins(labels, count, excess, LETTER_HEIGHT) == (labels, count)


class ScaledDraw:
    """An ImageDraw whose line and arc coordinates are scaled by `scale` about (30, 20)."""

    def __init__(self, draw, scale):
        self.draw, self.scale = draw, scale

    def scaled(self, points):
        return [30 + (v - 30) * self.scale if i % 2 == 0 else 20 + (v - 20) * self.scale for i, v in enumerate(points)]

    def line(self, points, **options):
        self.draw.line(self.scaled(points), **options)

    def arc(self, box, start, end, **options):
        self.draw.arc(self.scaled(box), start, end, **options)


def test_a_usual_pen_page_is_not_cut():
    mask = drawn(x_and_v_touching, 10)
    labels, count = ndimage.label(mask, structure=np.ones((3, 3), bool))
    same, same_count = split_thick_joins(labels, count, 0.0, LETTER_HEIGHT)
    assert same is labels and same_count == count


def test_find_segments_boxes_touching_thick_letters_apart_only_when_told_the_pen():
    mask = drawn(lambda draw, pen: [x_and_v_touching(draw, pen), draw.ellipse([130, 20, 166, 60], outline=255,
                                                                               width=pen)], 10)
    excess = pen_excess(mask, page_letter_height(mask), photographed(mask))
    _, as_marks = find_segments(mask)
    _, cut = find_segments(mask, pen_excess=excess)
    assert excess > 0
    assert sum(len(segment.options[0]) for segment in as_marks[0]) < 3  # the touching pair boxed as one
    assert [len(segment.options[0]) for segment in cut[0]] == [1, 1, 1]


def test_thinned_ink_takes_the_excess_off_each_side():
    ink = np.zeros((40, 40), np.float32)
    ink[5:35, 10:20] = 0.8  # a stroke 10 px wide
    thin = thinned_ink(ink, 2.4)  # 2 px each side
    assert np.flatnonzero(thin[20] > 0).tolist() == list(range(12, 18))
    assert thinned_ink(ink, 0.3) is ink  # less than half a pixel: nothing to take
