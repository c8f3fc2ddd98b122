"""Batch warping shared by the augmentation and the synthetic letters (hdl_native/data/warp.py)."""
import numpy as np
from scipy import ndimage

from hdl_native.data.warp import (box_downsample, dilate, erode, inverse_affine, pad_stack, sample_bilinear,
                                  smooth_fields, warp)


def test_sample_bilinear_reads_whole_and_half_pixels_of_the_chosen_image_and_zero_outside():
    images = np.arange(2 * 4 * 5, dtype=np.float32).reshape(2, 4, 5)
    ids = np.array([1, 0, 1])
    rows, cols = np.meshgrid(np.arange(4.0), np.arange(5.0), indexing="ij")
    rows, cols = np.broadcast_to(rows, (3, 4, 5)), np.broadcast_to(cols, (3, 4, 5))
    np.testing.assert_allclose(sample_bilinear(images, ids, rows, cols), images[ids])
    halfway = sample_bilinear(images, ids, rows, cols + 0.5)
    np.testing.assert_allclose(halfway[:, :, :4], (images[ids, :, :4] + images[ids, :, 1:]) / 2)
    np.testing.assert_allclose(halfway[:, :, 4], images[ids, :, 4] / 2)  # half of the last column, half border
    assert np.all(sample_bilinear(images, ids, rows - 10, cols) == 0)


def test_sample_bilinear_matches_scipy_with_zero_outside():
    rng = np.random.default_rng(0)
    stack = rng.random((3, 7, 9)).astype(np.float32)
    ids = np.array([2, 0, 1, 2])
    rows, cols = rng.uniform(-2, 9, (4, 5, 6)), rng.uniform(-2, 11, (4, 5, 6))
    rows[0, 0, :4], cols[0, 0, :4] = [-1, 6, 7, 0], [0, 8, 3, 9]  # exactly on the border and the last pixel
    expected = np.stack([ndimage.map_coordinates(stack[i], [rows[b], cols[b]], order=1, mode="grid-constant")
                         for b, i in enumerate(ids)])
    np.testing.assert_allclose(sample_bilinear(stack, ids, rows, cols), expected, atol=1e-5)


def test_inverse_affine_inverts_rotation_shear_and_scale():
    to_source = inverse_affine(np.array([0.0, np.pi / 2]), np.array([0.5, 0.0]), np.array([2.0, 1.0]),
                               np.array([1.0, 3.0]))
    assert to_source.dtype == np.float32 and to_source.shape == (2, 2, 2)
    # shear after scale: (row, col) -> (2 row, col + 0.5 * 2 row)
    np.testing.assert_allclose(np.linalg.inv(to_source[0]), [[2, 0], [1, 1]], atol=1e-6)
    # a quarter turn after stretching the columns three times
    np.testing.assert_allclose(np.linalg.inv(to_source[1]), [[0, -3], [1, 0]], atol=1e-6)


def test_warp_with_identity_and_a_whole_pixel_shift_moves_the_image_and_fills_zeros():
    images = np.arange(2 * 6 * 7, dtype=np.float32).reshape(2, 6, 7) + 1
    identity = np.broadcast_to(np.eye(2, dtype=np.float32), (2, 2, 2))
    np.testing.assert_allclose(warp(pad_stack(images), np.array([1, 0]), identity, 0), images[[1, 0]], atol=1e-4)
    shift = np.array([1.0, -2.0], dtype=np.float32).reshape(1, 2, 1, 1)  # read one row down, two columns left
    moved = warp(pad_stack(images), np.array([0, 1]), identity, shift)
    np.testing.assert_allclose(moved[:, :-1, 2:], images[:, 1:, :-2], atol=1e-4)
    assert np.all(moved[:, -1] == 0) and np.all(moved[:, :, :2] == 0)


def test_box_downsample_and_smooth_fields():
    images = np.arange(2 * 4 * 6, dtype=np.float32).reshape(2, 4, 6)
    np.testing.assert_allclose(box_downsample(images, 2), images.reshape(2, 2, 2, 3, 2).mean(axis=(2, 4)))
    fields = smooth_fields(np.random.default_rng(0), 3, 20, 30)
    assert fields.shape == (3, 20, 30) and fields.dtype == np.float32
    assert np.abs(np.diff(fields, axis=1)).max() < np.abs(fields).max()  # smooth: steps far below the range
    upsampled = smooth_fields(np.random.default_rng(1), 2, 9, 13, n_knots=3, scale=2.0)
    knots = np.random.default_rng(1).normal(0.0, 2.0, (2, 3, 3)).astype(np.float32)
    expected = ndimage.zoom(knots, (1, 9 / 3, 13 / 3), order=1, grid_mode=False)  # corner knots on corner pixels
    np.testing.assert_allclose(upsampled, expected, atol=1e-5)


def test_dilate_and_erode_match_scipy_with_background_outside_and_stay_within_each_image():
    rng = np.random.default_rng(0)
    images = rng.random((3, 9, 11)).astype(np.float32) * (rng.random((3, 9, 11)) > 0.4)
    plus = np.array([[[0, 1, 0], [1, 1, 1], [0, 1, 0]]], dtype=bool)
    for footprint, is_plus in ((np.ones((1, 3, 3), dtype=bool), False), (plus, True)):
        for ours, scipys in ((dilate, ndimage.grey_dilation), (erode, ndimage.grey_erosion)):
            expected = scipys(scipys(images, footprint=footprint, mode="constant"), footprint=footprint,
                              mode="constant")
            np.testing.assert_array_equal(ours(images, steps=2, plus=is_plus), expected)


def test_dilate_grows_a_dot_into_a_square_or_a_plus_and_erode_takes_it_back():
    dot = np.zeros((2, 7, 7), dtype=np.float32)
    dot[0, 3, 3] = 1.0
    dot[1, 0, 3] = 1.0  # on the top edge: must not leak into image 0
    square = dilate(dot)
    assert square[0].sum() == 9 and square[0, 2:5, 2:5].all()
    assert square[1].sum() == 6 and square[0, 6].sum() == 0
    grown = dilate(dot[:1], plus=True)
    assert grown.sum() == 5 and grown[0, 3, 2:5].all() and grown[0, 2:5, 3].all()
    np.testing.assert_array_equal(erode(grown, plus=True), dot[:1])
    full = np.ones((1, 5, 5), dtype=np.float32)
    assert erode(full).sum() == 9  # outside the frame counts as background
