"""Batched distortions (hdl_native/data/distort.py): shapes, dtype, identity, determinism, what each part does."""
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import ndimage

from hdl_native.data import normalize
from hdl_native.data.distort import change_stroke_width, distort, distort_by_label
from hdl_native.errors import HDLError
from hdl_native.training.feed import TrainingFeed, class_distortions


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


def test_distort_by_label_gives_each_class_its_strength_and_repeats_with_the_seed():
    images, labels = letter_batch(12), np.array([0, 1, 2] * 4)
    strengths = np.array([0.0, 1.0, 0.0])
    out = distort_by_label(images, labels, np.random.default_rng(5), strengths)
    assert out.dtype == np.uint8 and out.shape == images.shape
    assert np.array_equal(out[labels != 1], images[labels != 1])  # strength 0 leaves classes 0 and 2 alone
    changed = [not np.array_equal(out[i], images[i]) for i in np.flatnonzero(labels == 1)]
    assert all(changed)
    assert np.array_equal(out, distort_by_label(images, labels, np.random.default_rng(5), strengths))


def test_distort_by_label_with_one_strength_is_distort():
    images, labels = letter_batch(10), np.arange(10) % 3
    assert np.array_equal(distort_by_label(images, labels, np.random.default_rng(2), np.full(3, 0.7)),
                          distort(images, np.random.default_rng(2), 0.7))


def test_look_sets_the_pen_and_camera_apart_from_the_shape(monkeypatch):
    import hdl_native.data.distort as module

    seen = {}

    def recorder(name, real):
        def recorded(*args):
            seen[name] = args[-1]  # the strength or probability each part is given
            return real(*args)
        return recorded
    for name in ("random_affine", "change_stroke_width", "change_look"):
        monkeypatch.setattr(module, name, recorder(name, getattr(module, name)))
    images = letter_batch()
    module.distort(images, np.random.default_rng(4), 0.5, look=1.0)
    assert seen == {"random_affine": 0.5, "change_stroke_width": module.STROKE_CHANGE_PROBABILITY, "change_look": 1.0}
    module.distort(images, np.random.default_rng(4), 0.5)  # look None: the strength's, as before the option
    assert seen == {"random_affine": 0.5, "change_stroke_width": module.STROKE_CHANGE_PROBABILITY / 2,
                    "change_look": 0.5}


def test_look_draws_the_same_random_numbers_and_alone_changes_only_the_ink():
    images = letter_batch()
    generators = [np.random.default_rng(4) for _ in range(3)]
    plain = distort(images, generators[0], 0.5)
    assert np.array_equal(distort(images, generators[1], 0.5, look=0.5), plain)
    assert not np.array_equal(distort(images, generators[2], 0.5, look=1.0), plain)
    after = [rng.random() for rng in generators]
    assert after[0] == after[1] == after[2]  # so the rest of a seeded run draws the same, whatever look is
    assert np.array_equal(distort(images, 5, strength=0.0, look=0.0), images)
    ink_only = distort(images, 5, strength=0.0, look=1.0)
    assert not np.array_equal(ink_only, images)
    near_ink = ndimage.binary_dilation(images > 0, np.ones((1, 5, 5), bool))  # a thicker stroke, then a blur
    assert ink_only[~near_ink].max() == 0  # no change of shape: no ink beyond two pixels from where it was
    assert distort(images, 5, strength=1.0, look=0.0)[~near_ink].max() > 0  # as the shape's part would give
    with pytest.raises(ValueError, match="negative"):
        distort(images, 5, 0.5, look=-0.1)


def feed_config(distort_other, distort=0.5):
    return SimpleNamespace(distort=distort, distort_other=distort_other, distort_look=None, augment=False, seed=3,
                           touching=0.0, lead_in=0.0, pairs=0.0, dataset="letters,nonletters")


def test_class_distortions_sets_the_class_other_apart_and_needs_one():
    assert class_distortions(feed_config(None), ["a", "b", "other"]) is None
    np.testing.assert_array_equal(class_distortions(feed_config(1.0), ["a", "b", "other"]), [0.5, 0.5, 1.0])
    with pytest.raises(HDLError, match=r"--distort-other 1: dataset 'letters,nonletters' has no class 'other'"):
        class_distortions(feed_config(1.0), ["a", "b"])


def test_the_feed_distorts_the_class_other_with_its_own_strength():
    images, labels = letter_batch(12), np.array([0, 2] * 6)  # class 2 is 'other'
    config = feed_config(0.0, distort=1.0)  # letters at 1, the others not at all
    feed = TrainingFeed(images, labels, config, class_distortions(config, ["a", "b", "other"]))
    batch, batch_labels = feed.batch(np.arange(12))
    assert np.array_equal(batch_labels, labels)
    assert np.array_equal(batch[labels == 2], normalize(images[labels == 2]))
    assert not np.array_equal(batch[labels == 0], normalize(images[labels == 0]))
    plain_feed = TrainingFeed(images, labels, config)  # without the strengths: every image at --distort's 1
    assert not np.array_equal(plain_feed.batch(np.arange(12))[0][labels == 2], normalize(images[labels == 2]))


def test_the_feed_gives_distort_look_to_every_class():
    images, labels = letter_batch(12), np.array([0, 2] * 6)
    config = feed_config(None, distort=0.0)
    config.distort_look = 1.0  # the pen and camera alone, no change of shape
    batch, _ = TrainingFeed(images, labels, config).batch(np.arange(12))
    assert np.array_equal(batch, normalize(distort(images, np.random.default_rng([3, 1]), 0.0, look=1.0)))
    assert not np.array_equal(batch, normalize(images))
    config.distort_other = 0.5  # per-class shape strengths, the look the same for all
    batch, _ = TrainingFeed(images, labels, config, class_distortions(config, ["a", "b", "other"])).batch(np.arange(12))
    expected = distort_by_label(images, labels, np.random.default_rng([3, 1]), [0.0, 0.0, 0.5], look=1.0)
    assert np.array_equal(batch, normalize(expected))
