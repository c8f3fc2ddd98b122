"""Cutting a word's touching letters as its language reads best (hdl_native/ocr/word_cuts.py)."""
import itertools

import numpy as np
import pytest

from hdl_native.data.datasets import NOT_A_LETTER
from hdl_native.ocr.boxes import Glyph, Segment
from hdl_native.ocr.language import LETTERS, LetterNgrams, count_ngrams, english_log_odds
from hdl_native.ocr import word_cuts
from hdl_native.ocr.recognize import choose_cuts, scored_options
from hdl_native.ocr.word_cuts import (ENGLISH_LOG_ODDS, LANGUAGE_WEIGHT, choose_cuts_in_words,
                                      word_value)

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


def test_a_word_that_is_no_english_is_cut_among_the_networks_own_options_by_their_scores():
    model = LetterNgrams(count_ngrams(WORDS, 5))
    # the network prefers the whole mark by 0.02 nats, less than a sixth glyph adds to a word of arbitrary letters'
    # language term (whose log(1/2) prior is shared by one glyph more): the pieces, both the network's own options
    segments, probabilities_of = word_with_a_touching_pair("r", "n", "m", p_whole=0.5 * np.exp(-0.28),
                                                           before="zq", after="xv")
    assert text(choose_cuts(segments, probabilities_of), probabilities_of) == "zqmxv"
    cut = [g for s in segments for g in s.options[-1]]  # the pair cut in two
    letters = np.array([probabilities_of(g)[:26] for g in cut])
    log_odds, _ = english_log_odds(np.log(letters / letters.sum(axis=1, keepdims=True)), model)
    assert log_odds < ENGLISH_LOG_ODDS
    assert text(choose_cuts_in_words(segments, probabilities_of, CLASSES, model), probabilities_of) == "zqrnxv"
    segments, probabilities_of = word_with_a_touching_pair("r", "n", "m", p_pieces=0.3, p_whole=0.9,
                                                           before="zq", after="xv")  # surer of the whole: kept
    assert text(choose_cuts_in_words(segments, probabilities_of, CLASSES, model), probabilities_of) == "zqmxv"


def test_a_word_that_is_no_english_is_not_cut_where_only_the_language_may_cut():
    model = LetterNgrams(count_ngrams(WORDS, 5))
    for before, after, expected in [("zq", "xv", "zqmxv"), ("co", "er", "corner")]:
        segments, probabilities_of = word_with_a_touching_pair("r", "n", "m", p_pieces=0.9, p_whole=0.3,
                                                               before=before, after=after)
        whole, halves = segments[2].options
        segments[2] = Segment([whole], pieces={(0, 1): halves[0], (1, 2): halves[1], (0, 2): whole[0]},
                              n_boundaries=3, max_pieces=0, language_pieces=2)
        assert text(choose_cuts_in_words(segments, probabilities_of, CLASSES, model), probabilities_of) == expected


def test_a_cut_that_leaves_a_piece_to_digits_and_marks_is_not_the_languages_to_take():
    """Cutting a stroke off a letter as a piece the network calls a digit or mark would drop that stroke from the
    text; the language cannot read such a piece, so it cannot vouch for the cut."""
    model = LetterNgrams(count_ngrams(WORDS, 5))
    segments, probabilities_of = word_with_a_touching_pair("n", NOT_A_LETTER, "m", p_pieces=0.95, p_whole=0.75,
                                                           before="tur", after="")
    assert text(choose_cuts(segments, probabilities_of), probabilities_of) == "turm"  # the whole's head start
    assert text(choose_cuts_in_words(segments, probabilities_of, CLASSES, model), probabilities_of) == "turm"
    segments, probabilities_of = word_with_a_touching_pair("r", "n", "m", before="tu", after="")
    assert text(choose_cuts_in_words(segments, probabilities_of, CLASSES, model), probabilities_of) == "turn"


