"""Even out the lighting: estimate the paper under the ink, and measure ink as darkness relative to it.

One global threshold fails on phone photos (a shadow on one side is darker than
ink on the other), so the paper level is estimated per pixel: a grey closing
(dilate then erode) with a window much wider than a pen stroke wipes the thin dark
strokes out and leaves the paper with its shadows and its colour cast.  It runs on
a reduced copy, since paper brightness changes slowly, and is scaled back; along
the few places where it does not (the sharp edge of a shadow), it is made again at
full resolution.
"""
from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

from .canvas import canvas_mask, off_canvas, painted
from .focus import grainy_in_focus, in_focus
from .rules import remove_rules
from .sheet import sheet_mask
from .show_through import without_the_back

PAPER_WORK_SIDE = 500  # the paper estimate is computed on a copy this big
CLOSING_FRACTION = 1 / 25  # closing window, as a fraction of the longest side: ~4x a pen stroke
MIN_CONTRAST = 0.08  # ink must be at least 8% darker than its paper to count
STRONG_CONTRAST = 0.22  # every ink mark needs some pixels at least this dark
LOW_NOISE_MULTIPLE, HIGH_NOISE_MULTIPLE = 6.0, 12.0  # thresholds in paper-grain standard deviations
NOISY_PAPER = 0.035  # grain above this (relative darkness) is smoothed before thresholding
DENOISE_SIGMA = 1.0  # px
FAINT_RULE_NOISE_MULTIPLE = 3.0  # rules are looked for this many grain deviations below `low`
HARD_EDGE = 0.15  # the paper brightening by this share within two cells of the reduced copy: a hard shadow's edge
FAINT_SHARE = 0.5  # the floors above follow the page's writing so a mark needs this share of its darkness
STRONGEST_INK_PERCENTILE = 90  # the page's writing: this percentile of the darkness of the pixels above the grain
FAINTEST_WRITING = 0.04  # ... and above this darkness, which no writing is fainter than (a photo without grain has
                         # the paper estimate's rounding, 1e-8, above its grain's threshold of 0)
HIGH_OVER_LOW = 1.5  # the strong threshold is at least this many times the low one
GRAIN_CAP_SHARE = 0.75  # the grain's thresholds never ask more than this share of the page's writing's darkness
WRITING_AREA = 0.001  # the grain's thresholds stop below the writing only where at least this share of the photo
                      # is above both (a blank grainy sheet: 0.001%; pages of writing 4 to 8%)


@dataclass
class InkMap:
    """How much darker than its paper each pixel is.

    ink: (H, W) float32 in [0, 1]; 0 = paper, 1 = black
    low: pixels above it may be ink (stroke edges, faint parts)
    high: a mark counts as ink only if some pixel exceeds it
    noise: robust standard deviation of the paper's grain
    blur: px of blur the photo measured and its ink map was sharpened for (focus.py; 0.0: read as photographed)
    smoothed: the photo was grainy, and its ink map smoothed (DENOISE_SIGMA)
    """

    ink: np.ndarray
    low: float
    high: float
    noise: float
    blur: float = 0.0
    smoothed: bool = False


def closed_paper(grey):
    """The paper without the writing, on a copy at most PAPER_WORK_SIDE big: (h, w) float32 (a grey closing)."""
    height, width = grey.shape
    factor = max(1.0, max(height, width) / PAPER_WORK_SIDE)
    small_size = (max(1, round(width / factor)), max(1, round(height / factor)))
    small = np.asarray(Image.fromarray(grey).resize(small_size, Image.Resampling.BOX), dtype=np.float32)
    return ndimage.grey_closing(small, size=(closing_window(small),) * 2, mode="nearest")


def closing_window(small):
    return max(5, round(max(small.shape) * CLOSING_FRACTION))


def estimate_paper(closed, shape):
    """Paper brightness under every pixel: closed_paper's small copy scaled back to the photo's (H, W)."""
    height, width = shape
    # not smoothed further: a mean over the window blurred the edge of a hard shadow into a band where
    # shadowed paper looked like ink (the closing of a BOX-reduced copy is smooth enough on its own)
    return np.asarray(Image.fromarray(closed).resize((width, height), Image.Resampling.BILINEAR), dtype=np.float32)


