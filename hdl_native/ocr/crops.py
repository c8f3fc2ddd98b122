"""Crop every character into a 28x28 frame made the way the training letters were made.

The letters data set (see its README, "Conversion") turned each photographed crop
into bright ink on black by subtracting the pixel from the paper, scaled by the
99.5th percentile with the faintest 20% cut, blurred it slightly at a ~112 px
scale, boxed the ink above 0.25, centred the box in a square, resized that to
24x24 with Lanczos into a 28x28 frame and stretched the maximum to 255.  Doing the
same here makes a photographed letter look to the network like the ones it learnt.

Two steps copy what the conversion got from its sources rather than did on purpose:
those crops were small (22-54 px), so a letter is first brought down to about that
size, which gives its strokes the same softness; and a stroke thinner than the reader's
training letters ever are is widened.  The shipped reader learnt from four sets whose
strokes (`stroke_thickness`, px in the 28x28 frame) run from unipen's thin pen-tablet
lines (median 1.64, 10th percentile 1.37) over the scanned letters set (median 2.1) to
the NIST and Chars74K scans (medians 3.9 and 3.6), so strokes are widened to THIN_STROKE,
about the 10th percentile of the thinnest set, and no further.  (A reader trained on the
letters set alone needed its 2.1 px: up to the nineteenth session crops were widened to
1.9 px, bolder than nearly all of unipen's own letters; on held-out pages widening to
1.4 px reads 0.6 points more letters, BENCHMARKS.md.)
"""
from functools import lru_cache

import numpy as np
from PIL import Image
from scipy import ndimage

from ..data.augment import MNIST_MEAN, MNIST_STD
from .boxes import glyph_mask

FRAME, INNER = 28, 24
SOURCE_SIDE = 30  # the training letters were 22-54 px crops (with margins): a letter is first brought down to that
WORK_SIDE = 96  # crops are resampled so the letter's longest side is about this before the blur
BLUR_SIGMA = 1.0  # at WORK_SIDE, as the conversion blurred at its 112 px scale
PAPER_GRAIN = 0.2  # relative ink below this is paper grain
BOX_LEVEL = 0.25  # the letter's box is the box of its ink above this
THIN_STROKE = 1.4  # px in the 28x28 frame: thinner than 90% of the thinnest training set's (unipen) strokes
MAX_THICKENING = 3  # widen by at most 3 px at WORK_SIDE (~0.75 px in the frame)
DISK3 = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], bool)


def glyph_crops(ink, labels, glyphs):
    """(n, 28, 28) uint8 crops, bright ink on black, for glyphs in one line."""
    return np.stack([glyph_crop(ink, labels, glyph) for glyph in glyphs]) if glyphs else np.zeros((0, 28, 28), np.uint8)


def glyph_crop(ink, labels, glyph):
    """One glyph's 28x28 uint8 crop; ink: (H, W) float32 relative darkness, labels: (H, W) marks."""
    side = max(glyph.height, glyph.width)
    pad = max(2, int(0.15 * side))
    top, bottom = max(0, glyph.top - pad), min(ink.shape[0], glyph.bottom + pad)
    left, right = max(0, glyph.left - pad), min(ink.shape[1], glyph.right + pad)
    own = ndimage.binary_dilation(glyph_mask(labels, glyph, top, bottom, left, right), iterations=1)
    values = np.where(own, ink[top:bottom, left:right], np.float32(0))
    if SOURCE_SIDE and side > SOURCE_SIDE:
        values = resized(values, SOURCE_SIDE / side)  # the resolution the training letters were photographed at
    values = ink_levels(values)
    work = np.clip(resized(values, WORK_SIDE / min(side, SOURCE_SIDE or side)), 0, 1)
    framed = frame_letter(ndimage.gaussian_filter(work, BLUR_SIGMA))
    for _ in range(MAX_THICKENING):
        if stroke_thickness(framed) >= THIN_STROKE:
            break
        work = ndimage.grey_dilation(work, footprint=DISK3)
        framed = frame_letter(ndimage.gaussian_filter(work, BLUR_SIGMA))
    return framed


