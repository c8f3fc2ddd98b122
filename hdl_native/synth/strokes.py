"""Stroke-width variants of every glyph, made once by grey erosion/dilation, and their measured widths.

Thickening or thinning per image would cost a morphology pass per batch; doing it once
per glyph and picking a variant per image costs nothing while generating.
"""
import numpy as np
from scipy import ndimage

from .warp import box_downsample

STROKE_LEVELS = (-2, -1, 0, 1, 2)  # 3x3 erosions (<0) or dilations (>0) at 2x resolution:
# each step moves both edges by half a canvas pixel, fine enough for strokes only 2-4 canvas pixels wide
OVERSAMPLE = 2


def stroke_width(images, threshold=0.5):
    """Mean stroke width in pixels, 2 x ink area / ink perimeter (exact for long thin strokes).

    images: float (N, H, W) with ink near 1.  Returns float32 (N,).  The ink is thresholded, so the
    estimate moves in whole pixels: two variants half a pixel apart may measure the same.
    """
    ink = images > threshold
    area = ink.sum(axis=(1, 2))
    edges = np.abs(np.diff(ink.astype(np.int8), axis=1)).sum(axis=(1, 2))
    edges += np.abs(np.diff(ink.astype(np.int8), axis=2)).sum(axis=(1, 2))
    return (2.0 * area / np.maximum(edges, 1)).astype(np.float32)


def stroke_variants(fine_glyphs, levels=STROKE_LEVELS, max_lost_ink=0.03):
    """Eroded/dilated copies of every glyph, made at OVERSAMPLE x resolution and then box-downsampled.

    fine_glyphs: float32 (G, S * OVERSAMPLE, S * OVERSAMPLE).  Returns (variants float32 (L, G, S, S),
    widths float32 (L, G) in canvas pixels, usable bool (L, G)).  An erosion is unusable when dilating
    it back (a morphological opening) fails to restore more than max_lost_ink of the glyph's ink: it
    erased a thin stroke (a serif font's hairline), which would change the letter, not its pen.
    """
    ink = fine_glyphs.sum(axis=(1, 2))
    by_level, usable = {0: fine_glyphs}, {0: np.ones(len(fine_glyphs), dtype=bool)}
    for direction, morph in ((-1, ndimage.grey_erosion), (1, ndimage.grey_dilation)):
        changed = fine_glyphs
        for step in range(1, max(0, max(direction * level for level in levels)) + 1):
            changed = morph(changed, size=(1, 3, 3))  # each level grows from the previous one
            by_level[direction * step] = changed
            usable[direction * step] = (lost_ink(fine_glyphs, changed, step) <= max_lost_ink * ink
                                        if direction < 0 else np.ones(len(fine_glyphs), dtype=bool))
    variants = np.stack([box_downsample(by_level[level], OVERSAMPLE) for level in levels]).astype(np.float32)
    widths = np.stack([stroke_width(v) for v in variants])
    return variants, widths, np.stack([usable[level] for level in levels])


def lost_ink(glyphs, eroded, steps):
    """Ink of glyphs that `steps` 3x3 dilations of their erosion do not give back: float (G,)."""
    reopened = eroded
    for _ in range(steps):
        reopened = ndimage.grey_dilation(reopened, size=(1, 3, 3))
    return np.clip(glyphs - reopened, 0, None).sum(axis=(1, 2))
