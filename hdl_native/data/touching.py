"""Letters as `ocr` crops them out of a mark where they touch a neighbour: a piece of the neighbour at one edge.

When two handwritten letters touch, their ink is one connected mark, and ocr/boxes.py cuts it at its
thinnest column near where the letters should meet.  Each half is then framed (ocr/crops.py) with whatever
of the neighbour lies on its side of the cut: a stub of the next letter's stroke, or a bite taken out of
its own.  A reader trained only on letters standing alone is unsure of such crops (BENCHMARKS.md, "Letters
written close together").  `touch_neighbours` makes them from a batch: for a random share of the images it
places another image of the batch beside the letter, touching or overlapping it, cuts the pair as
boxes.thinnest_columns does and frames the letter's side again as crops.frame_letter does.  The label stays
the letter's own.

Where the cut is not made (ocr leaves a mark whole when no cut reads better), the reader sees both letters in one
crop.  `whole_pairs` makes those: the same pair, framed whole, labelled with a class of its own (PAIR), so that a
reader can say "two letters" rather than name one of them (`hdl-native letters --pairs`).

Everything runs on the whole chosen part of the batch at once (bilinear lookups of data/warp.py); the
neighbour sits on the right, and a neighbour on the left is the same done on mirrored images.
"""
import numpy as np

from .warp import sample_bilinear

GAP_RANGE = (-2.0, 1.0)  # pixels between the two letters' ink in the 28x28 frame (letters ~20 px tall); negative:
# they overlap (benchmarks/ocr_nonletters.py --letter-gap=-4,0 on its 42 px letters)
NEIGHBOUR_SCALE_RANGE = (0.7, 1.05)  # the neighbour's size against the letter's (a, n beside l, h)
NEIGHBOUR_RISE = 2.0  # pixels the neighbour sits higher or lower, at most
CUT_MISPLACED = 1.0  # pixels: where the cut is looked for, off the true meeting point by at most this
CUT_REACH = 3  # pixels either side of that to look in (the cut lands in the gap or the joining stroke)
OWN_COLUMNS_CUT = 2  # the cut takes at most this many of the letter's own ink columns (else it reads as another)
INK_LEVEL = 0.25 * 255  # what counts as ink for the columns and the box (crops.BOX_LEVEL)
INNER = 24  # the letter's box is framed in INNER x INNER inside the frame (crops.INNER)


def touch_neighbours(images, rng, share):
    """A copy of `images` where about `share` of them are cut out of a pair with a touching neighbour.

    images: uint8 (n, H, W), bright ink on black.  rng: np.random.Generator.  share: 0..1, each image's chance.
    The neighbours are other images of the same batch.  Returns a new uint8 (n, H, W).
    """
    images = checked_batch(images, share, "touch_neighbours")
    result = images.copy()
    chosen, neighbours = chosen_with_neighbours(len(images), rng, share)
    if len(chosen) == 0:
        return result
    on_left = rng.random(len(chosen)) < 0.5
    letters = images[chosen].astype(np.float32)
    others = images[neighbours].astype(np.float32)
    letters[on_left] = letters[on_left, :, ::-1]  # mirrored, the neighbour on the left comes to the right
    others[on_left] = others[on_left, :, ::-1]
    cut = cut_pair(letters, others, rng)
    cut[on_left] = cut[on_left, :, ::-1]
    result[chosen] = cut
    return result


