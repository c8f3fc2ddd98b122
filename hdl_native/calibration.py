"""Calibrated confidence: temperature scaling, and the expected calibration error that measures it.

A network trained to low loss is usually overconfident: of the letters it reads with 95% confidence
fewer than 95% are right.  Temperature scaling (Guo et al., 2017) divides the log-probabilities by
one number T > 0 before the softmax, p = softmax(log_p / T): T > 1 softens, T < 1 sharpens, and
the ranking (hence the accuracy) never changes.  T is fitted by minimising the negative log-likelihood
on images held out from training.  A state file stores it as the top-level entry "temperature"; a
state without one has T = 1.

A reader that averages the probabilities of several shifted copies of an image (shifts.py) is less sure
than one read: the average of nine slightly different answers is flatter than each.  So `calibrate` also
fits, for each number of copies, the T that makes the *averaged* probabilities calibrated, stored as
"shift_temperatures" {"5": T5, "9": T9}; every function here that takes log_probs accepts a stack
(copies, n, C) as well as (n, C), and scores the mean of the copies' softmax(log_probs / T).

A reader with the class 'other' (digits and marks: data/nonletters.py) may also store "other_offset" b: after the
temperature and the shift average, p(other) is multiplied by e^b and the row renormalised.  It moves the line
between "a letter" and "not a letter" without retraining (b > 0 leaves more digits and marks out of the text and
reads a few more letters as 'other'); `calibrate --other-offset` stores it.  A state without one has b = 0.
"""
import math

import numpy as np
from scipy.special import log_softmax, logsumexp

from .errors import HDLError

# What `calibrate` writes into a state: those fitted to one network's outputs, its temperatures and int8 activation
# ranges (int8/runner.py), stale once its weights change much (prune); and the offset on 'other', a setting.
FITTED_ENTRIES = ("temperature", "shift_temperatures", "int8_ranges")
CALIBRATION_ENTRIES = FITTED_ENTRIES + ("other_offset",)
TEMPERATURE_RANGE = (0.05, 20.0)  # beyond these a fit says the held-out set is broken, not the model
OTHER_OFFSET_RANGE = (-5.0, 5.0)  # log-offsets on 'other': e^5 ~ 150 times, already past any use
ECE_BINS = 15


def scaled_log_probabilities(log_probs, temperature):
    """log softmax(log_probs / T): float (n, C) -> float64 (n, C)."""
    return log_softmax(np.asarray(log_probs, dtype=np.float64) / float(temperature), axis=1)


def scaled_probabilities(log_probs, temperature):
    """softmax(log_probs / T): float (n, C) -> float64 (n, C), rows summing to 1."""
    return np.exp(scaled_log_probabilities(log_probs, temperature))


def shift_averaged_probabilities(log_probs, temperature):
    """The mean over copies of softmax(log_probs / T): float (copies, n, C) -> float64 (n, C); (n, C) is one copy."""
    return np.exp(averaged_log_probabilities(log_probs, temperature))


def averaged_log_probabilities(log_probs, temperature):
    """log of shift_averaged_probabilities, computed stably: float (copies, n, C) or (n, C) -> float64 (n, C)."""
    log_probs = np.asarray(log_probs, dtype=np.float64)
    if log_probs.ndim == 2:
        return scaled_log_probabilities(log_probs, temperature)
    scaled = log_softmax(log_probs / float(temperature), axis=2)
    return logsumexp(scaled, axis=0) - math.log(len(log_probs))


def with_other_offset(log_probs, other_column, offset):
    """Log-probabilities (n, C) with e^offset times the probability on column `other_column`, renormalised: float64
    (n, C).  Unchanged (as float64) when offset is 0 or other_column is None (a model without the class 'other')."""
    log_probs = np.asarray(log_probs, dtype=np.float64)
    if other_column is None or offset == 0:
        return log_probs
    shifted = log_probs.copy()
    shifted[:, other_column] += float(offset)
    return shifted - logsumexp(shifted, axis=1, keepdims=True)


def pair_read_as_other(log_probs, classes):
    """Log-probabilities (n, C) of a reader whose classes include PAIR (--pairs) as `ocr` reads them: that
    probability added to NOT_A_LETTER's, PAIR's own -inf (ocr/recognize.py).  float64 (n, C); unchanged (as
    float64) for classes without PAIR."""
    from .data.datasets import NOT_A_LETTER, PAIR

    log_probs = np.asarray(log_probs, dtype=np.float64)
    if not classes or PAIR not in classes:
        return log_probs
    pair, other = classes.index(PAIR), classes.index(NOT_A_LETTER)
    read = log_probs.copy()
    read[:, other] = np.logaddexp(log_probs[:, other], log_probs[:, pair])
    read[:, pair] = -np.inf
    return read


