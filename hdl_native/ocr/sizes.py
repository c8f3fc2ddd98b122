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

A glyph made of two or more marks each at most SPECK times the median height both ways is weighed down the same
way (and, as tiny glyphs are, kept out of words: words.py, language.py): the two dots of a colon, the dot and
comma of a semicolon, stacked one above the other into one glyph (boxes.py merges them as it merges an i with its
dot), are as tall together as a short letter and reach the network as a dot over a bar when a blurred photo or a
thick pen rounds them; no letter is made only of such specks (an i's stem reaches the x-height, a j's below it).
"""
import numpy as np

from ..data.datasets import NOT_A_LETTER

TINY = 0.45  # a glyph this many times the line's median glyph height, or less, both ways, is tiny
TINY_LETTER_PRIOR = 0.03  # weight left to the letters of a tiny glyph (0.1 until the thirty-second session)
SPECK = 0.4  # a glyph of two or more marks each at most this many times the line's median glyph height both ways
MIN_GLYPHS = 3


def tiny_glyphs(glyphs):
    """bool (n,): glyphs whose height and width are both at most TINY x the line's median glyph height, or that
    are made of two or more marks each at most SPECK x that height both ways (Glyph.part_sizes); all False in
    lines of fewer than MIN_GLYPHS.  glyphs: objects with top, bottom, left, right (and optionally part_sizes)."""
    if len(glyphs) < MIN_GLYPHS:
        return np.zeros(len(glyphs), dtype=bool)
    heights = np.array([g.bottom - g.top for g in glyphs], np.float64)
    widths = np.array([g.right - g.left for g in glyphs], np.float64)
    median = float(np.median(heights))
    specks = np.array([len(parts) >= 2 and all(max(part) <= SPECK * median for part in parts)
                       for parts in (getattr(g, "part_sizes", ()) for g in glyphs)], dtype=bool)
    return ((heights <= TINY * median) & (widths <= TINY * median)) | specks


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
