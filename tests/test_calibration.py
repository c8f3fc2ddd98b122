"""Temperature scaling and the expected calibration error, on synthetic predictions whose calibration is known."""
import numpy as np
import pytest
from scipy.special import log_softmax, softmax

from hdl_native.calibration import (TEMPERATURE_RANGE, averaged_log_probabilities, expected_calibration_error,
                                    fit_temperature, negative_log_likelihood, other_column, scaled_probabilities,
                                    shift_averaged_probabilities, stored_other_offset, stored_temperature,
                                    with_other_offset)
from hdl_native.errors import HDLError


def calibrated_sample(n=20000, n_classes=10, spread=3.0, seed=0):
    """(logits (n, C), labels (n,)) with each label drawn from softmax(logits): calibrated by construction."""
    rng = np.random.default_rng(seed)
    logits = spread * rng.standard_normal((n, n_classes))
    probs = softmax(logits, axis=1)
    labels = (probs.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)
    return logits, labels


@pytest.mark.parametrize("true_temperature", [0.5, 2.5])
def test_fit_recovers_the_temperature_the_logits_were_sharpened_or_softened_by(true_temperature):
    """A net that reports T x the calibrated logits (over-confident for T > 1) needs exactly T."""
    logits, labels = calibrated_sample()
    reported = log_softmax(logits * true_temperature, axis=1)
    assert fit_temperature(reported, labels) == pytest.approx(true_temperature, rel=0.05)


def test_fitted_temperature_lowers_the_held_out_loss_and_keeps_the_ranking():
    logits, labels = calibrated_sample(seed=1)
    overconfident = log_softmax(3 * logits, axis=1)
    temperature = fit_temperature(overconfident, labels)
    assert negative_log_likelihood(overconfident, labels, temperature) < negative_log_likelihood(overconfident, labels)
    np.testing.assert_array_equal(scaled_probabilities(overconfident, temperature).argmax(axis=1),
                                  overconfident.argmax(axis=1))


def test_ece_is_near_zero_when_calibrated_and_large_when_overconfident():
    logits, labels = calibrated_sample(seed=2)
    assert expected_calibration_error(softmax(logits, axis=1), labels) < 0.015
    overconfident = expected_calibration_error(softmax(4 * logits, axis=1), labels)
    assert overconfident > 0.1
    temperature = fit_temperature(log_softmax(4 * logits, axis=1), labels)
    assert expected_calibration_error(scaled_probabilities(log_softmax(4 * logits, axis=1), temperature),
                                      labels) < 0.015


def test_ece_of_sure_and_always_wrong_is_one_and_of_sure_and_right_is_zero():
    probs = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert expected_calibration_error(probs, np.array([1, 0])) == pytest.approx(1.0)
    assert expected_calibration_error(probs, np.array([0, 1])) == pytest.approx(0.0)


def test_ece_weighs_each_bin_by_its_share_of_the_images():
    """Half the images at confidence 0.9 all right (gap 0.1), half at 0.6 half right (gap 0.1): ECE 0.1."""
    probs = np.array([[0.9, 0.1]] * 4 + [[0.6, 0.4]] * 4)
    labels = np.array([0, 0, 0, 0, 0, 0, 1, 1])
    assert expected_calibration_error(probs, labels) == pytest.approx(0.1)


def test_fit_needs_some_images():
    with pytest.raises(ValueError, match="n >= 1"):
        fit_temperature(np.zeros((0, 3)), np.zeros(0, dtype=int))


def test_stored_temperature_defaults_to_one_and_refuses_nonsense():
    assert stored_temperature({}) == 1.0
    assert stored_temperature({"temperature": 1.7}) == 1.7
    for bad in (0.0, -1.0, float("nan"), "hot", True, TEMPERATURE_RANGE[1] * 2):
        with pytest.raises(HDLError, match="mine.hdl: its temperature"):
            stored_temperature({"temperature": bad}, "mine.hdl")