def calibrated_log_probabilities(log_probs, temperature, other_column, offset):
    """What a calibrated reader reads: log-probabilities (n, C), or (copies, n, C) of shifted copies, averaged at
    `temperature` (averaged_log_probabilities), then 'other' (column other_column) weighted by e^offset
    (with_other_offset): float64 (n, C).  `ocr`, `evaluate`, `calibrate` and the fine-tune's report all read so."""
    return with_other_offset(averaged_log_probabilities(log_probs, temperature), other_column, offset)


def negative_log_likelihood(log_probs, labels, temperature=1.0):
    """Mean -log p(label) after temperature scaling; log_probs (n, C) or (copies, n, C) (the copies'
    probabilities averaged), labels int (n,)."""
    scaled = averaged_log_probabilities(log_probs, temperature)
    return float(-scaled[np.arange(len(labels)), np.asarray(labels)].mean())


def fit_temperature(log_probs, labels):
    """The T in TEMPERATURE_RANGE minimising the NLL of softmax(log_probs / T) against labels.

    log_probs: float (n, C) log-probabilities (or logits: the shift per row does not matter), n >= 1, or a stack
    (copies, n, C) of them whose probabilities a reader averages.  labels: int (n,) in 0..C-1.  The search runs
    over log T, where the NLL is smooth and unimodal.
    """
    log_probs = np.asarray(log_probs, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) == 0 or log_probs.ndim not in (2, 3) or log_probs.shape[-2] != len(labels):
        raise ValueError(f"fit_temperature needs log_probs (n, C) or (copies, n, C) and labels (n,) with n >= 1, "
                         f"got {log_probs.shape} and {labels.shape}")
    from scipy.optimize import minimize_scalar  # here, not at the top: `ocr` imports this module, and scipy.optimize
    # brings scipy.sparse, .linalg, .fft and .spatial with it (0.13 s warm, more from a cold disk) for a fit it never
    # runs
    low, high = (math.log(bound) for bound in TEMPERATURE_RANGE)
    result = minimize_scalar(lambda log_t: negative_log_likelihood(log_probs, labels, math.exp(log_t)),
                             bounds=(low, high), method="bounded", options={"xatol": 1e-4})
    return float(math.exp(result.x))


def expected_calibration_error(probs, labels, bins=ECE_BINS):
    """Top-label ECE in [0, 1]: sum over confidence bins of (share of images) x |accuracy - mean confidence|.

    probs: float (n, C) rows summing to 1.  labels: int (n,).  The bins split (0, 1] into `bins` equal
    widths; an image falls in the bin holding its highest probability.  0 for n = 0.
    """
    probs = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) == 0:
        return 0.0
    confidence = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == labels).astype(np.float64)
    which = np.clip(np.ceil(confidence * bins).astype(np.int64) - 1, 0, bins - 1)
    gap = np.bincount(which, weights=correct - confidence, minlength=bins)
    return float(np.abs(gap).sum() / len(labels))


def stored_temperature(meta, path="<state>", shifts=1):
    """The temperature a state's entries record for a reader averaging `shifts` shifted copies: its
    "shift_temperatures" entry for that count where `calibrate` fitted one, else its "temperature" (1.0 when it
    records none).  HDLError naming `path` when a value is not a number in TEMPERATURE_RANGE."""
    by_shifts = meta.get("shift_temperatures")
    if shifts != 1 and isinstance(by_shifts, dict) and str(shifts) in by_shifts:
        return checked_temperature(by_shifts[str(shifts)], path, f"temperature for {shifts} shifted copies")
    return checked_temperature(meta.get("temperature", 1.0), path, "temperature")


def stored_other_offset(meta, path="<state>"):
    """The log-offset on 'other' a state's entries record (0.0 when none); HDLError naming `path` when it is not a
    number in OTHER_OFFSET_RANGE or the state has no class 'other' to put it on."""
    from .data.datasets import NOT_A_LETTER

    value = meta.get("other_offset", 0.0)
    low, high = OTHER_OFFSET_RANGE
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise HDLError(f"{path}: its offset on '{NOT_A_LETTER}' is {value!r}; expected a number from {low} to {high} "
                       "(run `hdl-native calibrate` again)")
    if value != 0 and NOT_A_LETTER not in (meta.get("classes") or []):
        raise HDLError(f"{path}: it stores an offset on '{NOT_A_LETTER}' ({value}) but has no class '{NOT_A_LETTER}'")
    return float(value)


def other_column(classes):
    """The index of the class 'other' in `classes`, or None when there is none."""
    from .data.datasets import NOT_A_LETTER

    classes = list(classes or [])
    return classes.index(NOT_A_LETTER) if NOT_A_LETTER in classes else None


def checked_temperature(value, path, what):
    """float(value) when it is a number in TEMPERATURE_RANGE; else HDLError naming `path` and `what`."""
    low, high = TEMPERATURE_RANGE
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise HDLError(f"{path}: its {what} is {value!r}; expected a number from {low} to {high} "
                       "(run `hdl-native calibrate` again)")
    return float(value)
