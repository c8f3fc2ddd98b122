"""A photo held askew: turn it straight before the letters are boxed.

The line finder follows a slight skew by itself (lines.MAX_SKEW_DEGREES), and the rule finder a smaller one
(rules.MAX_TILT_DEGREES); beyond that a tilted page falls apart: the rules of notebook paper are not found and
tie every line of writing into one mark, the lines of writing are cut across, and the letters reach the network
leaning.  So the skew of the whole page is measured first on the ink mask, over a wide range of angles (the
angle at which the ink's rows are sharpest, as lines.py measures it: lines of writing and printed rules alike
become narrow peaks), and the ink map of a photo more than DESKEW_FROM_DEGREES askew is turned straight and read
as that.  The boxes found are turned back into the photo's own pixels.
"""
from dataclasses import dataclass, replace

import numpy as np
from PIL import Image

from .lines import coarse_to_fine, rotated_rows, sample_pixels, sharpest_angle, sharpness

MAX_DESKEW_DEGREES = 30.0  # the widest skew looked for (beyond 45 degrees a photo is on its side: orientation.py)
DESKEW_FROM_DEGREES = 3.0  # photos less askew than this are read as they are
COARSE_STEP_DEGREES, FINE_STEP_DEGREES = 0.5, 0.1
SKEW_SAMPLES = 40_000  # ink pixels the skew is measured on
MIN_PIXELS = 500  # too little ink to tell a skew from
MIN_SHARPENING = 1.1  # the rows at a skew beyond DESKEW_FROM_DEGREES must be this much sharper than at any within it


def page_skew(mask):
    """The (H, W) bool ink mask's skew in degrees (positive: the lines rise to the right), within
    +-MAX_DESKEW_DEGREES; 0.0 with too little ink to tell, or when a skew beyond DESKEW_FROM_DEGREES does not
    sharpen the rows by MIN_SHARPENING over the sharpest angle within it: a page on its side (its lines run down;
    1.04-1.05x, left for orientation.py) or lines of writing whose baselines wander (whose sharpest angle can lie
    a little beyond it by chance: 1.00-1.01x) has no skew to straighten."""
    ys, xs = np.nonzero(mask)
    if len(ys) < MIN_PIXELS:
        return 0.0
    ys, xs = sample_pixels(ys, xs, SKEW_SAMPLES, rng_seed=0)

    def score(angle):
        return sharpness(rotated_rows(ys, xs, angle))

    skew, sharpest = coarse_to_fine(score, MAX_DESKEW_DEGREES, COARSE_STEP_DEGREES, FINE_STEP_DEGREES)
    if abs(skew) <= DESKEW_FROM_DEGREES:
        return skew
    _, slight = sharpest_angle(score, np.arange(-DESKEW_FROM_DEGREES, DESKEW_FROM_DEGREES + 1e-9, FINE_STEP_DEGREES))
    return skew if sharpest >= MIN_SHARPENING * slight else 0.0


@dataclass
class Straightening:
    """How a working picture of `size` (width, height) was turned by `degrees` (its skew) onto a canvas of
    `turned_size`: maps boxes found on the turned picture back onto the original one."""

    degrees: float
    size: tuple
    turned_size: tuple

    def box_back(self, top, bottom, left, right):
        """(top, bottom, left, right) of a box on the turned picture -> the box around its corners on the original
        one (float working pixels, within the picture)."""
        xs = np.array([left, right, right, left], np.float64) - self.turned_size[0] / 2
        ys = np.array([top, top, bottom, bottom], np.float64) - self.turned_size[1] / 2
        angle = np.deg2rad(self.degrees)
        # the picture was turned clockwise by `degrees`; turn the corners back anticlockwise (y points down)
        x = xs * np.cos(angle) + ys * np.sin(angle) + self.size[0] / 2
        y = -xs * np.sin(angle) + ys * np.cos(angle) + self.size[1] / 2
        width, height = self.size
        return (float(np.clip(y.min(), 0, height)), float(np.clip(y.max(), 0, height)),
                float(np.clip(x.min(), 0, width)), float(np.clip(x.max(), 0, width)))


def straightened(ink, degrees):
    """(the lighting.InkMap turned clockwise by `degrees` onto a canvas that holds all of it, no ink in its corners,
    with the same thresholds; the Straightening that maps its boxes back).

    The ink map is turned rather than the photo: the paper, the sheet and the desk around it were told apart on
    the photo as it was taken, and a turned photo's corners would be a new, flat background to tell apart."""
    picture = Image.fromarray(ink.ink)
    turned = picture.rotate(-degrees, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=0.0)
    darkness = np.clip(np.asarray(turned, dtype=np.float32), 0, 1)
    return (replace(ink, ink=darkness), Straightening(float(degrees), picture.size, turned.size))
