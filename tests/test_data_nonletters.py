"""The non-letter set: MNIST digits and drawn marks as one 'other' class, framed like the letter sets."""
import numpy as np
import pytest
from conftest import require_dataset

from hdl_native.data import nonletters
from hdl_native.data.datasets import NOT_A_LETTER, clear_cache
from hdl_native.errors import DataError
from hdl_native.ocr.crops import stroke_thickness


def ink_box_sides(image):
    """(height, width) of the pixels above a quarter of full scale."""
    rows, cols = np.flatnonzero((image > 64).any(axis=1)), np.flatnonzero((image > 64).any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def assert_framed_like_letters(images):
    """uint8 (N, 28, 28), a blank 2-pixel border, full-scale ink, the ink box's longer side ~24 px."""
    assert images.dtype == np.uint8 and images.shape[1:] == (28, 28)
    assert images[:, :2].max() == 0 and images[:, -2:].max() == 0
    assert images[:, :, :2].max() == 0 and images[:, :, -2:].max() == 0
    assert (images.max(axis=(1, 2)) == 255).all()
    assert all(max(ink_box_sides(image)) >= 21 for image in images)


def test_marks_are_framed_like_letters_and_cycle_through_every_mark():
    images, names = nonletters.draw_marks(2 * len(nonletters.MARKS), 5)
    assert names == 2 * list(nonletters.MARKS)
    assert_framed_like_letters(images)


def test_small_marks_come_out_fat_as_the_readers_crops_make_them():
    """The reader enlarges a comma's own box to the frame, pen and all; a comma thin as a letter's
    stroke (drawn at the frame's size) would be a shape the reader never shows the network."""
    images, names = nonletters.draw_marks(6 * len(nonletters.MARKS), 6)
    thickness = {name: [stroke_thickness(i) for i, n in zip(images, names) if n == name] for name in set(names)}
    for small in (".", ",", "'"):
        assert min(thickness[small]) > 3.5, small
    for tall in ("(", ")", "/"):
        assert max(thickness[tall]) < 2.6, tall
    dash = images[names.index("-")]
    height, width = ink_box_sides(dash)
    assert width >= 21 and height < width / 2


def test_training_marks_are_drawn_with_wider_pens_and_otherwise_the_same_draws():
    count = 4 * len(nonletters.MARKS)
    test_pens, names = nonletters.draw_marks(count, 7, nonletters.PEN_WIDTH["test"])
    train_pens, same_names = nonletters.draw_marks(count, 7, nonletters.PEN_WIDTH["train"])
    assert same_names == names and nonletters.PEN_WIDTH["train"][1] > nonletters.PEN_WIDTH["test"][1]
    thinner = np.array([stroke_thickness(image) for image in test_pens])
    wider = np.array([stroke_thickness(image) for image in train_pens])
    assert (wider >= thinner - 0.05).mean() > 0.9 and wider.mean() > thinner.mean() + 0.2


def test_marks_are_the_same_for_a_seed_and_differ_between_seeds():
    first, _ = nonletters.draw_marks(14, 3)
    nonletters.draw_marks.cache_clear()
    again, _ = nonletters.draw_marks(14, 3)
    other, _ = nonletters.draw_marks(14, 4)
    assert first is not again
    np.testing.assert_array_equal(first, again)
    assert (np.abs(first.astype(int) - other.astype(int)).sum(axis=(1, 2)) > 0).all()


@pytest.fixture
def few_marks(monkeypatch):
    monkeypatch.setattr(nonletters, "MARK_COUNT", {"train": 28, "test": 14})


def test_load_nonletters_holds_digits_and_marks_as_one_class(tiny_data, few_marks):
    clear_cache()
    train = nonletters.load_nonletters("train", tiny_data)
    test = nonletters.load_nonletters("test", tiny_data)
    assert len(train) == 640 + 28 and len(test) == 100 + 14  # the tiny MNIST is smaller than MNIST_COUNT
    for split in (train, test):
        assert split.classes == [NOT_A_LETTER] and split.n_classes == 1
        assert split.labels.dtype == np.int64 and (split.labels == 0).all()
        assert_framed_like_letters(split.images)
        assert not split.images.flags.writeable
    assert train.split == "train" and test.split == "test"
    assert not np.array_equal(train.images[-14:], test.images[-14:])  # different drawings of the same marks
    np.testing.assert_array_equal(nonletters.load_nonletters("train", tiny_data).images, train.images)


def test_without_mnist_it_says_where_it_looked(tmp_path):
    with pytest.raises(DataError, match="mnist"):
        nonletters.load_nonletters("train", tmp_path)


def test_real_mnist_digits_are_subsampled_and_reframed(data_root, few_marks):
    require_dataset(data_root, "mnist")
    test = nonletters.load_nonletters("test", data_root)
    digits = test.images[:nonletters.MNIST_COUNT["test"]]
    assert len(test) == nonletters.MNIST_COUNT["test"] + 14
    assert_framed_like_letters(digits)
    assert len({image.tobytes() for image in digits}) == len(digits)  # drawn without replacement
