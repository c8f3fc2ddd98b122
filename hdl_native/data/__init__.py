"""Datasets and their preparation: IDX files, named datasets, batching, augmentation, downloads.

    from hdl_native.data import find_data_root, load_dataset, normalize, augment, Batcher
    ds = load_dataset("mnist", "train", find_data_root(args.data))
    for idx in Batcher(len(ds), 64, seed=0).epoch():
        x = normalize(augment(ds.images[idx], rng))    # float32 (n, 1, 28, 28)
        y = ds.labels[idx]                               # int64 (n,)
"""
from .arguments import add_data_arguments
from .augment import augment, normalize
from .batcher import Batcher
from .datasets import DATASETS, Dataset, load_dataset
from .idx import read_idx, write_idx
from .paths import find_data_root

__all__ = [
    "find_data_root", "load_dataset", "Dataset", "normalize", "augment", "Batcher", "add_data_arguments",
    "DATASETS", "read_idx", "write_idx",
]
