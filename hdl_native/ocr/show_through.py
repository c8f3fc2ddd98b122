"""The writing on the sheet's back showing through: kept from joining the front's letters.

On thin paper, or written with a wet pen, the back's writing shows through, mirrored and soft (the paper scatters
the light), up to a third as dark as the front's ink.  It stays below the ink mask's `high` threshold, so it makes
few marks of its own, but above its `low` one, which a stroke's soft edges and faint parts need: wherever a back
stroke touches a front letter the hysteresis grows the letter's mark along it, into its neighbours and across the
gaps between words.  On held-out pages whose back shows through at 0.3 of the ink's darkness 75% of the letters
were read (90% on the same pages without it), and 30% of their digits and marks were printed as letters.

A front stroke's pixels above `low` lie within its soft edge of its strong core, so where the pixels above `low`
but farther than REACH px from any pixel above `high` are FAR_SHARE or more of them, they are left out.  On the
development pages (held-out seed 11, after the rules are taken out) 0 to 8% of them lie that far on sharp photos,
at most 11% on faint, dark, thick-pen and blurred ones (the most on the angled photo); a back showing through at
0.2 of the ink puts 5 to 19% there, at 0.3 9 to 28%.  Not on grainy photos, whose smoothed grain makes specks of ink
when cut so (ink_map's InkMap.smoothed).
"""
from math import isqrt

import numpy as np

REACH = 3  # px from the nearest strong pixel (above `high`) that a stroke's soft edge reaches
FAR_SHARE = 0.13  # share of the pixels above `low` lying farther than REACH from which the back shows through


def without_the_back(candidate, strong, smoothed):
    """candidate: (H, W) bool pixels above the ink map's `low` (rules taken out); strong: (H, W) bool those above its
    `high` -> candidate less the pixels farther than REACH px from any strong one where those are FAR_SHARE of it or
    more (module docstring); as it is where the map was smoothed (a grainy photo) or fewer lie that far."""
    if smoothed:
        return candidate
    total = int(candidate.sum())
    if total == 0:
        return candidate
    near = within_disc(strong, REACH)
    far = int(np.count_nonzero(candidate & ~near))
    if far < FAR_SHARE * total:
        return candidate
    return candidate & near


def within_disc(mask, radius):
    """(H, W) bool: the pixels within `radius` px (rows^2 + columns^2 <= radius^2) of one of `mask`'s, as scipy's
    binary_dilation by that disc gives them, but ten times sooner (on a 12 MP photo's 2000 x 1500 working copy,
    0.014 s against 0.14 s).  The disc is the union of the rectangles reaching b rows and isqrt(radius^2 - b^2)
    columns from its centre, b = 0 .. radius, and a rectangle's dilation is shifts along the rows, then along
    the columns."""
    rectangles = {(rows, isqrt(radius * radius - rows * rows)) for rows in range(radius + 1)}
    covering = [(rows, columns) for rows, columns in rectangles  # those no wider and taller one holds
                if not any(r >= rows and c >= columns and (r, c) != (rows, columns) for r, c in rectangles)]
    near = np.zeros_like(mask, dtype=bool)
    for rows, columns in covering:
        near |= shifted_or(shifted_or(mask, rows, 0), columns, 1)
    return near


def shifted_or(mask, reach, axis):
    """(H, W) bool: `mask` or'ed with itself shifted by 1 .. `reach` px either way along `axis` (nothing beyond
    the edges)."""
    grown = mask.copy()
    for step in range(1, reach + 1):
        ahead = [slice(None)] * 2
        behind = [slice(None)] * 2
        ahead[axis], behind[axis] = slice(step, None), slice(None, -step)
        grown[tuple(ahead)] |= mask[tuple(behind)]
        grown[tuple(behind)] |= mask[tuple(ahead)]
    return grown