def sharpen_hard_edges(grey, closed, paper):
    """`paper` (H, W) with the bands along hard edges of the paper's brightness (the edge of a hard shadow, of the
    sheet) estimated again at full resolution.

    Scaling the reduced closing back spreads such an edge over a few pixels, and on its shadowed side the estimate
    is then brighter than the paper: a thin line of "ink" that ties together the letters it crosses.  A closing at
    full resolution keeps a straight step where it is, so it is used inside those bands (cells of the reduced copy
    whose 5x5 neighbourhood spans HARD_EDGE of its brightest paper).  Not smoothed first: averaging neighbours
    blurs the step again by a pixel, enough for a line of ink.  The closing's maximum rises with the paper's
    grain there, a few grain deviations, below the `low` threshold (LOW_NOISE_MULTIPLE of them): on a held-out
    hard-shadow page the band's paper reads 0.06 against `low` 0.12, and the 2.5% of its pixels above `low` are
    specks that the hysteresis drops unless they reach `high` or touch a stroke.
    """
    brightest = ndimage.maximum_filter(closed, size=5, mode="nearest")
    edge = brightest - ndimage.minimum_filter(closed, size=5, mode="nearest") > HARD_EDGE * np.maximum(brightest, 0.05)
    if not edge.any():
        return paper
    height, width = grey.shape
    band = np.asarray(Image.fromarray(edge).resize((width, height), Image.Resampling.NEAREST))
    rows, cols = np.flatnonzero(band.any(axis=1)), np.flatnonzero(band.any(axis=0))
    window = max(3, round(closing_window(closed) * max(height, width) / max(closed.shape)))
    top, bottom = max(0, rows[0] - window), min(height, rows[-1] + 1 + window)
    left, right = max(0, cols[0] - window), min(width, cols[-1] + 1 + window)
    sharp = ndimage.grey_closing(grey[top:bottom, left:right], size=(window, window), mode="nearest")
    inside = band[top:bottom, left:right]
    paper = paper.copy()
    paper[top:bottom, left:right][inside] = sharp[inside]
    return paper