def test_a_glyph_read_as_a_digit_or_mark_is_charged_as_an_unknown_symbol_in_the_word():
    model = LetterNgrams(count_ngrams(WORDS, 5))
    columns = np.arange(26)
    segments, probabilities_of = word_with_a_touching_pair("n", NOT_A_LETTER, "n", before="tur", after="")
    scored = [scored_options(segment, probabilities_of) for segment in segments]
    marks = segments[-1].options[1][1]
    value, log_odds, n_marks = word_value(scored, [0, 0, 0, 1], probabilities_of, columns, model)
    assert n_marks == 1 and CLASSES[int(np.argmax(probabilities_of(marks)))] == NOT_A_LETTER
    without, same_log_odds, _ = word_value(scored[:3] + [([[segments[-1].options[1][0]]], [scored[-1][1][1]])],
                                           [0, 0, 0, 0], probabilities_of, columns, model)
    assert same_log_odds == pytest.approx(log_odds)  # the language reads the same letters
    # the same word and network score, one glyph more charged log(1/27): value x 5 glyphs vs without x 4
    network = sum(scores[k] for (_, scores), k in zip(scored, [0, 0, 0, 1]))
    assert (value - network) * 5 == pytest.approx((without - network) * 4 + LANGUAGE_WEIGHT * np.log(1 / 27))


def test_a_mark_offered_to_the_language_alone_is_never_cut_by_the_network_alone():
    model = LetterNgrams(count_ngrams(WORDS, 5))
    segments, probabilities_of = word_with_a_touching_pair("r", "n", "m", p_pieces=0.9, p_whole=0.3)
    pair = segments[2]
    whole, halves = pair.options
    language_only = Segment([whole], pieces={(0, 1): halves[0], (1, 2): halves[1], (0, 2): whole[0]},
                            n_boundaries=3, max_pieces=0, language_pieces=2)
    segments[2] = language_only
    assert text(choose_cuts(segments, probabilities_of), probabilities_of) == "comer"  # sure of the halves, still
    assert text(choose_cuts_in_words(segments, probabilities_of, CLASSES, None), probabilities_of) == "comer"
    assert text(choose_cuts_in_words(segments, probabilities_of, CLASSES, model), probabilities_of) == "corner"
    assert text(choose_cuts_in_words(segments, probabilities_of, list(LETTERS[:20]) + [NOT_A_LETTER], model),
                probabilities_of) == "comer"


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


def test_a_cut_in_three_is_the_words_language_alone_to_take():
    """A mark 1.4 to 1.9 letters wide: the network may read it whole or cut in two, the word's language may also
    cut it in three (Segment.language_pieces): three narrow letters touching."""
    model = LetterNgrams(count_ngrams(WORDS, 5))
    probabilities, segments, left = {}, [], 0
    for letter in "mor":
        g = glyph(left)
        probabilities[id(g)] = reading(letter, 0.95)
        segments.append(Segment([[g]]))
        left += 42
    cuts = [left, left + 25, left + 40, left + 65]  # n, i, n
    piece = {(i, j): glyph(cuts[i], cuts[j] - cuts[i]) for i in range(4) for j in range(i + 1, 4)}
    for key, letter, p in [((0, 1), "n", 0.9), ((1, 2), "i", 0.9), ((2, 3), "n", 0.9), ((0, 2), "m", 0.5),
                           ((1, 3), "u", 0.5), ((0, 3), "m", 0.5)]:
        probabilities[id(piece[key])] = reading(letter, p)
    segments.append(Segment([[piece[(0, 3)]], [piece[(0, 2)], piece[(2, 3)]]], pieces=piece, n_boundaries=4,
                            max_pieces=2, language_pieces=3))
    g = glyph(left + 67)
    probabilities[id(g)] = reading("g", 0.95)
    segments.append(Segment([[g]]))
    probabilities_of = probabilities.__getitem__

    def of(g):
        return probabilities_of(id(g))
    network = text(choose_cuts(segments, of), of)
    assert network in ("mormg", "mormng", "mornug")  # never three pieces, though it is surest of them
    assert text(choose_cuts_in_words(segments, of, CLASSES, None), of) == network
    assert text(choose_cuts_in_words(segments, of, CLASSES, model), of) == "morning"


def test_a_long_word_of_many_options_is_not_weighed_and_its_combinations_never_built(monkeypatch):
    """A line of noise (a dithered palette image) gave a word of dozens of marks each with several close options:
    3^60 combinations were listed before they were counted, and the process ran out of memory."""
    built = []

    def counted_product(*options):
        for combination in itertools.product(*options):
            built.append(combination)
            assert len(built) <= word_cuts.MAX_COMBINATIONS, "more combinations built than are ever weighed"
            yield combination

    monkeypatch.setattr(word_cuts, "product", counted_product)
    marks = 60
    scored = [([[glyph(42 * m)], [glyph(42 * m, 20)], [glyph(42 * m, 10)]], [-0.1, -0.2, -0.3]) for m in range(marks)]
    chosen = [0] * marks
    assert word_cuts.best_combination(scored, chosen, [3] * marks, None, None, None) == chosen
    assert built == []
