"""Things on a page that are not letters, as one class a letter reader can learn to answer with.

`load_nonletters(split, root)` returns a Dataset with the single class NOT_A_LETTER ("other"), every
label 0, holding two kinds of image, laid out like the letter sets (uint8 (N, 28, 28), bright ink on
black, upright, the ink box (pixels above 0.25 of the maximum) fitted into 24x24 keeping its aspect
ratio, inside a 2-pixel border):

- real handwritten digits: MNIST_COUNT[split] digits of MNIST's own split (../shared/data/mnist),
  drawn without replacement by a seeded generator and re-framed from MNIST's 20x20 box to the
  letters' 24x24 one;
- generated punctuation and marks, MARK_COUNT[split] of them, evenly spread over MARKS
  (. , ! ? - : ; ' " ( ) / + =): pen paths on the writing grid of synth/pen_forms.py, each drawn
  with a random pen width, sideways stretch, slant and per-point jitter (synth.pen_letters.wobbled).
  They are produced by this code from a seed (MARK_SEED[split]: the train and test marks are
  different drawings) and never stored as files: the project keeps only real data in ../shared/data.

The marks are framed the way the photo reader frames what it boxes (ocr/crops.py, checked on drawn
lines): a mark's own ink box, however small, is enlarged until its longer side is 96 px, blurred,
and fitted into 24x24.  So a comma or an apostrophe fills the frame's height and a dash its width,
as in the reader's crops.  What tells them from letters is their shape and their pen: the pen keeps
a letter's width on the writing grid (PEN_WIDTH), so a small mark comes out short and fat once
enlarged, as a photographed comma does.  The training marks' pens reach wider than the test marks'
(PEN_WIDTH by split): marks cut from the held-out pages of benchmarks/ocr_nonletters.py came out fatter
than the training marks of the same name ('+' median 5.0 px of stroke against 3.8, '-' 5.4 against 4.2;
BENCHMARKS.md).  (A lone '.' rarely reaches the reader: ocr/boxes.py drops lone marks far smaller than
the line's letters; those that come through look like these discs.)
Some digits share a letter's shape (0 and o, 1 and l); they are kept, as on a page they are digits.
"""
import functools

import numpy as np
from scipy import ndimage

from ..synth.normalize import normalize_like_letters
from ..synth.pen_letters import catmull_rom, draw_strokes, wobbled
from .datasets import NOT_A_LETTER, Dataset, load_dataset

NAME = "nonletters"
MNIST_COUNT = {"train": 6000, "test": 1000}
MNIST_SEED = {"train": 130, "test": 131}
MARK_COUNT = {"train": 3500, "test": 700}
MARK_SEED = {"train": 230, "test": 231}

# Pen paths on the writing grid of pen_forms.py (x right, y up: baseline 0, x-height 4, ascenders 8,
# descenders -4); a one-point stroke is a dot.
_DOT = [(0.3, 0.3)]
_TICK = [(0.5, 8.0), (0.4, 6.3)]
_COMMA = [(0.45, 0.5), (0.5, 0.0), (0.1, -1.3)]
MARKS = {
    ".": [_DOT],
    ",": [_COMMA],
    "!": [[(0.5, 7.8), (0.45, 4.5), (0.4, 2.2)], _DOT],
    "?": [[(0.0, 6.4), (0.8, 7.6), (2.0, 7.8), (2.8, 6.8), (2.4, 5.2), (1.4, 4.2), (1.3, 2.4)], [(1.3, 0.3)]],
    "-": [[(0.0, 2.2), (2.4, 2.3)]],
    ":": [[(0.3, 3.6)], _DOT],
    ";": [[(0.4, 3.6)], _COMMA],
    "'": [_TICK],
    '"': [_TICK, [(1.4, 8.0), (1.3, 6.3)]],
    "(": [[(1.6, 8.2), (0.6, 6.2), (0.1, 3.0), (0.4, 0.0), (1.6, -2.2)]],
    ")": [[(0.0, 8.2), (1.0, 6.2), (1.5, 3.0), (1.2, 0.0), (0.0, -2.2)]],
    "/": [[(0.0, -1.0), (3.0, 8.0)]],
    "+": [[(0.0, 2.2), (3.0, 2.3)], [(1.5, 0.8), (1.5, 3.8)]],
    "=": [[(0.0, 1.4), (2.8, 1.4)], [(0.0, 3.2), (2.8, 3.3)]],
}
PEN_WIDTH = {  # grid units (x-height 4), by split; the letter sets' strokes are 2.1 px median in a 24 px letter
    "train": (0.35, 1.2),  # wider than the test marks: marks cut from photographed pages come out fatter
    "test": (0.35, 0.9),
}
WORK_SIDE = 96  # a mark is drawn with its longer side this long, as ocr/crops.py enlarges a box before framing
CANVAS = 112  # WORK_SIDE and room for the blur
MIN_PEN = 6.4  # px at WORK_SIDE (1.6 px in the frame): the reader's crops widen thinner strokes to about this
BLUR_SIGMA = (0.8, 1.6)  # px at WORK_SIDE; ocr/crops.py blurs by 1.0 there


