"""Use where a letter sits in its line: the height a crop loses when it is scaled to 24 pixels.

Handwritten lowercase letters live in zones: all sit on the baseline and reach the x-height;
b d f h k l t rise above it (ascenders), g j p q y f drop below the baseline (descenders).
Scaled into a 28x28 frame, an undotted i is exactly an l and a j without its dot is close to
both; in the line they are not alike at all.  So when a line clearly shows these zones
(letters standing on a common baseline, some clearly taller than the others), a letter that
only reaches the x-height cannot be an ascender or descender letter, and one that drops
below the baseline must be a descender letter.  The network's probabilities for the letters
the zone rules out are multiplied by ZONE_PRIOR and renormalised: a soft rule, so a letter the
network is sure of keeps its reading, and lines without clear zones (capitals, one height
everywhere, too few letters) are left as they are.  Tall letters are never constrained: an
uppercase letter of any kind is tall.  The heights can vary for other reasons (letters each
scaled to fill the same box, so that wide ones come out low), so the network's sure readings
must not deny the zones: where at least CONFIRMING glyphs are surely ascender letters and as
many surely x-height letters, the first must stand TALL times as high as the second.
"""
import numpy as np

from ..data.datasets import NOT_A_LETTER

ASCENDERS = set("bdfhklt")
DESCENDERS = set("gjpqyf")
X_HEIGHT_LETTERS = set("acemnorsuvwxz")  # neither rise nor drop, in lowercase
DESCENDER_ZONE = DESCENDERS | {"z"}  # a joined z often has a descender loop
ZONE_PRIOR = 0.05  # weight left to a letter its zone rules out
MIN_LETTERS = 5  # fewer letters than this do not show a line's zones reliably
TALL = 1.3  # a letter reaching this many x-heights above the baseline is tall
SHORT = 1.2  # ... and one reaching at most this many is an x-height letter
DESCENT = 0.35  # x-heights below the baseline that make a descender
ON_BASELINE = 0.2  # x-heights from the baseline within which a letter stands on it
SURE = 0.8  # a reading this likely confirms or denies the zones
CONFIRMING = 2  # sure ascender letters and sure x-height letters a line needs before they can deny its zones


def line_zones(glyphs):
    """The line's baseline and x-height from its glyphs' boxes, or None when the zones are unclear.

    glyphs: objects with top, bottom, left, right (image rows grow downwards), left to right.
    Returns (baseline rows (n,) float at each glyph's centre, x_height float).
    """
    if len(glyphs) < MIN_LETTERS:
        return None
    centres = np.array([(g.left + g.right) / 2 for g in glyphs], np.float64)
    bottoms = np.array([g.bottom for g in glyphs], np.float64)
    tops = np.array([g.top for g in glyphs], np.float64)
    baseline = robust_line(centres, bottoms, tolerance=0.1 * float(np.median(bottoms - tops)))
    heights = baseline - tops
    x_height = float(np.percentile(heights, 25))
    if x_height <= 0:
        return None
    on_baseline = np.abs(bottoms - baseline) <= ON_BASELINE * x_height
    tall = heights >= TALL * x_height
    short = heights <= SHORT * x_height
    if on_baseline.mean() < 0.5 or tall.sum() < 2 or short.sum() < 2:
        return None
    return baseline, x_height


def robust_line(x, y, tolerance):
    """Values (n,) at x of a straight line through most of the points (x, y), ignoring descenders.

    A Theil-Sen line (median pairwise slope, median intercept) copes with a minority of
    outliers; least squares through the points within `tolerance` of it then refines it.
    """
    i, j = np.triu_indices(len(x), k=1)
    apart = x[j] != x[i]
    slope = float(np.median((y[j] - y[i])[apart] / (x[j] - x[i])[apart])) if apart.any() else 0.0
    fitted = slope * x + float(np.median(y - slope * x))
    near = np.abs(y - fitted) <= tolerance
    if near.sum() >= 2 and np.ptp(x[near]) > 0:
        slope, intercept = np.polyfit(x[near], y[near], 1)
        fitted = slope * x + intercept
    return fitted


def readings_deny_zones(glyphs, probabilities, classes):
    """True when the glyphs the network is sure of say the line's heights are not zones: at least CONFIRMING
    glyphs read as ascender letters (b d h k l t) and as many read as x-height letters, and the first are not
    TALL times as high as the second (medians).  probabilities: (n, classes), or None (nothing denies)."""
    if probabilities is None:
        return False
    names = [c.lower() for c in classes]
    best, sure = probabilities.argmax(axis=1), probabilities.max(axis=1) >= SURE
    heights = np.array([g.bottom - g.top for g in glyphs], np.float64)
    rising = [h for h, b, s in zip(heights, best, sure) if s and names[b] in ASCENDERS - DESCENDERS]
    low = [h for h, b, s in zip(heights, best, sure) if s and names[b] in X_HEIGHT_LETTERS]
    if len(rising) < CONFIRMING or len(low) < CONFIRMING:
        return False
    return float(np.median(rising)) < TALL * float(np.median(low))


def zone_weights(glyphs, classes, probabilities=None):
    """(n, classes) multipliers from each glyph's zone (ones where the line shows no clear zones, or where the
    network's sure readings deny them: readings_deny_zones)."""
    weights = np.ones((len(glyphs), len(classes)), np.float64)
    zones = line_zones(glyphs)
    if zones is None or readings_deny_zones(glyphs, probabilities, classes):
        return weights
    baseline, x_height = zones
    names = [c.lower() for c in classes]
    leaves_x_zone = np.array([c in ASCENDERS or c in DESCENDERS for c in names])
    # a comma, a semicolon or a bracket drops below the baseline too: NOT_A_LETTER is never ruled out
    not_descending = np.array([c not in DESCENDER_ZONE and c != NOT_A_LETTER for c in names])
    for row, glyph in enumerate(glyphs):
        if baseline[row] - glyph.top > SHORT * x_height:
            continue
        if glyph.bottom - baseline[row] >= DESCENT * x_height:
            weights[row, not_descending] = ZONE_PRIOR
        else:
            weights[row, leaves_x_zone] = ZONE_PRIOR
    return weights


def apply_zones(glyphs, probabilities, classes):
    """probabilities (n, classes) reweighted by zone_weights and renormalised."""
    if len(glyphs) == 0:
        return probabilities
    weighted = probabilities * zone_weights(glyphs, classes, probabilities)
    return weighted / np.maximum(weighted.sum(axis=1, keepdims=True), 1e-30)
