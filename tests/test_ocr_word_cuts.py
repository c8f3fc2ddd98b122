"""Cutting a word's touching letters as its language reads best (hdl_native/ocr/word_cuts.py)."""
import numpy as np
import pytest

from hdl_native.data.datasets import NOT_A_LETTER
from hdl_native.ocr.boxes import Glyph, Segment
from hdl_native.ocr.language import LETTERS, LetterNgrams, count_ngrams, english_log_odds
from hdl_native.ocr.recognize import choose_cuts
from hdl_native.ocr.word_cuts import ENGLISH_LOG_ODDS, choose_cuts_in_words

CLASSES = list(LETTERS) + [NOT_A_LETTER]
WORDS = ["corner", "corners", "born", "horn", "morning", "turn", "return", "corn", "learn", "earn"] * 5


def glyph(left, width=40):
    return Glyph((1,), 10, 50, left, left + width, left, left + width)


def reading(letter, p):
    """A network's probabilities (27,) that give `letter` p, the rest spread evenly."""
    row = np.full(len(CLASSES), (1 - p) / (len(CLASSES) - 1))
    row[CLASSES.index(letter)] = p
    return row


def word_with_a_touching_pair(first, second, whole, p_pieces=0.5, p_whole=0.6, before="co", after="er"):
    """The marks of a word: `before`'s letters each alone, a mark the network may read whole (as `whole`) or cut in
    two (`first`, `second`), then `after`'s letters; letters 42 px apart, 2 px gaps.  -> (segments, probabilities)."""
    probabilities, segments, left = {}, [], 0
    for letter in before:
        g = glyph(left)
        probabilities[id(g)] = reading(letter, 0.95)
        segments.append(Segment([[g]]))
        left += 42
    whole_glyph, a, b = glyph(left, 60), glyph(left, 30), glyph(left + 30, 30)
    probabilities.update({id(whole_glyph): reading(whole, p_whole), id(a): reading(first, p_pieces),
                          id(b): reading(second, p_pieces)})
    segments.append(Segment([[whole_glyph], [a, b]]))
    left += 62
    for letter in after:
        g = glyph(left)
        probabilities[id(g)] = reading(letter, 0.95)
        segments.append(Segment([[g]]))
        left += 42
    return segments, lambda g: probabilities[id(g)]


def text(glyphs, probabilities_of):
    return "".join(CLASSES[int(np.argmax(probabilities_of(g)))] for g in glyphs)


def test_a_touching_pair_is_cut_where_the_network_alone_would_read_one_letter_and_the_word_says_two():
    model = LetterNgrams(count_ngrams(WORDS, 5))
    segments, probabilities_of = word_with_a_touching_pair("r", "n", "m")
    assert text(choose_cuts(segments, probabilities_of), probabilities_of) == "comer"  # the network alone
    assert text(choose_cuts_in_words(segments, probabilities_of, CLASSES, None), probabilities_of) == "comer"
    assert text(choose_cuts_in_words(segments, probabilities_of, CLASSES, model), probabilities_of) == "corner"


def test_the_cut_the_network_is_far_surer_of_stays_whatever_the_word():
    model = LetterNgrams(count_ngrams(WORDS, 5))
    segments, probabilities_of = word_with_a_touching_pair("r", "n", "m", p_pieces=0.1, p_whole=0.95)
    assert text(choose_cuts_in_words(segments, probabilities_of, CLASSES, model), probabilities_of) == "comer"


def test_a_word_that_is_no_english_keeps_the_networks_cut():
    model = LetterNgrams(count_ngrams(WORDS, 5))
    # the network prefers the whole mark by 0.02 nats, less than a sixth letter adds to a word of arbitrary letters'
    # language term (whose log(1/2) prior is shared by one glyph more)
    segments, probabilities_of = word_with_a_touching_pair("r", "n", "m", p_whole=0.5 * np.exp(-0.28),
                                                           before="zq", after="xv")
    assert text(choose_cuts(segments, probabilities_of), probabilities_of) == "zqmxv"
    cut = [g for s in segments for g in s.options[-1]]  # the pair cut in two
    letters = np.array([probabilities_of(g)[:26] for g in cut])
    log_odds, _ = english_log_odds(np.log(letters / letters.sum(axis=1, keepdims=True)), model)
    assert log_odds < ENGLISH_LOG_ODDS
    assert choose_cuts_in_words(segments, probabilities_of, CLASSES, model) == choose_cuts(segments, probabilities_of)


def test_a_piece_read_as_a_mark_pays_for_it_in_the_word():
    """Cutting a stroke off a letter as a piece the network calls a digit or mark must not come for free: the
    language term charges it as an unknown symbol."""
    model = LetterNgrams(count_ngrams(WORDS, 5))
    segments, probabilities_of = word_with_a_touching_pair("n", NOT_A_LETTER, "n", p_pieces=0.7, p_whole=0.6,
                                                           before="tur", after="")
    assert text(choose_cuts(segments, probabilities_of), probabilities_of) == "turn"
    assert text(choose_cuts_in_words(segments, probabilities_of, CLASSES, model), probabilities_of) == "turn"


@pytest.mark.parametrize("classes", [list(LETTERS), list(LETTERS[:20]) + [NOT_A_LETTER]])
def test_readers_without_every_letter_or_without_other_are_handled(classes):
    model = LetterNgrams(count_ngrams(WORDS, 5))
    segments, probabilities_of = word_with_a_touching_pair("r", "n", "m")
    if len(classes) == 26:  # a 26-way reader: the same rows without 'other'
        def of(g):
            row = probabilities_of(g)[:26]
            return row / row.sum()
        assert text(choose_cuts_in_words(segments, of, classes, model), of) == "corner"
    else:  # a reader that lacks letters: the language cannot read its words, so the network's choice stands
        assert choose_cuts_in_words(segments, probabilities_of, classes, model) == choose_cuts(segments,
                                                                                               probabilities_of)