def resized(values, factor):
    """(h, w) float32 scaled by `factor`: antialiased when shrinking, bicubic when enlarging."""
    size = (max(1, round(values.shape[1] * factor)), max(1, round(values.shape[0] * factor)))
    resample = Image.Resampling.BICUBIC if factor > 1 else Image.Resampling.LANCZOS
    return np.asarray(Image.fromarray(values).resize(size, resample), dtype=np.float32)


def stroke_thickness(frame):
    """Mean stroke width of a 28x28 uint8 letter in pixels: ink mass / half the outline length.

    The outline is measured on a 4x bilinear upsampling of the ink above half intensity (as scipy.ndimage.zoom(ink,
    4, order=1) > 0.5 draws it, in whole numbers: zoom_weights).
    """
    ink = frame.astype(np.float32) / np.float32(255)
    rows, columns = zoom_weights(frame.shape[0]), zoom_weights(frame.shape[1])
    inside = 2 * (rows @ frame.astype(np.float64) @ columns.T) > 255 * (4 * frame.shape[0] - 1) * (
        4 * frame.shape[1] - 1)
    eroded = np.zeros_like(inside)  # binary_erosion by the cross, nothing inside beyond the edge
    eroded[1:-1, 1:-1] = (inside[1:-1, 1:-1] & inside[:-2, 1:-1] & inside[2:, 1:-1] & inside[1:-1, :-2]
                          & inside[1:-1, 2:])
    outline = np.count_nonzero(inside & ~eroded) / 4.0
    return float(ink.sum() / max(outline / 2, 1.0))


@lru_cache(maxsize=8)
def zoom_weights(side):
    """(4 side, side) float64 whole numbers: row k weighs pixels i of a line of `side` by D x (bilinear weight at
    k (side - 1) / D), D = 4 side - 1, the point scipy.ndimage.zoom(..., 4, order=1) reads for output k.  So
    `weights @ frame @ weights.T` is D^2 x the zoomed frame exactly (integers below 2^53), and comparing it with
    255 D^2 / 2 gives zoom's `> 0.5` to the pixel: the exact value is at least 1 / (2 x 255 D^2) (1.6e-7 for 28
    pixels) from 0.5, more than zoom's float32 rounding can move it."""
    denominator = 4 * side - 1
    weights = np.zeros((4 * side, side))
    for k in range(4 * side):
        start, remainder = divmod(k * (side - 1), denominator)
        weights[k, start] = denominator - remainder
        if remainder:
            weights[k, start + 1] = remainder
    weights.flags.writeable = False
    return weights


def ink_levels(values):
    """Scale relative ink so its 99.5th percentile is 1; the faintest 20% become 0."""
    inked = values[values > 0]
    if inked.size == 0:
        return values.astype(np.float32)
    scaled = np.clip(values / max(float(np.percentile(inked, 99.5)), 1e-6), 0, 1).astype(np.float32)
    scaled[scaled < PAPER_GRAIN] = 0
    return scaled


def frame_letter(work):
    """Box the ink above BOX_LEVEL, centre the box in a square, Lanczos to 24x24 inside 28x28, max -> 255."""
    strong = work > BOX_LEVEL * work.max() if work.max() > 0 else work > 0
    if not strong.any():
        return np.zeros((FRAME, FRAME), np.uint8)
    rows, cols = np.flatnonzero(strong.any(axis=1)), np.flatnonzero(strong.any(axis=0))
    box = work[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    side = max(box.shape)
    square = np.zeros((side, side), np.float32)
    y, x = (side - box.shape[0]) // 2, (side - box.shape[1]) // 2
    square[y:y + box.shape[0], x:x + box.shape[1]] = box
    small = np.asarray(Image.fromarray(square).resize((INNER, INNER), Image.Resampling.LANCZOS), dtype=np.float32)
    small = np.clip(small, 0, None)
    frame = np.zeros((FRAME, FRAME), np.float32)
    margin = (FRAME - INNER) // 2
    frame[margin:margin + INNER, margin:margin + INNER] = small
    peak = frame.max()
    return np.round(frame / peak * 255).astype(np.uint8) if peak > 0 else frame.astype(np.uint8)


def normalize(crops, mean=MNIST_MEAN, std=MNIST_STD):
    """(n, 28, 28) uint8 -> (n, 1, 28, 28) float32 with the training normalisation."""
    return ((crops.astype(np.float32) / np.float32(255) - np.float32(mean)) / np.float32(std))[:, None]
