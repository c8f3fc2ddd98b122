"""normalize and augment: shapes, dtypes, value mapping, shift bounds, exactly n flipped pixels, seeding."""
import numpy as np
import pytest

from hdl_native.data import augment, normalize
from hdl_native.data.augment import distinct_random_indices, shift


def random_batch(n=16, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(n, 28, 28), dtype=np.uint8)


def test_normalize_values_and_shape():
    images = np.array([[[0, 255], [51, 128]]], dtype=np.uint8)
    x = normalize(images)
    assert x.dtype == np.float32 and x.shape == (1, 1, 2, 2)
    expected = (images.astype(np.float64) / 255 - 0.172575) / 0.25
    np.testing.assert_allclose(x[:, 0], expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(normalize(images, mean=0.5, std=0.5)[0, 0, 0], [-1.0, 1.0], atol=1e-6)


def test_normalize_accepts_one_image_and_channel_axis():
    image = random_batch(1)[0]
    assert normalize(image).shape == (1, 1, 28, 28)
    np.testing.assert_array_equal(normalize(image[None, None]), normalize(image))


def test_normalize_refuses_floats():
    with pytest.raises(TypeError, match="uint8"):
        normalize(np.zeros((1, 28, 28), dtype=np.float32))


def test_augment_shapes_dtype_and_input_untouched():
    images = random_batch()
    before = images.copy()
    out = augment(images, np.random.default_rng(0))
    assert out.shape == images.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(images, before)


def test_augment_accepts_read_only_input():
    images = random_batch()
    images.flags.writeable = False
    assert augment(images, 0).shape == images.shape


def test_exactly_five_pixels_flipped_without_shift():
    images = random_batch(64, seed=1)
    out = augment(images, np.random.default_rng(2), max_shift=0)
    changed = out != images
    assert changed.reshape(64, -1).sum(axis=1).tolist() == [5] * 64
    np.testing.assert_array_equal(out[changed], 255 - images[changed])


def test_flipped_pixels_cover_the_whole_image_evenly():
    """Flip positions are spread over all 784 pixels, not clustered (mean 12.75 hits per pixel here)."""
    images = np.zeros((2000, 28, 28), dtype=np.uint8)
    out = augment(images, np.random.default_rng(4), max_shift=0)
    hits = (out == 255).sum(axis=0)
    assert hits.sum() == 2000 * 5
    assert hits.min() >= 1 and hits.max() <= 35


def test_distinct_random_indices_are_distinct_and_uniform_over_subsets():
    picked = distinct_random_indices(np.random.default_rng(5), 6000, 4, 2)
    assert (picked[:, 0] != picked[:, 1]).all() and picked.min() >= 0 and picked.max() <= 3
    subsets, counts = np.unique(np.sort(picked, axis=1), axis=0, return_counts=True)
    assert len(subsets) == 6
    assert counts.min() > 850 and counts.max() < 1150, counts


def test_shift_moves_content_with_zero_fill():
    image = np.zeros((1, 28, 28), dtype=np.uint8)
    image[0, 10, 12] = 200
    for down, right in [(-2, -2), (0, 1), (2, -1), (1, 2)]:
        moved = shift(image, [[down, right]])
        assert moved[0, 10 + down, 12 + right] == 200 and moved.sum() == 200
    full = np.full((1, 28, 28), 9, dtype=np.uint8)
    moved = shift(full, [[2, -1]])
    assert moved[0, :2].max() == 0 and moved[0, :, -1:].max() == 0 and moved[0, 2:, :-1].min() == 9


def test_shift_stays_within_two_pixels():
    """A single bright pixel (0 flips) moves by at most 2 each way, and across a batch every offset occurs."""
    n = 400
    images = np.zeros((n, 28, 28), dtype=np.uint8)
    images[:, 14, 14] = 255
    out = augment(images, np.random.default_rng(3), n_flips=0)
    rows, cols = np.nonzero(out.reshape(n, 28, 28) == 255)[1:]
    assert len(rows) == n
    assert set((rows - 14).tolist()) == {-2, -1, 0, 1, 2}
    assert set((cols - 14).tolist()) == {-2, -1, 0, 1, 2}


def test_augment_is_deterministic_with_seed():
    images = random_batch()
    np.testing.assert_array_equal(augment(images, np.random.default_rng(7)), augment(images, 7))
    assert not np.array_equal(augment(images, 7), augment(images, 8))


def test_augment_empty_batch():
    assert augment(np.zeros((0, 28, 28), dtype=np.uint8), 0).shape == (0, 28, 28)
