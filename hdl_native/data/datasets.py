"""Datasets by name under a data root: mnist, emnist-digits, emnist-letters, and the real handwritten letter
sets letters, unipen, nistvowels and chars74k; a comma-separated list names a mixture (data/mixture.py).

Every dataset comes back the same way: uint8 images (N, 28, 28) upright with
bright ink on a dark background, int64 labels (N,) counted from 0.
NIST stores EMNIST images transposed and numbers EMNIST letters 1..26;
both are undone here so programs never need to know.
"""
import functools
import string
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..errors import DataError
from .idx import IMAGES_MAGIC, LABELS_MAGIC, read_idx
from .paths import describe_root, find_data_root, is_data_file

SPLITS = ("train", "test")
IMAGE_SIZE = 28
DIGITS = [str(d) for d in range(10)]
LETTERS = list(string.ascii_lowercase)
# The class of everything on a page that is not a letter (digits, punctuation, marks), so a reader can say so.
NOT_A_LETTER = "other"
# The class of two letters written touching and left whole in one crop, for a reader taught to say so (--pairs);
# always a reader's last class, and `ocr` reads its probability as 'other' (ocr/recognize.py).
PAIR = "pair"


@dataclass(frozen=True)
class DatasetSpec:
    """How one named dataset is stored: folder, file names per split, and how to fix it up."""

    folder: str
    images_file: dict
    labels_file: dict
    classes: list
    transposed: bool = False
    label_offset: int = 0
    download_hint: str = ""
    credit: str = ""  # the licence and the citation its authors ask for, recorded in every model trained on it


def _emnist(name, classes, label_offset=0):
    """How NIST ships an EMNIST dataset: files emnist-{name}-{split}-..., images stored transposed."""
    return DatasetSpec(
        folder="emnist",
        images_file={split: f"emnist-{name}-{split}-images-idx3-ubyte.gz" for split in SPLITS},
        labels_file={split: f"emnist-{name}-{split}-labels-idx1-ubyte.gz" for split in SPLITS},
        classes=classes,
        transposed=True,
        label_offset=label_offset,
        download_hint="run `hdl-native download emnist --dest {root}`",
        credit="G. Cohen, S. Afshar, J. Tapson and A. van Schaik, \"EMNIST: an extension of MNIST to handwritten "
               "letters\", 2017 (NIST Special Database 19)",
    )


def letter_set(name, credit):
    """A letter set of the shared data: files {name}-{split}-..., upright, labels 0..25 for a..z."""
    return DatasetSpec(
        credit=credit,
        folder=name,
        images_file={split: f"{name}-{split}-images-idx3-ubyte.gz" for split in SPLITS},
        labels_file={split: f"{name}-{split}-labels-idx1-ubyte.gz" for split in SPLITS},
        classes=LETTERS,
        download_hint=f"it is not downloadable; copy the {name}/ folder of the shared data",
    )


DATASETS = {
    "mnist": DatasetSpec(
        folder="mnist",
        images_file={"train": "train-images-idx3-ubyte.gz", "test": "t10k-images-idx3-ubyte.gz"},
        labels_file={"train": "train-labels-idx1-ubyte.gz", "test": "t10k-labels-idx1-ubyte.gz"},
        classes=DIGITS,
        download_hint="run `hdl-native download mnist --dest {root}`",
        credit="Y. LeCun, C. Cortes and C. J. C. Burges, the MNIST database (yann.lecun.com/exdb/mnist)",
    ),
    "emnist-digits": _emnist("digits", DIGITS),
    "emnist-letters": _emnist("letters", LETTERS, label_offset=1),  # NIST numbers the letters 1..26
    "letters": letter_set("letters", "MIT licence, (c) 2025 Bishwaprotap Ray "
                                     "(github.com/TasnimulIntazamAsif/Handwritten_Letter_Indentification)"),
    # 87,453 pen-tablet letters, 307 writers
    "unipen": letter_set("unipen", "CC BY 4.0 (doi 10.5281/zenodo.1195803); I. Guyon, L. Schomaker, R. Plamondon, "
                                   "M. Liberman and S. Janet, \"UNIPEN project of on-line data exchange and recognizer "
                                   "benchmarks\", ICPR 1994"),
    # 10,000 NIST SD19 vowels: only a e i o u occur
    "nistvowels": letter_set("nistvowels", "NIST Standard Reference Data, freely distributed by NIST; P. Grother, "
                                           "\"NIST Special Database 19 Handprinted Forms and Characters Database\", "
                                           "NIST, 1995"),
    # 2,418 letters of 55 writers
    "chars74k": letter_set("chars74k", "research use; T. E. de Campos, B. R. Babu and M. Varma, \"Character "
                                       "recognition in natural images\", VISAPP 2009"),
}