def load_nonletters(split="train", root=None):
    """The non-letter set of one split (see the module docstring): Dataset with classes [NOT_A_LETTER].

    split: 'train' or 'test'.  root: data root holding mnist/ (default: find_data_root()).
    images uint8 (N, 28, 28), N = MNIST_COUNT[split] (or all of MNIST's split if smaller) + MARK_COUNT[split];
    labels int64 (N,) all 0.  images_path/labels_path name the MNIST files the digits came from.
    Raises DataError (from load_dataset) when MNIST is missing or broken.
    """
    digits, mnist = framed_digits(split, root)
    marks, _ = draw_marks(MARK_COUNT[split], MARK_SEED[split], PEN_WIDTH[split])
    images = np.concatenate([digits, marks])
    labels = np.zeros(len(images), dtype=np.int64)
    images.flags.writeable = False
    labels.flags.writeable = False
    return Dataset(name=NAME, split=split, images=images, labels=labels, classes=[NOT_A_LETTER],
                   images_path=mnist.images_path, labels_path=mnist.labels_path)


def framed_digits(split, root=None):
    """(uint8 (n, 28, 28) MNIST digits framed like the letter sets, the MNIST Dataset they came from):
    MNIST_COUNT[split] of the split's digits (all, if it holds fewer), drawn without replacement, in file order."""
    mnist = load_dataset("mnist", split, root)
    return framed_like_letters(mnist.images[drawn_digits(split, len(mnist))]), mnist


def framed_like_letters(digits):
    """uint8 (n, 28, 28) MNIST digits (their 20x20 box) -> uint8 (n, 28, 28) framed as the letter sets are (24x24)."""
    return normalize_like_letters(digits.astype(np.float32) / np.float32(255))


def drawn_digits(split, n):
    """int (m,) sorted: which of the `n` digits of MNIST's `split` the set takes (MNIST_COUNT[split], or all n)."""
    rng = np.random.default_rng(MNIST_SEED[split])
    return np.sort(rng.choice(n, size=min(MNIST_COUNT[split], n), replace=False))


@functools.lru_cache(maxsize=4)
def draw_marks(count, seed, pen_width=PEN_WIDTH["test"]):
    """`count` random handwritten marks, cycling through MARKS in order, from generator `seed`.

    pen_width: (low, high) in grid units, each mark's pen drawn uniformly between them (PEN_WIDTH by split).
    Returns (images uint8 (count, 28, 28) framed like the letter sets, read-only; names: list of the
    mark each image shows).  The same (count, seed, pen_width) always gives the same images, and another
    pen_width changes only the pens: every other random draw is the same.
    """
    rng = np.random.default_rng(seed)
    names = [list(MARKS)[i % len(MARKS)] for i in range(count)]
    images = np.zeros((count, 28, 28), np.uint8)
    for index, name in enumerate(names):
        soft = ndimage.gaussian_filter(draw_mark(MARKS[name], rng, pen_width), rng.uniform(*BLUR_SIGMA))
        images[index] = normalize_like_letters(soft[None])[0]
    images.flags.writeable = False
    return images, names


def draw_mark(form, rng, pen_width):
    """One jittered drawing of a mark, its longer side WORK_SIDE px: float32 (CANVAS, CANVAS) in [0, 1].

    The pen keeps its width relative to the grid (a letter's pen), so a small mark comes out fat:
    the same picture the reader gets when it enlarges the box of a small photographed mark.
    """
    strokes = wobbled(form, rng)
    span = np.vstack([catmull_rom(stroke) for stroke in strokes])
    longest = float((span.max(axis=0) - span.min(axis=0)).max())
    pen = rng.uniform(*pen_width)
    pen_pixels = max(MIN_PEN, WORK_SIDE * pen / (longest + pen))
    return draw_strokes(strokes, CANVAS, WORK_SIDE, pen_pixels)
