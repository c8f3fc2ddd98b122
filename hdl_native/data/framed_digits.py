"""Handwritten digits framed like the letters, and marks as 'other': what the photo reader's digit reader learns.

The letter reader answers 'other' for a digit or a mark and leaves it out of the text.  `ocr` then asks a second,
small network which of those glyphs are digits, and prints them ("dec 5 2026" rather than "dec").  That network
learns from this set, `load_framed_digits(split, root)`: a Dataset with classes '0'..'9' and NOT_A_LETTER, laid out
like the letter sets (uint8 (N, 28, 28), bright ink on black, the ink box fitted into 24x24 keeping its aspect
ratio, inside a 2-pixel border), holding

- every MNIST digit of the split (../shared/data/mnist: 60,000 / 10,000), re-framed from MNIST's 20x20 box to the
  letters' 24x24 one, labelled with its digit;
- MARK_COUNT[split] punctuation marks drawn by nonletters.draw_marks (the same drawings and pens, by split, as the
  letter reader's class 'other'), labelled NOT_A_LETTER: the glyphs a digit must be told from.

Trained as a letters model (`hdl-native letters --dataset digits`), so `calibrate`, `evaluate` and the OCR load it
as they load a letter reader; tools/train_digit_reader.sh rebuilds the shipped one.  `--dataset digits,notdigits:0.5`
adds letters as 'other' (data/not_digits.py; tried, not shipped).
"""
import numpy as np

from .datasets import DIGITS, NOT_A_LETTER, Dataset, load_dataset
from .nonletters import MARK_SEED, PEN_WIDTH, draw_marks, framed_like_letters

NAME = "digits"
CLASSES = DIGITS + [NOT_A_LETTER]
MARK_COUNT = {"train": 7000, "test": 1400}  # 500 and 100 of each of the 14 marks


def load_framed_digits(split="train", root=None):
    """The digits-and-marks set of one split (see the module docstring): Dataset with classes CLASSES.

    images uint8 (N, 28, 28), N = MNIST's split + MARK_COUNT[split]; labels int64 (N,): the digit, or 10 for a
    mark.  images_path/labels_path name the MNIST files.  Raises DataError (from load_dataset) when MNIST is
    missing or broken."""
    mnist = load_dataset("mnist", split, root)
    digits = framed_like_letters(mnist.images)
    marks, _ = draw_marks(MARK_COUNT[split], MARK_SEED[split], PEN_WIDTH[split])
    images = np.concatenate([digits, marks])
    labels = np.concatenate([mnist.labels.astype(np.int64), np.full(len(marks), CLASSES.index(NOT_A_LETTER))])
    images.flags.writeable = False
    labels.flags.writeable = False
    return Dataset(name=NAME, split=split, images=images, labels=labels, classes=list(CLASSES),
                   images_path=mnist.images_path, labels_path=mnist.labels_path)
