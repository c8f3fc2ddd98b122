"""Pictures for people: 28x28 images and weight maps as PNG, grids, histograms, GIFs and ASCII art.

Two kinds of picture appear throughout the tutorial:

- an *image* (a digit or letter): uint8 0..255 or float 0..1, shown in grey
  with bright ink on black, as the data stores it;
- a *signed map* (weights, a difference of averages, a product of image and
  weights): shown with a diverging colormap, blue for negative, black for
  zero and red for positive, scaled symmetrically around zero so that black
  always means "no opinion".

matplotlib (Agg backend) and Pillow are imported inside the functions so that
importing this module, and starting the CLI, stays fast.  Every writer creates
the parent folder and turns an OS error into an HDLError naming the file.
"""
from pathlib import Path

import numpy as np

from .errors import HDLError

DEFAULT_SCALE = 9  # 28 pixels * 9 = 252, the size the tutorial's saveTensor() used

# Thresholds of the tutorial's printImg(): pixel value (0..1) above which each character is printed.
ASCII_LEVELS = ((0.5, "X"), (0.25, "*"), (0.125, "."))


def ascii_image(image):
    """The image as text, one character per pixel: 'X' > 0.5, '*' > 0.25, '.' > 0.125, else ' '.

    image: (H, W) uint8 0..255 or float 0..1 (a leading channel axis of 1 is dropped).
    Returns H lines joined by newlines, like the tutorial's printImg().
    """
    pixels = _as_unit_gray(image)
    lines = []
    for row in pixels:
        chars = []
        for value in row:
            chars.append(next((char for level, char in ASCII_LEVELS if value > level), " "))
        lines.append("".join(chars))
    return "\n".join(lines)


def ascii_row(images, gap=4):
    """Several images rendered by ascii_image() side by side, separated by `gap` spaces."""
    blocks = [ascii_image(image).split("\n") for image in images]
    return "\n".join((" " * gap).join(parts) for parts in zip(*blocks))


def to_rgb(image, signed=False, limit=None):
    """Colour a 2-d array: grey for an image, blue-black-red for a signed map.

    image: (H, W).  signed: use the diverging colormap, scaled to +-limit
    (default: the largest absolute value, so the strongest weight is fully red or blue).
    Returns uint8 (H, W, 3).
    """
    if not signed:
        gray = np.round(_as_unit_gray(image) * 255).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    values = np.asarray(image, dtype=np.float64)
    if values.ndim == 3 and values.shape[0] == 1:
        values = values[0]
    limit = float(np.max(np.abs(values))) if limit is None else float(limit)
    scaled = values / limit if limit > 0 else np.zeros_like(values)
    scaled = np.clip(scaled, -1.0, 1.0)
    red = np.clip(scaled, 0, 1)
    blue = np.clip(-scaled, 0, 1)
    rgb = np.stack([red, np.zeros_like(scaled), blue], axis=2)
    return np.round(rgb * 255).astype(np.uint8)


def save_image(path, image, signed=False, scale=DEFAULT_SCALE, limit=None):
    """Save a 2-d image or signed map as a PNG enlarged `scale` times with crisp (nearest) pixels.

    image: (H, W) (or (1, H, W)); see to_rgb() for `signed` and `limit`.  Returns the Path written.
    """
    from PIL import Image

    rgb = to_rgb(image, signed=signed, limit=limit)
    picture = Image.fromarray(rgb)
    picture = picture.resize((rgb.shape[1] * scale, rgb.shape[0] * scale), Image.NEAREST)
    return _write(path, lambda target: picture.save(target, format="PNG"))


