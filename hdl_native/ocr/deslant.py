"""Writing that leans: sheared upright before the letters are boxed.

Most hands lean their letters, some by 20 or 30 degrees.  The reader learned letters from many writers, upright
and leaning a little, but a strong lean costs it: held-out pages with every letter leaning 20 degrees read 2.6
points fewer letters, at 30 degrees 8.4 fewer, some letters' tops reaching over their neighbours' feet so that
two marks overlap and are boxed as one.  So the page's slant is measured on the ink mask (the shear at which the
ink's columns are sharpest within bands a letter high: upright strokes become narrow peaks), and the ink map of
writing leaning more than DESLANT_FROM_DEGREES is sheared upright and read as that, as deskew.py does for a
tilted page.  The boxes found are sheared back into the photo's own pixels.
"""
from dataclasses import dataclass, field, replace

import numpy as np
from PIL import Image
from scipy import ndimage

from .boxes import weighted_median
from .lines import coarse_to_fine, sample_pixels, sharpness

MAX_SLANT_DEGREES = 45.0
DESLANT_FROM_DEGREES = 8.0  # writing leaning less than this is read as it is
COARSE_STEP_DEGREES, FINE_STEP_DEGREES = 2.0, 0.5
SLANT_SAMPLES = 40_000  # ink pixels the slant is measured on
MIN_PIXELS = 500  # too little ink to tell a slant from
MIN_SHARPENING = 1.01  # the columns at a slant beyond DESLANT_FROM_DEGREES must be this much sharper than upright
# (upright writing: 1.000-1.003x at its sharpest shear, within 6 degrees; writing leaning 10-15 degrees: 1.02-1.07x)


def letter_height_of(mask):
    """The typical height (px) of the mask's marks: the median height of the mark a random ink pixel is in."""
    labels, count = ndimage.label(mask, structure=np.ones((3, 3), bool))
    if count == 0:
        return 0.0
    heights = np.array([s[0].stop - s[0].start for s in ndimage.find_objects(labels)], np.float64)
    areas = np.bincount(labels.ravel(), minlength=count + 1)[1:].astype(np.float64)
    return weighted_median(heights, areas)


def column_sharpness(ys, xs, degrees, band):
    """How peaked the ink's columns are, sheared by `degrees` (each pixel moved y tan(degrees) along its row),
    within bands of `band` rows: lines.sharpness of the (band, column) each pixel falls in."""
    columns = np.round(xs + ys * np.tan(np.deg2rad(degrees))).astype(np.int64)
    columns -= columns.min()
    return sharpness((ys // band).astype(np.int64) * (int(columns.max()) + 1) + columns)


def page_slant(mask):
    """The (H, W) bool ink mask's slant in degrees (positive: the letters' tops lean to the right), within
    +-MAX_SLANT_DEGREES; 0.0 with too little ink to tell, or when shearing it upright sharpens the columns by less
    than MIN_SHARPENING."""
    ys, xs = np.nonzero(mask)
    if len(ys) < MIN_PIXELS:
        return 0.0
    band = max(4.0, letter_height_of(mask))
    ys, xs = sample_pixels(ys, xs, SLANT_SAMPLES, rng_seed=0)
    slant, sharpest = coarse_to_fine(lambda degrees: column_sharpness(ys, xs, degrees, band), MAX_SLANT_DEGREES,
                                     COARSE_STEP_DEGREES, FINE_STEP_DEGREES)
    return slant if sharpest >= MIN_SHARPENING * column_sharpness(ys, xs, 0.0, band) else 0.0


@dataclass
class Uprighting:
    """How a working picture of `size` (width, height) leaning by `degrees` was sheared upright onto a canvas
    `margin` px wider on each side: maps boxes found on the sheared picture back onto the original one.  mask: the
    (H, W + 2 margin) bool ink mask of the sheared picture, whose pixels inside a box are sheared back with it."""

    degrees: float
    size: tuple
    margin: int
    mask: np.ndarray = field(repr=False)

    def box_back(self, top, bottom, left, right):
        """(top, bottom, left, right) int box on the sheared picture -> the box around its ink sheared back (float
        working pixels, within the picture; the box's corners when it holds no ink).  A leaning letter's ink does
        not fill the parallelogram its upright box shears back to (an l's top is one stroke), so the box around
        the corners would be too wide."""
        ys, xs = np.nonzero(self.mask[top:bottom, left:right])
        if len(ys):
            ys, xs = np.r_[ys + top, ys + top + 1], np.r_[xs + left, xs + left + 1]  # each pixel's corners
        else:
            ys, xs = np.array([top, top, bottom, bottom]), np.array([left, right, left, right])
        back = xs - self.margin - np.tan(np.deg2rad(self.degrees)) * (ys - self.size[1] / 2)
        width, height = self.size
        return (float(np.clip(ys.min(), 0, height)), float(np.clip(ys.max(), 0, height)),
                float(np.clip(back.min(), 0, width)), float(np.clip(back.max(), 0, width)))


def upright(ink, mask, degrees):
    """(the lighting.InkMap and its (H, W) bool ink mask sheared so that writing leaning by `degrees` stands upright,
    on a canvas that holds all of it, the map with the same thresholds; the Uprighting that maps boxes back).  Each
    row moves by (row - middle) tan(degrees): the middle row stays, rows above it move left for a rightward lean.

    The mask is sheared as it is rather than found again on the sheared map: the rules of squared paper it was
    cleared of, found upright, would lean on the sheared one."""
    height, width = mask.shape
    shear = np.tan(np.deg2rad(degrees))
    margin = int(np.ceil(height / 2 * abs(shear)))
    size = (width + 2 * margin, height)
    # the output's (x, y) takes the input's (x - margin - shear (y - middle), y)
    coefficients = (1, -shear, -margin + shear * height / 2, 0, 1, 0)
    darkness = Image.fromarray(ink.ink).transform(size, Image.Transform.AFFINE, coefficients,
                                                        resample=Image.Resampling.BICUBIC, fillcolor=0.0)
    sheared_mask = Image.fromarray(mask.astype(np.uint8)).transform(size, Image.Transform.AFFINE, coefficients,
                                                                    resample=Image.Resampling.NEAREST, fillcolor=0)
    sheared_mask = np.asarray(sheared_mask) > 0
    return (replace(ink, ink=np.clip(np.asarray(darkness, dtype=np.float32), 0, 1)), sheared_mask,
            Uprighting(float(degrees), (width, height), margin, sheared_mask))
