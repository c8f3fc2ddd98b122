"""Temperature scaling and the expected calibration error, on synthetic predictions whose calibration is known."""
import numpy as np
import pytest
from scipy.special import log_softmax, softmax

from hdl_native.calibration import (TEMPERATURE_RANGE, expected_calibration_error, fit_temperature,
                                    negative_log_likelihood, scaled_probabilities, stored_temperature)
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