def ink_map(grey, rgb=None, rounding=0.0):
    """Relative darkness (paper - pixel) / paper with the two thresholds of ink_mask's hysteresis (InkMap).

    The thresholds come from the paper's own grain (LOW_ and HIGH_NOISE_MULTIPLE deviations above its median),
    at least the floors (MIN_CONTRAST, STRONG_CONTRAST where the writing is 0.44 dark) that follow the page's
    writing, lower for faint writing and higher for dark ink, and stopped below the writing where the grain is
    nearly as dark as it (both measured by page_writing).

    A photo out of focus (its writing's edges softer than a sharp page's by focus.MIN_BLUR px or more) has its ink
    map sharpened first (focus.in_focus); a grainy one after its smoothing (focus.grainy_in_focus).

    rgb: the photo's colours, (H, W, 3) uint8; with them, where the photo shows a desk or table around
    the sheet (sheet.sheet_mask), that part holds no ink.  Nor does a flat canvas around the photo (a
    screenshot's bars, an editor's filled corners: canvas.py), which is first painted darker than the paper.
    rounding: the standard deviation, in grey, of the file's own rounding of its paper (a JPEG's:
    image_io.Photo.rounding_spread); the paper's grain is never taken as less (relative to the paper's brightness).
    A JPEG saved at quality 20 or less rounds smooth paper to flat 8x8 blocks: half the paper or more was then at
    the median, the grain's spread 0, and the thresholds at their floors below blocks a step or two darker than the
    paper (a mottled page at quality 15 read as 4 lines of 16 to 25 blocks; BENCHMARKS.md, sixty-third session).
    """
    canvas = canvas_mask(grey)
    if canvas is not None:  # a screenshot's bars, an editor's filled corners: painted darker than the paper
        grey = painted(grey, canvas)
    closed = closed_paper(grey)
    paper = sharpen_hard_edges(grey, closed, estimate_paper(closed, grey.shape))
    ink = (paper - grey) / np.maximum(paper, np.float32(0.05))
    np.clip(ink, 0, 1, out=ink)
    photo = None if canvas is None else off_canvas(canvas)
    if photo is not None:
        ink[~photo] = 0
    sheet = sheet_mask(closed, grey.shape, rgb, ink, strong_ink_share)
    if photo is not None:
        sheet = photo if sheet is None else sheet & photo
    if sheet is not None:
        ink[~sheet] = 0
    least_grain = rounding / max(paper_brightness(paper, sheet), 0.05) if rounding else 0.0
    median, noise = grain(ink, sheet, least_grain)
    blur, writing_measured = 0.0, None  # page_writing of `ink` as it stands, while it stands
    if noise <= NOISY_PAPER:
        # a photo out of focus: its ink map sharpened (focus.py), so letters written close together come apart
        ink, blur, (median, noise), writing_measured = brought_into_focus(ink, sheet, least_grain, (median, noise),
                                                                          in_focus)
    smoothed = noise > NOISY_PAPER
    if smoothed:
        # a grainy photo: averaging neighbours lowers the grain so faint strokes stay above the threshold
        # (not done on clean photos, where it would join letters written close together)
        ink = ndimage.gaussian_filter(ink, DENOISE_SIGMA, truncate=2.5)
        median, noise = grain(ink, sheet, least_grain)
        writing_measured = None
        if not blur:
            # a grainy photo out of focus: smoothed on and sharpened with its grain cored out (focus.py)
            def cored(ink, above, writing):
                return grainy_in_focus(ink, above, writing, DENOISE_SIGMA, lambda steps: grain(steps, sheet)[1])

            ink, blur, (median, noise), writing_measured = brought_into_focus(ink, sheet, least_grain,
                                                                              (median, noise), cored)
    grain_low = median + LOW_NOISE_MULTIPLE * noise
    grain_cap = np.inf
    if writing_measured is None:
        writing_measured = page_writing(ink, writing_pixels(ink, grain_low))
    writing, writing_area = writing_measured
    if writing_area >= WRITING_AREA and GRAIN_CAP_SHARE * writing < median + HIGH_NOISE_MULTIPLE * noise < 1:
        # grain nearly as dark as the writing (a grainy photo of faint writing, or a deep shadow's grain counted
        # with the lit paper's): its thresholds would leave out the writing itself, so they stop below it
        grain_cap = GRAIN_CAP_SHARE * writing
        grain_low = min(grain_low, grain_cap / HIGH_OVER_LOW)
    floors = 1.0 if writing is None else FAINT_SHARE * writing / STRONG_CONTRAST
    low = max(grain_low, MIN_CONTRAST * floors)
    high = max(strong_threshold(median, noise, floors, grain_cap), HIGH_OVER_LOW * low)
    return InkMap(ink.astype(np.float32, copy=False), low, high, noise, blur, smoothed)


def brought_into_focus(ink, sheet, least_grain, grain_measured, sharpen):
    """The ink map through `sharpen` (focus.in_focus, or grainy_in_focus with its grain), which is told the pixels
    that may be writing and how dark the writing is: (ink, blur px, (median, noise) of the grain, page_writing's
    (darkness, share) of the ink map returned, or None where it was sharpened and is to be measured again)."""
    median, noise = grain_measured
    above = writing_pixels(ink, median + LOW_NOISE_MULTIPLE * noise)
    writing_measured = page_writing(ink, above)
    ink, blur = sharpen(ink, above, writing_measured[0])
    if blur:
        return ink, blur, grain(ink, sheet, least_grain), None
    return ink, blur, grain_measured, writing_measured


def writing_pixels(ink, grain_low):
    """(H, W) bool: the pixels of the ink map that may be writing, above both `grain_low` (the low threshold its
    paper's grain alone sets) and FAINTEST_WRITING."""
    return ink > max(grain_low, FAINTEST_WRITING)


