"""The reader averages its answers over crops shifted by up to one pixel (shifts.SHIFT_OFFSETS)."""
import numpy as np
import pytest

from hdl_native.calibration import other_column, with_other_offset
from hdl_native.ocr.model import load_letter_classifier
from hdl_native.ocr.recognize import LetterClassifier
from hdl_native.shifts import SHIFT_OFFSETS, copies_of, shifted_copies


@pytest.fixture(scope="module")
def crops():
    """uint8 (6, 28, 28): random strokes inside the 2-pixel black border the reader's crops have."""
    rng = np.random.default_rng(0)
    images = np.zeros((6, 28, 28), np.uint8)
    images[:, 2:26, 2:26] = (rng.random((6, 24, 24)) < 0.2) * rng.integers(80, 256, (6, 24, 24))
    return images


def with_pair_column(reader, rows):
    """The network's rows (n, network classes) of a reader's rows: a reader of pairs leaves out PAIR, the last class,
    whose probability is what its rows lack of 1."""
    return np.column_stack([rows, 1 - rows.sum(axis=1)]) if reader.reads_pairs else rows


def test_one_shift_is_the_crop_alone_and_nine_are_the_mean_over_the_shifted_copies(crops):
    one = load_letter_classifier(None, shifts=1)
    nine = load_letter_classifier(None, shifts=9)
    alone = one.probabilities(crops)
    one.temperature = nine.temperature  # the copies are averaged at the temperature fitted for 9 of them
    one.other_offset = 0.0  # the offset on 'other' (the shipped reader stores one) acts once, after the average
    assert alone.shape == (len(crops), len(one.classes)) and np.all(alone >= 0)
    np.testing.assert_allclose(with_pair_column(one, alone).sum(axis=1), 1, rtol=1e-6)
    assert np.all(alone.sum(axis=1) <= 1 + 1e-9)  # a reader of pairs: PAIR has what is left
    copies = [with_pair_column(one, one.probabilities(np.roll(crops, offset, axis=(1, 2))))
              for offset in SHIFT_OFFSETS[9]]
    averaged = nine.probabilities(crops)
    expected = np.exp(with_other_offset(np.log(np.mean(copies, axis=0)), other_column(nine.network_classes),
                                        nine.other_offset))
    np.testing.assert_allclose(with_pair_column(nine, averaged), expected, rtol=1e-5, atol=1e-7)
    assert not np.allclose(np.log(averaged), np.log(alone), atol=0.1)  # the shifted copies do change the answer
    assert len({tuple(offset) for offset in SHIFT_OFFSETS[9]}) == 9
    assert all(max(map(abs, offset)) <= 1 for offsets in SHIFT_OFFSETS.values() for offset in offsets)


def test_an_unknown_number_of_shifts_is_refused_by_name():
    with pytest.raises(ValueError, match="shifts must be one of 1, 5, 9, not 4"):
        LetterClassifier.__init__(object.__new__(LetterClassifier), None, ["a"], 0, 1, shifts=4)


def test_the_copies_are_grouped_by_offset_and_each_smaller_set_is_found_in_the_largest(crops):
    copies = shifted_copies(crops, 9).reshape(9, *crops.shape)
    for k, offset in enumerate(SHIFT_OFFSETS[9]):
        np.testing.assert_array_equal(copies[k], np.roll(crops, offset, axis=(1, 2)))
    for fewer in SHIFT_OFFSETS:
        picked = copies[copies_of(9, fewer)]
        np.testing.assert_array_equal(picked, shifted_copies(crops, fewer).reshape(fewer, *crops.shape))
    assert copies_of(9, 1) == [4]  # the unmoved crop
