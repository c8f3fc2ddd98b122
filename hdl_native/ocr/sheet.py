"""The sheet in the photo: when the paper lies on a darker desk or table, only the sheet holds writing.

A phone photo often shows some of what the paper lies on. Measured against its own local level
(lighting.py), a wooden desk's grain looks like ink, and the sheet's edge like a thick frame; both
then swamp the letters. The sheet is told from its background by brightness *and* by a sharp edge
between them: a shadow darkens paper gradually (or, if hard-edged, keeps its colour), a sheet ends at
once, on something of another colour. So:

1. on a small copy with the writing closed away (a grey closing, as lighting.py estimates the paper),
   split the pixels into bright and dark at Otsu's threshold;
2. the sheet candidate is the largest bright region with its holes (the writing) filled in;
3. it is a sheet on a background only if the rest is a real part of the picture (over 2%), at
   most of the candidate's boundary the brightness drops by a quarter of the paper's within a few
   pixels, and the rest has another colour or is far darker (a hard-edged shadow, in sunlight, passes
   the first two tests but keeps the paper's colour and some of its light); otherwise the whole photo
   is taken to be paper (None); where the colours differ, the candidate takes in the paper of its own colour
   connected to it (grown_by_colour: the dim end of a sheet lit from one side is as dark as the desk);
4. the sheet is shrunk by a margin, so its own edge and shadow do not count as ink;
5. given the ink (lighting.ink_map), the rest is no desk after all if it holds writing as the sheet does
   (background_holds_writing): a deep shadow in sunlight, or under-exposed, keeps 10-30% of the paper's light,
   as dark as a black desk and of the paper's colour, but the letters in it stay as dark relative to it.
"""
import numpy as np
from PIL import Image
from scipy import ndimage

from .canvas import largest_region

MIN_BACKGROUND = 0.02  # less than this share of the picture outside the sheet: all paper
EDGE_WINDOW = 5  # px of the small copy across which the sheet's edge must show its step
MIN_STEP = 0.25  # the step: brightness falls by this fraction of the paper's level
SHARP_SHARE = 0.5  # of the candidate's boundary pixels must show it
MIN_CHROMA_SHIFT = 0.05  # the background's r or g share of the brightness differs from the sheet's by this
DARK_BACKGROUND = 0.35  # ... or its brightness is at most this fraction of the sheet's
MARGIN_FRACTION = 1 / 100  # of the longest side: the sheet's edge band that is not searched for ink
WRITING_RATIO = 0.25  # a background with this share of the sheet's strong ink per pixel holds writing
MIN_WRITING = 0.002  # ... and at least this share of its pixels strong ink, as the sheet must hold
WRITING_WORK_SIDE = 1000  # the ink is compared on a copy subsampled to about this longest side


def sheet_mask(paper, shape, rgb=None, ink=None, strong_share=None):
    """(H, W) bool: True on the sheet of paper; None when the whole photo is taken to be paper.

    paper: (h, w) float32, a small copy of the photo with the writing closed away (lighting.closed_paper),
    so that only the paper, its shadows and what it lies on are left.  shape: the photo's (H, W).
    rgb: the photo's (H, W, 3) uint8 colours; without them no sheet is looked for, since colour is what
    tells a desk from a hard-edged shadow on the paper.  ink: the photo's (H, W) relative darkness, and
    strong_share(values) -> the share of 1-D `values` that is strong ink by their own grain; with both,
    a background that holds writing (background_holds_writing) is not taken for a desk.
    """
    if rgb is None:
        return None
    candidate = largest_bright_region(paper)
    if candidate is None or 1.0 - candidate.mean() < MIN_BACKGROUND:
        return None
    if not has_sharp_edge(paper, candidate):
        return None
    shares = chromaticity(rgb, candidate.shape)
    if differs_in_colour(shares, candidate):
        candidate = grown_by_colour(shares, candidate)
    elif not far_darker(paper, candidate):
        return None
    margin = max(1, round(max(paper.shape) * MARGIN_FRACTION))
    sheet = ndimage.binary_erosion(candidate, iterations=margin)
    height, width = shape
    full = np.asarray(Image.fromarray(sheet.astype(np.uint8) * 255).resize((width, height),
                                                                           Image.Resampling.NEAREST)) > 0
    if ink is not None and background_holds_writing(ink, full, strong_share):
        return None
    return full


