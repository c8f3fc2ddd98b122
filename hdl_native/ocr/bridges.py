"""Letters joined by a faint bridge: in a blurred photo the ink of two letters written close together runs into
the gap between them, and the mask (every pixel above the low threshold) holds them as one mark.

Such a bridge is faint: each side of it holds the letters' strokes at their full darkness, the gap only the
blurred edges of both.  So within a mark about a letter wide or wider, the mark's core (its pixels darker than
BRIDGE_SHARE of its own dark strokes) is looked at column by column: a run of columns without any core between
two parts that each hold a good share of the core is a gap, and the mark is cut at the gap's column with the
least ink.  A letter's own strokes are as dark as the rest of it, so a letter written in one stroke keeps its
core unbroken across its width and stays whole; a pale part of a letter (a pencil lifting) is only cut where it
spans the whole height of the mark.
"""
import numpy as np
from scipy import ndimage

BRIDGE_SHARE = 0.5  # the core: pixels darker than this share of the mark's dark strokes (its 90th percentile)
MIN_WIDTH = 0.8  # only marks at least this many letter heights wide are looked at
MIN_HEIGHT = 0.5  # ... and at least this many letter heights tall
SIDE_SHARE = 0.2  # each side of a gap holds at least this share of the mark's core
SIDE_WIDTH = 0.25  # ... spread over at least this many letter heights of columns


def split_faint_bridges(labels, count, ink, letter_height):
    """(labels, count) with the marks joined by faint bridges cut apart at the bridges' faintest columns.

    labels: (H, W) int32 connected marks 1..count; ink: (H, W) float32 darkness (lighting.ink_map's);
    letter_height: the page's typical letter height in pixels.  The cut-off parts get new labels after count;
    `labels` itself is returned unchanged when nothing is cut.
    """
    result = None
    for index, box in enumerate(ndimage.find_objects(labels), start=1):
        if box is None:
            continue
        height, width = box[0].stop - box[0].start, box[1].stop - box[1].start
        if width < MIN_WIDTH * letter_height or height < MIN_HEIGHT * letter_height:
            continue
        mark = labels[box] == index
        cuts = bridge_columns(mark, ink[box], letter_height)
        if not cuts:
            continue
        if result is None:
            result = labels.copy()
        region = result[box]
        for start, stop in zip(cuts, cuts[1:] + [width]):
            count += 1
            part = mark.copy()
            part[:, :start] = False
            part[:, stop:] = False
            region[part] = count
    return (labels, count) if result is None else (result, count)


def bridge_columns(mark, ink, letter_height):
    """Columns (offsets into the mark's box, left to right) at which the (h, w) bool mark is cut: the faintest
    column of each gap in its core with enough core on both sides; [] for none."""
    values = ink[mark]
    core = mark & (ink > BRIDGE_SHARE * np.percentile(values, 90))
    core_columns = core.sum(axis=0)
    total = core_columns.sum()
    if total == 0:
        return []
    before = np.cumsum(core_columns)
    has_core = core_columns > 0
    edges = np.flatnonzero(np.diff(np.concatenate([[1], has_core.astype(np.int8), [1]])))
    column_ink = np.where(mark, ink, 0).sum(axis=0)
    cuts = []
    for start, stop in zip(edges[0::2], edges[1::2]):  # runs of columns without core
        if start == 0 or stop == len(core_columns):
            continue
        left, right = before[start - 1], total - before[start - 1]
        left_span = np.count_nonzero(has_core[:start])
        right_span = np.count_nonzero(has_core[stop:])
        if min(left, right) >= SIDE_SHARE * total and min(left_span, right_span) >= SIDE_WIDTH * letter_height:
            cuts.append(int(start + np.argmin(column_ink[start:stop])))
    return cuts
