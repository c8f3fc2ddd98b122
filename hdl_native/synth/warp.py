"""Vectorised resampling: bilinear lookups into a stack of images, and smooth random fields.

Coordinates are in pixels of the source image with pixel (i, j) centred at (i, j);
anything sampled outside the source reads as 0 (black background).
"""
import numpy as np


def pad_stack(stack):
    """A stack of images with a 1-pixel zero border: float32 (G, H, W) -> (G, H + 2, W + 2)."""
    return np.pad(np.asarray(stack, dtype=np.float32), ((0, 0), (1, 1), (1, 1)))


def sample_bilinear(stack, ids, rows, cols):
    """Bilinear samples of stack[ids[b]] at (rows[b], cols[b]), zero outside.

    stack: float32 (G, H, W).  ids: int (B,).  rows, cols: float (B, h, w) source coordinates.
    Returns float32 (B, h, w).
    """
    return sample_padded(pad_stack(stack), ids, rows, cols)


def sample_padded(padded, ids, rows, cols):
    """sample_bilinear on a stack that already has its zero border (see pad_stack), so big stacks pad once.

    One gather per corner over the whole batch (no per-image loop).
    """
    height, width = padded.shape[1] - 2, padded.shape[2] - 2
    padded_width = width + 2
    flat = padded.reshape(-1)
    rows = np.clip(rows, -1.0, height, dtype=np.float32)
    cols = np.clip(cols, -1.0, width, dtype=np.float32)
    row0 = np.minimum(np.floor(rows), height - 1)  # at rows == height the weight falls on the zero border
    col0 = np.minimum(np.floor(cols), width - 1)
    frac_row = rows - row0
    frac_col = cols - col0
    base = np.asarray(ids, dtype=np.int64).reshape(-1, 1, 1) * ((height + 2) * padded_width)
    corner = base + (row0.astype(np.int64) + 1) * padded_width + (col0.astype(np.int64) + 1)  # +1: the border
    top = flat[corner] * (1 - frac_col) + flat[corner + 1] * frac_col
    bottom = flat[corner + padded_width] * (1 - frac_col) + flat[corner + padded_width + 1] * frac_col
    return (top * (1 - frac_row) + bottom * frac_row).astype(np.float32, copy=False)


def interpolation_matrix(n_out, n_knots):
    """float32 (n_out, n_knots): linear interpolation from n_knots evenly spaced knots onto n_out points."""
    positions = np.linspace(0, n_knots - 1, n_out)
    left = np.minimum(np.floor(positions).astype(np.int64), n_knots - 2)
    weight = positions - left
    matrix = np.zeros((n_out, n_knots), dtype=np.float32)
    matrix[np.arange(n_out), left] = 1 - weight
    matrix[np.arange(n_out), left + 1] = weight
    return matrix


def smooth_fields(rng, n, height, width, n_knots=5, scale=1.0):
    """n smooth random fields float32 (n, height, width): normal(0, scale) knots on an n_knots grid, upsampled.

    The upsampling is two small matrix products (rows then columns) for the whole batch.
    """
    knots = rng.normal(0.0, scale, size=(n, n_knots, n_knots)).astype(np.float32)
    along_rows = interpolation_matrix(height, n_knots)
    along_cols = interpolation_matrix(width, n_knots)
    return np.einsum("hk,nkl,wl->nhw", along_rows, knots, along_cols, optimize=True)


def box_downsample(images, factor):
    """Mean over factor x factor blocks: float (B, H*factor, W*factor) -> float32 (B, H, W).

    Summing factor^2 strided slices is several times faster than a reduction over reshaped axes.
    """
    total = np.zeros(images[:, ::factor, ::factor].shape, dtype=np.float32)
    for row in range(factor):
        for col in range(factor):
            total += images[:, row::factor, col::factor]
    return total / (factor * factor)
