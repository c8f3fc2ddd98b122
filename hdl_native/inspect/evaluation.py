"""Evaluate a saved model on a test split: accuracy, top-2, per class, confusions, under augmentation,
and what its weights look like layer by layer.

Everything is batched over the whole split through one evaluation graph (training.evaluate.Evaluator);
the augmented copy of the test set is made in one vectorised call with a seeded generator.
"""
from dataclasses import dataclass, field

import numpy as np

from ..calibration import expected_calibration_error, scaled_probabilities, stored_temperature
from ..checkpoint import load_model
from ..data import augment, load_dataset
from ..data.datasets import DATASETS
from ..errors import HDLError
from ..quantize.section import quantization_of
from ..training.evaluate import Evaluator
from .weight_stats import layer_weights


@dataclass
class Report:
    """What `hdl-native evaluate` reports about one model on one test split."""

    dataset: str
    n_images: int
    test_accuracy: float       # percent
    top2_accuracy: float       # percent
    augmented_accuracy: float  # percent, on shifted/pixel-flipped copies of the test images
    loss: float
    per_class: dict            # class name -> percent correct
    confused_pairs: list       # [true name, predicted name, count], most frequent first
    confusion: np.ndarray      # int64 (C, C), rows = true class
    classes: list
    temperature: float = 1.0   # the state's calibration temperature (1 when it records none)
    calibration_error: float = 0.0  # top-label ECE in [0, 1] of the test predictions at that temperature
    weights: list = field(default_factory=list)  # [LayerWeights], one per weight matrix
    quantization: dict = None  # a quantised state's scheme, bits, per_channel and source; None for float32

    def as_json(self):
        """The JSON object of `evaluate --json`."""
        return {"dataset": self.dataset, "n_images": self.n_images, "test_accuracy": self.test_accuracy,
                "top2_accuracy": self.top2_accuracy, "augmented_accuracy": self.augmented_accuracy,
                "loss": self.loss, "temperature": self.temperature,
                "expected_calibration_error": self.calibration_error, "per_class": self.per_class,
                "confused_pairs": self.confused_pairs,
                "weights": [layer.as_json() for layer in self.weights], "quantization": self.quantization}


def per_class_accuracy(confusion, classes):
    """{class: percent of its test images predicted right} from a confusion matrix (rows = true)."""
    totals = confusion.sum(axis=1)
    correct = np.diag(confusion)
    return {name: (100.0 * float(correct[i]) / float(totals[i]) if totals[i] else float("nan"))
            for i, name in enumerate(classes)}


def most_confused(confusion, classes, top=10):
    """The `top` largest off-diagonal cells as [true, predicted, count], largest first (ties by position)."""
    off_diagonal = confusion.copy()
    np.fill_diagonal(off_diagonal, 0)
    flat = off_diagonal.ravel()
    order = np.argsort(-flat, kind="stable")[:top]
    size = len(confusion)
    return [[classes[i // size], classes[i % size], int(flat[i])] for i in order if flat[i] > 0]


def choose_dataset(meta, requested, path):
    """The dataset to test on: --dataset, else the one the checkpoint was trained on."""
    name = requested or meta.get("dataset")
    if not name:
        raise HDLError(f"{path} does not record which dataset it was trained on; name one with --dataset "
                       f"({', '.join(DATASETS)})")
    if name not in DATASETS:
        raise HDLError(f"{path} names dataset {name!r}, which is not known; choose one with --dataset "
                       f"({', '.join(DATASETS)})")
    return name


def evaluate_state(path, root=None, dataset=None, seed=0, batch_size=500, model_and_meta=None):
    """A Report for the model saved at `path` on the test split of `dataset` (default: its own).

    root: data root (None: find_data_root()).  seed: seeds the augmentation of the test images.
    """
    model, meta = model_and_meta or load_model(path)
    temperature = stored_temperature(meta, path)
    name = choose_dataset(meta, dataset, path)
    test = load_dataset(name, "test", root)
    n_outputs = int(getattr(model, "n_classes", test.n_classes))
    if n_outputs != test.n_classes:
        raise HDLError(f"{path} has {n_outputs} outputs but dataset {name!r} has {test.n_classes} classes; "
                       "choose a matching --dataset")
    evaluator = Evaluator(model, batch_size=batch_size, normalization=meta.get("normalization"))
    clean = evaluator.evaluate(test.images, test.labels)
    augmented = evaluator.evaluate(augment(test.images, np.random.default_rng(seed)), test.labels)
    classes = list(test.classes)
    return Report(dataset=name, n_images=len(test), test_accuracy=clean.accuracy, top2_accuracy=clean.top2_accuracy,
                  augmented_accuracy=augmented.accuracy, loss=clean.loss, temperature=temperature,
                  calibration_error=expected_calibration_error(scaled_probabilities(clean.log_probs, temperature),
                                                               test.labels),
                  per_class=per_class_accuracy(clean.confusion, classes),
                  confused_pairs=most_confused(clean.confusion, classes), confusion=clean.confusion, classes=classes,
                  weights=layer_weights(model), quantization=quantization_of(meta))
