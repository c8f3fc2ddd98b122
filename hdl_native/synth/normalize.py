"""The real letters set's final conversion steps, vectorised, so synthetic letters match it.

From data/letters/README.md "Conversion": find the ink's bounding box (pixels above
0.25 of the maximum), centre it in a square frame keeping the aspect ratio, resize to
24x24 with antialiasing, place it in 28x28 with a 2-pixel margin, and scale so the
maximum is 255.  Ink stays bright on black.
"""
import numpy as np

from ..data.warp import box_downsample, sample_bilinear

OUTPUT_SIZE = 28
MARGIN = 2
INK_THRESHOLD = 0.25
_SUPERSAMPLE = 2  # bilinear at 2x the output grid, then a 2x2 box mean: antialiased downscaling


def ink_boxes(images, threshold=INK_THRESHOLD):
    """Bounding boxes of pixels above threshold x each image's maximum.

    images: float (B, H, W).  Returns int64 (B, 4): top, bottom, left, right (inclusive);
    an image without ink gets the whole frame.
    """
    n, height, width = images.shape
    peak = images.max(axis=(1, 2), keepdims=True)
    ink = (images > threshold * peak) & (peak > 0)
    rows, cols = ink.any(axis=2), ink.any(axis=1)
    empty = ~rows.any(axis=1)
    top = np.where(empty, 0, rows.argmax(axis=1))
    bottom = np.where(empty, height - 1, height - 1 - rows[:, ::-1].argmax(axis=1))
    left = np.where(empty, 0, cols.argmax(axis=1))
    right = np.where(empty, width - 1, width - 1 - cols[:, ::-1].argmax(axis=1))
    return np.stack([top, bottom, left, right], axis=1)


def normalize_like_letters(images):
    """float (B, H, W) ink images -> uint8 (B, 28, 28) laid out like the real letters set."""
    images = np.asarray(images, dtype=np.float32)
    n = len(images)
    inner = OUTPUT_SIZE - 2 * MARGIN
    boxes = ink_boxes(images).astype(np.float32)
    centre_row = (boxes[:, 0] + boxes[:, 1]) / 2
    centre_col = (boxes[:, 2] + boxes[:, 3]) / 2
    side = np.maximum(boxes[:, 1] - boxes[:, 0], boxes[:, 3] - boxes[:, 2]) + 1  # square frame, in pixels
    fine = inner * _SUPERSAMPLE
    steps = (np.arange(fine, dtype=np.float32) + 0.5) / fine - 0.5  # sub-pixel centres across the frame
    rows = centre_row[:, None, None] + side[:, None, None] * steps[None, :, None]
    cols = centre_col[:, None, None] + side[:, None, None] * steps[None, None, :]
    rows, cols = np.broadcast_arrays(rows, cols)
    resized = box_downsample(sample_bilinear(images, np.arange(n), rows, cols), _SUPERSAMPLE)
    peak = np.maximum(resized.max(axis=(1, 2), keepdims=True), 1e-6)
    out = np.zeros((n, OUTPUT_SIZE, OUTPUT_SIZE), dtype=np.uint8)
    out[:, MARGIN:MARGIN + inner, MARGIN:MARGIN + inner] = np.round(np.clip(resized / peak, 0, 1) * 255)
    return out