@dataclass(frozen=True, eq=False)
class Dataset:
    """One split of a dataset, held in memory (the arrays are read-only: they are shared via a cache).

    images: uint8 (N, 28, 28), upright, ink 255 on background 0.  labels: int64 (N,) in 0..n_classes-1.
    A mixture (data/mixture.py) also says where each image came from: sources int64 (N,) indexing
    source_names, and writers int64 (N,), a writer id unique across sources, -1 where the set does not say;
    cases int8 (N,) the case of each letter where its source records it (data/cases.py), -1 where not.
    """

    name: str
    split: str
    images: np.ndarray
    labels: np.ndarray
    classes: list
    images_path: Path
    labels_path: Path
    sources: np.ndarray = None
    source_names: tuple = ()
    writers: np.ndarray = None
    cases: np.ndarray = None

    @property
    def n_classes(self):
        return len(self.classes)

    def __len__(self):
        return len(self.labels)

    def source_masks(self):
        """[(source name, bool (N,))]: which images came from each source of a mixture, in source order,
        sources without an image left out; [] for a single dataset."""
        if self.sources is None:
            return []
        return [(name, self.sources == i) for i, name in enumerate(self.source_names) if (self.sources == i).any()]

    def __repr__(self):
        return (f"Dataset({self.name!r}, {self.split!r}, {len(self)} images, "
                f"{self.n_classes} classes, from {self.images_path.parent})")


def relabel(labels, from_classes, to_classes):
    """int64 (n,): `labels` counted in the class list from_classes, renumbered by class name to to_classes;
    -1 for a class to_classes lacks."""
    index_of = {name: i for i, name in enumerate(to_classes)}
    return np.array([index_of.get(name, -1) for name in from_classes], np.int64)[np.asarray(labels)]


def with_pair_class(dataset):
    """`dataset` with the class PAIR after its own (no image of it carries the label: training makes them,
    touching.whole_pairs); unchanged when it has it."""
    return dataset if PAIR in dataset.classes else replace(dataset, classes=list(dataset.classes) + [PAIR])


def load_dataset(name, split="train", root=None):
    """Load one split of a named dataset from `root` (default: find_data_root()), cached per process.

    name: one of DATASETS, or a mixture "letters,unipen:2,..." (see data/mixture.py).  split: 'train' or 'test'.
    Raises DataError when files are missing (saying where it looked and how to get them),
    corrupt, empty, or inconsistent (counts, image size, label range).
    """
    from .mixture import is_mixture, load_mixture

    if is_mixture(name):
        return load_mixture(name, split, root)
    if name not in DATASETS:
        raise DataError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r} for dataset {name!r}; choose 'train' or 'test'")
    root = Path(root).expanduser() if root is not None else find_data_root()
    spec = DATASETS[name]
    images_path = _locate(root, spec, spec.images_file[split], name, split)
    labels_path = _locate(root, spec, spec.labels_file[split], name, split)
    return _read_cached(name, split, _FileIdentity.of(images_path), _FileIdentity.of(labels_path))


def clear_cache():
    """Forget every loaded dataset (tests use it; programs never need to)."""
    _read_cached.cache_clear()


@dataclass(frozen=True)
class _FileIdentity:
    """A file's path, size and mtime: a changed file is read again rather than served stale from the cache."""

    path: Path
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path):
        stat = path.stat()
        return cls(path.resolve(), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=2 * len(SPLITS) * len(DATASETS))
def _read_cached(name, split, images, labels):
    """Read each (dataset, split, file versions) once per process; the arrays are read-only, so sharing is safe."""
    return _read(name, split, DATASETS[name], images.path, labels.path)


def _locate(root, spec, file_name, name, split):
    """The existing path of file_name (or its uncompressed twin) under root/folder, else DataError."""
    folder = root / spec.folder
    candidates = [folder / file_name]
    if file_name.endswith(".gz"):
        candidates.append(folder / file_name[:-3])
    for candidate in candidates:
        if is_data_file(candidate):
            return candidate
    looked = " or ".join(str(c) for c in candidates)
    raise DataError(
        f"dataset {name!r} ({split} split) not found: looked for {looked} under the data root {root} "
        f"(chosen by {describe_root(root)}). To get it, {spec.download_hint.format(root=root)}, or point --data DIR or "
        f"$HDL_DATA at a folder that holds {spec.folder}/")


def _read(name, split, spec, images_path, labels_path):
    """Read, check and fix up one split; see load_dataset."""
    images = read_idx(images_path, IMAGES_MAGIC)
    labels = read_idx(labels_path, LABELS_MAGIC)
    if images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise DataError(f"{images_path}: images are {images.shape[1]}x{images.shape[2]}, "
                        f"expected {IMAGE_SIZE}x{IMAGE_SIZE}")
    if len(images) != len(labels):
        raise DataError(f"dataset {name!r} ({split}): {images_path} holds {len(images)} images but "
                        f"{labels_path} holds {len(labels)} labels; the files do not belong together")
    if len(images) == 0:
        raise DataError(f"{images_path}: the {split} split of dataset {name!r} holds no images; "
                        f"nothing can be trained or tested on it")
    if spec.transposed:
        images = images.transpose(0, 2, 1)
    images = np.ascontiguousarray(images)
    labels = labels.astype(np.int64) - spec.label_offset
    _check_labels(labels, labels_path, spec)
    images.flags.writeable = False
    labels.flags.writeable = False
    return Dataset(name=name, split=split, images=images, labels=labels, classes=list(spec.classes),
                   images_path=images_path, labels_path=labels_path)


def _check_labels(labels, labels_path, spec):
    """DataError unless every label lies in 0..n_classes-1 (after the dataset's offset); labels is not empty."""
    low, high = int(labels.min()), int(labels.max())
    if low < 0 or high >= len(spec.classes):
        first, last = spec.label_offset, spec.label_offset + len(spec.classes) - 1
        raise DataError(f"{labels_path}: labels run from {low + spec.label_offset} to {high + spec.label_offset}, "
                        f"expected {first}..{last}")