def background_holds_writing(ink, sheet, strong_share):
    """Whether the photo beyond the sheet holds writing as the sheet does: a deep shadow on the paper, not a desk.

    ink: (H, W) relative darkness; sheet: (H, W) bool.  Each side's strong ink is counted by its own grain
    (strong_share), so a desk's wood grain or a black desk's noise raise its own thresholds, while letters
    in a shadow stay as dark relative to their paper as in the light.  The background is taken beyond twice
    the sheet's margin (its edge and its own shadow are not writing); both on a subsampled copy.  A sheet that
    holds no writing (under MIN_WRITING) keeps its background a desk.
    """
    step = max(1, round(max(ink.shape) / WRITING_WORK_SIDE))
    small_ink, small_sheet = ink[::step, ::step], sheet[::step, ::step]
    reach = max(1, round(2 * MARGIN_FRACTION * max(small_ink.shape)))
    background = ~ndimage.binary_dilation(small_sheet, iterations=reach)
    if not background.any() or not small_sheet.any():
        return False
    on_sheet = strong_share(small_ink[small_sheet])
    if on_sheet < MIN_WRITING:  # a sheet without writing: nothing to compare with (light strokes on a dark ground
        return False            # leave bright blobs round them and dark halos, which are not writing)
    return strong_share(small_ink[background]) >= max(WRITING_RATIO * on_sheet, MIN_WRITING)


def chromaticity(rgb, small_shape):
    """(h, w, 2) float32: the r and g shares of r + g + b of the photo's colours on a copy of `small_shape`."""
    small_height, small_width = small_shape
    small = np.asarray(Image.fromarray(rgb).resize((small_width, small_height), Image.Resampling.BOX),
                       dtype=np.float32) + 1.0
    return small[..., :2] / small.sum(axis=2, keepdims=True)


def differs_in_colour(shares, candidate):
    """Whether the background's chromaticity (r, g shares of r + g + b) differs from the sheet's by MIN_CHROMA_SHIFT.

    shares: chromaticity(rgb, candidate.shape).  A shadow dims the paper but keeps its colour; a wooden desk is
    browner than any paper. A grey desk fails this test, and unless it is far darker than the paper (far_darker)
    the photo is then read as if all paper (as before the sheet was looked for).
    """
    sheet_colour, background_colour = median_colours(shares, candidate)
    return float(np.abs(sheet_colour - background_colour).max()) >= MIN_CHROMA_SHIFT


def median_colours(shares, candidate):
    """(the sheet's, the background's) median chromaticity, each (2,): shares of chromaticity() split by candidate."""
    return np.median(shares[candidate], axis=0), np.median(shares[~candidate], axis=0)


def grown_by_colour(shares, candidate):
    """The candidate with the paper of its own colour around it: (h, w) bool.

    Otsu's bright region leaves out paper that a lamp on one side lights dimly (as dark as the desk at the far
    end); its colour stays the paper's.  Every pixel nearer in colour to the sheet than to the background
    joins, where connected to the candidate; holes filled.
    """
    sheet_colour, background_colour = median_colours(shares, candidate)
    paper_like = (np.abs(shares - sheet_colour).sum(axis=2) < np.abs(shares - background_colour).sum(axis=2))
    labels, _ = ndimage.label(paper_like | candidate)
    joined = np.isin(labels, np.unique(labels[candidate]))
    return ndimage.binary_fill_holes(joined)


def far_darker(paper, candidate):
    """Whether the background is darker than DARK_BACKGROUND x the sheet: a black desk, not a shadow on paper."""
    return float(np.median(paper[~candidate])) <= DARK_BACKGROUND * float(np.median(paper[candidate]))


def otsu_threshold(values, bins=256):
    """The threshold that best splits `values` into two classes (largest between-class variance)."""
    counts, edges = np.histogram(values, bins=bins)
    centres = (edges[:-1] + edges[1:]) / 2
    weight_low = np.cumsum(counts)
    weight_high = weight_low[-1] - weight_low
    sum_low = np.cumsum(counts * centres)
    mean_low = sum_low / np.maximum(weight_low, 1)
    mean_high = (sum_low[-1] - sum_low) / np.maximum(weight_high, 1)
    between = weight_low * weight_high * (mean_low - mean_high) ** 2
    return float(edges[int(np.argmax(between)) + 1])


def largest_bright_region(small):
    """(h, w) bool: the largest region brighter than Otsu's threshold, holes filled; None if there is none."""
    return largest_region(small > otsu_threshold(small))


def has_sharp_edge(small, candidate):
    """Whether at SHARP_SHARE of the candidate's boundary the brightness steps down by MIN_STEP of the paper's."""
    boundary = candidate & ~ndimage.binary_erosion(candidate)
    picture_border = np.ones_like(candidate)
    picture_border[1:-1, 1:-1] = False
    boundary &= ~picture_border  # where the sheet runs off the picture is not an edge of it
    if not boundary.any():
        return False
    spread = (ndimage.maximum_filter(small, EDGE_WINDOW) - ndimage.minimum_filter(small, EDGE_WINDOW))[boundary]
    paper = float(np.median(small[candidate]))
    return float(np.mean(spread >= MIN_STEP * paper)) >= SHARP_SHARE
