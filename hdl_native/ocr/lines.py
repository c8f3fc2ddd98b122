"""Text lines from the row-intensity profile, after undoing a slight page rotation.

A photo is rarely square to the page.  The skew is the angle at which the ink's
row profile is sharpest (lines of text become narrow peaks); the profile is then
taken along that angle, every peak is a line, and the valley between two peaks is
their border.  Marks between lines (the dot of an i, a stray stroke) that form no
line of their own join the nearest line.
"""
import numpy as np
from scipy import ndimage

MAX_SKEW_DEGREES = 6.0
SKEW_STEP_DEGREES = 0.25
MAX_SKEW_SAMPLES = 60_000
MIN_PEAK_PROMINENCE = 0.35  # a line's peak must rise this much (relative) above the valleys beside it


def estimate_skew(ys, xs, rng_seed=0):
    """Angle (degrees) that makes the ink rows sharpest; ys, xs: (n,) pixel coordinates of the ink."""
    if len(ys) > MAX_SKEW_SAMPLES:
        pick = np.random.default_rng(rng_seed).choice(len(ys), MAX_SKEW_SAMPLES, replace=False)
        ys, xs = ys[pick], xs[pick]
    ys = ys.astype(np.float64)
    xs = xs.astype(np.float64) - xs.mean()
    best_angle, best_score = 0.0, -1.0
    for angle in np.arange(-MAX_SKEW_DEGREES, MAX_SKEW_DEGREES + 1e-9, SKEW_STEP_DEGREES):
        rows = rotated_rows(ys, xs, angle)
        counts = np.bincount((rows - rows.min()).astype(np.int64))
        score = float(np.dot(counts, counts))
        if score > best_score * (1 + 1e-9) or (score >= best_score and abs(angle) < abs(best_angle)):
            best_angle, best_score = float(angle), score
    return best_angle


def rotated_rows(ys, xs, angle_degrees):
    """Row coordinate along a page turned by `angle_degrees` (positive = text rising to the right)."""
    angle = np.deg2rad(angle_degrees)
    return ys * np.cos(angle) + xs * np.sin(angle)


def line_borders(rows, letter_height):
    """Rows separating text lines: rows (n,) float ink-pixel rows, letter_height px -> sorted (k,) borders."""
    offset = np.floor(rows.min())
    profile = np.bincount((rows - offset).astype(np.int64)).astype(np.float64)
    profile = ndimage.uniform_filter1d(profile, size=max(3, int(letter_height / 2)), mode="constant")
    peaks = profile_peaks(profile, min_distance=max(2, int(letter_height * 0.6)))
    borders = [offset + peaks[i] + np.argmin(profile[peaks[i]:peaks[i + 1] + 1]) for i in range(len(peaks) - 1)]
    return np.asarray(borders, dtype=np.float64)


def profile_peaks(profile, min_distance):
    """Indices of the profile's peaks that stand out from the valleys on both sides."""
    is_peak = np.r_[False, (profile[1:-1] > profile[:-2]) & (profile[1:-1] >= profile[2:]), False]
    if len(profile) == 1 or not is_peak.any():
        return np.array([int(np.argmax(profile))])
    candidates = sorted(np.flatnonzero(is_peak), key=lambda i: -profile[i])
    kept = []
    for index in candidates:
        if all(abs(index - other) >= min_distance for other in kept):
            kept.append(index)
    kept.sort()
    changed = True
    while changed and len(kept) > 1:
        changed = False
        for k in range(len(kept) - 1):
            left, right = kept[k], kept[k + 1]
            valley = profile[left:right + 1].min()
            lower = min(profile[left], profile[right])
            if valley > (1 - MIN_PEAK_PROMINENCE) * lower:
                kept.pop(k if profile[left] < profile[right] else k + 1)
                changed = True
                break
    return np.asarray(kept)


def assign_lines(center_rows, borders, is_letter_sized):
    """Line index per component; lines holding no letter-sized component merge into the nearest one.

    center_rows: (n,) rotated row of each component's centre; is_letter_sized: (n,) bool
    -> (n,) int line numbers 0..L-1 from top to bottom.
    """
    line = np.searchsorted(borders, center_rows)
    real = np.unique(line[is_letter_sized]) if is_letter_sized.any() else np.unique(line)
    line_centres = np.array([np.median(center_rows[(line == k) & is_letter_sized]) if is_letter_sized.any()
                             else np.median(center_rows[line == k]) for k in real])
    for k in np.setdiff1d(np.unique(line), real):
        members = line == k
        nearest = np.argmin(np.abs(line_centres - np.median(center_rows[members])))
        line[members] = real[nearest]
    return np.searchsorted(real, line)
