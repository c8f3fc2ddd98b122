"""Warping a batch of images: affine maps plus a displacement field, bilinear lookups, smooth random
fields, box downsampling and stroke-width morphology.

The one home of the resampling that both the training augmentation (data/distort.py) and the
synthetic-letter generator (synth/) do.  Coordinates are in pixels of the source image with pixel
(i, j) centred at (i, j); anything sampled outside the source reads as 0 (black background).

Everything is numpy because scipy.ndimage, which does the same jobs, measured slower at these shapes:
bilinear lookups are one gather per corner over the whole batch (ndimage.map_coordinates costs about
30 us per 28x28 image, so a per-image loop is 2x slower at 64 images and 4x slower at the generator's
512, and one 3-D call over the stack is slower still); smooth fields are upsampled by two small matrix
products (ndimage.zoom: about 40x slower on a batch of 4x4 knots); dilation and erosion are shifted
maxima and minima (ndimage.grey_dilation/grey_erosion: 1.2x to 2.7x slower).
tests/test_data_warp.py checks each of them against its scipy.ndimage counterpart as the reference.
"""
import numpy as np


def inverse_affine(angle, shear, row_scale, col_scale):
    """float32 (n, 2, 2) maps from output to source (row, col) offsets: the inverse of rotation . shear . scale.

    angle: radians (n,).  shear: (n,), the column moves by shear x the row offset (slanted letters).
    row_scale, col_scale: (n,), the stretch along rows and columns, applied before the slant and the turn.
    """
    cos, sin = np.cos(angle), np.sin(angle)
    rotation = np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], -2)
    shearing = np.zeros((len(shear), 2, 2))
    shearing[:, 0, 0] = shearing[:, 1, 1] = 1.0
    shearing[:, 1, 0] = shear
    forward = rotation @ shearing * np.stack([row_scale, col_scale], -1)[:, None, :]  # @ diag(scale)
    return np.linalg.inv(forward).astype(np.float32)


def warp(padded, ids, to_source, displacement):
    """padded[ids] resampled about the frame centre: output pixel p reads the source at
    centre + to_source @ (p - centre) + displacement at p.

    padded: float32 (G, H + 2, W + 2) from pad_stack.  ids: int (n,) into it.
    to_source: float32 (n, 2, 2), see inverse_affine.  displacement: float32 (n, 2, H, W) in (row, col)
    pixels, or anything that broadcasts to it (a (n, 2, 1, 1) translation).  Returns float32 (n, H, W).
    """
    n, height, width = len(ids), padded.shape[1] - 2, padded.shape[2] - 2
    centre = np.array([[(height - 1) / 2], [(width - 1) / 2]], dtype=np.float32)
    offsets = np.indices((height, width), dtype=np.float32).reshape(2, -1) - centre  # (2, H*W)
    source = (to_source @ offsets + centre).reshape(n, 2, height, width) + displacement
    return sample_padded(padded, ids, source[:, 0], source[:, 1])


def pad_stack(stack):
    """A stack of images with a 1-pixel zero border: (G, H, W) -> float32 (G, H + 2, W + 2)."""
    return np.pad(np.asarray(stack, dtype=np.float32), ((0, 0), (1, 1), (1, 1)))


def sample_bilinear(stack, ids, rows, cols):
    """Bilinear samples of stack[ids[b]] at (rows[b], cols[b]), zero outside.

    stack: float (G, H, W).  ids: int (B,).  rows, cols: float (B, h, w) source coordinates.
    Returns float32 (B, h, w).
    """
    return sample_padded(pad_stack(stack), ids, rows, cols)


def sample_padded(padded, ids, rows, cols):
    """sample_bilinear on a stack that already has its zero border (see pad_stack), so big stacks pad once.

    One gather per corner over the whole batch.  The arithmetic runs in place because with fresh
    temporaries for every step, page faults on the new buffers cost more than the arithmetic itself.
    """
    height, width = padded.shape[1] - 2, padded.shape[2] - 2
    row_stride, image_stride = width + 2, (height + 2) * (width + 2)
    # Coordinates beyond the border all read the border's zeros; at rows == height (cols == width)
    # the whole weight falls on the border below (right of) the last pixel.
    frac_row = np.clip(rows, -1.0, height, dtype=np.float32)
    frac_col = np.clip(cols, -1.0, width, dtype=np.float32)
    row0 = np.minimum(np.floor(frac_row), height - 1)
    col0 = np.minimum(np.floor(frac_col), width - 1)
    frac_row -= row0
    frac_col -= col0
    corner = row0.astype(np.intp)
    corner *= row_stride
    corner += col0.astype(np.intp)
    corner += (np.asarray(ids, dtype=np.intp) * image_stride + row_stride + 1).reshape(-1, 1, 1)  # +1: border
    flat = padded.reshape(-1)
    top = interpolate_columns(flat, corner, frac_col)
    corner += row_stride
    bottom = interpolate_columns(flat, corner, frac_col)
    bottom -= top
    bottom *= frac_row
    top += bottom
    return top


def interpolate_columns(flat, corner, frac_col):
    """flat[corner] * (1 - frac_col) + flat[corner + 1] * frac_col, as a new float32 array shaped like corner."""
    left = flat.take(corner)
    right = flat.take(corner + 1)
    right -= left
    right *= frac_col
    left += right
    return left


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
    return interpolation_matrix(height, n_knots) @ knots @ interpolation_matrix(width, n_knots).T


def box_downsample(images, factor):
    """Mean over factor x factor blocks: float (B, H*factor, W*factor) -> float32 (B, H, W).

    Summing factor^2 strided slices is several times faster than a reduction over reshaped axes.
    """
    total = np.zeros(images[:, ::factor, ::factor].shape, dtype=np.float32)
    for row in range(factor):
        for col in range(factor):
            total += images[:, row::factor, col::factor]
    return total / (factor * factor)


def dilate(images, steps=1, plus=False):
    """Grey dilation of every image `steps` times: strokes grow by `steps` pixels on each side.

    images: float (n, H, W), non-negative.  plus: use each pixel's 5-pixel plus instead of its 3x3 square.
    Returns a new float (n, H, W).
    """
    return neighbourhood(images, np.maximum, steps, plus)


def erode(images, steps=1, plus=False):
    """Grey erosion of every image `steps` times, outside the frame counting as background (0); see dilate."""
    return neighbourhood(images, np.minimum, steps, plus)


def neighbourhood(images, reduce, steps, plus):
    """reduce (np.maximum or np.minimum) over each pixel's 3x3 square or 5-pixel plus, `steps` times, outside reading 0.

    images: float (n, H, W).  The square runs as two 1-D passes (along rows, then columns).
    """
    for _ in range(steps):
        padded = np.pad(images, ((0, 0), (1, 1), (1, 1)))
        if plus:
            middle = padded[:, 1:-1]
            vertical = reduce(reduce(padded[:, :-2, 1:-1], middle[:, :, 1:-1]), padded[:, 2:, 1:-1])
            images = reduce(reduce(vertical, middle[:, :, :-2]), middle[:, :, 2:])
        else:
            across = reduce(reduce(padded[:, :, :-2], padded[:, :, 1:-1]), padded[:, :, 2:])  # (n, H + 2, W)
            images = reduce(reduce(across[:, :-2], across[:, 1:-1]), across[:, 2:])
    return images
