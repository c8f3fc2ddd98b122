"""A photo out of focus: how soft the writing's edges are, and the ink map sharpened where they are soft.

A blur spreads every stroke, so the gap of a few pixels between two letters written close together fills with the
edges of both and the mask holds them as one mark; the strokes also grow fainter.  On held-out pages blurred by
a Gaussian of 2.5 px (letters about 42 px tall) 87% of the letters were found where 99% are on the sharp pages.

How blurred a photo is can be read off its writing: the steepest edges of a stroke, relative to how dark the
stroke is.  A stroke of darkness A blurred by a Gaussian of s px has edges no steeper than about A / s, whatever
its darkness, so the ratio of the writing's steep slopes (the SLOPE_PERCENTILE of the gradient over the pixels
above the grain) to its darkness (page_writing's) falls as 1 / s.  Measured on the six held-out page types of
seed 11 (development pages), the ratio is 0.39 to 0.48 sharp, 0.30 to 0.35 blurred by 1 px, 0.24 to 0.28 by 1.5,
0.19 to 0.23 by 2, 0.16 to 0.20 by 2.5 and 0.16 to 0.17 by 3, which SHARP_SLOPE / sqrt(SHARP_SOFTNESS^2 + s^2)
follows: a sharp page's own strokes are about SHARP_SOFTNESS px soft (the letters are drawn up from small scans).
blur_sigma inverts it.  A thick pen, a JPEG of quality 15, a photo taken from farther away, dark or faint writing
and writing showing through from the back all measure below 0.8 px there, the sharp pages below 0.25.

Where the blur measures MIN_BLUR px or more, the ink map is sharpened by an unsharp mask of that radius:
ink + SHARPEN_AMOUNT (ink - ink blurred by s).  The gaps between letters, fainter than the strokes around them,
fall back towards the paper, and thin strokes regain some darkness.

A grainy photo out of focus (one taken in poor light, often both) loses the most: held-out pages blurred by 2.5 px
with grain of 15 grey levels read 64% of their letters, where the blur alone reads 84% (grain of 20 alone 89%).
ink_map smooths a grainy photo by DENOISE_SIGMA px first, and the unsharp mask on that sharpens its grain into
specks, so grainy_in_focus measures the blur on the smoothed map (the smoothing counted in: unblurred grainy
pages measure 0.8 to 1.7 px, pages blurred by 2 px 2.0 to 2.8), and from GRAINY_MIN_BLUR smooths it further, to
GRAINY_SMOOTHING of the blur (the blur has taken the finer detail already, the grain has not), then sharpens it by
the same mask with the grain's own differences cored out: each difference moved CORING spreads of the grain's
differences towards 0.
"""
import numpy as np
from scipy import ndimage

SLOPE_PERCENTILE = 90  # the writing's steep slopes: this percentile of the gradient's size over its pixels
SHARP_SLOPE = 0.47  # slope / darkness of a page as sharp as a photo gets, times its own softness (below)
SHARP_SOFTNESS = 1.18  # px: how soft the strokes of a sharp page are (its slope / darkness is 0.40)
MIN_BLUR = 1.3  # px of blur from which the ink map is sharpened (sharp photos of every kind measure below 0.8)
SHARPEN_AMOUNT = 1.5  # the unsharp mask's weight: ink + amount (ink - blurred ink)
GRAINY_MIN_BLUR = 2.0  # px measured on a grainy photo's smoothed map from which it is sharpened (its smoothing counted)
GRAINY_SMOOTHING = 0.5  # a grainy photo out of focus is smoothed to this share of its measured blur first
CORING = 2.0  # the unsharp mask of a grainy photo leaves out differences within this many spreads of its grain's


def blur_sigma(ink, writing_pixels, writing):
    """How many px (sd of a Gaussian) the photo's writing is blurred by beyond a sharp page's, from the steepness
    of its edges: ink (H, W) float32 darkness in [0, 1], writing_pixels (H, W) bool the pixels above the grain,
    writing its darkness (lighting.page_writing's).  0.0 where the edges are as steep as a sharp page's, and
    where there is no writing (writing None: no pixel above the grain)."""
    if writing is None:
        return 0.0
    rows, columns = np.gradient(ink)
    slopes = np.hypot(rows[writing_pixels], columns[writing_pixels])
    ratio = float(np.percentile(slopes, SLOPE_PERCENTILE)) / writing
    if ratio <= 0:
        return 0.0
    return float(np.sqrt(max(0.0, (SHARP_SLOPE / ratio) ** 2 - SHARP_SOFTNESS ** 2)))


def sharpened(ink, sigma, spread_of=None):
    """The (H, W) float32 ink map after an unsharp mask of radius sigma px (SHARPEN_AMOUNT), clipped to [0, 1].
    spread_of: for a grainy photo, a function giving the grain's spread of a (H, W) map of differences; each
    difference is then moved CORING such spreads towards 0 first (those smaller become 0)."""
    detail = ink - ndimage.gaussian_filter(ink, sigma)
    if spread_of is not None:
        cored = np.abs(detail) - np.float32(CORING * spread_of(detail))
        detail = np.copysign(np.maximum(cored, 0), detail)
    sharp = ink + np.float32(SHARPEN_AMOUNT) * detail
    return np.clip(sharp, 0, 1).astype(np.float32, copy=False)


def in_focus(ink, writing_pixels, writing):
    """(ink, the blur it was sharpened for in px, or 0.0 where it is left as it is): the ink map sharpened where
    blur_sigma measures MIN_BLUR or more; writing_pixels and writing as blur_sigma takes them (no writing: None)."""
    sigma = blur_sigma(ink, writing_pixels, writing)
    if sigma < MIN_BLUR:
        return ink, 0.0
    return sharpened(ink, sigma), sigma


def grainy_in_focus(ink, writing_pixels, writing, smoothed_by, spread_of):
    """(ink, the photo's blur in px, or 0.0 where it is left as it is) for a grainy photo's ink map already smoothed
    by a Gaussian of `smoothed_by` px: where blur_sigma measures GRAINY_MIN_BLUR or more on it, smoothed on to
    GRAINY_SMOOTHING of that blur and sharpened by an unsharp mask of the blur with the smoothing, the grain's
    differences cored out (sharpened's spread_of: the grain's spread of a map of differences).  The blur returned
    is the photo's own, without the smoothing; writing_pixels and writing as blur_sigma takes them."""
    sigma = blur_sigma(ink, writing_pixels, writing)
    if sigma < GRAINY_MIN_BLUR:
        return ink, 0.0
    more = np.sqrt(max(0.0, (GRAINY_SMOOTHING * sigma) ** 2 - smoothed_by ** 2))
    if more > 0:
        ink = ndimage.gaussian_filter(ink, more)
    return sharpened(ink, float(np.hypot(sigma, more)), spread_of), float(np.sqrt(sigma ** 2 - smoothed_by ** 2))
