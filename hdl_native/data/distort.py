"""Geometric and stroke distortions of a batch of letters, so a model trained on a few thousand
hands meets more of the shapes other people write: rotation, shear, anisotropic scale,
translation, a smooth elastic warp, thicker or thinner strokes, and the look of other pens and
cameras: blur, and a changed ink profile (a gamma on the ink levels, so hard pen strokes turn into
soft scanned ones and back).

Everything is drawn for the whole batch at once and applied by data/warp.py in one resampling
(no per-image Python loop), so it is cheap enough to run on every training batch.
"""
import numpy as np

from .warp import dilate, erode, inverse_affine, pad_stack, smooth_fields, warp

# Ranges at strength 1; `strength` scales every range linearly, and 0 leaves images unchanged.
MAX_ROTATION_DEGREES = 15.0
MAX_SHEAR = 0.3
LOG_SCALE_RANGE = (np.log(0.8), np.log(1.15))
MAX_TRANSLATION = 2.0            # pixels
ELASTIC_AMPLITUDE = 1.5          # pixels, standard deviation of the coarse displacement grid
ELASTIC_GRID = 4                 # control points per side of the smooth displacement field
STROKE_CHANGE_PROBABILITY = 0.3  # per image, for thickening and for thinning each
BLUR_PROBABILITY = 0.25          # per image: a [1 2 1]/4 blur each way, as an out-of-focus photo
LOG_GAMMA_RANGE = (np.log(0.5), np.log(2.0))  # ink ** gamma: < 1 fattens soft edges, > 1 sharpens them


def distort(images, rng, strength=1.0, look=None):
    """A randomly distorted copy of a batch of letters.

    images: uint8 (n, H, W), ink bright on dark.  rng: np.random.Generator or an int seed.
    strength: scales every distortion range (0 = identity, 1 = the ranges above).
    look: the strength of the pen's and camera's part alone (thicker or thinner strokes, blur, ink gamma; capped
    at 1 as `strength` is there), the shape's part (rotation, shear, scale, translation, elastic warp) keeping
    `strength`; None: `strength`.  The same random numbers are drawn whatever `look` is.
    Returns a new uint8 (n, H, W); the input is not modified.
    """
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 3:
        raise ValueError(f"distort expects uint8 images (n, H, W), got {images.dtype} {images.shape}")
    look = strength if look is None else look
    if strength < 0 or look < 0:
        raise ValueError(f"distort strengths must not be negative, got {strength} and look {look}")
    n, height, width = images.shape
    if n == 0 or (strength == 0 and look == 0):
        return images.copy()
    to_source = random_affine(rng, n, strength)
    displacement = smooth_fields(rng, 2 * n, height, width, ELASTIC_GRID, ELASTIC_AMPLITUDE * strength)
    displacement = displacement.reshape(n, 2, height, width)
    displacement += (rng.uniform(-1, 1, (n, 2, 1, 1)) * MAX_TRANSLATION * strength).astype(np.float32)
    warped = warp(pad_stack(images), np.arange(n), to_source, displacement)
    warped = change_stroke_width(warped, rng, STROKE_CHANGE_PROBABILITY * min(look, 1.0))
    warped = change_look(warped, rng, min(look, 1.0))
    return np.clip(np.rint(warped), 0, 255).astype(np.uint8)


def distort_by_label(images, labels, rng, strengths, look=None):
    """distort() with each image's strength taken from its label: one class can be distorted more or less
    than the others (the recipe's digits and marks, class 'other', against its letters).

    images: uint8 (n, H, W); labels: int (n,); strengths: float (n_classes,).  The images of each distinct
    strength are distorted together, in increasing order of strength, so a seeded rng gives the same batch
    again.  look: as distort()'s, for every class.  Returns a new uint8 (n, H, W).
    """
    per_image = np.asarray(strengths, dtype=np.float64)[np.asarray(labels)]
    out = np.empty_like(np.asarray(images))
    for strength in np.unique(per_image):
        group = per_image == strength
        out[group] = distort(images[group], rng, float(strength), look)
    return out


def random_affine(rng, n, strength):
    """float32 (n, 2, 2) output-to-source maps: rotation, shear and a scale drawn for each axis on its own."""
    angle = np.deg2rad(rng.uniform(-1, 1, n) * MAX_ROTATION_DEGREES * strength)
    shear = rng.uniform(-1, 1, n) * MAX_SHEAR * strength
    low, high = LOG_SCALE_RANGE
    scale = np.exp(rng.uniform(low * strength, high * strength, (n, 2)))
    return inverse_affine(angle, shear, scale[:, 0], scale[:, 1])


def change_stroke_width(images, rng, probability):
    """Thicken (grey dilation, 3x3) or thin (half-way to a plus-shaped grey erosion) a random subset.

    images: float (n, H, W).  An image is thickened with `probability`, otherwise thinned with
    `probability`.  A full erosion would wipe out the 2-pixel strokes many hands write, so
    thinning only goes half-way: the stroke's edges fade and its core stays.
    """
    draw = rng.random(len(images))
    thicken = draw < probability
    thin = (draw >= probability) & (draw < 2 * probability)
    result = images.copy()
    if thicken.any():
        result[thicken] = dilate(images[thicken])
    if thin.any():
        result[thin] = (images[thin] + erode(images[thin], plus=True)) / 2
    return result


def change_look(images, rng, strength):
    """Blur a random subset (probability BLUR_PROBABILITY x strength) and raise every image's ink levels
    (0..255, float (n, H, W)) to a random power drawn log-uniformly from LOG_GAMMA_RANGE x strength; the
    brightest ink keeps its level (every letter set and every OCR crop is scaled to a maximum of 255), so only
    the stroke's profile changes, not the image's contrast range."""
    blurred = rng.random(len(images)) < BLUR_PROBABILITY * strength
    result = images.copy()
    peak = np.maximum(images.max(axis=(1, 2), keepdims=True), 1.0)
    if blurred.any():
        part = result[blurred]
        part[:, 1:-1, :] = (part[:, :-2, :] + 2 * part[:, 1:-1, :] + part[:, 2:, :]) / 4
        part[:, :, 1:-1] = (part[:, :, :-2] + 2 * part[:, :, 1:-1] + part[:, :, 2:]) / 4
        result[blurred] = part
    low, high = LOG_GAMMA_RANGE
    gamma = np.exp(rng.uniform(low * strength, high * strength, (len(images), 1, 1))).astype(np.float32)
    top = np.maximum(result.max(axis=(1, 2), keepdims=True), 1e-6)
    return (np.clip(result / top, 0, 1) ** gamma) * peak
