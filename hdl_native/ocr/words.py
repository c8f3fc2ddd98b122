"""Use the word a glyph stands in: inside a word of letters, a glyph is almost surely a letter too.

A reader that can answer 'other' (a digit or a mark) meets glyphs that are both: an undotted i or an l
is a 1, an o is a 0, a long l is a '/' or a '|'.  Alone, the network can only guess.  In a line the
question mostly answers itself: numbers stand as numbers (most of their glyphs are digits), marks
stand at the ends of words (a comma, a full stop) or alone (a dash), while a glyph inside a word
that is mostly letters (not its first or last glyph) is a letter: the two l of "hello" are, even
when the network alone would call both of them '1'.  So the network's probability of 'other' for
such a glyph is multiplied by OTHER_INSIDE_WORD and renormalised: a soft rule like the zone rule
(zones.py), so a glyph the network is sure is a mark (an apostrophe in "don't") keeps its reading.
The same holds the other way round: in a word that is mostly digits and marks (a date, "1990"), every
glyph's letters are weighed down by the same factor, so the 1 between 9s is not printed as an l.
Lines without the class 'other' are left as they are.
"""
import numpy as np

from ..data.datasets import NOT_A_LETTER
from .recognize import word_breaks

OTHER_INSIDE_WORD = 0.1  # weight left to 'other' inside a word of letters, and to letters in a word of digits


def apply_words(glyphs, probabilities, classes):
    """probabilities (n, classes) of glyphs left to right, with 'other' down-weighted inside words."""
    if NOT_A_LETTER not in classes or len(glyphs) < 3:
        return probabilities
    other = list(classes).index(NOT_A_LETTER)
    boxes = [(g.top, g.bottom, g.left, g.right) for g in glyphs]
    starts = np.concatenate([[0], np.flatnonzero(word_breaks(boxes)) + 1, [len(glyphs)]])
    letter = probabilities.argmax(axis=1) != other
    inside = np.zeros(len(glyphs), dtype=bool)  # inside a word of letters
    in_number = np.zeros(len(glyphs), dtype=bool)  # anywhere in a word of digits and marks
    for start, end in zip(starts[:-1], starts[1:]):
        letters = int(letter[start:end].sum())
        if end - start >= 3 and 2 * letters > end - start:
            inside[start + 1:end - 1] = True
        elif end - start >= 2 and 2 * letters < end - start:
            in_number[start:end] = True
    if not (inside.any() or in_number.any()):
        return probabilities
    weighted = probabilities.copy()
    weighted[inside, other] *= OTHER_INSIDE_WORD
    letter_columns = np.arange(len(classes)) != other
    weighted[np.ix_(in_number, letter_columns)] *= OTHER_INSIDE_WORD
    return weighted / np.maximum(weighted.sum(axis=1, keepdims=True), 1e-30)
