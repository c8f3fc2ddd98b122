"""Which letters are capitals: the case files some letter sets ship beside their labels.

unipen, nistvowels and chars74k label a and A alike (class 'a') and say in {name}-{split}-case-idx1-ubyte.gz,
in the labels' order, which each one is: 0 small, 1 capital.  A reader that learns the capitals as classes of
their own (models.LettersVGGCases) trains on them; `letters` and the non-letters record none (-1: unknown).
"""
from pathlib import Path

import numpy as np

from ..errors import DataError
from .idx import LABELS_MAGIC, read_idx

UNKNOWN, SMALL, CAPITAL = -1, 0, 1


def source_cases(dataset):
    """int8 (N,): SMALL or CAPITAL per image where the set ships a case file beside its images, else UNKNOWN."""
    unknown = np.full(len(dataset), UNKNOWN, dtype=np.int8)
    if dataset.images_path is None or dataset.sources is not None:
        return unknown if dataset.cases is None else dataset.cases
    path = Path(dataset.images_path).parent / f"{dataset.name}-{dataset.split}-case-idx1-ubyte.gz"
    if not path.is_file():
        return unknown
    cases = read_idx(path, LABELS_MAGIC)
    if cases.shape != (len(dataset),):
        raise DataError(f"{path}: {len(cases)} cases for {len(dataset)} images; the files do not belong together")
    if cases.size and cases.max() > CAPITAL:
        raise DataError(f"{path}: case {int(cases.max())}, expected 0 (small) or 1 (capital)")
    return cases.astype(np.int8)
