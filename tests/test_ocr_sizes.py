"""The size rule: a glyph small both ways beside its line's letters (a comma, a quote) is weighed towards 'other'."""
from types import SimpleNamespace

import numpy as np
import pytest

from hdl_native.ocr.sizes import TINY, TINY_LETTER_PRIOR, apply_sizes, tiny_glyphs

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
