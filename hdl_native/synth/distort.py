"""Random distortions that make clean font glyphs look handwritten, applied to a whole batch at once.

Order: stroke width (a pre-made dilated/eroded or pen-redrawn variant of the glyph, see strokes.py), affine
(rotation, slant/shear, aspect, scale) plus a smooth elastic warp in one resampling, uneven
ink and paper noise, blur (which also softens the noise into grain), and the paper floor.
"""
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ..data.warp import inverse_affine, smooth_fields, warp


@dataclass(frozen=True)
class Distortion:
    """Ranges of the random distortions; each is drawn uniformly per image unless noted."""

    max_rotation: float = 12.0          # degrees either way
    max_shear: float = 0.35             # slant: columns shift by up to 0.35 x the row offset
    max_log_aspect: float = 0.25        # width/height changes by a factor exp(+-0.25)
    log_scale: tuple = (-0.2, 0.1)      # overall size factor exp(.) on the working canvas
    max_elastic: float = 2.0            # smooth displacement field, canvas pixels (std of its knots)
    stroke_width: tuple = (0.6, 2.2)    # target pen width in 28x28 output pixels (real letters: median ~1.45)
    pen_fraction: float = 0.5           # share of letters redrawn with a uniform pen along the skeleton
    blur_sigmas: tuple = (0.3, 0.6, 0.9, 1.2)  # Gaussian blur, canvas pixels, one picked per image
    max_ink_dimming: float = 0.35       # ink fades by up to 35% along a smooth field
    max_noise: float = 0.06             # std of the paper noise added before the blur
    grain_floor: float = 0.2            # the bottom 20% (paper grain) is clipped, as the real conversion did


def random_affine(rng, n, params):
    """float32 (n, 2, 2) output-to-source maps for random rotation, shear, aspect and scale (data.warp)."""
    angle = np.deg2rad(rng.uniform(-params.max_rotation, params.max_rotation, n))
    shear = rng.uniform(-params.max_shear, params.max_shear, n)
    log_aspect = rng.uniform(-params.max_log_aspect, params.max_log_aspect, n)
    scale = np.exp(rng.uniform(*params.log_scale, n))
    return inverse_affine(angle, shear, scale * np.exp(-log_aspect / 2), scale * np.exp(log_aspect / 2))


def warp_glyphs(padded_glyphs, ids, rng, params):
    """Affine + elastic resampling of glyphs[ids]: float32 (B, S, S) from a zero-bordered (G, S + 2, S + 2) stack."""
    n, size = len(ids), padded_glyphs.shape[1] - 2
    to_source = random_affine(rng, n, params)
    strength = rng.uniform(0, params.max_elastic, (n, 1, 1, 1)).astype(np.float32)
    displacement = strength * smooth_fields(rng, 2 * n, size, size).reshape(n, 2, size, size)
    return warp(padded_glyphs, ids, to_source, displacement)


def choose_variants(bank, glyph_ids, rng, params):
    """Row of bank.images to draw for each glyph: a pen variant (with probability params.pen_fraction)
    or one of the font's own shapes, whichever of that family is closest to a random target width.

    glyph_ids: int (B,) into the bank's glyphs.  Target widths (in 28x28 output pixels) are uniform in
    params.stroke_width.  Returns int64 (B,).
    """
    target = rng.uniform(*params.stroke_width, len(glyph_ids))
    use_pen = rng.random(len(glyph_ids)) < params.pen_fraction
    candidates = bank.output_widths[:, glyph_ids]  # (L, B)
    in_family = bank.usable[:, glyph_ids] & (bank.pen[:, None] == use_pen[None, :])
    mismatch = np.where(in_family, np.abs(candidates - target), np.inf)
    return mismatch.argmin(axis=0) * bank.n_glyphs + np.asarray(glyph_ids)


def blur(images, rng, params):
    """Gaussian blur with a sigma drawn per image from params.blur_sigmas, in place; returns images."""
    sigmas = rng.choice(params.blur_sigmas, size=len(images))
    for sigma in set(sigmas.tolist()):
        chosen = np.flatnonzero(sigmas == sigma)
        images[chosen] = ndimage.gaussian_filter(images[chosen], sigma=(0, sigma, sigma))
    return images


def uneven_ink_and_noise(images, rng, params):
    """Dim the ink along a smooth random field and add paper noise: float32 (B, S, S) -> new array."""
    n, size = images.shape[:2]
    dimming = rng.uniform(0, params.max_ink_dimming, (n, 1, 1)).astype(np.float32)
    field = 1.0 / (1.0 + np.exp(-smooth_fields(rng, n, size, size, scale=1.5)))
    images = images * (1.0 - dimming * field)
    noise = rng.uniform(0, params.max_noise, (n, 1, 1)).astype(np.float32)
    return images + noise * rng.standard_normal(images.shape, dtype=np.float32)


def paper_floor(images, params):
    """Scale each image to maximum 1 and clip the bottom grain_floor to 0, as the real conversion did."""
    peak = np.maximum(images.max(axis=(1, 2), keepdims=True), 1e-6)
    return np.clip(images / peak - params.grain_floor, 0, None) / (1 - params.grain_floor)


def distort(bank, glyph_ids, rng, params=Distortion()):
    """Random handwriting-like versions of the bank's glyphs: float32 (B, S, S) in [0, 1], ink bright on black.

    bank: GlyphBank.  glyph_ids: int (B,) in 0..bank.n_glyphs-1.  rng: np.random.Generator.
    """
    rows = choose_variants(bank, glyph_ids, rng, params)
    images = warp_glyphs(bank.images, rows, rng, params)
    images = uneven_ink_and_noise(images, rng, params)
    images = blur(images, rng, params)
    return paper_floor(images, params)
