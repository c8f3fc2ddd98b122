"""Normalisation and the tutorial's augmentation, vectorised over the whole batch (no per-image loop)."""
import numpy as np

# The one normalisation every network here is trained and read with (digits, letters, OCR crops):
# (pixel/255 - MNIST_MEAN) / MNIST_STD.  A state file records it under "normalization".
MNIST_MEAN = 0.172575
MNIST_STD = 0.25


def normalize(images, mean=MNIST_MEAN, std=MNIST_STD):
    """float32 (n, 1, 28, 28) = (pixel/255 - mean) / std.

    images: uint8 (n, H, W), (H, W) for one image, or (n, 1, H, W).
    A 256-entry lookup table makes this one gather instead of three passes of float arithmetic.
    """
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise TypeError(f"normalize expects uint8 pixels 0..255, got {images.dtype}")
    if images.ndim == 2:
        images = images[None]
    if images.ndim == 4 and images.shape[1] == 1:
        images = images[:, 0]
    if images.ndim != 3:
        raise ValueError(f"normalize expects images (n, H, W), (H, W) or (n, 1, H, W), got shape {images.shape}")
    table = ((np.arange(256, dtype=np.float64) / 255.0 - mean) / std).astype(np.float32)
    return table[images][:, None]


def augment(images, rng, max_shift=2, n_flips=5):
    """A randomly altered copy of a batch: shifted, then a few pixels inverted, as the tutorial trains.

    images: uint8 (n, H, W).  rng: np.random.Generator or an int seed.
    Each image moves by an independent random whole number of pixels in -max_shift..+max_shift
    along each axis (vacated pixels become 0), then n_flips distinct random pixels are
    inverted (v -> 255 - v).  Returns a new uint8 (n, H, W); the input is not modified.
    """
    rng = np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 3:
        raise ValueError(f"augment expects uint8 images (n, H, W), got {images.dtype} {images.shape}")
    shifted = shift(images, rng.integers(-max_shift, max_shift + 1, size=(len(images), 2)))
    return flip_pixels(shifted, rng, n_flips)


def shift(images, offsets):
    """Each image moved by its own (down, right) offset, zero filled: uint8 (n, H, W) -> new uint8 (n, H, W).

    offsets: int (n, 2), rows then columns; positive moves the content down/right.
    """
    n, height, width = images.shape
    if n == 0:
        return images.copy()
    offsets = np.asarray(offsets, dtype=np.int64).reshape(n, 2)
    margin = int(np.abs(offsets).max())
    padded_height, padded_width = height + 2 * margin, width + 2 * margin
    padded = np.zeros((n, padded_height, padded_width), dtype=images.dtype)
    padded[:, margin:margin + height, margin:margin + width] = images
    # One gather over flat indices into the padded batch: source = target + margin - offset, row-major.
    unshifted = ((np.arange(height)[:, None] + margin) * padded_width + np.arange(width) + margin).ravel()
    image_start = np.arange(n) * (padded_height * padded_width)
    moved_by = offsets[:, 0] * padded_width + offsets[:, 1]
    source = (image_start - moved_by)[:, None] + unshifted[None, :]
    return padded.ravel().take(source).reshape(n, height, width)


def flip_pixels(images, rng, n_flips):
    """Invert n_flips distinct random pixels per image (v -> 255 - v), in place when contiguous; returns the result.

    images: uint8 (n, H, W).  The pixels are a uniform random subset per image, drawn for the
    whole batch at once.
    """
    n = len(images)
    if n == 0 or n_flips <= 0:
        return images
    flat = images.reshape(n, -1)
    picked = distinct_random_indices(rng, n, flat.shape[1], min(int(n_flips), flat.shape[1]))
    rows = np.arange(n)[:, None]
    flat[rows, picked] = 255 - flat[rows, picked]
    return flat.reshape(images.shape)


def distinct_random_indices(rng, n_rows, n_choices, k):
    """int64 (n_rows, k): per row, k distinct uniform picks from 0..n_choices-1.

    Floyd's subset sampling, one step per pick for all rows together: draw t in 0..j and
    take j instead when t is already taken; every k-subset comes out equally likely.
    """
    last_choice = np.arange(n_choices - k, n_choices)
    picked = rng.integers(0, last_choice + 1, size=(n_rows, k))
    for step in range(1, k):
        taken = (picked[:, :step] == picked[:, step:step + 1]).any(axis=1)
        picked[taken, step] = last_choice[step]
    return picked
