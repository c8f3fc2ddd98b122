"""One splice experiment: read the data, split it by gene family, train on train (the epoch chosen on
validation), and measure the test split once.

With ensemble=K, K networks of different initialisations and shuffles train on the same split (member k
with seed `seed + 1000 k`, so member 0 is the single network of `seed`), each keeping its own best
epoch on validation, and the test prediction is the class of their mean probabilities."""
import time

import numpy as np

from ..errors import DataError
from .classifier import SpliceRNN, confusion_matrix, predict_ensemble, train_classifier
from .data import CLASSES, read_splice, splice_path
from .split import split_by_family


def run_experiment(root=None, cell="gru", hidden=48, epochs=25, batch_size=32, lr=2e-3, seed=0, report=None,
                   ensemble=5):
    """The summary of one run: test_accuracy and validation_accuracy in percent (of the ensemble's mean
    probabilities), best_epochs (one per member), confusion (3 x 3, rows true, columns predicted), classes,
    train_seconds and the split's sizes.

    root: the data root (None: $HDL_DATA or the cache); report(member, epoch, train_loss,
    validation_accuracy) is called after each epoch of each member (numbered from 1)."""
    path = splice_path(root)
    data = read_splice(path)
    sides = split_by_family(data.names, data.sequences, seed=seed)
    part = {side: (data.sequences[rows], data.labels[rows]) for side, rows in sides.items()}
    check_split_sizes(path, {side: len(rows) for side, rows in sides.items()}, batch_size)
    check_classes_trained(path, data.labels, sides["train"])
    models, best_epochs, started = [], [], time.perf_counter()
    for member in range(ensemble):
        member_seed = seed + 1000 * member
        model = SpliceRNN(cell, hidden, seed=member_seed)
        _, best_epoch = train_classifier(
            model, part["train"], part["validation"], epochs, batch_size=batch_size, lr=lr, seed=member_seed,
            report=None if report is None else lambda *progress, member=member: report(member + 1, *progress))
        models.append(model)
        best_epochs.append(best_epoch)
    seconds = time.perf_counter() - started
    (validation_sequences, validation_labels), (test_sequences, test_labels) = part["validation"], part["test"]
    validation_accuracy = float(np.mean(predict_ensemble(models, validation_sequences) == validation_labels))
    predictions = predict_ensemble(models, test_sequences)
    return {"test_accuracy": 100 * float(np.mean(predictions == test_labels)),
            "validation_accuracy": 100 * validation_accuracy, "best_epochs": best_epochs, "ensemble": ensemble,
            "confusion": confusion_matrix(test_labels, predictions).tolist(), "classes": CLASSES,
            "train_seconds": seconds, "sizes": {side: int(len(rows)) for side, rows in sides.items()}}


def check_split_sizes(path, sizes, batch_size):
    """DataError naming the file `path` when a side of its split ({side: rows}) is empty or its training side
    holds less than one batch: a file cut short would train on nothing and report NaN, or fail."""
    empty = [side for side in ("train", "validation", "test") if not sizes[side]]
    if empty:
        raise DataError(f"{path} is too small to split by gene family: its {sum(sizes.values())} sequences leave "
                        f"the {' and '.join(empty)} split{'s' if len(empty) > 1 else ''} empty")
    if sizes["train"] < batch_size:
        raise DataError(f"{path} is too small: its training split holds {sizes['train']} sequences, fewer than a "
                        f"batch of {batch_size}; use a smaller --batch-size")


def check_classes_trained(path, labels, train_rows):
    """DataError naming the file `path` when a class has no sequence in the training split (rows `train_rows` of
    `labels`): the rows are sorted by class, so a file cut at a line ends with whole classes missing, and a run on
    it reported 100% on a test split of one class."""
    missing = [name for index, name in enumerate(CLASSES) if not np.any(labels[train_rows] == index)]
    if missing:
        held = ", ".join(f"{np.count_nonzero(labels == index)} {name}" for index, name in enumerate(CLASSES))
        raise DataError(f"{path} gives the training split no sequence of class {' or '.join(missing)} (the file "
                        f"holds {held}), so it cannot learn to tell the three apart; is the file cut short?")
