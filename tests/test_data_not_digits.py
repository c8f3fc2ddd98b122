"""Letters as the digit reader's 'other' (hdl_native/data/not_digits.py): drawn from the letters the shipped letter
reader trained on, half of them turned, and joined to the digits by `--dataset digits,notdigits:0.5`."""
import numpy as np
import pytest
from conftest import require_dataset

from hdl_native.data import framed_digits, not_digits
from hdl_native.data.datasets import NOT_A_LETTER, load_dataset
from hdl_native.data.mixture import data_credits
from hdl_native.errors import DataError
from hdl_native.ocr.digits import DIGIT_CLASSES


def distinct_asymmetric_images(n):
    """uint8 (n, 28, 28): image k has a bar of length 3 + k % 20 from the top-left corner and the value k // 20 + 1
    at (20, 5), so no turn of one image equals another image or itself."""
    images = np.zeros((n, 28, 28), np.uint8)
    for k in range(n):
        images[k, 2, 2:5 + k % 20] = 255
        images[k, 20, 5] = k // 20 + 1
    return images


def test_turned_draws_each_letter_once_and_turns_about_half_of_them_by_every_quarter(monkeypatch):
    pool = distinct_asymmetric_images(600)
    images = not_digits.turned(pool, 400, np.random.default_rng(1))
    assert images.shape == (400, 28, 28) and images.dtype == np.uint8
    turns, sources = [], []
    for image in images:
        found = [(k, i) for k in range(4) for i in np.flatnonzero((np.rot90(pool, k, axes=(1, 2)) == image)
                                                                  .all(axis=(1, 2)))]
        assert len(found) == 1  # each output is exactly one pool image, turned by one quarter count
        turns.append(found[0][0])
        sources.append(found[0][1])
    assert len(set(sources)) == 400  # without replacement
    counts = np.bincount(turns, minlength=4)
    assert 0.4 < counts[0] / 400 < 0.6 and counts[1:].min() > 40  # TURNED_SHARE 0.5, a third each way
    again = not_digits.turned(pool, 400, np.random.default_rng(1))
    assert np.array_equal(images, again)


def test_a_pool_smaller_than_the_count_is_drawn_with_replacement():
    images = not_digits.turned(distinct_asymmetric_images(10), 30, np.random.default_rng(0))
    assert images.shape == (30, 28, 28)


def test_notdigits_joins_the_digits_as_their_other_class(tiny_data, monkeypatch):
    monkeypatch.setattr(not_digits, "LETTER_MIXTURE", "letters")  # the tiny root holds no other letter set
    monkeypatch.setattr(not_digits, "LETTER_HOLDOUT", 10)
    monkeypatch.setitem(not_digits.COUNT, "train", 40)
    monkeypatch.setitem(framed_digits.MARK_COUNT, "train", 14)
    alone = load_dataset("notdigits", "train", tiny_data)
    assert alone.classes == [NOT_A_LETTER] and len(alone) == 40 and set(alone.labels) == {0}
    mixed = load_dataset("digits,notdigits:0.5", "train", tiny_data)
    assert mixed.classes == DIGIT_CLASSES
    mnist = load_dataset("mnist", "train", tiny_data)
    assert np.bincount(mixed.labels, minlength=11)[10] == 14 + 40
    assert len(mixed) == len(mnist) + 14 + 40
    assert "MIT licence" in data_credits("digits,notdigits:0.5")["notdigits"]


def test_without_the_letter_sets_it_says_which_source_needs_them(tiny_data):
    with pytest.raises(DataError, match=r"the 'notdigits' source draws its letters from 'letters:4,unipen,.*"
                                        r"dataset 'unipen' \(train split\) not found"):
        load_dataset("digits,notdigits:0.5", "train", tiny_data)  # the tiny root holds letters/ and mnist/ only

def test_the_training_letters_leave_out_the_letter_readers_held_out_writers(data_root):
    """The pool is the shipped letter reader's training letters: with the letters its run held out (as the page
    benchmark's --split heldout takes them) it makes up every letter of the recipe's training split."""
    from hdl_native.checkpoint import PRETRAINED_LETTERS, load_checkpoint
    from hdl_native.commands.cmd_calibrate import run_config_of
    from hdl_native.data.mixture import load_mixture
    from hdl_native.training.start import training_data

    for folder in ("letters", "unipen", "nistvowels", "chars74k", "mnist"):
        require_dataset(data_root, folder)
    settings = load_checkpoint(PRETRAINED_LETTERS)["settings"]
    assert (settings["dataset"], settings["holdout"], settings["holdout_seed"], settings["holdout_writer_share"]) == (
        not_digits.LETTER_MIXTURE, not_digits.LETTER_HOLDOUT, not_digits.LETTER_HOLDOUT_SEED,
        not_digits.LETTER_HOLDOUT_WRITER_SHARE)
    train = load_mixture(not_digits.LETTER_MIXTURE, "train", data_root)
    test = load_mixture(not_digits.LETTER_MIXTURE, "test", data_root)
    _, (held_images, held_labels) = training_data(run_config_of(settings), train, test)
    held = held_images[held_labels != train.classes.index(NOT_A_LETTER)]
    pool = not_digits.letter_pool(train)
    all_letters = (train.labels != train.classes.index(NOT_A_LETTER)).sum()
    assert len(pool) + len(held) == all_letters and len(held) > 5000

    weights = np.random.default_rng(0).integers(1, 2 ** 62, 28 * 28, dtype=np.uint64)

    def hashes(images):
        return set((images.reshape(len(images), -1).astype(np.uint64) * weights).sum(axis=1).tolist())

    assert len(hashes(pool) & hashes(held)) <= 1  # one letter's pixels occur in both (a duplicate in the sets)

