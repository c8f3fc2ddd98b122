"""Several datasets as one: `--dataset letters,unipen:0.5,nistvowels,chars74k`.

A mixture is a comma-separated list of sources, each a named dataset (datasets.DATASETS) or an extra
source such as "nonletters" (digits and marks, labelled NOT_A_LETTER), optionally with a weight after
a colon.  Its split is the sources' splits one after the other; classes are matched by name, so a
source with fewer classes (nistvowels: only the vowels) or another class list (nonletters) joins in.
The Dataset it returns says which source and which writer each image came from, so training can
draw from the sources in chosen proportions, hold out whole writers for validation, and report
accuracy per source.

Weights are multipliers of a source's share of the draws: with `letters:4` each letters image is drawn
4 times as often as an image of a weight-1 source.  `sampling_weights` turns them (and, optionally,
per-class balancing within each source) into one probability per image.
"""
import gzip
import importlib
from pathlib import Path

import numpy as np

from ..errors import DataError
from .cases import source_cases
from .datasets import DATASETS, DIGITS, LETTERS, NOT_A_LETTER, Dataset, load_dataset, relabel

# Sources that are not plain IDX folders: name -> (module, function(split, root) -> Dataset).
EXTRA_SOURCES = {"nonletters": ("hdl_native.data.nonletters", "load_nonletters"),
                 "digits": ("hdl_native.data.framed_digits", "load_framed_digits"),
                 "notdigits": ("hdl_native.data.not_digits", "load_not_digits")}
EXTRA_CREDITS = {"nonletters": f"digits of MNIST ({DATASETS['mnist'].credit}) and punctuation marks drawn by "
                               "hdl_native's own code",
                 "digits": f"MNIST ({DATASETS['mnist'].credit}), framed like the letters, and punctuation marks "
                           "drawn by hdl_native's own code",
                 "notdigits": "letters of the letter sets, as the class 'other': " + "; ".join(
                     f"{name}: {DATASETS[name].credit}" for name in ("letters", "unipen", "nistvowels", "chars74k"))}


def is_mixture(name):
    """True when `name` names a mixture (a list, a weight, or an extra source) rather than one dataset."""
    return "," in name or ":" in name or name in EXTRA_SOURCES


MAX_WEIGHT = 1000.0  # a source's weight in a mixture: how many times as often its images are drawn


def parse_mixture(name):
    """[(source name, weight)] of "a,b:2,..."; DataError naming the bad part."""
    parts = []
    for part in name.split(","):
        source, _, weight_text = part.strip().partition(":")
        if source not in DATASETS and source not in EXTRA_SOURCES:
            known = ", ".join(list(DATASETS) + list(EXTRA_SOURCES))
            raise DataError(f"unknown dataset {source!r} in {name!r}; choose from {known}")
        try:
            weight = float(weight_text) if weight_text else 1.0
        except ValueError:
            weight = float("nan")
        if not 0 < weight <= MAX_WEIGHT:  # 1e308 overflowed the sampling probabilities (a traceback)
            raise DataError(f"the weight of {source!r} in {name!r} must be a positive number up to {MAX_WEIGHT:g}, "
                            f"got {weight_text!r}")
        if source in (s for s, _ in parts):
            raise DataError(f"{source!r} appears twice in {name!r}")
        parts.append((source, weight))
    return parts


def data_credits(name):
    """{source: its licence and citation} for a dataset or mixture name, as a trained model records them."""
    names = [source for source, _ in parse_mixture(name)] if is_mixture(name) else [name]
    return {source: EXTRA_CREDITS.get(source) or DATASETS[source].credit for source in names}


def check_dataset_name(name):
    """DataError naming the problem unless `name` is one dataset or a well-formed mixture."""
    if is_mixture(name):
        parse_mixture(name)
    elif name not in DATASETS:
        raise DataError(f"unknown dataset {name!r}; choose from {', '.join(list(DATASETS) + list(EXTRA_SOURCES))}"
                        " or a comma-separated mixture of them")


def dataset_names(text):
    """argparse type of --dataset: one dataset or a mixture, checked by name (ArgumentTypeError otherwise)."""
    import argparse

    try:
        check_dataset_name(text)
    except DataError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def mixture_weights(name):
    """{source: weight} of a mixture name (all 1.0 for a plain list); {} for a single dataset."""
    return dict(parse_mixture(name)) if is_mixture(name) else {}


def load_mixture(name, split, root=None):
    """The `split` of every source of mixture `name`, concatenated, as one Dataset (see the module docstring)."""
    parts = parse_mixture(name)
    sets = [load_source(source, split, root) for source, _ in parts]
    classes = mixture_classes(sets)
    labels = [relabel(s.labels, s.classes, classes) for s in sets]
    writers, next_id = [], 0
    for s in sets:
        ids = source_writers(s, root)
        writers.append(np.where(ids >= 0, ids + next_id, -1))
        next_id += int(ids.max()) + 1 if len(ids) else 0
    result = Dataset(
        name=name, split=split, images=np.concatenate([s.images for s in sets]), labels=np.concatenate(labels),
        classes=classes, images_path=sets[0].images_path, labels_path=sets[0].labels_path,
        sources=np.concatenate([np.full(len(s), i, dtype=np.int64) for i, s in enumerate(sets)]),
        source_names=tuple(source for source, _ in parts), writers=np.concatenate(writers),
        cases=np.concatenate([source_cases(s) for s in sets]))
    for array in (result.images, result.labels, result.sources, result.writers, result.cases):
        array.flags.writeable = False
    return result


