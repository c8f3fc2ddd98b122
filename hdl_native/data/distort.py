"""Geometric and stroke distortions of a batch of letters, so a model trained on a few thousand
hands meets more of the shapes other people write: rotation, shear, anisotropic scale,
translation, a smooth elastic warp, and thicker or thinner strokes.

Everything is drawn and applied for the whole batch at once: one bilinear gather with numpy
fancy indexing resamples every image (no per-image Python loop), so it is cheap enough to run
on every training batch.
"""
import numpy as np

# Ranges at strength 1; `strength` scales every range linearly, and 0 leaves images unchanged.
MAX_ROTATION_DEGREES = 15.0
MAX_SHEAR = 0.3
LOG_SCALE_RANGE = (np.log(0.8), np.log(1.15))
MAX_TRANSLATION = 2.0            # pixels
ELASTIC_AMPLITUDE = 1.5          # pixels, standard deviation of the coarse displacement grid
ELASTIC_GRID = 4                 # control points per side of the smooth displacement field
STROKE_CHANGE_PROBABILITY = 0.3  # per image, for thickening and for thinning each


def distort(images, rng, strength=1.0):
    """A randomly distorted copy of a batch of letters.

    images: uint8 (n, H, W), ink bright on dark.  rng: np.random.Generator or an int seed.
    strength: scales every distortion range (0 = identity, 1 = the ranges above).
    Returns a new uint8 (n, H, W); the input is not modified.
    """
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 3:
        raise ValueError(f"distort expects uint8 images (n, H, W), got {images.dtype} {images.shape}")
    if strength < 0:
        raise ValueError(f"distort strength must not be negative, got {strength}")
    n, height, width = images.shape
    if n == 0 or strength == 0:
        return images.copy()
    rows, cols = source_coordinates(n, height, width, rng, strength)
    warped = bilinear_sample(images.astype(np.float32), rows, cols)
    warped = change_stroke_width(warped, rng, STROKE_CHANGE_PROBABILITY * min(strength, 1.0))
    return np.clip(np.rint(warped), 0, 255).astype(np.uint8)


def random_affine(n, rng, strength):
    """float64 (n, 2, 2) matrices mapping output offsets (row, col) from the centre to source offsets."""
    angle = np.deg2rad(rng.uniform(-1, 1, n) * MAX_ROTATION_DEGREES * strength)
    shear = rng.uniform(-1, 1, n) * MAX_SHEAR * strength
    low, high = LOG_SCALE_RANGE
    scale = np.exp(rng.uniform(low * strength, high * strength, (n, 2)))
    cos, sin = np.cos(angle), np.sin(angle)
    rotation = np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], -2)
    shearing = np.zeros((n, 2, 2))
    shearing[:, 0, 0] = shearing[:, 1, 1] = 1.0
    shearing[:, 1, 0] = shear                       # columns move in proportion to the row: slant
    forward = rotation @ shearing * scale[:, :, None]
    return np.linalg.inv(forward)                   # sampling needs output -> source


def smooth_displacement(n, height, width, rng, amplitude):
    """float32 (n, 2, H, W): a coarse random grid of displacements, bilinearly upsampled (smooth)."""
    grid = rng.normal(0.0, amplitude, (n, 2, ELASTIC_GRID, ELASTIC_GRID)).astype(np.float32)
    return interpolation_matrix(height) @ grid @ interpolation_matrix(width).T


def interpolation_matrix(size):
    """float32 (size, ELASTIC_GRID): row i holds the linear-interpolation weights of output point i."""
    position = np.linspace(0, ELASTIC_GRID - 1, size)
    below = np.minimum(position.astype(np.int64), ELASTIC_GRID - 2)
    weights = np.zeros((size, ELASTIC_GRID), dtype=np.float32)
    weights[np.arange(size), below] = 1 - (position - below)
    weights[np.arange(size), below + 1] = position - below
    return weights


def source_coordinates(n, height, width, rng, strength):
    """float32 (n, H, W) source rows and columns for every output pixel of every image."""
    centre = np.array([(height - 1) / 2.0, (width - 1) / 2.0], dtype=np.float32)
    out_rows, out_cols = np.meshgrid(np.arange(height) - centre[0], np.arange(width) - centre[1], indexing="ij")
    offsets = np.stack([out_rows.ravel(), out_cols.ravel()]).astype(np.float32)   # (2, H*W)
    matrices = random_affine(n, rng, strength).astype(np.float32)
    source = (matrices @ offsets).reshape(n, 2, height, width) + centre[None, :, None, None]
    source += (rng.uniform(-1, 1, (n, 2, 1, 1)) * MAX_TRANSLATION * strength).astype(np.float32)
    source += smooth_displacement(n, height, width, rng, ELASTIC_AMPLITUDE * strength)
    return source[:, 0], source[:, 1]


def bilinear_sample(images, rows, cols):
    """float32 (n, H, W) images read at fractional (rows, cols) (n, H, W); outside the frame is 0."""
    n, height, width = images.shape
    padded_height, padded_width = height + 2, width + 2
    padded = np.zeros((n, padded_height, padded_width), dtype=np.float32)
    padded[:, 1:-1, 1:-1] = images
    # Shift by the one-pixel zero border and clamp: points beyond it read zeros.
    rows = np.clip(rows + 1, 0, padded_height - 1 - 1e-3)
    cols = np.clip(cols + 1, 0, padded_width - 1 - 1e-3)
    r0 = rows.astype(np.int64)
    c0 = cols.astype(np.int64)
    fr = (rows - r0).astype(np.float32)
    fc = (cols - c0).astype(np.float32)
    # One flat gather per corner; r0 + 1 and c0 + 1 stay inside the padded frame thanks to the clamp.
    corner = (np.arange(n)[:, None, None] * padded_height + r0) * padded_width + c0
    flat = padded.ravel()
    top = flat.take(corner) * (1 - fc) + flat.take(corner + 1) * fc
    bottom = flat.take(corner + padded_width) * (1 - fc) + flat.take(corner + padded_width + 1) * fc
    return top * (1 - fr) + bottom * fr


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
        result[thicken] = neighbourhood(images[thicken], np.maximum, square=True)
    if thin.any():
        result[thin] = (images[thin] + neighbourhood(images[thin], np.minimum, square=False)) / 2
    return result


def neighbourhood(images, reduce, square):
    """reduce (np.maximum/np.minimum) over each pixel's 3x3 square or 5-pixel plus; float (n, H, W)."""
    n, height, width = images.shape
    padded = np.zeros((n, height + 2, width + 2), dtype=images.dtype)
    padded[:, 1:-1, 1:-1] = images
    result = images.copy()
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            if (dr, dc) == (0, 0) or (not square and dr and dc):
                continue
            result = reduce(result, padded[:, 1 + dr:1 + dr + height, 1 + dc:1 + dc + width])
    return result