def test_averaged_log_probabilities_are_the_log_of_the_mean_of_the_copies_softmax():
    copies = np.random.default_rng(3).normal(0, 4, (9, 50, 7))
    direct = np.log(softmax(copies / 1.7, axis=2).mean(axis=0))
    np.testing.assert_allclose(averaged_log_probabilities(copies, 1.7), direct, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(shift_averaged_probabilities(copies, 1.7).sum(axis=1), 1.0)
    np.testing.assert_allclose(np.exp(averaged_log_probabilities(copies[0], 1.7)), scaled_probabilities(copies[0], 1.7),
                               rtol=1e-10)


def test_identical_copies_need_the_temperature_of_one_read():
    logits, labels = calibrated_sample(seed=4)
    reported = log_softmax(2 * logits, axis=1)
    stack = np.stack([reported] * 5)
    assert fit_temperature(stack, labels) == pytest.approx(fit_temperature(reported, labels), rel=1e-3)


def test_copies_that_disagree_average_to_less_sure_answers_and_need_a_lower_temperature():
    """Each copy is over-confident by 3x and sees its own noise: one read needs T near 3; their average is flatter
    than each, so it needs less, and at its own fitted T the average is far better calibrated."""
    logits, labels = calibrated_sample(seed=5)
    rng = np.random.default_rng(6)
    stack = np.stack([log_softmax(3 * (logits + rng.normal(0, 1.0, logits.shape)), axis=1) for _ in range(9)])
    one, nine = fit_temperature(stack[0], labels), fit_temperature(stack, labels)
    assert nine < 0.95 * one
    at_one = expected_calibration_error(shift_averaged_probabilities(stack, one), labels)
    at_nine = expected_calibration_error(shift_averaged_probabilities(stack, nine), labels)
    assert at_nine < 0.5 * at_one
    assert negative_log_likelihood(stack, labels, nine) < negative_log_likelihood(stack, labels, one)


def test_stored_temperature_for_shifted_copies_falls_back_to_the_single_read_one():
    meta = {"temperature": 1.4, "shift_temperatures": {"9": 1.3}}
    assert stored_temperature(meta, shifts=9) == 1.3
    assert stored_temperature(meta, shifts=5) == 1.4  # calibrated before counts were fitted
    assert stored_temperature(meta, shifts=1) == 1.4
    with pytest.raises(HDLError, match="mine.hdl: its temperature for 9 shifted copies is 'hot'"):
        stored_temperature({"temperature": 1.4, "shift_temperatures": {"9": "hot"}}, "mine.hdl", shifts=9)


def test_the_offset_on_other_multiplies_its_probability_and_keeps_the_letters_ratios():
    probs = softmax(np.random.default_rng(3).standard_normal((50, 5)), axis=1)
    offset = with_other_offset(np.log(probs), 4, 1.5)
    moved = np.exp(offset)
    np.testing.assert_allclose(moved.sum(axis=1), 1.0)
    weighted = probs[:, 4] * np.exp(1.5)
    np.testing.assert_allclose(moved[:, 4], weighted / (1 - probs[:, 4] + weighted))
    np.testing.assert_allclose(moved[:, :4] / moved[:, :1], probs[:, :4] / probs[:, :1])  # letters among themselves
    np.testing.assert_allclose(np.exp(with_other_offset(np.log(probs), 4, -1.5))[:, 4] < probs[:, 4], True)
    np.testing.assert_array_equal(with_other_offset(np.log(probs), 4, 0.0), np.log(probs))
    np.testing.assert_array_equal(with_other_offset(np.log(probs), None, 1.5), np.log(probs))


def test_the_stored_offset_on_other_defaults_to_zero_and_refuses_nonsense():
    classes = ["a", "b", "other"]
    assert other_column(classes) == 2 and other_column(["a", "b"]) is None and other_column(None) is None
    assert stored_other_offset({"classes": classes}) == 0.0
    assert stored_other_offset({"classes": classes, "other_offset": 0.5}) == 0.5
    for bad in (9.0, "high", True, float("nan")):
        with pytest.raises(HDLError, match=r"mine.hdl: its offset on 'other' is .*expected a number from -5"):
            stored_other_offset({"classes": classes, "other_offset": bad}, "mine.hdl")
    with pytest.raises(HDLError, match=r"mine.hdl: it stores an offset on 'other' \(0.5\) but has no class 'other'"):
        stored_other_offset({"classes": ["a", "b"], "other_offset": 0.5}, "mine.hdl")
