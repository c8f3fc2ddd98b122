"""Batched distortions (hdl_native/data/distort.py): shapes, dtype, identity, determinism, what each part does."""
import numpy as np
import pytest

from hdl_native.data.distort import change_stroke_width, distort


def letter_batch(n=8, seed=0):
    """uint8 (n, 28, 28): a bright bar of random length and position on black, one per image."""
    rng = np.random.default_rng(seed)
    images = np.zeros((n, 28, 28), dtype=np.uint8)
    for i in range(n):
        top, left = rng.integers(4, 10, size=2)
        images[i, top:top + 14, left:left + 3] = 255
        images[i, top + 12:top + 14, left:left + 10] = 200
    return images


def test_shape_dtype_and_input_untouched():
    images = letter_batch()
    before = images.copy()
    out = distort(images, np.random.default_rng(1))
    assert out.shape == images.shape and out.dtype == np.uint8
    assert np.array_equal(images, before)


def test_zero_strength_is_identity():
    images = letter_batch()
    assert np.array_equal(distort(images, 3, strength=0.0), images)


def test_tiny_strength_is_nearly_identity():
    images = letter_batch()
    out = distort(images, 3, strength=1e-6)
    assert np.abs(out.astype(int) - images.astype(int)).max() <= 1


def test_deterministic_by_seed_and_varies_between_seeds():
    images = letter_batch()
    first = distort(images, np.random.default_rng(7))
    again = distort(images, np.random.default_rng(7))
    other = distort(images, np.random.default_rng(8))
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


def test_distorted_letters_keep_most_of_their_ink():
    images = letter_batch(64)
    out = distort(images, np.random.default_rng(2))
    ratio = out.reshape(64, -1).sum(1) / images.reshape(64, -1).sum(1)
    assert np.median(ratio) == pytest.approx(1.0, abs=0.35)
    assert (ratio > 0.2).all()


def test_empty_batch_and_bad_input():
    empty = np.zeros((0, 28, 28), dtype=np.uint8)
    assert distort(empty, 0).shape == (0, 28, 28)
    with pytest.raises(ValueError, match="uint8"):
        distort(np.zeros((2, 28, 28), dtype=np.float32), 0)
    with pytest.raises(ValueError, match="negative"):
        distort(letter_batch(), 0, strength=-1)


def test_stroke_width_thickens_or_thins():
    images = letter_batch(4).astype(np.float32)
    thick = change_stroke_width(images, np.random.default_rng(0), probability=1.0)
    assert (thick >= images).all() and thick.sum() > images.sum()
    never = change_stroke_width(images, np.random.default_rng(0), probability=0.0)
    assert np.array_equal(never, images)


def test_change_look_keeps_the_peak_and_changes_the_stroke_profile():
    from hdl_native.data.distort import change_look

    images = np.zeros((200, 28, 28), dtype=np.float32)
    images[:, 10:18, 13] = 255.0
    images[:, 10:18, 12] = images[:, 10:18, 14] = 100.0  # a soft edge beside a hard core
    looked = change_look(images, np.random.default_rng(0), 1.0)
    np.testing.assert_allclose(looked.max(axis=(1, 2)), 255.0, rtol=1e-5)
    edges = looked[:, 14, 12]
    assert edges.min() < 60 and edges.max() > 140  # gamma both sharpens and softens across the batch
    blurred = (looked[:, 14, 11] > 0).mean()
    assert 0.1 < blurred < 0.4  # about BLUR_PROBABILITY of the images spread ink one pixel further
    np.testing.assert_array_equal(change_look(images, np.random.default_rng(0), 0.0), images)
