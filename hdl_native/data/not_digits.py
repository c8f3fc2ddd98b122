"""Letters as 'other' for a digit reader: the source `notdigits` of `--dataset digits,notdigits:0.5`.

The digit reader (ocr/digits.py) reads the glyphs the letter reader left out as 'other'.  Trained on digits and
marks alone it has never seen a letter, so a letter the letter reader was unsure of (an undotted i, a round a), or
any letter on its side when `ocr` tries a photo every way up, comes out as a sure digit.  This set shows it letters
as its class 'other':

- train: COUNT['train'] letters drawn from those the shipped letter reader trained on (its recipe's mixture,
  LETTER_MIXTURE, without the writers its run held out, LETTER_HOLDOUT with LETTER_HOLDOUT_SEED and
  LETTER_HOLDOUT_WRITER_SHARE, as
  tools/train_reader.sh holds them out), so the held-out writers stay unseen by both readers;
- test: COUNT['test'] letters of the four letter sets' test splits;

each a letter of the sets as it is (ink 255 on 0, framed 24x24 in 28x28), TURNED_SHARE of them turned a quarter,
a half or three quarters (as many each), the rest upright.  One class, NOT_A_LETTER, which a mixture with
`digits` matches by name.

A reader trained with it (tools/train_digit_reader.sh with DATASET=digits,notdigits:0.5) read 4% of new writers'
letters as sure digits instead of 82%, but on the test pages it printed no fewer wrong characters, and it was less
sure of digits unlike MNIST's (a page of printed digits was read on its side), so the shipped reader is trained
without it (BENCHMARKS.md).
"""
import numpy as np

from ..errors import DataError
from .datasets import NOT_A_LETTER, Dataset, load_dataset

NAME = "notdigits"
LETTER_MIXTURE = "letters:4,unipen,nistvowels,chars74k,nonletters"  # tools/train_reader.sh's MIXTURE
# tools/train_reader.sh's HOLDOUT, HOLDOUT_SEED and HOLDOUT_WRITER_SHARE
LETTER_HOLDOUT, LETTER_HOLDOUT_SEED, LETTER_HOLDOUT_WRITER_SHARE = 6000, 0, 0.05
COUNT = {"train": 14000, "test": 2800}
SEED = {"train": 330, "test": 331}
TURNED_SHARE = 0.5


def load_not_digits(split="train", root=None):
    """The letters-as-'other' set of one split (see the module docstring): Dataset with classes [NOT_A_LETTER].

    images uint8 (COUNT[split], 28, 28), labels int64 all 0.  Raises DataError (from the letter sets' loaders)
    when a letter set is missing or broken."""
    try:
        mixture = load_dataset(LETTER_MIXTURE, split, root)
    except DataError as error:
        raise DataError(f"the {NAME!r} source draws its letters from {LETTER_MIXTURE!r}: {error}") from None
    images = turned(letter_pool(mixture), COUNT[split], np.random.default_rng(SEED[split]))
    labels = np.zeros(len(images), dtype=np.int64)
    images.flags.writeable = False
    labels.flags.writeable = False
    return Dataset(name=NAME, split=split, images=images, labels=labels, classes=[NOT_A_LETTER],
                   images_path=mixture.images_path, labels_path=mixture.labels_path)


def letter_pool(mixture):
    """uint8 (n, 28, 28): the letters of `mixture` (a split of LETTER_MIXTURE; 'other' left out), of its training
    split without the writers the shipped letter reader's run held out."""
    from ..training.start import held_out, holdout_rng

    letters = np.ones(len(mixture), bool)
    if NOT_A_LETTER in mixture.classes:
        letters = mixture.labels != mixture.classes.index(NOT_A_LETTER)
    if mixture.split == "train":
        letters &= ~held_out(LETTER_HOLDOUT, mixture.writers, len(mixture), holdout_rng(LETTER_HOLDOUT_SEED),
                             LETTER_HOLDOUT_WRITER_SHARE)
    return mixture.images[letters]


def turned(pool, count, rng):
    """uint8 (count, 28, 28): `count` images drawn from `pool` (uint8 (n, 28, 28)) without replacement (with, if
    it holds fewer), a TURNED_SHARE of them turned by 90, 180 or 270 degrees (a third each), the others upright."""
    picks = rng.choice(len(pool), size=count, replace=len(pool) < count)
    images = pool[picks].copy()
    quarter_turns = np.where(rng.random(count) < TURNED_SHARE, rng.integers(1, 4, count), 0)
    for turns in (1, 2, 3):
        chosen = quarter_turns == turns
        images[chosen] = np.rot90(images[chosen], turns, axes=(1, 2))
    return images