def whole_pairs(images, labels, rng, share, pair_label):
    """Copies of (images, labels) where about `share` of the images are two letters written touching and left
    whole: another image of the batch placed touching on the right (as touch_neighbours places it), the pair
    framed whole as crops.frame_letter frames a mark ocr did not cut, and labelled `pair_label`.

    images: uint8 (n, H, W), bright ink on black.  labels: int (n,).  rng: np.random.Generator.  share: 0..1.
    Returns (uint8 (n, H, W), int64 (n,)); an image of a pair where either has no ink keeps its own.
    """
    images = checked_batch(images, share, "whole_pairs")
    result, labels = images.copy(), np.array(labels, dtype=np.int64, copy=True)
    chosen, neighbours = chosen_with_neighbours(len(images), rng, share)
    if len(chosen) == 0:
        return result, labels
    canvas, inked, _, _ = pair_canvas(images[chosen].astype(np.float32), images[neighbours].astype(np.float32), rng)
    if inked.any():
        result[chosen[inked]] = frame_letters(canvas[inked], images.shape[1], images.shape[2])
        labels[chosen[inked]] = pair_label
    return result, labels


def chosen_with_neighbours(n, rng, share):
    """(chosen, neighbours) int (m,): the images of a batch of n chosen, each with chance `share`, and for each
    another image of the batch, never itself; both empty (and no neighbour drawn) when none is chosen or n < 2."""
    chosen = np.flatnonzero(rng.random(n) < share) if n >= 2 else np.zeros(0, np.intp)
    if len(chosen) == 0:
        return chosen, chosen
    return chosen, (chosen + rng.integers(1, n, len(chosen))) % n


def checked_batch(images, share, what):
    """images as an array; ValueError naming the function `what` unless they are uint8 (n, H, W) and 0 <= share <= 1."""
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 3:
        raise ValueError(f"{what} expects uint8 images (n, H, W), got {images.dtype} {images.shape}")
    if not 0 <= share <= 1:
        raise ValueError(f"{what} share must be within 0..1, got {share}")
    return images


def cut_pair(letters, others, rng):
    """The letters with the neighbour touching on their right, cut apart and framed again.

    letters, others: float32 (m, H, W).  Returns uint8 (m, H, W); a letter with no ink comes back unchanged.
    """
    m, height, width = letters.shape
    canvas, inked, meet, (letter_left, letter_right) = pair_canvas(letters, others, rng)
    cuts = thinnest_columns(canvas, meet + rng.uniform(-CUT_MISPLACED, CUT_MISPLACED, m),
                            np.maximum((letter_left + letter_right) / 2, letter_right - OWN_COLUMNS_CUT))
    canvas *= np.arange(2 * width)[None, None, :] < cuts[:, None, None]
    framed = frame_letters(canvas, height, width)
    return np.where(inked[:, None, None], framed, np.clip(np.rint(letters), 0, 255).astype(np.uint8))


def pair_canvas(letters, others, rng):
    """The letters with the neighbour placed touching on their right, on a canvas twice as wide.

    letters, others: float32 (m, H, W).  Returns (canvas float32 (m, H, 2W), inked bool (m,): both have ink,
    meet float (m,): the neighbour's first ink column on the canvas, (first, last) int (m,): the letters' ink
    columns).
    """
    m, height, width = letters.shape
    letter_left, letter_right = ink_edges(letters)
    other_left = ink_edges(others)[0]
    inked = (letter_right >= 0) & (other_left >= 0)
    scale = rng.uniform(*NEIGHBOUR_SCALE_RANGE, m)
    rise = rng.uniform(-NEIGHBOUR_RISE, NEIGHBOUR_RISE, m)
    meet = letter_right + 1 + rng.uniform(*GAP_RANGE, m)
    centre_row, centre_col = (height - 1) / 2, (width - 1) / 2
    # canvas column c shows the neighbour's column (c - shift) / scale + centre_col, its first ink at `meet`
    shift = meet - (other_left - centre_col) * scale - centre_col
    canvas_width = 2 * width
    rows = np.arange(height, dtype=np.float32)[None, :, None]
    cols = np.arange(canvas_width, dtype=np.float32)[None, None, :]
    source_rows = (rows - centre_row - rise[:, None, None]) / scale[:, None, None] + centre_row
    source_cols = (cols - shift[:, None, None] - centre_col) / scale[:, None, None] + centre_col
    placed = sample_bilinear(others, np.arange(m),
                             np.broadcast_to(source_rows, (m, height, canvas_width)),
                             np.broadcast_to(source_cols, (m, height, canvas_width)))
    canvas = np.zeros((m, height, canvas_width), np.float32)
    canvas[:, :, :width] = letters
    np.maximum(canvas, placed, out=canvas)
    return canvas, inked, meet, (letter_left, letter_right)