def page_writing(ink, above):
    """(How dark the page's writing is, the share of the photo it covers): the STRONGEST_INK_PERCENTILE of the
    darkness of the pixels `above` marks (writing_pixels'), and the share of the photo's pixels they are; (None,
    0.0) where there are none.  The darkness is 0.6 to 0.8 on pages written in ink, about 0.2 on faint pencil or
    an over-exposed photo.

    ink_map's thresholds follow it two ways.  The floors (MIN_CONTRAST, STRONG_CONTRAST: 8% and 22% darker than
    the paper) scale so that a mark needs FAINT_SHARE of the writing's darkness: with fixed floors, strokes 15 to
    20% darker than their paper fell below the strong one and a faint page read as blank; and on a page of dark
    ink (0.7 to 0.8), the writing on the sheet's back showing through, up to a third as dark, made marks of its own
    (up to the fifty-sixth session the floors only dropped).
    And the grain's thresholds (LOW_ and HIGH_NOISE_MULTIPLE deviations) stop at GRAIN_CAP_SHARE of it: on a
    grainy photo of faint writing, or where a deep shadow's grain (its paper darker, so its grain larger beside
    it) is counted with the lit paper's, twelve deviations were darker than the writing and left it all out.
    That only where the writing covers WRITING_AREA of the photo or more: on a blank grainy sheet the few grain
    pixels above the low threshold are no writing to stop below.  The floors follow any writing, however little
    (a faint word in a wide photo of a desk).
    """
    values = ink[above]
    if values.size == 0:
        return None, 0.0
    area = values.size / ink.size
    if values.size > 1_000_000:
        values = values[::16]
    return float(np.percentile(values, STRONGEST_INK_PERCENTILE)), area


def grain(ink, sheet=None, least=0.0):
    """(median, robust standard deviation) of the ink map on the sheet (all of it if None): mostly the paper's
    grain; the deviation at least `least` (the file's own rounding, ink_map's `rounding` relative to the paper)."""
    median, spread = robust_spread(on_the_sheet(ink, sheet))
    return median, max(spread, least)


def on_the_sheet(values, sheet=None):
    """A sample of an (H, W) array's values on the sheet (all of it if None): every one, or a regular share of
    them where there are more than a million."""
    if sheet is None:
        return values[::4, ::4] if values.size > 1_000_000 else values
    on_sheet = values[sheet]
    return on_sheet[::16] if on_sheet.size > 1_000_000 else on_sheet


def paper_brightness(paper, sheet=None):
    """The median brightness (0-1) of the paper estimate on the sheet."""
    return float(np.median(on_the_sheet(paper, sheet)))


def robust_spread(sample):
    """(median, standard deviation estimated from the median absolute deviation) of an array of ink values."""
    median = float(np.median(sample))
    return median, float(np.median(np.abs(sample - median))) * 1.4826


def strong_threshold(median, noise, floors=1.0, grain_cap=np.inf):
    """The darkness strong ink exceeds, from the grain's median and spread: HIGH_NOISE_MULTIPLE deviations above
    the median (at most grain_cap), and at least STRONG_CONTRAST x floors (ink_map's `high` before its tie to
    `low`; floors: the share page_writing sets, 1 where there is no writing; grain_cap: GRAIN_CAP_SHARE of the
    writing, where the grain would ask more)."""
    return max(min(median + HIGH_NOISE_MULTIPLE * noise, grain_cap), STRONG_CONTRAST * floors)


def strong_ink_share(values):
    """The share of 1-D ink `values` above the strong_threshold their own grain sets: how much writing a part of
    the photo holds, whatever its grain."""
    return float(np.mean(values > strong_threshold(*robust_spread(values))))


def ink_mask(ink_map_, without_rules=True):
    """Hysteresis threshold: (H, W) bool of pixels above `low` in marks that reach `high` somewhere.

    without_rules: first take the printed lines of ruled or squared paper out of the pixels above
    `low` (rules.remove_rules, looking for them a few noise levels lower, where a pale rule is whole),
    so a rule cannot tie the letters written on it together.  Where the sheet's back shows through, the pixels
    above `low` far from any above `high` are left out too (show_through.py).
    """
    candidate = ink_map_.ink > ink_map_.low
    if without_rules:
        faint = ink_map_.ink > max(ink_map_.low - FAINT_RULE_NOISE_MULTIPLE * ink_map_.noise, 0.5 * ink_map_.low)
        candidate, _ = remove_rules(candidate, faint, ink_map_.ink)
    strong = ink_map_.ink > ink_map_.high
    candidate = without_the_back(candidate, strong, ink_map_.smoothed)
    labels, count = ndimage.label(candidate, structure=np.ones((3, 3), bool))
    if count == 0:
        return candidate
    keep = np.zeros(count + 1, bool)
    keep[np.unique(labels[strong])] = True
    keep[0] = False
    return keep[labels]
