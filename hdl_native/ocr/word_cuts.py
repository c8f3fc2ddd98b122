"""Cut a word's touching letters the way its language reads best.

recognize.choose_cuts picks each mark's cut alone, by how sure the network is of its letters.  Where letters touch
that is often the wrong cut, and by little: on held-out pages of English words written touching, a cut of the marks
that would have found 315 more of 2,054 letters was offered and not taken, scored a median of 0.25 nats (mean log
probability) behind the one chosen, most often the whole mark or one piece too few (an 'rn' read as one 'm').  The
network alone cannot tell them apart; the word can: "comer" and "corner" are both English, but the pieces of most
wrong cuts spell nothing.

So, for a line read with a language model, the marks of each word are weighed together.  Every combination of the
marks' options that score within WINDOW of each mark's chosen one (at most MAX_OPTIONS each) gets

    sum over the word's marks of choose_cuts' score  +  LANGUAGE_WEIGHT x language / glyphs in the word,

where `language` is what reading the word's letters as a word adds to the network's surest letters: the log of the
mixture of the English and the arbitrary-letters hypotheses of language.py, less the sum of the letters' best log
probabilities, and log(1/27) for each glyph the network takes for a digit or mark (a piece the language cannot
read pays as an unknown symbol would).  Without the language term the sum picks each mark's best-scoring option, as
choose_cuts does (for a mark whose cut is offered to the language alone that may be the cut, which is then taken only
as any other change is, below).  The best
combination replaces the network's when it leaves no more of the word's glyphs to digits and marks and, where it
takes a cut offered to the language alone (below), the word reads as English at least as likely as arbitrary letters
(log-odds of at least ENGLISH_LOG_ODDS, 0).  A word of random letters, a name or a code may so be cut anew among the
network's own options only: for arbitrary letters the language term is close to log(1/27) a glyph whatever the cut,
with the hypotheses' shared prior log(1/2) spread over the word's glyphs, a lean of 0.06 to 0.23 nats towards more
pieces that serves letters written touching (the network alone cuts them one piece too few) and, with the language's
own cuts kept out, costs letters standing apart nothing (BENCHMARKS.md).

Marks from boxes.LANGUAGE_SPLIT_WIDTH to MAYBE_SPLIT_WIDTH letters wide (two narrow letters touching, or one wide
letter: an m, a w) are offered cut in two here only (Segment.max_pieces 0, language_pieces 2): the network alone
would cut too many wide letters, but a word that reads as English only with the mark cut in two may have it.

Marks from MAYBE_SPLIT_WIDTH to SPLIT_WIDTH wide, which the network may read whole or cut in two (max_pieces 2), the
word's language may also cut in three (language_pieces 3): three narrow letters touching.

The settings were chosen on held-out pages (BENCHMARKS.md: "Touching letters cut as their word reads", "Marks 1.2
to 1.4 letters wide cut in two for the word's language only" and "Cuts in three for the word's language, and the English
gate at even odds").

Shapes: probabilities_of(glyph) -> (classes,).
"""
import math
from itertools import product

import numpy as np

from .language import LETTERS, english_log_odds
from .recognize import glyph_words, network_choices, scored_options

WINDOW = 1.0  # nats (mean log-probability) behind a mark's chosen option that another option may be
MAX_OPTIONS = 4  # options of one mark tried, the best first
MAX_COMBINATIONS = 256  # combinations of a word's options weighed; more: the best two of each mark; still more: none
LANGUAGE_WEIGHT = 2.0  # nats of option score that one nat of the language term per glyph is worth
ENGLISH_LOG_ODDS = 0.0  # a word's new cut must make it at least as likely English as arbitrary letters (p >= 0.5)
UNKNOWN_SYMBOL = np.log(1.0 / 27)  # the language term of a glyph read as a digit or mark


