"""Letters cut out of a touching pair (hdl_native/data/touching.py): what is kept, what is cut, how it is framed."""
from types import SimpleNamespace

import numpy as np
import pytest

from hdl_native.data import touching
from hdl_native.data.distort import distort
from hdl_native.data.touching import cut_pair, frame_letters, ink_edges, thinnest_columns, touch_neighbours
from hdl_native.training.feed import TrainingFeed


def ring(left=6, right=20, top=4, bottom=24):
    """float32 (28, 28): a hollow box of 2-pixel strokes, an 'o' whose ink spans columns left..right-1."""
    image = np.zeros((28, 28), np.float32)
    image[top:bottom, left:right] = 255
    image[top + 2:bottom - 2, left + 2:right - 2] = 0
    return image


def bar(left=12, width=3, top=2, bottom=26):
    """float32 (28, 28): an upright bar, an 'l'."""
    image = np.zeros((28, 28), np.float32)
    image[top:bottom, left:left + width] = 255
    return image


def ink_box(image):
    rows, cols = np.flatnonzero((image > 64).any(axis=1)), np.flatnonzero((image > 64).any(axis=0))
    return rows[0], rows[-1] + 1, cols[0], cols[-1] + 1


def test_ink_edges():
    images = np.stack([ring(), bar(left=3, width=2), np.zeros((28, 28), np.float32)])
    first, last = ink_edges(images)
    assert list(first) == [6, 3, -1] and list(last) == [19, 4, -1]


def test_thinnest_columns_take_the_least_ink_near_the_expected_column_right_of_keep_to():
    canvas = np.zeros((3, 2, 20), np.float32)
    canvas[:, :, :] = 255
    canvas[:, 0, 9] = 0  # column 9 holds one ink pixel, the others two
    canvas[:, :, 13] = 0  # column 13 none
    expected = np.array([10.0, 9.0, 3.0])
    keep_to = np.array([0.0, 9.5, 5.0])
    cuts = thinnest_columns(canvas, expected, keep_to)
    # reach 3: image 0 sees 7..13 and takes the empty column; image 1 must stay right of 9.5: 10..12 hold
    # two pixels each, the nearest wins; image 2's window 0..6 lies left of keep_to: the first column after it
    assert list(cuts) == [13, 10, 6]


def test_frame_letters_centres_the_box_in_24_pixels_with_peak_255():
    canvas = np.zeros((2, 28, 56), np.float32)
    canvas[0, 4:24, 30:40] = 100  # 20 tall, 10 wide
    canvas[1, 10:14, 2:50] = 200  # 48 wide, 4 tall
    framed = frame_letters(canvas, 28, 28)
    assert framed.dtype == np.uint8 and framed.shape == (2, 28, 28)
    assert framed.max(axis=(1, 2)).tolist() == [255, 255]
    top, bottom, left, right = ink_box(framed[0])
    assert (top, bottom) == (2, 26) and abs((left + right) / 2 - 14) <= 0.5 and 10 <= right - left <= 14
    top, bottom, left, right = ink_box(framed[1])
    assert (left, right) == (2, 26) and abs((top + bottom) / 2 - 14) <= 0.5


def pinned_pair(monkeypatch, gap):
    """Pin the pair's gap, the neighbour's size and height, and the cut's misplacement."""
    monkeypatch.setattr(touching, "GAP_RANGE", (gap, gap))
    monkeypatch.setattr(touching, "NEIGHBOUR_SCALE_RANGE", (1.0, 1.0))
    monkeypatch.setattr(touching, "NEIGHBOUR_RISE", 0.0)
    monkeypatch.setattr(touching, "CUT_MISPLACED", 0.0)
    return np.random.default_rng(0)


def test_a_neighbour_apart_is_cut_off_whole_and_the_letter_framed_as_before(monkeypatch):
    rng = pinned_pair(monkeypatch, 1.0)
    letter = ring()
    out = cut_pair(letter[None], bar()[None], rng)[0]
    alone = frame_letters(letter[None, :, :], 28, 28)[0]
    assert np.array_equal(out, alone)


def test_a_touching_neighbour_leaves_a_stub_at_the_right_edge(monkeypatch):
    rng = pinned_pair(monkeypatch, -1.0)
    letter = ring()  # ink in columns 6..19, rows 4..23
    neighbour = bar(left=4, width=2, top=14, bottom=24)  # a short stroke in the lower half ...
    neighbour[22:24, 4:16] = 255  # ... with a thin foot running right: the thinnest columns are the foot's
    out = cut_pair(letter[None], neighbour[None], rng)[0]
    top, bottom, left, right = ink_box(out)
    rightmost = np.flatnonzero(out[:, right - 1] > 64)
    assert len(rightmost) > 0 and rightmost.min() >= (top + bottom) / 2  # the stub's ink, in the lower half only
    assert (out[top:bottom, left:left + 2] > 64).mean() > 0.9  # the letter's left stroke is whole


