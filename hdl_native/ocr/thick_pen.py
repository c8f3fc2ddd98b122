"""Writing with a thick pen: a felt-tip pen or a marker.

A thick pen widens every stroke.  Letters written close together touch and are one mark, and the reader, which
learned letters written with pens and pen tablets, sees strokes wider than it knows: a semicolon's thick dot and
comma become an i.  On held-out pages with every stroke widened by 4 px (letters 42 px tall, `--pen 4` of
benchmarks/ocr_nonletters.py) 91.5% of the letters were found (98.8% written with the pens as they were) and 12%
of the digits and marks were printed as letters (1%).  So on a page whose strokes are thick for its letters
(stroke_width over the page's letter height at least THICK_STROKE, where usual pages measure 0.12-0.13) and sharp
(at half their darkness still SHARP_CORE as wide: the soft edges of a blurred, grainy or enlarged photo widen the
strokes of the mask too, to 0.15-0.23, but their cores are 0.59-0.71 as wide; a thick pen's 0.73-0.88) two things
change, both by the pen's excess: how much wider than a usual pen's (NORMAL_STROKE letter heights) its strokes
are, on each side.

- Letters that touch at a neck are cut apart (split_thick_joins): where two letters' widened strokes meet, the ink
  between them is narrower than the strokes on either side.  A wide mark eroded by NECK_DEPTH times the excess
  loses its necks and keeps a core of each letter; its pixels go to the nearest core.  Only cores holding
  CORE_SHARE of what is left count, so a stroke's end or a thin joint that erodes away stays with its letter, and a
  mark that keeps one core stays whole.  (Eroded by the excess alone, held-out `--pen 4` pages found 0.5-1.4
  points fewer letters; by twice the excess letters fell apart, 2-3 points fewer found.)
- Each glyph is read twice, from the ink as written and from the ink thinned by the excess (thinned_ink), and the
  two readings' probabilities are averaged (pipeline.classify_line): the thinned ink looks like the pens the
  reader learned from, while the ink as written keeps what the thinning cannot give back (an e whose eye the pen
  filled is a c either way, but thinning it also breaks some joints).

Pages written with a usual pen are read exactly as before.
"""
import numpy as np
from scipy import ndimage

THICK_STROKE = 0.15  # strokes this many letter heights wide or wider are a thick pen's
NORMAL_STROKE = 0.12  # a usual pen's strokes, in letter heights
MIN_WIDTH = 0.8  # only marks at least this many letter heights wide may hold touching letters
SHARP_CORE = 0.72  # a pen's strokes are this share as wide at half their darkness as in the mask, or more
CORE_DARKNESS = 0.5  # ... half their darkness: of the 90th percentile of the mask's ink
NECK_DEPTH = 1.5  # marks are eroded by this many times the pen's excess to find their letters' cores
CORE_SHARE = 0.15  # a letter's core holds at least this share of what is left of its mark after the erosion


def stroke_width(mask):
    """Typical stroke width in pixels of an (H, W) bool ink mask: a stroke of width s and length L has s L
    pixels and 2 L edge pixels, so twice the ink over its edge pixels (0.0 for an empty mask)."""
    edge = np.count_nonzero(mask & ~ndimage.binary_erosion(mask))
    return 2.0 * np.count_nonzero(mask) / edge if edge else 0.0


def pen_excess(mask, letter_height, ink):
    """Pixels by which the strokes of the (H, W) bool ink mask are wider on each side than a usual pen's, for
    letters `letter_height` px tall; 0.0 unless its strokes are at least THICK_STROKE letter heights wide and their
    cores (the pixels of the (H, W) float32 ink map darker than CORE_DARKNESS of its strokes') at least SHARP_CORE
    as wide as that (a blurred photo's strokes are wide in the mask, their cores much narrower)."""
    stroke = stroke_width(mask)
    if letter_height <= 0 or stroke < THICK_STROKE * letter_height:
        return 0.0
    core = mask & (ink > CORE_DARKNESS * np.percentile(ink[mask], 90))
    if stroke_width(core) < SHARP_CORE * stroke:
        return 0.0
    return float((stroke - NORMAL_STROKE * letter_height) / 2)


def thinned_ink(ink, excess):
    """The (H, W) float32 ink map with every stroke thinned by `excess` px (rounded) on each side: a grey erosion
    by a disc of that radius, the darkness of each pixel the least within it."""
    radius = int(round(excess))
    if radius < 1:
        return ink
    ys, xs = np.mgrid[-radius:radius + 1, -radius:radius + 1]
    return ndimage.grey_erosion(ink, footprint=ys ** 2 + xs ** 2 <= radius * (radius + 1))


def split_thick_joins(labels, count, excess, letter_height):
    """(labels, count) with the letters that touch at necks cut apart, on a page whose pen is `excess` px wider
    than a usual pen's on each side (pen_excess; 0: nothing is looked at); marks are eroded by NECK_DEPTH x excess.

    labels: (H, W) int32 connected marks 1..count; letter_height: the page's typical letter height in pixels.
    The pixels of a mark's second and later cores get new labels after count; `labels` itself is returned
    unchanged when nothing is cut.
    """
    if excess <= 0:
        return labels, count
    result = None
    for index, box in enumerate(ndimage.find_objects(labels), start=1):
        if box is None or box[1].stop - box[1].start < MIN_WIDTH * letter_height:
            continue
        mark = labels[box] == index
        owner = nearest_core(mark, NECK_DEPTH * excess)
        if owner is None:
            continue
        if result is None:
            result = labels.copy()
        region = result[box]
        for core in range(2, int(owner.max()) + 1):
            count += 1
            region[owner == core] = count
    return (labels, count) if result is None else (result, count)


def nearest_core(mark, excess):
    """(h, w) int32: for each pixel of the (h, w) bool mark the number (1, 2, ...) of the core nearest to it, 0
    off the mark; the cores are the parts of the mark eroded by `excess` px that each hold CORE_SHARE of what the
    erosion left.  None when fewer than two cores are left (the mark stays whole)."""
    depth = ndimage.distance_transform_edt(np.pad(mark, 1))[1:-1, 1:-1]
    parts, n_parts = ndimage.label(depth > excess, structure=np.ones((3, 3), bool))
    if n_parts < 2:
        return None
    sizes = np.bincount(parts.ravel(), minlength=n_parts + 1)[1:]
    cores = np.flatnonzero(sizes >= CORE_SHARE * sizes.sum()) + 1
    if len(cores) < 2:
        return None
    number = np.zeros(n_parts + 1, np.int32)
    number[cores] = np.arange(1, len(cores) + 1)
    core_of = number[parts]
    _, (rows, cols) = ndimage.distance_transform_edt(core_of == 0, return_indices=True)
    return np.where(mark, core_of[rows, cols], 0).astype(np.int32)
