"""Stroke-width variants of every glyph, made once, and their measured widths.

Two families: the font's own shapes thickened or thinned by grey dilation/erosion, and
"pen" variants, where the glyph is thinned to its skeleton and redrawn with a round pen
of uniform width, as handwriting has (fonts vary their stroke width, pens do not).
Changing strokes per image would cost a morphology pass per batch; doing it once per
glyph and picking a variant per image costs nothing while generating.
"""
import numpy as np
from scipy import ndimage

from ..data.warp import box_downsample, dilate, erode

STROKE_LEVELS = (-2, -1, 0, 1, 2)  # 3x3 erosions (<0) or dilations (>0) at 2x resolution:
# each step moves both edges by half a canvas pixel, fine enough for strokes only 2-4 canvas pixels wide
OVERSAMPLE = 2
PEN_RADII = (0.75, 1.25, 1.75, 2.5, 3.25)  # pen radius in fine (OVERSAMPLE x) pixels
_PEN_CHUNK = 128  # glyphs per distance transform: its index arrays would otherwise take ~10x the images' memory


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
    # downsampled at once, so only the current fine-resolution level stays in memory
    by_level, usable = {0: box_downsample(fine_glyphs, OVERSAMPLE)}, {0: np.ones(len(fine_glyphs), dtype=bool)}
    for direction, morph in ((-1, erode), (1, dilate)):
        changed = fine_glyphs
        for step in range(1, max(0, max(direction * level for level in levels)) + 1):
            changed = morph(changed)  # each level grows from the previous one
            by_level[direction * step] = box_downsample(changed, OVERSAMPLE)
            usable[direction * step] = (lost_ink(fine_glyphs, changed, step) <= max_lost_ink * ink
                                        if direction < 0 else np.ones(len(fine_glyphs), dtype=bool))
    variants = np.stack([by_level[level] for level in levels]).astype(np.float32)
    widths = np.stack([stroke_width(v) for v in variants])
    return variants, widths, np.stack([usable[level] for level in levels])


def lost_ink(glyphs, eroded, steps):
    """Ink of glyphs that `steps` 3x3 dilations of their erosion do not give back: float (G,)."""
    return np.clip(glyphs - dilate(eroded, steps), 0, None).sum(axis=(1, 2))


def pen_variants(fine_glyphs, radii=PEN_RADII, threshold=0.5):
    """Each glyph's skeleton redrawn with round pens of the given radii, then box-downsampled.

    fine_glyphs: float32 (G, S * OVERSAMPLE, S * OVERSAMPLE).  Returns (variants float32 (R, G, S, S),
    widths float32 (R, G) in canvas pixels).  One distance transform serves every radius: a pixel
    is ink where it lies within the radius of the skeleton, with a one-pixel antialiased rim.
    """
    ink = fine_glyphs > threshold
    rows, cols = np.flatnonzero(ink.any(axis=(0, 2))), np.flatnonzero(ink.any(axis=(0, 1)))
    skeleton = np.zeros_like(ink)
    if len(rows):  # thin only the box that holds ink in some glyph: the canvas margin is empty for all
        box = (slice(None), slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
        skeleton[box] = thin(ink[box])
    n_glyphs, height, width = fine_glyphs.shape
    variants = np.empty((len(radii), n_glyphs, height // OVERSAMPLE, width // OVERSAMPLE), dtype=np.float32)
    for start in range(0, n_glyphs, _PEN_CHUNK):
        part = slice(start, start + _PEN_CHUNK)
        # a huge spacing along the glyph axis keeps the 3-D transform from measuring across glyphs
        distance = ndimage.distance_transform_edt(~skeleton[part], sampling=(1e6, 1, 1)).astype(np.float32)
        for level, radius in enumerate(radii):
            variants[level, part] = box_downsample(np.clip(radius + 0.5 - distance, 0, 1), OVERSAMPLE)
    widths = np.stack([stroke_width(v) for v in variants])
    return variants, widths


def thin(binary):
    """Zhang-Suen thinning to one-pixel skeletons, vectorised over the batch: bool (N, H, W) -> bool (N, H, W).

    Each pass removes boundary pixels whose removal keeps the shape connected (one 0->1 transition
    around them, 2..6 ink neighbours), alternating the two sides, until nothing changes.
    """
    image = np.pad(binary.astype(np.uint8), ((0, 0), (1, 1), (1, 1)))
    changed = True
    while changed:
        changed = False
        for first_side in (True, False):
            centre = image[:, 1:-1, 1:-1]
            # neighbours clockwise from north: p2 (N), p3 (NE), p4 (E), p5 (SE), p6 (S), p7 (SW), p8 (W), p9 (NW)
            p2, p3, p4 = image[:, :-2, 1:-1], image[:, :-2, 2:], image[:, 1:-1, 2:]
            p5, p6, p7 = image[:, 2:, 2:], image[:, 2:, 1:-1], image[:, 2:, :-2]
            p8, p9 = image[:, 1:-1, :-2], image[:, :-2, :-2]
            ring = (p2, p3, p4, p5, p6, p7, p8, p9, p2)
            neighbours = sum(p.astype(np.int8) for p in ring[:-1])
            transitions = sum(((ring[i] == 0) & (ring[i + 1] == 1)).astype(np.int8) for i in range(8))
            if first_side:
                side = ((p2 & p4 & p6) == 0) & ((p4 & p6 & p8) == 0)
            else:
                side = ((p2 & p4 & p8) == 0) & ((p2 & p6 & p8) == 0)
            delete = (centre == 1) & (neighbours >= 2) & (neighbours <= 6) & (transitions == 1) & side
            if delete.any():
                changed = True
                centre[delete] = 0
    return image[:, 1:-1, 1:-1].astype(bool)