def choose_cuts_in_words(segments, probabilities_of, classes, ngrams):
    """choose_cuts with each word's marks cut as the module docstring says -> [Glyph] left to right.

    segments: one line's Segments (boxes.find_segments); classes: the reader's class names; ngrams: a LetterNgrams,
    or None to choose as choose_cuts does."""
    with_language = reads_words(classes, ngrams)
    scored = [scored_options(segment, probabilities_of, with_language) for segment in segments]
    own = [network_choices(segment, options) for segment, (options, _) in zip(segments, scored)]
    chosen = [int(np.argmax(scores[:n])) for (_, scores), n in zip(scored, own)]
    if with_language:
        letter_columns = np.array([list(classes).index(letter) for letter in LETTERS])
        glyphs = [glyph for (options, _), k in zip(scored, chosen) for glyph in options[k]]
        mark_of = [m for m, ((options, _), k) in enumerate(zip(scored, chosen)) for _ in options[k]]
        for start, end in glyph_words(glyphs):
            marks = sorted(set(mark_of[start:end]))
            best = best_combination([scored[m] for m in marks], [chosen[m] for m in marks], [own[m] for m in marks],
                                    probabilities_of, letter_columns, ngrams)
            for m, k in zip(marks, best):
                chosen[m] = k
    return [glyph for (options, _), k in zip(scored, chosen) for glyph in options[k]]


def reads_words(classes, ngrams):
    """Whether a line's words are weighed here: with a language model (ngrams not None) and a reader of every
    letter (its class names `classes`); otherwise each mark keeps the network's choice."""
    return ngrams is not None and set(LETTERS) <= set(classes)


def best_combination(scored, chosen, own, probabilities_of, letter_columns, ngrams):
    """The option to take for each of a word's marks: `chosen` (the network's picks) unless a combination within
    reach scores better and leaves no more glyphs to digits and marks (which the language cannot read, so cannot
    vouch for), and, if it takes a cut offered to the language alone, reads as English at least as likely as
    arbitrary letters.  scored: [(options, scores)] of the word's marks; own: how many of each mark's options, the
    first ones, are the network's own (recognize.network_choices)."""
    tried = [[k for k in np.argsort(-np.asarray(scores), kind="stable").tolist()
              if scores[k] >= scores[c] - WINDOW][:MAX_OPTIONS] for (_, scores), c in zip(scored, chosen)]
    if all(len(options) == 1 for options in tried):
        return chosen
    if math.prod(len(options) for options in tried) > MAX_COMBINATIONS:  # counted before any is built
        tried = [options[:2] for options in tried]
        if math.prod(len(options) for options in tried) > MAX_COMBINATIONS:
            return chosen
    combinations = list(product(*tried))
    prefixes = {}  # the beams of the combinations' first glyphs, shared (language.english_readings)
    values = [word_value(scored, combination, probabilities_of, letter_columns, ngrams, prefixes)
              for combination in combinations]
    chosen = tuple(chosen)  # among the combinations unless it fell out of the best two of a mark
    _, _, marks_chosen = (values[combinations.index(chosen)] if chosen in combinations
                          else word_value(scored, chosen, probabilities_of, letter_columns, ngrams, prefixes))
    allowed = [i for i in range(len(combinations)) if values[i][2] <= marks_chosen]
    best = max(allowed, key=lambda i: values[i][0], default=None)
    if best is None or combinations[best] == chosen:
        return list(chosen)
    if any(k >= n for k, n in zip(combinations[best], own)) and values[best][1] < ENGLISH_LOG_ODDS:
        return list(chosen)
    return list(combinations[best])


def word_value(scored, combination, probabilities_of, letter_columns, ngrams, prefixes=None):
    """(score, log-odds of English, glyphs read as digits or marks) of one combination of a word's options, as the
    module docstring says; prefixes: language.english_readings', shared by the combinations of one word."""
    glyphs = [glyph for (options, _), k in zip(scored, combination) for glyph in options[k]]
    rows = np.array([probabilities_of(glyph) for glyph in glyphs])
    is_letter = np.isin(rows.argmax(axis=1), letter_columns)
    language, log_odds = UNKNOWN_SYMBOL * int((~is_letter).sum()), -np.inf
    if is_letter.any():
        letters = rows[is_letter][:, letter_columns]
        log_p = np.log(np.maximum(letters / np.maximum(letters.sum(axis=1, keepdims=True), 1e-30), 1e-12))
        log_odds, mixture = english_log_odds(log_p, ngrams, prefixes=prefixes)
        language += mixture - float(log_p.max(axis=1).sum())
    network = sum(scores[k] for (_, scores), k in zip(scored, combination))
    return network + LANGUAGE_WEIGHT * language / len(glyphs), log_odds, int((~is_letter).sum())
