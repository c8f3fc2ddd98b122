"""Text lines from the row-intensity profile, after undoing a slight page rotation.

A photo is rarely square to the page.  The skew is the angle at which the ink's
row profile is sharpest (lines of text become narrow peaks); a photo taken at an
angle also makes the lines converge, which a "fan" (the slope changing from line
to line) undoes the same way.  The profile is then taken along the lines, every
peak is a line, and the valley between two peaks is their border.  Marks between
lines (the dot of an i, a stray stroke) that form no line of their own join the
nearest line.
"""
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

MAX_SKEW_DEGREES = 6.0
SKEW_STEP_DEGREES = 0.25
MAX_SKEW_SAMPLES = 60_000
MAX_FAN_DEGREES = 6.0  # the slope of the top line may differ from the middle one's by this much
FAN_COARSE_STEP_DEGREES = 1.0  # the joint angle and fan search: this grid first, then SKEW_STEP_DEGREES
FAN_SEARCH_SAMPLES = 10_000
MIN_FAN_GAIN = 0.02  # converging lines are assumed only when they sharpen the profile by 2%
MIN_PEAK_PROMINENCE = 0.35  # a line's peak must rise this much (relative) above the valleys beside it


@dataclass(frozen=True)
class RowModel:
    """Where a pixel lies across the text lines: its row along lines turned by `angle` degrees, whose
    slope also changes by `fan` per pixel from one line to the next (a photo taken at an angle, where the
    lines converge toward a point beside the page; 0 for parallel lines).  x_mid, y_mid: the ink's centre.
    """

    angle: float
    fan: float = 0.0
    x_mid: float = 0.0
    y_mid: float = 0.0

    def rows(self, ys, xs):
        """(n,) row coordinates of the pixels (ys, xs)."""
        ys = np.asarray(ys, dtype=np.float64)
        xs = np.asarray(xs, dtype=np.float64) - self.x_mid
        return rotated_rows(ys, xs, self.angle) + self.fan * (ys - self.y_mid) * xs


def sharpness(rows):
    """How peaked the row profile is: the sum of squared counts (lines of text make tall narrow peaks)."""
    counts = np.bincount((rows - rows.min()).astype(np.int64))
    return float(np.dot(counts, counts))


def estimate_rows(ys, xs, rng_seed=0):
    """The RowModel that makes the ink's rows sharpest: ys, xs (n,) pixel coordinates of the ink.

    The best angle for parallel lines, as before fans were looked for; then a coarse search over
    angle and fan together on a small sample.  Converging lines are kept only when they sharpen
    the profile by MIN_FAN_GAIN over the parallel ones, and are then refined on the full sample.
    """
    ys, xs = sample_pixels(ys, xs, MAX_SKEW_SAMPLES, rng_seed)
    x_mid, y_mid = float(xs.mean()), float(ys.mean())
    angle = best_angle(lambda a: RowModel(a, 0.0, x_mid, y_mid).rows(ys, xs))
    parallel = RowModel(angle, 0.0, x_mid, y_mid)
    small_ys, small_xs = sample_pixels(ys, xs, FAN_SEARCH_SAMPLES, rng_seed)
    half_height = max(1.0, float(ys.max() - ys.min()) / 2)

    def fan_of(degrees):
        return float(np.tan(np.deg2rad(degrees)) / half_height)

    def score(model, sample_ys, sample_xs):
        return sharpness(model.rows(sample_ys, sample_xs))

    grid = [RowModel(a, fan_of(f), x_mid, y_mid)
            for a in np.arange(-MAX_SKEW_DEGREES, MAX_SKEW_DEGREES + 1e-9, FAN_COARSE_STEP_DEGREES)
            for f in np.arange(-MAX_FAN_DEGREES, MAX_FAN_DEGREES + 1e-9, FAN_COARSE_STEP_DEGREES) if f != 0]
    coarse = max(grid, key=lambda model: score(model, small_ys, small_xs))
    if score(coarse, small_ys, small_xs) < score(parallel, small_ys, small_xs) * (1 + MIN_FAN_GAIN):
        return parallel
    fan_degrees = float(np.rad2deg(np.arctan(coarse.fan * half_height)))
    step = SKEW_STEP_DEGREES
    refined = [RowModel(a, fan_of(f), x_mid, y_mid)
               for a in np.arange(coarse.angle - 1, coarse.angle + 1 + 1e-9, step)
               for f in np.arange(fan_degrees - 1, fan_degrees + 1 + 1e-9, step)]
    best = max(refined, key=lambda model: score(model, ys, xs))
    return best if score(best, ys, xs) >= score(parallel, ys, xs) * (1 + MIN_FAN_GAIN) else parallel


