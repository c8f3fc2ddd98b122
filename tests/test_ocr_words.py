"""The word rule: 'other' is down-weighted for a glyph inside a word that is mostly letters."""
from types import SimpleNamespace

import numpy as np
import pytest

from hdl_native.ocr.words import OTHER_INSIDE_WORD, apply_words

CLASSES = ["a", "l", "other"]


def glyphs_at(lefts, width=20):
    return [SimpleNamespace(top=0, bottom=30, left=x, right=x + width) for x in lefts]


def probabilities(*rows):
    return np.array(rows, dtype=np.float64)


def test_an_ambiguous_glyph_between_letters_of_one_word_becomes_a_letter():
    glyphs = glyphs_at([0, 24, 48, 72])  # one word: gaps of 4 px
    p = probabilities([0.9, 0.05, 0.05], [0.05, 0.4, 0.55], [0.9, 0.05, 0.05], [0.8, 0.1, 0.1])
    weighted = apply_words(glyphs, p, CLASSES)
    assert weighted[1].argmax() == 1  # the l, no longer 'other'
    assert weighted[1, 2] == pytest.approx(0.055 / (0.05 + 0.4 + 0.055))
    np.testing.assert_array_equal(weighted[[0, 3]], p[[0, 3]])  # a mark may end a word
    hello = glyphs_at([0, 24, 48, 72, 96])
    p = probabilities([0.9, 0.05, 0.05], [0.8, 0.1, 0.1], [0.1, 0.4, 0.5], [0.1, 0.3, 0.6], [0.9, 0.05, 0.05])
    assert list(apply_words(hello, p, CLASSES).argmax(axis=1)) == [0, 0, 1, 1, 0]  # both l of "hello"


def test_numbers_word_ends_and_sure_marks_keep_other():
    number = glyphs_at([0, 24, 48, 72])  # "1990": the 1 alone would be an l
    digits = probabilities([0.1, 0.6, 0.3], [0.1, 0.1, 0.8], [0.2, 0.1, 0.7], [0.1, 0.2, 0.7])
    weighted = apply_words(number, digits, CLASSES)
    assert list(weighted.argmax(axis=1)) == [2, 2, 2, 2]
    assert weighted[0, 2] == pytest.approx(0.3 / (0.3 + 0.1 * 0.7))
    sure = probabilities([0.9, 0.05, 0.05], [0.0, 0.005, 0.995], [0.9, 0.05, 0.05])
    assert apply_words(glyphs_at([0, 24, 48]), sure, CLASSES)[1].argmax() == 2  # an apostrophe the network is sure of
    apart = glyphs_at([0, 24, 200, 224, 248])  # a word break after the second glyph
    p = probabilities([0.9, 0.05, 0.05], [0.05, 0.4, 0.55], [0.9, 0.05, 0.05], [0.9, 0.05, 0.05], [0.9, 0.05, 0.05])
    assert apply_words(apart, p, CLASSES)[1].argmax() == 2  # at the end of its word: a mark may stand there


def test_readers_without_other_are_left_alone():
    p = probabilities([0.5, 0.5], [0.4, 0.6], [0.5, 0.5])
    assert apply_words(glyphs_at([0, 24, 48]), p, ["a", "l"]) is p
    assert 0 < OTHER_INSIDE_WORD < 1
