"""splice.csv under the data root: 3,190 rows of class (EI, IE, N), instance name and a 60-base sequence.

See the data's README: instance names repeat across near-identical genes (HUMAPOC2 / HUMAPOC2G / HUMAPOCII)
and some rows are exact duplicates, so the split is by gene family (split.py), never by row.
"""
from dataclasses import dataclass

import numpy as np

from ..data.paths import describe_root, find_data_root, is_data_file
from ..errors import DataError

RELATIVE_PATH = "dna/splice.csv"
CLASSES = ["EI", "IE", "N"]
# the four bases, then the ambiguity codes some sequences carry (D, N, S, R)
BASES = "ACGTDNSR"
SEQUENCE_LENGTH = 60


@dataclass(frozen=True)
class SpliceData:
    """names: (N,) instance names; sequences: (N, 60) int64 indices into BASES; labels: (N,) int64 into CLASSES."""

    names: list
    sequences: np.ndarray
    labels: np.ndarray


def splice_path(root=None):
    """The path of splice.csv under the data root (--data, $HDL_DATA or the cache); DataError when missing."""
    root = find_data_root(root)
    path = root / RELATIVE_PATH
    if not is_data_file(path):
        raise DataError(f"the splice data is not found: looked for {path} under the data root {root} (chosen by "
                        f"{describe_root(root)}); point --data DIR or $HDL_DATA at a folder that holds {RELATIVE_PATH}")
    return path


def read_splice(path):
    """SpliceData of the CSV at `path`; DataError naming the line of any malformed row."""
    names, sequences, labels = [], [], []
    base_index = {base: i for i, base in enumerate(BASES)}
    try:
        with open(path, encoding="ascii", errors="replace") as stream:
            lines = stream.readlines()  # 319 kB
    except OSError as error:  # no permission, a read error: one line, not a traceback
        raise DataError(f"cannot read {path}: {error.strerror or error}") from None
    for number, line in enumerate(lines, start=1):
        fields = [field.strip() for field in line.split(",")]
        if (number == 1 and fields[0] not in CLASSES) or not line.strip():
            continue  # the header (Class, Donor, Sequence); a file without one starts with a row, which is kept
        problem = row_problem(fields)
        if problem:
            raise DataError(f"{path}, line {number}: expected 'class, name, {SEQUENCE_LENGTH} bases of "
                            f"{BASES}' with class one of {', '.join(CLASSES)}; {problem}")
        labels.append(CLASSES.index(fields[0]))
        names.append(fields[1])
        sequences.append([base_index[base] for base in fields[2]])
    if not names:
        raise DataError(f"{path} holds no sequences")
    return SpliceData(names, np.array(sequences, np.int64), np.array(labels, np.int64))


def row_problem(fields):
    """What is wrong with a row's stripped comma-separated `fields`, naming the value (a bad base can sit past
    what a quoted line shows), or None when it is a class, a name and SEQUENCE_LENGTH bases of BASES."""
    if len(fields) != 3:
        return f"got {len(fields)} field{'s' if len(fields) != 1 else ''}: {', '.join(fields)[:90]!r}"
    label, _, bases = fields
    if label not in CLASSES:
        return f"got the class {label[:20]!r}"
    if len(bases) != SEQUENCE_LENGTH:
        return f"got {len(bases)} bases: {bases[:90]!r}"
    bad = next(((i, base) for i, base in enumerate(bases, start=1) if base not in BASES), None)
    return None if bad is None else f"base {bad[0]} is {bad[1]!r}"
