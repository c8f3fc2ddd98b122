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
import numpy as np
from scipy import ndimage

REACH = 3  # px from the nearest strong pixel (above `high`) that a stroke's soft edge reaches
_ROWS, _COLUMNS = np.mgrid[-REACH:REACH + 1, -REACH:REACH + 1]
WITHIN_REACH = _ROWS ** 2 + _COLUMNS ** 2 <= REACH ** 2  # (2 REACH + 1, 2 REACH + 1) bool: a disc of radius REACH
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
    near = ndimage.binary_dilation(strong, structure=WITHIN_REACH)  # a third of the EDT's time
    far = int(np.count_nonzero(candidate & ~near))
    if far < FAR_SHARE * total:
        return candidate
    return candidate & near
