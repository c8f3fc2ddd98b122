"""Training a reader of the capitals apart (models.LettersVGGCases): which of its columns each label allows.

Its logits hold the classes read (a..z, then 'other') and the capitals A..Z after them.  A letter whose set
records its case (data/cases.py) allows one column, a small letter its own, a capital its capital's; a letter of
unknown case (the `letters` set, a user's crops) allows both, and the loss is -log(p(a) + p(A)); any other class
its own column (F.cross_entropy_among).
"""
import numpy as np

from .. import functional as F
from ..data.cases import CAPITAL, SMALL
from ..data.datasets import LETTERS
from ..errors import HDLError
from ..models import MODELS, reads_capitals_apart
from ..ops.reductions import log_sum_exp_by_group


def check_capitals_reader(config, classes):
    """HDLError unless, where config.architecture reads the capitals apart, it can learn `classes` as `config`
    asks: the 26 letters a..z first, and none of the options that take a label as one column (--mixup,
    --label-smoothing)."""
    if not reads_capitals_apart(MODELS.get(config.architecture)):
        return
    if list(classes[:len(LETTERS)]) != LETTERS:
        raise HDLError(f"--model {config.architecture} reads the letters a..z with their capitals; dataset "
                       f"{config.dataset!r} has classes {', '.join(map(str, classes[:6]))}...")
    for option, value in (("--mixup", config.mixup), ("--label-smoothing", config.label_smoothing)):
        if value:
            raise HDLError(f"{option} does not combine with --model {config.architecture}: a letter of unknown "
                           "case is a label of two of its classes (a or A)")


def allowed_columns(labels, cases, model):
    """float32 (n, n_classes + capitals): 0 at the columns each label allows, F.NOT_ALLOWED elsewhere.
    labels int (n,) classes read (0 .. n_classes - 1); cases int8 (n,) SMALL, CAPITAL or -1 (unknown)."""
    labels, cases = np.asarray(labels, np.int64), np.asarray(cases)
    rows = np.arange(len(labels))
    allowed = np.full((len(labels), model.n_classes + model.capitals), F.NOT_ALLOWED, dtype=np.float32)
    letter = labels < model.capitals
    own = ~letter | (cases != CAPITAL)  # the column of the class read: not for a known capital
    allowed[rows[own], labels[own]] = 0.0
    capital = letter & (cases != SMALL)
    allowed[rows[capital], model.n_classes + labels[capital]] = 0.0
    return allowed


def read_classes(logits, model):
    """int64 (n,): the class `model` reads from each row of its logits (n, F): the argmax of the classes read
    (a small letter's probability and its capital's summed) for a reader of the capitals apart, else of the
    logits."""
    if not reads_capitals_apart(model):
        return logits.argmax(axis=1)
    return log_sum_exp_by_group(np.asarray(logits, np.float64), model.output_groups()).argmax(axis=1)