def test_the_cut_never_takes_more_than_two_of_the_letters_own_columns(monkeypatch):
    rng = pinned_pair(monkeypatch, -2.0)
    monkeypatch.setattr(touching, "CUT_MISPLACED", 3.0)
    cuts = []
    real = touching.thinnest_columns
    monkeypatch.setattr(touching, "thinnest_columns", lambda *args: cuts.append(real(*args)) or cuts[-1])
    letters = np.stack([ring(left=4, right=24)] * 16)  # own ink up to column 23 (its right stroke: 22 and 23)
    neighbours = np.stack([bar(left=10 + k % 5) for k in range(16)])
    cut_pair(letters, neighbours, rng)
    assert len(cuts) == 1 and cuts[0].min() >= 22  # columns 22 and 23 may go, 21 stays


def check_batch_augmenter(augment, images, fewest, most):
    """augment(images, rng, share) keeps shape, dtype and its input, repeats itself for one seed, changes from
    `fewest` to `most` images at share 0.5 and none at 0."""
    before = images.copy()
    a = augment(images, np.random.default_rng(1), 0.5)
    b = augment(images, np.random.default_rng(1), 0.5)
    assert a.shape == images.shape and a.dtype == np.uint8 and np.array_equal(images, before)
    assert np.array_equal(a, b)
    changed = np.flatnonzero((a != images).any(axis=(1, 2)))
    assert fewest <= len(changed) <= most
    assert np.array_equal(augment(images, np.random.default_rng(1), 0.0), images)


def test_touch_neighbours_keeps_shape_dtype_and_input_and_is_deterministic():
    rng = np.random.default_rng(3)
    images = np.stack([ring(left=int(l), right=int(l) + 12) for l in rng.integers(2, 14, 32)]).astype(np.uint8)
    check_batch_augmenter(touch_neighbours, images, 8, 24)  # about half chosen (framing moves every chosen one)


def test_a_neighbour_on_the_left_leaves_its_stub_on_the_left():
    letter = ring(left=8, right=22).astype(np.uint8)  # symmetric: only the stub tells the sides apart
    neighbour = bar(left=10, width=3, top=16, bottom=24).astype(np.uint8)  # a short stroke, low on the line
    sides = []
    for seed in range(12):
        out = touch_neighbours(np.stack([letter, neighbour]), np.random.default_rng(seed), 1.0)[0]
        top, bottom, left, right = ink_box(out)
        upper = out[top:(top + bottom) // 2] > 64  # the ring's strokes reach up here, the stub does not
        if not upper[:, left].any():
            sides.append("left")
        if not upper[:, right - 1].any():
            sides.append("right")
    assert "left" in sides and "right" in sides


@pytest.mark.parametrize("images, share", [(np.zeros((4, 28, 28), np.float32), 0.5),
                                           (np.zeros((28, 28), np.uint8), 0.5),
                                           (np.zeros((4, 28, 28), np.uint8), 1.5)])
def test_bad_input_is_refused(images, share):
    with pytest.raises(ValueError):
        touch_neighbours(images, np.random.default_rng(0), share)


def test_one_image_or_none_is_returned_as_it_is():
    single = ring()[None].astype(np.uint8)
    assert np.array_equal(touch_neighbours(single, np.random.default_rng(0), 1.0), single)
    assert touch_neighbours(np.zeros((0, 28, 28), np.uint8), np.random.default_rng(0), 1.0).shape == (0, 28, 28)


def feed_config(touching_share):
    return SimpleNamespace(distort=1.0, distort_look=None, augment=False, seed=7, touching=touching_share,
                           lead_in=0.0, pairs=0.0)


def test_the_feed_without_touching_draws_as_before_and_with_it_changes_the_batch():
    rng = np.random.default_rng(0)
    images = np.stack([ring(left=int(l), right=int(l) + 12) for l in rng.integers(2, 14, 16)]).astype(np.uint8)
    labels = np.arange(16)
    indices = np.arange(16)
    plain, _ = TrainingFeed(images, labels, feed_config(0.0)).batch(indices)
    expected = distort(images, np.random.default_rng([7, 1]), 1.0)
    assert np.array_equal(plain, TrainingFeed(images, labels, feed_config(0.0)).batch(indices)[0])
    from hdl_native.data import normalize
    assert np.array_equal(plain, normalize(expected))
    touched, touched_labels = TrainingFeed(images, labels, feed_config(1.0)).batch(indices)
    assert touched.shape == plain.shape and np.array_equal(touched_labels, labels)
    assert not np.array_equal(touched, plain)