def mixture_classes(sets):
    """The classes of a mixture of `sets`: a..z (and NOT_A_LETTER where a set has it) when any set holds letters,
    whatever each holds of them; 0..9 (and NOT_A_LETTER where a set has it) when any holds digits (`mnist,nonletters`
    was refused, taking mnist's ten classes, while `digits,mnist` was not); else the first set's classes.
    DataError when a set has classes the others' list cannot hold."""
    other = [NOT_A_LETTER] if any(NOT_A_LETTER in s.classes for s in sets) else []
    if any(c in LETTERS for s in sets for c in s.classes):
        classes, kind = list(LETTERS) + other, "a letters mixture"
    elif any(c in DIGITS for s in sets for c in s.classes):
        classes, kind = list(DIGITS) + other, "a digits mixture"
    else:
        classes, kind = list(sets[0].classes), f"a mixture of {sets[0].name!r}"
    for s in sets:
        strangers = [c for c in s.classes if c not in classes]
        if strangers:
            raise DataError(f"dataset {s.name!r} has classes {strangers} that {kind} cannot hold")
    return classes


def available_part(name, root=None):
    """(the part of dataset or mixture `name` whose files are under `root`, as a name; None if no part is;
    [(missing source, why)]), so a program can do with the sets a user has."""
    parts = parse_mixture(name) if is_mixture(name) else [(name, 1.0)]
    found, missing = [], []
    for source, weight in parts:
        try:
            for split in ("train", "test"):
                load_source(source, split, root)
            found.append(source if weight == 1.0 else f"{source}:{weight:g}")
        except DataError as error:
            missing.append((source, str(error)))
    return (",".join(found) or None), missing


def load_source(source, split, root):
    """One source of a mixture as a Dataset: a named IDX dataset or an EXTRA_SOURCES loader."""
    if source in EXTRA_SOURCES:
        module, function = EXTRA_SOURCES[source]
        try:
            loader = getattr(importlib.import_module(module), function)
        except (ImportError, AttributeError):
            raise DataError(f"the {source!r} source is not available in this installation") from None
        return loader(split, root)
    return load_dataset(source, split, root)


def recorded_writers(test):
    """int64 (N,) writer ids of a test split (-1 where not recorded), or None when its set records none: a
    mixture's own, else those its files name (source_writers: unipen's and chars74k's)."""
    if test.writers is not None:
        return test.writers
    if test.sources is not None or test.images_path is None:
        return None
    writers = source_writers(test, None)
    return writers if (writers >= 0).any() else None


def source_writers(dataset, root):
    """int64 (N,): a writer id per image counted from 0 within the set, -1 where the set does not record it.

    unipen's meta file names each letter's writer (contributor and writer id); chars74k's file names carry
    the volunteer's sample number (img<class>-<writer>.png).  The other sets record no writers.
    """
    folder = Path(dataset.images_path).parent
    meta = {"unipen": (f"unipen-{dataset.split}-meta.tsv.gz", unipen_writer),
            "chars74k": (f"chars74k-{dataset.split}-files.txt.gz", chars74k_writer)}.get(dataset.name)
    unknown = np.full(len(dataset), -1, dtype=np.int64)
    if meta is None or not (folder / meta[0]).is_file():
        return unknown
    try:
        with gzip.open(folder / meta[0], "rt", encoding="utf-8") as lines:
            keys = [meta[1](line) for line in lines]
    except (OSError, EOFError, UnicodeDecodeError) as error:  # truncated or not gzip: BadGzipFile is an OSError
        raise DataError(f"{folder / meta[0]}: cannot be read ({error}); copy it again from the shared data") from None
    except IndexError:
        raise DataError(f"{folder / meta[0]}: a line lacks the writer field (contributor<TAB>writer<TAB>...)") from None
    if len(keys) != len(dataset):
        raise DataError(f"{folder / meta[0]}: {len(keys)} lines for {len(dataset)} images; the files do not belong "
                        "together")
    _, ids = np.unique(np.asarray(keys), return_inverse=True)
    return ids.astype(np.int64)


def unipen_writer(line):
    """'ibm\\tr02-11\\t...' -> 'ibm/r02-11': contributor and writer id (ids repeat across contributors)."""
    fields = line.split("\t")
    return f"{fields[0]}/{fields[1]}"


def chars74k_writer(line):
    """'img033-026.png' -> '026', the volunteer's sample number."""
    return line.strip().rsplit("-", 1)[-1].split(".")[0]


def sampling_weights(dataset, source_weights, balance_classes=False):
    """float64 (N,) probabilities (summing to 1) of drawing each training image.

    source_weights: {source name: weight} multiplying each source's images' share (missing: 1).
    balance_classes: within each source, every class present gets the same share of that source's draws.
    """
    n = len(dataset)
    sources = dataset.sources if dataset.sources is not None else np.zeros(n, dtype=np.int64)
    names = dataset.source_names or (dataset.name,)
    weights = np.asarray([source_weights.get(name, 1.0) for name in names], dtype=np.float64)[sources]
    if balance_classes:
        for source in np.unique(sources):
            members = sources == source
            present, counts = np.unique(dataset.labels[members], return_counts=True)
            per_class = np.zeros(dataset.n_classes)
            per_class[present] = members.sum() / (len(present) * counts)
            weights[members] *= per_class[dataset.labels[members]]
    return weights / weights.sum()
