"""The word rule: a word's glyphs vote (by the network's log-odds of 'other') on whether it is a word of letters or
of digits and marks, and the losing side is weighed down."""
from types import SimpleNamespace

import numpy as np
import pytest

from hdl_native.ocr.words import OTHER_INSIDE_WORD, apply_words

CLASSES = ["a", "l", "other"]


def glyphs_at(lefts, width=20, height=30):
    return [SimpleNamespace(top=0, bottom=height, left=x, right=x + width) for x in lefts]


def probabilities(*rows):
    return np.array(rows, dtype=np.float64)


def test_an_ambiguous_glyph_in_a_word_of_letters_becomes_a_letter():
    glyphs = glyphs_at([0, 24, 48, 72])  # one word: gaps of 4 px
    p = probabilities([0.9, 0.05, 0.05], [0.05, 0.4, 0.55], [0.9, 0.05, 0.05], [0.8, 0.1, 0.1])
    weighted = apply_words(glyphs, p, CLASSES)
    assert weighted[1].argmax() == 1  # the l, no longer 'other'
    w = OTHER_INSIDE_WORD
    assert weighted[1, 2] == pytest.approx(0.55 * w / (0.05 + 0.4 + 0.55 * w))
    assert weighted[0, 2] == pytest.approx(0.05 * w / (0.95 + 0.05 * w))  # the first glyph too
    np.testing.assert_array_equal(weighted[3], p[3])  # a mark may end a word
    hello = glyphs_at([0, 24, 48, 72, 96])
    p = probabilities([0.9, 0.05, 0.05], [0.8, 0.1, 0.1], [0.1, 0.4, 0.5], [0.1, 0.3, 0.6], [0.9, 0.05, 0.05])
    assert list(apply_words(hello, p, CLASSES).argmax(axis=1)) == [0, 0, 1, 1, 0]  # both l of "hello"
    first = probabilities([0.02, 0.18, 0.8], [0.9, 0.05, 0.05], [0.9, 0.05, 0.05], [0.9, 0.05, 0.05])
    assert apply_words(glyphs, first, CLASSES)[0].argmax() == 1  # "lava" starting with what looks like a 1


def test_numbers_are_decided_by_the_sum_of_log_odds_not_by_a_majority_of_best_guesses():
    number = glyphs_at([0, 24, 48, 72])  # "1990": the 1 alone would be an l
    digits = probabilities([0.1, 0.6, 0.3], [0.1, 0.1, 0.8], [0.2, 0.1, 0.7], [0.1, 0.2, 0.7])
    weighted = apply_words(number, digits, CLASSES)
    assert list(weighted.argmax(axis=1)) == [2, 2, 2, 2]
    assert weighted[0, 2] == pytest.approx(0.3 / (0.3 + OTHER_INSIDE_WORD * 0.7))
    # "10": one best guess each way, a tie by votes; the 0 is far surer of 'other' than the 1 is of a letter
    ten = probabilities([0.2, 0.5, 0.3], [0.05, 0.05, 0.9])
    assert list(apply_words(glyphs_at([0, 24]), ten, CLASSES).argmax(axis=1)) == [2, 2]
    # the same glyphs with a sure letter beside them: a word of letters, where the last glyph may be a mark
    word = probabilities([0.98, 0.01, 0.01], [0.2, 0.5, 0.3], [0.05, 0.05, 0.9])
    assert list(apply_words(glyphs_at([0, 24, 48]), word, CLASSES).argmax(axis=1)) == [0, 1, 2]


def test_sure_marks_word_ends_and_tiny_glyphs_keep_other():
    sure = probabilities([0.9, 0.05, 0.05], [0.0, 0.005, 0.995], [0.9, 0.05, 0.05])
    assert apply_words(glyphs_at([0, 24, 48]), sure, CLASSES)[1].argmax() == 2  # a mark the network is sure of
    apart = glyphs_at([0, 24, 200, 224, 248])  # a word break after the second glyph
    p = probabilities([0.9, 0.05, 0.05], [0.05, 0.4, 0.55], [0.9, 0.05, 0.05], [0.9, 0.05, 0.05], [0.9, 0.05, 0.05])
    assert apply_words(apart, p, CLASSES)[1].argmax() == 2  # at the end of its word: a mark may stand there
    # "ab,cd": a comma (tiny beside the letters: sizes.py) neither votes nor is weighed
    line = glyphs_at([0, 24]) + glyphs_at([48], width=8, height=8) + glyphs_at([60, 84])
    for g in line:
        g.top = 30 - (g.bottom - g.top)
        g.bottom = 30
    p = probabilities([0.9, 0.05, 0.05], [0.9, 0.05, 0.05], [0.2, 0.3, 0.5], [0.9, 0.05, 0.05], [0.9, 0.05, 0.05])
    weighted = apply_words(line, p, CLASSES)
    np.testing.assert_array_equal(weighted[2], p[2])
    assert weighted[3, 2] < p[3, 2]  # while the glyph after it, inside the word, is weighed


def test_readers_without_other_are_left_alone():
    p = probabilities([0.5, 0.5], [0.4, 0.6], [0.5, 0.5])
    assert apply_words(glyphs_at([0, 24, 48]), p, ["a", "l"]) is p
    assert 0 < OTHER_INSIDE_WORD < 1


def test_the_letter_before_a_tiny_mark_that_closes_the_word_is_inside_the_word():
    """'all,': a '!' or '?' may close a word, so its last glyph keeps its 'other'; where a comma (tiny: sizes.py)
    closes it, the l before the comma is inside the word like the rest."""
    word = glyphs_at([0, 24, 48])
    comma = SimpleNamespace(top=22, bottom=30, left=72, right=78)  # small both ways beside the letters: tiny
    p = probabilities([0.9, 0.05, 0.05], [0.1, 0.8, 0.1], [0.05, 0.4, 0.55], [0.1, 0.3, 0.6])
    weighted = apply_words(word + [comma], p, CLASSES)
    assert weighted[2].argmax() == 1  # the last l, no longer 'other'
    np.testing.assert_array_equal(weighted[3], p[3])  # the comma is neither weighed nor votes
    without_comma = apply_words(word, p[:3], CLASSES)
    assert without_comma[2].argmax() == 2  # where nothing follows it, the last glyph may be a '!' as before
