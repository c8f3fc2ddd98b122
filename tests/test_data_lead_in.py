"""Letters begun with a lead-in stroke (hdl_native/data/lead_in.py): where the stroke goes, and how it is framed."""
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import ndimage

from hdl_native.data import normalize
from hdl_native.data.distort import distort
from hdl_native.data.lead_in import lead_in_strokes, mean_runs, stroke_ink
from hdl_native.training.feed import TrainingFeed
from test_data_touching import bar as float_bar
from test_data_touching import check_batch_augmenter, ink_box


def bar(left=12, width=3, top=4, bottom=24):
    """uint8 (28, 28): an upright bar of ink, an 'l'."""
    return float_bar(left, width, top, bottom).astype(np.uint8)


def test_the_stroke_comes_from_the_left_joins_the_letter_and_the_pair_is_framed_in_24_pixels():
    images = np.stack([bar()] * 16)
    out = lead_in_strokes(images, np.random.default_rng(0), 1.0)
    for image in out:
        top, bottom, left, right = ink_box(image)
        assert max(bottom - top, right - left) in (23, 24, 25) and image.max() == 255
        assert right - left >= 8, "a bar 3 wide with a stroke reaching at least 0.35 of its height to the left"
        assert ndimage.label(image > 64)[1] == 1, "the stroke runs into the letter: one mark"
        columns = (image > 64).sum(axis=0)
        bar_columns = np.flatnonzero(columns >= 8)  # the stroke's round end may poke a pixel past a thin bar
        assert len(bar_columns) >= 2 and bar_columns[0] >= right - 5, "the bar stays at the right, upright"
        assert columns[left] < 8, "the stroke is what reaches left"
        start_rows = np.flatnonzero((image[:, left:left + 2] > 64).any(axis=1))
        assert start_rows.min() >= (top + bottom) // 2, "it starts low on the left"


def test_it_keeps_shape_dtype_and_input_is_deterministic_and_changes_about_the_share():
    images = np.stack([bar(left=int(l)) for l in np.random.default_rng(3).integers(6, 20, 40)])
    check_batch_augmenter(lead_in_strokes, images, 10, 30)


def test_images_with_too_little_ink_stay_as_they_are():
    blank, dot = np.zeros((28, 28), np.uint8), np.zeros((28, 28), np.uint8)
    dot[10:13, 10:13] = 255
    images = np.stack([blank, dot, bar()])
    out = lead_in_strokes(images, np.random.default_rng(0), 1.0)
    assert np.array_equal(out[:2], images[:2]) and not np.array_equal(out[2], images[2])


@pytest.mark.parametrize("images, share", [(np.zeros((4, 28, 28), np.float32), 0.5),
                                           (np.zeros((28, 28), np.uint8), 0.5),
                                           (np.zeros((4, 28, 28), np.uint8), -0.1)])
def test_bad_input_is_refused(images, share):
    with pytest.raises(ValueError):
        lead_in_strokes(images, np.random.default_rng(0), share)


def test_the_stroke_is_as_thick_as_asked_and_antialiased():
    start, bend, end = np.array([[14.0, 2.0]]), np.array([[14.0, 10.0]]), np.array([[14.0, 20.0]])
    ink = stroke_ink(start, bend, end, np.array([3.5]), (28, 28))[0]  # full within 1.75 px, none beyond 2.25
    assert (ink[13:16, 4:18] == 1).all() and (ink[11, :] == 0).all() and (ink[17, :] == 0).all()
    np.testing.assert_allclose([ink[12, 10], ink[16, 10]], [0.25, 0.25], atol=0.01)
    assert (ink[:, 23:] == 0).all()


def test_the_thickness_of_strokes_is_their_mean_run():
    images = np.stack([bar(width=3), bar(width=5)]) > 64
    np.testing.assert_allclose(mean_runs(images), [3.0, 5.0])


def test_the_feed_without_lead_ins_draws_as_before_and_with_them_changes_the_batch():
    images = np.stack([bar(left=int(l)) for l in np.random.default_rng(0).integers(6, 20, 16)])
    labels, indices = np.arange(16), np.arange(16)

    def config(share):
        return SimpleNamespace(distort=1.0, distort_look=None, augment=False, seed=7, touching=0.0, lead_in=share,
                               pairs=0.0)
    plain, _ = TrainingFeed(images, labels, config(0.0)).batch(indices)
    assert np.array_equal(plain, normalize(distort(images, np.random.default_rng([7, 1]), 1.0)))
    stroked, stroked_labels = TrainingFeed(images, labels, config(1.0)).batch(indices)
    assert stroked.shape == plain.shape and np.array_equal(stroked_labels, labels)
    assert not np.array_equal(stroked, plain)
