"""Letters begun with a lead-in stroke, as many hands begin a word: a tail of ink rising into the letter from the left.

`ocr` boxes such a letter with its stroke, one mark, and frames the whole mark (ocr/crops.py), so the letter sits
to the right of its crop, smaller, with a line running in from the left edge.  A reader that has only seen letters
standing alone misreads many of them (BENCHMARKS.md, "Lead-in strokes").  `lead_in_strokes` makes such crops from
a batch: for a random share of the images it draws a stroke from left of the letter, near the bottom of its ink,
curving up into the letter's leftmost ink at a random height, as thick as the letter's own strokes, and frames
letter and stroke again as crops.frame_letter frames an ocr crop (touching.frame_letters).  The label stays the
letter's own.

The strokes are drawn for the whole chosen part of the batch at once: each is a quadratic Bezier curve sampled
densely, and a pixel's ink is how far inside the stroke's half-width it lies (so the edges are antialiased).
"""
import numpy as np

from .touching import INK_LEVEL, checked_batch, frame_letters

ROOM = 20  # pixels of canvas added left of the 28-pixel frame for the stroke
LENGTH_RANGE = (0.35, 0.9)  # the stroke's reach left of where it joins, in letter heights (of its ink)
JOIN_RANGE = (0.2, 1.0)  # where it joins the letter, from the top of its ink (0) to the bottom (1)
START_DROP = 0.15  # it starts at most this many letter heights above the bottom of the letter's ink
BEND_RANGE = (0.3, 0.9)  # where along its reach the curve's control point lies (flat start, then up)
THICKNESS_RANGE = (0.6, 1.1)  # times the letter's own stroke thickness
SAMPLES = 48  # points along each curve (spacing under half a pixel for the longest)


def lead_in_strokes(images, rng, share):
    """A copy of `images` where about `share` of them begin with a lead-in stroke, framed with it.

    images: uint8 (n, H, W), bright ink on black.  rng: np.random.Generator.  share: 0..1, each image's chance.
    Images with fewer than 4 rows of ink are left as they are.  Returns a new uint8 (n, H, W).
    """
    images = checked_batch(images, share, "lead_in_strokes")
    result = images.copy()
    chosen = np.flatnonzero(rng.random(len(images)) < share)
    draws = rng.random((len(chosen), 6))  # for every chosen image (one column spare), so the stream ignores the ink
    strong = images[chosen] > INK_LEVEL
    rows_inked = strong.any(axis=2)
    usable = rows_inked.sum(axis=1) >= 4
    chosen, draws, strong, rows_inked = chosen[usable], draws[usable], strong[usable], rows_inked[usable]
    if len(chosen) == 0:
        return result
    n, height, width = len(chosen), images.shape[1], images.shape[2]
    canvas = np.zeros((n, height, ROOM + width), np.float32)
    canvas[:, :, ROOM:] = images[chosen]
    first = np.argmax(rows_inked, axis=1)
    last = height - 1 - np.argmax(rows_inked[:, ::-1], axis=1)
    tall = (last - first + 1).astype(np.float32)
    join_row = np.rint(first + between(JOIN_RANGE, draws[:, 0]) * (last - first)).astype(np.intp)
    join_row = nearest_inked_row(rows_inked, join_row)
    join_col = ROOM + np.argmax(strong[np.arange(n), join_row], axis=1)
    thickness = np.maximum(1.2, stroke_thickness(strong) * between(THICKNESS_RANGE, draws[:, 1]))
    reach = between(LENGTH_RANGE, draws[:, 2]) * tall
    start = np.stack([last - between((0, START_DROP), draws[:, 3]) * tall, join_col - reach], axis=1)
    end = np.stack([join_row, join_col + 0.5 * thickness], axis=1).astype(np.float32)
    bend = np.stack([start[:, 0], start[:, 1] + between(BEND_RANGE, draws[:, 4]) * reach], axis=1)
    stroke = stroke_ink(start, bend, end, thickness, canvas.shape[1:])
    np.maximum(canvas, stroke * 255, out=canvas)
    result[chosen] = frame_letters(canvas, height, width)
    return result


def between(bounds, uniform):
    """uniform (0..1) draws mapped into (low, high)."""
    low, high = bounds
    return low + (high - low) * uniform


def nearest_inked_row(rows_inked, rows):
    """For each image the inked row nearest to rows[i] (bool rows_inked (n, H), rows (n,))."""
    index = np.arange(rows_inked.shape[1])
    distance = np.where(rows_inked, np.abs(index[None, :] - rows[:, None]), rows_inked.shape[1] * 2)
    return np.argmin(distance, axis=1)


def stroke_thickness(strong):
    """float (n,): each image's typical stroke thickness, the smaller of the mean run of ink along its rows and
    along its columns (a stroke is as thick as its narrower crossing)."""
    return np.minimum(mean_runs(strong), mean_runs(strong.transpose(0, 2, 1)))


def mean_runs(strong):
    """float (n,): the mean length of the runs of ink along the rows of each bool image (n, H, W); 1 without ink."""
    padded = np.pad(strong, ((0, 0), (0, 0), (1, 1))).astype(np.int8)
    starts = np.count_nonzero(np.diff(padded, axis=2) == 1, axis=(1, 2))
    return np.count_nonzero(strong, axis=(1, 2)) / np.maximum(starts, 1).astype(np.float32)


def stroke_ink(start, bend, end, thickness, shape):
    """float32 (n, H, W) ink 0..1 of n quadratic Bezier strokes (start, bend, end: (n, 2) row, col points) of the
    given thickness (n,): 1 within half the thickness of the curve, falling to 0 over the next pixel."""
    t = np.linspace(0.0, 1.0, SAMPLES, dtype=np.float32)[None, :, None]
    points = ((1 - t) ** 2 * start[:, None, :] + 2 * t * (1 - t) * bend[:, None, :]
              + t ** 2 * end[:, None, :]).astype(np.float32)  # (n, SAMPLES, 2)
    rows = np.arange(shape[0], dtype=np.float32) + 0.0
    cols = np.arange(shape[1], dtype=np.float32) + 0.0
    d_row = rows[None, None, :, None] - points[:, :, 0, None, None]  # (n, SAMPLES, H, 1)
    d_col = cols[None, None, None, :] - points[:, :, 1, None, None]  # (n, SAMPLES, 1, W)
    distance = np.sqrt((d_row ** 2 + d_col ** 2).min(axis=1))  # (n, H, W)
    return np.clip(thickness[:, None, None] / 2 + 0.5 - distance, 0.0, 1.0).astype(np.float32)