def ink_edges(images):
    """(first, last) int (m,) columns holding ink above INK_LEVEL; -1 for both where there is none."""
    columns = (images > INK_LEVEL).any(axis=1)
    has_ink = columns.any(axis=1)
    first = np.where(has_ink, np.argmax(columns, axis=1), -1)
    last = np.where(has_ink, columns.shape[1] - 1 - np.argmax(columns[:, ::-1], axis=1), -1)
    return first, last


def thinnest_columns(canvas, expected, keep_to):
    """int (m,): per image the column with the fewest ink pixels within CUT_REACH of `expected` (float (m,)),
    nearer ones winning ties, as boxes.thinnest_columns chooses (ink count + 0.5 x distance / (reach + 1)); always
    right of `keep_to` (float (m,)): a cut taking more of the letter makes another letter, whose label is unknown."""
    counts = (canvas > INK_LEVEL).sum(axis=1).astype(np.float64)  # (m, W)
    columns = np.arange(canvas.shape[2])[None, :]
    centre = np.rint(expected)[:, None]
    distance = np.abs(columns - centre)
    score = counts + 0.5 * distance / (CUT_REACH + 1)
    score[(distance > CUT_REACH) | (columns <= keep_to[:, None])] = np.inf
    fallback = np.maximum(centre[:, 0], np.floor(keep_to) + 1).astype(np.intp)  # the window lay left of it
    return np.where(np.isfinite(score.min(axis=1)), np.argmin(score, axis=1), fallback)


def frame_letters(canvas, height, width):
    """Each image's ink box (above INK_LEVEL) centred in a square and resampled to INNER x INNER inside a
    (height, width) frame, its brightest pixel scaled to 255, as crops.frame_letter frames an ocr crop.

    canvas: float32 (m, H, W2), every image with some ink.  Returns uint8 (m, height, width)."""
    m = len(canvas)
    strong = canvas > INK_LEVEL
    rows_inked, cols_inked = strong.any(axis=2), strong.any(axis=1)
    top = np.argmax(rows_inked, axis=1)
    bottom = rows_inked.shape[1] - np.argmax(rows_inked[:, ::-1], axis=1)
    left = np.argmax(cols_inked, axis=1)
    right = cols_inked.shape[1] - np.argmax(cols_inked[:, ::-1], axis=1)
    side = np.maximum(bottom - top, right - left).astype(np.float32)
    row0 = (top + bottom) / 2 - side / 2  # the square's corner, in canvas pixels (edges, not centres)
    col0 = (left + right) / 2 - side / 2
    step = side / INNER  # canvas pixels per frame pixel
    margin_row, margin_col = (height - INNER) // 2, (width - INNER) // 2
    inner = np.arange(INNER, dtype=np.float32) + 0.5
    rows = (row0[:, None] + inner[None, :] * step[:, None] - 0.5)[:, :, None]
    cols = (col0[:, None] + inner[None, :] * step[:, None] - 0.5)[:, None, :]
    small = sample_bilinear(canvas, np.arange(m), np.broadcast_to(rows, (m, INNER, INNER)),
                            np.broadcast_to(cols, (m, INNER, INNER)))
    frame = np.zeros((m, height, width), np.float32)
    frame[:, margin_row:margin_row + INNER, margin_col:margin_col + INNER] = small
    peak = np.maximum(frame.max(axis=(1, 2), keepdims=True), 1e-6)
    return np.clip(np.rint(frame / peak * 255), 0, 255).astype(np.uint8)
