"""Writing with a thick pen: a felt-tip pen or a marker.

A thick pen widens every stroke.  Letters written close together touch and are one mark, and the reader, which
learned letters written with pens and pen tablets, sees strokes wider than it knows: a semicolon's thick dot and
comma become an i.  On held-out pages with every stroke widened by 4 px (letters 42 px tall, `--pen 4` of
benchmarks/ocr_nonletters.py) 91.5% of the letters were found (98.8% written with the pens as they were) and 12%
of the digits and marks were printed as letters (1%).  So on a page whose strokes are thick for its letters
(stroke_width over the page's letter height at least THICK_STROKE) and sharp (at half their darkness still
SHARP_CORE as wide) two things change, both by the pen's excess: how much wider than a usual pen's (NORMAL_STROKE
letter heights) its strokes are, on each side.

The gate and the usual pen were measured on pages whose letters come from all four training sources in turn
(`--split heldout-mixed`), as real pages mix thin pen-tablet strokes with thick scanned ones: written as they are
those pages measure 0.12-0.17 letter heights (0.12-0.13 when all their letters are pen-tablet ones), with a pen 2 px
wider 0.17-0.22, 4 px wider 0.21-0.26.  A blurred, grainy, darkened or enlarged photo widens the strokes of the mask
too, up to 0.26, but their cores are 0.55-0.68 as wide, a thick pen's 0.77-0.87.  (A first gate at 0.15, measured on
pen-tablet pages alone, took half of the mixed pages written with usual pens for a thick pen's.)

- Letters that touch at a neck are cut apart (split_thick_joins): where two letters' widened strokes meet, the ink
  between them is narrower than the strokes on either side.  A wide mark eroded by NECK_DEPTH times the excess
  loses its necks and keeps a core of each letter; its pixels go to the nearest core.  Only cores holding
  CORE_SHARE of what is left count, so a stroke's end or a thin joint that erodes away stays with its letter, and a
  mark that keeps one core stays whole.  A mark shorter than the page's letters (the far side of a page
  photographed at an angle) is eroded less, in proportion to its height, down to SMALL_MARK of the depth: eroded
  as deep as the page's letters, the small letters of such a page fell into pieces (26 more extra letters on one
  page).  (Eroded by the excess alone, held-out `--pen 4` pages found 0.5-1.4 points fewer letters; by 2 or 2.5
  times the excess letters fell apart, 0.4 to 2 points fewer read.)
- Each glyph is read twice, from the ink as written and from the ink thinned by the excess (thinned_ink), and the
  two readings' probabilities are averaged (pipeline.classify_line): the thinned ink looks like the pens the
  reader learned from, while the ink as written keeps what the thinning cannot give back (an e whose eye the pen
  filled is a c either way, but thinning it also breaks some joints).

Pages written with a usual pen are read exactly as before.
"""
import numpy as np
from scipy import ndimage

THICK_STROKE = 0.20  # strokes this many letter heights wide or wider are a thick pen's
NORMAL_STROKE = 0.16  # a usual pen's strokes, in letter heights (pages of mixed sources: 0.12-0.17)
MIN_WIDTH = 0.8  # only marks at least this many letter heights wide may hold touching letters
SHARP_CORE = 0.72  # a pen's strokes are this share as wide at half their darkness as in the mask, or more
CORE_DARKNESS = 0.5  # ... half their darkness: of the 90th percentile of the mask's ink
NECK_DEPTH = 1.5  # marks are eroded by this many times the pen's excess to find their letters' cores
CORE_SHARE = 0.15  # a letter's core holds at least this share of what is left of its mark after the erosion
SMALL_MARK = 0.6  # a mark shorter than the page's letters is eroded in proportion to its height, down to this share


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
    than a usual pen's on each side (pen_excess; 0: nothing is looked at); marks are eroded by NECK_DEPTH x excess
    (less for marks shorter than `letter_height`: SMALL_MARK).

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
        height = (box[0].stop - box[0].start) / letter_height
        owner = nearest_core(mark, NECK_DEPTH * excess * min(1.0, max(SMALL_MARK, height)))
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
