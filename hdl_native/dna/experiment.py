"""One splice experiment: read the data, split it by gene family, train on train (the epoch chosen on
validation), and measure the test split once."""
import time

import numpy as np

from .classifier import SpliceRNN, confusion_matrix, predict, train_classifier
from .data import CLASSES, read_splice, splice_path
from .split import split_by_family


def run_experiment(root=None, cell="gru", hidden=48, epochs=25, batch_size=32, lr=2e-3, seed=0, report=None):
    """The summary of one run: test_accuracy and validation_accuracy in percent, best_epoch, confusion
    (3 x 3, rows true, columns predicted), classes, train_seconds and the split's sizes.

    root: the data root (None: $HDL_DATA or the cache); report(epoch, train_loss, validation_accuracy)
    is called after each epoch."""
    data = read_splice(splice_path(root))
    sides = split_by_family(data.names, data.sequences, seed=seed)
    part = {side: (data.sequences[rows], data.labels[rows]) for side, rows in sides.items()}
    model = SpliceRNN(cell, hidden, seed=seed)
    started = time.perf_counter()
    best, best_epoch = train_classifier(model, part["train"], part["validation"], epochs, batch_size=batch_size,
                                        lr=lr, seed=seed, report=report)
    seconds = time.perf_counter() - started
    test_sequences, test_labels = part["test"]
    predictions = predict(model, test_sequences)
    return {"test_accuracy": 100 * float(np.mean(predictions == test_labels)), "validation_accuracy": 100 * best,
            "best_epoch": best_epoch, "confusion": confusion_matrix(test_labels, predictions).tolist(),
            "classes": CLASSES, "train_seconds": seconds,
            "sizes": {side: int(len(rows)) for side, rows in sides.items()}}
