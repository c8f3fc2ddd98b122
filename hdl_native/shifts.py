"""Reading an image in copies shifted by at most one pixel, and averaging what the copies say.

Where a box lands a pixel off, some copy sits as the training letters did.  The OCR reads every
crop this way (`ocr --shifts`), `calibrate` fits a temperature for each number of copies (their
averaged probabilities are less sure than one read's), and `evaluate --shifts` measures the reading
the OCR does.  Images carry a black border of 2 pixels (crops.py, the EMNIST-style sets), so a
one-pixel roll loses no ink.
"""
import numpy as np

SHIFT_OFFSETS = {  # (rows, columns) each copy of an image is moved by, for each allowed number of copies
    1: [(0, 0)],
    5: [(0, 0), (-1, 0), (1, 0), (0, -1), (0, 1)],
    9: [(rows, columns) for rows in (-1, 0, 1) for columns in (-1, 0, 1)],
}
DEFAULT_SHIFTS = 9  # what `ocr` reads with


def check_shifts(shifts):
    """shifts, if SHIFT_OFFSETS has it; else ValueError naming the allowed counts."""
    if shifts not in SHIFT_OFFSETS:
        raise ValueError(f"shifts must be one of {', '.join(map(str, SHIFT_OFFSETS))}, not {shifts!r}")
    return shifts


def shifted_copies(images, shifts):
    """images (n, H, W) -> (shifts * n, H, W): every image moved by SHIFT_OFFSETS[shifts][0], then every image
    moved by the next offset, and so on (so a reshape to (shifts, n, ...) groups the copies by offset)."""
    return np.concatenate([np.roll(images, offset, axis=(1, 2)) for offset in SHIFT_OFFSETS[check_shifts(shifts)]])


def copies_of(shifts, fewer):
    """Indices into SHIFT_OFFSETS[shifts] of the offsets of SHIFT_OFFSETS[fewer] (each smaller set is a subset),
    so one reading of the most copies serves every smaller count."""
    offsets = [tuple(offset) for offset in SHIFT_OFFSETS[check_shifts(shifts)]]
    return [offsets.index(tuple(offset)) for offset in SHIFT_OFFSETS[check_shifts(fewer)]]