def save_gif(path, frames, signed=True, scale=6, duration_ms=80, captions=None):
    """Save an animated GIF (looping) of 2-d frames, each coloured by to_rgb() with its own scale.

    frames: sequence of (H, W) arrays.  captions: optional text drawn in each frame's corner
    (e.g. "after 120 images").  Each frame is scaled to its own largest absolute value, so early
    random weights stay visible next to the much larger learned ones.  Returns the Path written.
    """
    from PIL import Image, ImageDraw

    if len(frames) == 0:
        raise HDLError(f"cannot write {path}: no frames to animate")
    pictures = []
    for index, frame in enumerate(frames):
        rgb = to_rgb(frame, signed=signed)
        picture = Image.fromarray(rgb).resize((rgb.shape[1] * scale, rgb.shape[0] * scale), Image.NEAREST)
        if captions is not None:
            ImageDraw.Draw(picture).text((3, 2), str(captions[index]), fill=(255, 255, 255))
        pictures.append(picture)
    return _write(path, lambda target: pictures[0].save(
        target, format="GIF", save_all=True, append_images=pictures[1:], duration=duration_ms, loop=0))


def save_grid(path, images, titles=None, columns=8, signed=False, title=None):
    """Save several 2-d images (or signed maps) side by side in a grid, each with an optional title.

    images: sequence of (H, W) arrays.  titles: one string per image.  Returns the Path written.
    """
    plt = pyplot()
    count = len(images)
    if count == 0:
        raise HDLError(f"cannot write {path}: no images for the grid")
    columns = max(1, min(columns, count))
    rows = -(-count // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(1.3 * columns, 1.45 * rows + (0.4 if title else 0)),
                                squeeze=False)
    for index, axis in enumerate(axes.flat):
        axis.axis("off")
        if index < count:
            axis.imshow(to_rgb(images[index], signed=signed), interpolation="nearest")
            if titles is not None:
                axis.set_title(str(titles[index]), fontsize=8)
    if title:
        figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    return save_figure(figure, path)


def save_histogram(path, groups, title="", xlabel="score", lines=None, bins=60):
    """Save overlaid histograms, one per named group, with optional labelled vertical lines.

    groups: {label: 1-d array of values}, e.g. {"3": scores_of_threes, "7": scores_of_sevens}.
    lines: {label: x}, e.g. {"bias 0": 0.0, "midpoint": -5.2}.  Returns the Path written.
    """
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(7, 4))
    everything = np.concatenate([np.asarray(v, dtype=np.float64).ravel() for v in groups.values()])
    edges = np.histogram_bin_edges(everything, bins=bins)
    for label, values in groups.items():
        axis.hist(np.asarray(values).ravel(), bins=edges, alpha=0.55, label=str(label))
    for index, (label, x) in enumerate((lines or {}).items()):
        axis.axvline(x, color=f"C{index + len(groups)}", linestyle="--", label=f"{label} ({x:.3g})")
    axis.set_xlabel(xlabel)
    axis.set_ylabel("count")
    axis.set_title(title)
    axis.legend()
    figure.tight_layout()
    return save_figure(figure, path)


def _as_unit_gray(image):
    """(H, W) float64 in 0..1 from uint8 0..255 or float 0..1; a leading axis of size 1 is dropped."""
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 2:
        raise HDLError(f"expected a 2-d image, got shape {array.shape}")
    if array.dtype == np.uint8:
        return array.astype(np.float64) / 255.0
    return np.clip(array.astype(np.float64), 0.0, 1.0)


def pyplot():
    """matplotlib.pyplot on the non-interactive Agg backend (works without a display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(figure, path, dpi=100):
    """Write a matplotlib figure as PNG (parent folders created) and close it; returns the path.

    OS errors become an HDLError naming the file.
    """
    plt = pyplot()
    try:
        return _write(path, lambda target: figure.savefig(target, format="png", dpi=dpi))
    finally:
        plt.close(figure)


def _write(path, writer):
    """Create the parent folder, call writer(path) and report OS errors as HDLError naming the file."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        writer(path)
    except OSError as error:
        raise HDLError(f"cannot write {path}: {error.strerror or error}") from error
    return path