def sample_pixels(ys, xs, limit, rng_seed):
    """At most `limit` of the pixels (ys, xs), as float64, drawn without replacement by a seeded generator."""
    if len(ys) > limit:
        pick = np.random.default_rng(rng_seed).choice(len(ys), limit, replace=False)
        ys, xs = ys[pick], xs[pick]
    return ys.astype(np.float64), xs.astype(np.float64)


def best_angle(rows_at):
    """The angle within +-MAX_SKEW_DEGREES (SKEW_STEP_DEGREES apart) whose rows_at(angle) is sharpest;
    ties go to the angle nearest 0."""
    best, best_score = 0.0, -1.0
    for angle in np.arange(-MAX_SKEW_DEGREES, MAX_SKEW_DEGREES + 1e-9, SKEW_STEP_DEGREES):
        score = sharpness(rows_at(angle))
        if score > best_score * (1 + 1e-9) or (score >= best_score and abs(angle) < abs(best)):
            best, best_score = float(angle), score
    return best


def sharpest_angle(score, angles):
    """(angle, its score) of the (k,) angles whose score(angle) is highest; the first of equals."""
    scores = [score(angle) for angle in angles]
    best = int(np.argmax(scores))
    return float(angles[best]), scores[best]


def coarse_to_fine(score, limit, coarse_step, fine_step):
    """sharpest_angle over -limit..limit, coarse_step apart, then within one coarse step of it, fine_step apart."""
    coarse, _ = sharpest_angle(score, np.arange(-limit, limit + 1e-9, coarse_step))
    return sharpest_angle(score, np.arange(coarse - coarse_step, coarse + coarse_step + 1e-9, fine_step))


def rotated_rows(ys, xs, angle_degrees):
    """Row coordinate along a page turned by `angle_degrees` (positive = text rising to the right)."""
    angle = np.deg2rad(angle_degrees)
    return ys * np.cos(angle) + xs * np.sin(angle)


def line_borders(rows, letter_height):
    """Rows separating text lines: rows (n,) float ink-pixel rows, letter_height px -> sorted (k,) borders."""
    offset = np.floor(rows.min())
    profile = smoothed_profile((rows - offset).astype(np.int64), letter_height)
    peaks = profile_peaks(profile, min_distance=max(2, int(letter_height * 0.6)))
    borders = [offset + peaks[i] + np.argmin(profile[peaks[i]:peaks[i + 1] + 1]) for i in range(len(peaks) - 1)]
    return np.asarray(borders, dtype=np.float64)


def smoothed_profile(bins, letter_height, length=0):
    """(max(bins) + 1 or length,) float64 counts of the ink pixels in each row (bins: (n,) int >= 0), smoothed over
    half a letter height: the row profile whose peaks are the lines."""
    profile = np.bincount(bins, minlength=length).astype(np.float64)
    return ndimage.uniform_filter1d(profile, size=max(3, int(letter_height / 2)), mode="constant")


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


def assign_lines(center_rows, borders, is_letter_sized, max_stray_distance=None):
    """Line index per component; lines holding no letter-sized component merge into the nearest one, unless
    their centre lies more than `max_stray_distance` rows from every line's centre (the paper's edge far below
    the last line, dirt in an empty margin): those are not writing and get -1.

    center_rows: (n,) rotated row of each component's centre; is_letter_sized: (n,) bool
    -> (n,) int line numbers 0..L-1 from top to bottom, or -1.
    """
    line = np.searchsorted(borders, center_rows)
    real = np.unique(line[is_letter_sized]) if is_letter_sized.any() else np.unique(line)
    line_centres = np.array([np.median(center_rows[(line == k) & is_letter_sized]) if is_letter_sized.any()
                             else np.median(center_rows[line == k]) for k in real])
    stray = np.zeros(len(line), bool)
    for k in np.setdiff1d(np.unique(line), real):
        members = line == k
        distances = np.abs(line_centres - np.median(center_rows[members]))
        nearest = np.argmin(distances)
        line[members] = real[nearest]
        if max_stray_distance is not None and distances[nearest] > max_stray_distance:
            stray |= members
    numbers = np.searchsorted(real, line)
    numbers[stray] = -1
    return numbers
