"""The size rule: a glyph small both ways beside its line's letters (a comma, a quote) is weighed towards 'other'."""
from types import SimpleNamespace

import numpy as np
import pytest

from hdl_native.ocr.sizes import SPECK, TINY, TINY_LETTER_PRIOR, apply_sizes, tiny_glyphs

CLASSES = ["a", "i", "other"]


def glyph(left, width, height, bottom=40):
    return SimpleNamespace(top=bottom - height, bottom=bottom, left=left, right=left + width)


def test_a_comma_beside_letters_is_tiny_and_a_narrow_i_is_not():
    line = [glyph(0, 20, 30), glyph(24, 6, 30), glyph(34, 18, 20), glyph(56, 6, 9)]  # a tall, i, a short, comma
    assert list(tiny_glyphs(line)) == [False, False, False, True]
    limit = TINY * np.median([30, 30, 20, 9])
    assert list(tiny_glyphs(line[:3] + [glyph(56, 6, int(limit) + 1)])) == [False] * 4  # just taller than the limit
    p = np.array([[0.9, 0.05, 0.05]] * 3 + [[0.1, 0.6, 0.3]])
    weighted = apply_sizes(line, p, CLASSES)
    np.testing.assert_array_equal(weighted[:3], p[:3])
    w = TINY_LETTER_PRIOR
    assert weighted[3, 2] == pytest.approx(0.3 / (0.3 + w * 0.7))
    assert weighted[3].argmax() == 2


def test_short_lines_and_readers_without_other_are_left_alone():
    p = np.array([[0.9, 0.05, 0.05], [0.1, 0.6, 0.3]])
    assert apply_sizes([glyph(0, 20, 30), glyph(24, 6, 9)], p, CLASSES) is p  # two glyphs show no median
    line = [glyph(0, 20, 30), glyph(24, 20, 30), glyph(48, 6, 9)]
    q = np.array([[0.5, 0.5]] * 3)
    assert apply_sizes(line, q, ["a", "i"]) is q
    assert 0 < TINY_LETTER_PRIOR < 1 and 0 < TINY < 1


def test_a_colon_or_semicolon_of_specks_is_tiny_and_a_dotted_i_is_not():
    """Two dots stacked (a colon), a dot over a comma (a semicolon): each mark a speck, the glyph as tall as a short
    letter; an i's dot is as small, but its stem reaches the x-height."""
    def stacked(left, parts):  # parts (height, width) from top to bottom, 3 px apart
        height = sum(h for h, _ in parts) + 3 * (len(parts) - 1)
        g = glyph(left, max(w for _, w in parts), height)
        g.part_sizes = tuple(parts)
        return g
    line = [glyph(0, 20, 30), glyph(24, 18, 30), glyph(46, 20, 30),
            stacked(70, [(6, 6), (6, 6)]), stacked(80, [(6, 6), (11, 6)]), stacked(90, [(7, 7), (20, 6)])]
    assert TINY * 30 < 6 + 3 + 11 < 30  # the semicolon is too tall for a tiny glyph by its box alone
    assert list(tiny_glyphs(line)) == [False, False, False, True, True, False]  # colon, semicolon; not the i
    too_tall = stacked(80, [(6, 6), (int(SPECK * 30) + 1, 6)])  # its comma longer than a speck
    assert list(tiny_glyphs(line[:4] + [too_tall])) == [False] * 3 + [True, False]
    one_mark = glyph(80, 6, 17)  # a glyph of one mark is judged by its box alone, as before
    one_mark.part_sizes = ((17, 6),)
    assert not tiny_glyphs(line[:3] + [one_mark])[3]
    p = np.array([[0.9, 0.05, 0.05]] * 3 + [[0.1, 0.6, 0.3]] * 3)
    weighted = apply_sizes(line, p, CLASSES)
    assert list(weighted.argmax(axis=1)) == [0, 0, 0, 2, 2, 1]  # the colon and semicolon are marks, the i a letter
