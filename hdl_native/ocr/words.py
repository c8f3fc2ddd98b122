"""Use the word a glyph stands in: inside a word of letters, a glyph is almost surely a letter too.

A reader that can answer 'other' (a digit or a mark) meets glyphs that are both: an undotted i or an l
is a 1, an o is a 0, a g or a q is a 9, a long l is a '/' or a '|'.  Alone, the network can only guess.
In a line the question mostly answers itself: numbers stand as numbers (all their glyphs are digits),
marks stand at the ends of words (a comma, a full stop) or alone (a dash), while the other glyphs of a
word of letters are letters too: the two l of "hello" are, even when the network alone would call both
of them '1'.  So each word's glyphs vote: the sum of the network's log-odds of 'other' over them says
whether the word is one of letters (sum <= 0) or of digits and marks (sum > 0), so a 0 the network is
sure of outweighs a 1 it would call an l, where counting best guesses would tie.  In a word of letters,
the probability of 'other' of every glyph but the last (where a '!' or a '?' may close the word) is
multiplied by OTHER_INSIDE_WORD and renormalised (of every glyph, where a tiny mark closes the word: the comma
or colon is its last glyph then); in a word of digits and marks every glyph's letters are.  A soft rule like
the zone rule (zones.py), so a glyph the network is sure is a mark keeps its reading.  Tiny glyphs (sizes.py: a
comma, an apostrophe, a full stop beside the letters) neither vote nor are weighed: their size has already
spoken.  Words of one glyph are left to the network here (a lone 'a'
or 'I' is a word, a lone '1' a number; language.py weighs them by the language's words of one letter), as are
lines without the class 'other'.
"""
import numpy as np

from ..data.datasets import NOT_A_LETTER
from .recognize import glyph_words
from .sizes import tiny_glyphs

OTHER_INSIDE_WORD = 0.03  # weight left to 'other' in a word of letters, and to letters in a word of digits


def apply_words(glyphs, probabilities, classes):
    """probabilities (n, classes) of glyphs left to right, with 'other' weighed down in words of letters and the
    letters weighed down in words of digits and marks (see the module docstring for which glyphs of a word)."""
    if NOT_A_LETTER not in classes or len(glyphs) < 2:
        return probabilities
    other = list(classes).index(NOT_A_LETTER)
    p_other = np.clip(probabilities[:, other], 1e-6, 1 - 1e-6)
    log_odds = np.log(p_other) - np.log1p(-p_other)  # > 0: the network leans to 'not a letter'
    tiny = tiny_glyphs(glyphs)
    in_letters = np.zeros(len(glyphs), dtype=bool)  # 'other' weighed down
    in_number = np.zeros(len(glyphs), dtype=bool)  # letters weighed down
    for start, end in glyph_words(glyphs):
        body = [i for i in range(start, end) if not tiny[i]]
        if len(body) < 2:
            continue
        if log_odds[body].sum() > 0:
            in_number[body] = True
        else:  # the last glyph may close the word ('!', '?'), unless a tiny mark does (',', '.', ':')
            in_letters[body[:-1] if body[-1] == end - 1 else body] = True
    if not (in_letters.any() or in_number.any()):
        return probabilities
    weighted = probabilities.copy()
    weighted[in_letters, other] *= OTHER_INSIDE_WORD
    letter_columns = np.arange(len(classes)) != other
    weighted[np.ix_(in_number, letter_columns)] *= OTHER_INSIDE_WORD
    return weighted / np.maximum(weighted.sum(axis=1, keepdims=True), 1e-30)
