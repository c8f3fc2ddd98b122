"""Use how big a glyph is beside its line's letters: a comma is not an i, however alike their crops look.

The reader enlarges every box until its longer side fills the crop (crops.py), so a comma, an
apostrophe, a quote or a full stop reaches the network as a fat stroke or blob the size of a letter:
the one thing that tells a comma from an i, its size, is gone.  In the line it is plain to see.  No
letter is much smaller than the line's letters on both sides: the smallest ones (a, c, e, o, ...)
still reach the x-height, about half an ascender's height in handwriting, and the narrow ones (i, l)
are tall.  A mark such as , . ' " - is small both ways.  So a glyph whose height and width are both
below TINY times the line's median glyph height has its letters' probabilities multiplied by
TINY_LETTER_PRIOR and renormalised: a soft rule like the zone rule (zones.py), so a letter the network
is sure of keeps its reading.  Lines of fewer than MIN_GLYPHS glyphs have no reliable median and are
left as they are, as are readers without the class 'other'.
"""
import numpy as np

from ..data.datasets import NOT_A_LETTER

TINY = 0.45  # a glyph this many times the line's median glyph height, or less, both ways, is tiny
TINY_LETTER_PRIOR = 0.03  # weight left to the letters of a tiny glyph (0.1 until the thirty-second session)
MIN_GLYPHS = 3


def tiny_glyphs(glyphs):
    """bool (n,): glyphs whose height and width are both at most TINY x the line's median glyph height
    (all False in lines of fewer than MIN_GLYPHS).  glyphs: objects with top, bottom, left, right."""
    if len(glyphs) < MIN_GLYPHS:
        return np.zeros(len(glyphs), dtype=bool)
    heights = np.array([g.bottom - g.top for g in glyphs], np.float64)
    widths = np.array([g.right - g.left for g in glyphs], np.float64)
    limit = TINY * float(np.median(heights))
    return (heights <= limit) & (widths <= limit)


def apply_sizes(glyphs, probabilities, classes):
    """probabilities (n, classes) with the letters of tiny glyphs weighed down by TINY_LETTER_PRIOR."""
    if NOT_A_LETTER not in classes:
        return probabilities
    tiny = tiny_glyphs(glyphs)
    if not tiny.any():
        return probabilities
    weighted = probabilities.copy()
    letters = np.arange(len(classes)) != list(classes).index(NOT_A_LETTER)
    weighted[np.ix_(tiny, letters)] *= TINY_LETTER_PRIOR
    return weighted / np.maximum(weighted.sum(axis=1, keepdims=True), 1e-30)
