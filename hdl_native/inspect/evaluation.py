"""Evaluate a saved model on a test split: accuracy, top-2, per class, confusions, under augmentation,
and what its weights look like layer by layer.

Everything is batched over the whole split through one evaluation graph (training.evaluate.Evaluator);
the augmented copy of the test set is made in one vectorised call with a seeded generator.
"""
import sys
from dataclasses import dataclass, field, replace

import numpy as np

from ..calibration import (averaged_log_probabilities, calibrated_log_probabilities, expected_calibration_error,
                           other_column, pair_read_as_other, stored_other_offset, stored_temperature)
from ..checkpoint import load_model
from ..data import augment, load_dataset
from ..data.datasets import DATASETS, NOT_A_LETTER, PAIR, relabel
from ..data.mixture import available_part, check_dataset_name, is_mixture, recorded_writers
from ..errors import DataError, HDLError
from ..progress import terminal_bar
from ..quantize.section import quantization_of
from ..shifts import shifted_copies
from ..training.evaluate import Evaluator, per_source_accuracy, summarize
from ..intervals import LEVEL, accuracy_interval, describe_groups, difference_interval
from .weight_stats import layer_weights


@dataclass
class Report:
    """What `hdl-native evaluate` reports about one model on one test split."""

    dataset: str
    n_images: int
    test_accuracy: float       # percent
    top2_accuracy: float       # percent
    augmented_accuracy: float  # percent, on shifted/pixel-flipped copies of the test images (None: not read)
    loss: float
    per_class: dict            # class name -> percent correct
    confused_pairs: list       # [true name, predicted name, count], most frequent first
    confusion: np.ndarray      # int64 (C, C), rows = true class
    classes: list
    temperature: float = 1.0   # the state's calibration temperature (1 when it records none)
    calibration_error: float = 0.0  # top-label ECE in [0, 1] of the test predictions at that temperature
    # Each test image read in this many shifted copies, their probabilities at the state's temperature for that
    # count averaged, as `ocr --shifts` reads; with more than 1, accuracy, loss and confusions are those of the
    # averaged reading (the loss therefore at that temperature; with 1 read it is the network's own).
    shifts: int = 1
    other_offset: float = 0.0  # the state's log-offset on 'other' (calibration.py), in every figure above
    weights: list = field(default_factory=list)  # [LayerWeights], one per weight matrix
    quantization: dict = None  # a quantised state's scheme, bits, per_channel and source; None for float32
    per_source: dict = field(default_factory=dict)  # a mixture's {source: {"accuracy", "images", "calibration_error"}}
    # A reader with the class 'other': percent of the letters whose best letter (ignoring 'other') is right,
    # overall and per source (each with its "interval" and "interval_over"): how it reads letters when something
    # else has already said they are letters; its 95% interval (low, high) as accuracy_interval's below.
    best_letter_accuracy: float = None
    best_letter_per_source: dict = field(default_factory=dict)
    best_letter_interval: tuple = None
    # The accuracy's 95% bootstrap interval (low, high) in percent, resampling whole writers where the split records
    # them (hdl_native/intervals.py), and what was resampled ("61 writers"); a mixture's per_source entries hold theirs.
    accuracy_interval: tuple = None
    interval_over: str = ""
    # Per image, for comparing two readers of the same split (compare_reports): bool (N,) read right, the writer
    # ids (int (N,), -1 unknown; None when the split records none) and a mixture's [(source, bool (N,) mask)].
    correct: np.ndarray = None
    writers: np.ndarray = None
    source_masks: list = field(default_factory=list)

    def as_json(self):
        """The JSON object of `evaluate --json`."""
        return {"dataset": self.dataset, "n_images": self.n_images, "test_accuracy": self.test_accuracy,
                "top2_accuracy": self.top2_accuracy, "augmented_accuracy": self.augmented_accuracy,
                "loss": self.loss, "temperature": self.temperature, "shifts": self.shifts,
                "other_offset": self.other_offset,
                "expected_calibration_error": self.calibration_error, "per_class": self.per_class,
                "confused_pairs": self.confused_pairs, "per_source": self.per_source,
                "best_letter_accuracy": self.best_letter_accuracy,
                "best_letter_per_source": self.best_letter_per_source,
                "best_letter_interval": None if self.best_letter_interval is None else list(self.best_letter_interval),
                "accuracy_interval": None if self.accuracy_interval is None else list(self.accuracy_interval),
                "interval_level": LEVEL, "interval_over": self.interval_over,
                "weights": [layer.as_json() for layer in self.weights], "quantization": self.quantization}


def per_class_accuracy(confusion, classes):
    """{class: percent of its test images predicted right} from a confusion matrix (rows = true)."""
    totals = confusion.sum(axis=1)
    correct = np.diag(confusion)
    return {name: 100.0 * float(correct[i]) / float(totals[i]) for i, name in enumerate(classes) if totals[i]}


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
    try:
        check_dataset_name(name)
    except DataError as error:
        raise HDLError(f"{path}: {error}; name one with --dataset") from None
    return name


def in_model_classes(test, model_classes, path):
    """`test` with its labels renumbered to the model's classes, matched by name (a reader with the class
    'other' tested on a letters-only split); HDLError when the split has a class the model lacks."""
    if not model_classes or list(model_classes) == list(test.classes):
        return test
    missing = [c for c in test.classes if c not in model_classes]
    if missing:
        raise HDLError(f"{path} has {len(model_classes)} outputs ({brief(model_classes)}) but dataset {test.name!r} "
                       f"has {len(missing)} classes it does not know ({brief(missing)}); choose a matching --dataset")
    return replace(test, labels=relabel(test.labels, test.classes, model_classes), classes=list(model_classes))


def brief(names, shown=5):
    """'a, b, c, d, e, ...': the first few of a list of class names."""
    return ", ".join(list(names)[:shown]) + (", ..." if len(names) > shown else "")


def evaluate_state(path, root=None, dataset=None, seed=0, batch_size=500, model_and_meta=None, shifts=1,
                   augmented=True, progress=False):
    """A Report for the model saved at `path` on the test split of `dataset` (default: its own).

    root: data root (None: find_data_root()).  seed: seeds the augmentation of the test images.
    shifts: read each test image in this many shifted copies and average them (Report.shifts).
    augmented: also read augmented copies of the test images (False: augmented_accuracy None, one pass fewer, for
    a reader only compared with another).
    progress: show a bar over the images read on stderr when it is a terminal (9 shifted copies of a mixture's
    test split take most of a minute).
    """
    model, meta = model_and_meta or load_model(path)
    temperature = stored_temperature(meta, path, shifts)
    name = choose_dataset(meta, dataset, path)
    if dataset is None and is_mixture(name):  # the model's own mixture: test on the sets this machine has
        found, missing = available_part(name, root)
        if found is not None and missing:
            print(f"note: testing on {found} only; not found: {', '.join(source for source, _ in missing)}",
                  file=sys.stderr)
            name = found
    test = in_model_classes(load_dataset(name, "test", root), meta.get("classes"), path)
    n_outputs = int(getattr(model, "n_classes", test.n_classes))
    if n_outputs != test.n_classes:
        raise HDLError(f"{path} has {n_outputs} outputs but dataset {name!r} has {test.n_classes} classes; "
                       "choose a matching --dataset")
    evaluator = Evaluator(model, batch_size=batch_size, normalization=meta.get("normalization"), source=path)
    other_offset = stored_other_offset(meta, path)
    bar = terminal_bar(len(test) * (shifts + bool(augmented)), f"reading {name} test", "img", shown=progress)
    with bar:
        if shifts == 1 and other_offset == 0 and PAIR not in test.classes:
            clean = evaluator.evaluate(test.images, test.labels, bar.update)
            calibrated = averaged_log_probabilities(clean.log_probs, temperature)
        else:  # read as `ocr` reads: the copies' calibrated mean, 'other' weighted by the state's offset, pairs 'other'
            copies = evaluator.predict_log_probs(shifted_copies(test.images, shifts), bar.update)
            calibrated = pair_read_as_other(calibrated_log_probabilities(copies.reshape(shifts, len(test), -1),
                                                                         temperature, other_column(meta.get("classes")),
                                                                         other_offset), test.classes)
            clean = summarize(calibrated, np.asarray(test.labels, dtype=np.int64))
        augmented_accuracy = (evaluator.evaluate(augment(test.images, np.random.default_rng(seed)), test.labels,
                                                 bar.update).accuracy if augmented else None)
    classes = list(test.classes)
    writers = recorded_writers(test)
    best_letter, best_letter_per_source, best_letter_interval = best_letter_scores(test, clean.log_probs, writers)
    correct = clean.predictions == test.labels
    return Report(dataset=name, n_images=len(test), test_accuracy=clean.accuracy, top2_accuracy=clean.top2_accuracy,
                  augmented_accuracy=augmented_accuracy, loss=clean.loss, temperature=temperature, shifts=shifts,
                  other_offset=other_offset,
                  calibration_error=expected_calibration_error(np.exp(calibrated), test.labels),
                  per_class=per_class_accuracy(clean.confusion, classes),
                  confused_pairs=most_confused(clean.confusion, classes), confusion=clean.confusion, classes=classes,
                  weights=layer_weights(model), quantization=quantization_of(meta),
                  per_source=with_intervals_per_source(
                      with_calibration_per_source(per_source_accuracy(test, clean.predictions), test,
                                                  np.exp(calibrated)), test, correct, writers),
                  best_letter_accuracy=best_letter,
                  best_letter_per_source=best_letter_per_source, best_letter_interval=best_letter_interval,
                  accuracy_interval=accuracy_interval(correct, writers),
                  interval_over=describe_groups(writers, len(test)),
                  correct=correct, writers=writers, source_masks=test.source_masks())


def compare_reports(report, other, other_path):
    """How `report`'s reader does against `other`'s (Reports of the same test split): {"state": other_path,
    "accuracy": other's, "difference": points, "difference_interval": [low, high] (paired bootstrap over writers,
    hdl_native/intervals.py), "per_source": {source: {"difference", "difference_interval"}}}.  HDLError when the two
    were not measured on the same images."""
    if (other.dataset, other.n_images, other.shifts) != (report.dataset, report.n_images, report.shifts):
        raise HDLError(f"{other_path} was measured on {other.n_images} images of {other.dataset!r} "
                       f"({other.shifts} reads each), not on the {report.n_images} of {report.dataset!r} "
                       f"({report.shifts}); name the split with --dataset")
    per_source = {}
    for name, mask in report.source_masks:
        part = None if report.writers is None else report.writers[mask]
        per_source[name] = {"difference": 100.0 * float(report.correct[mask].mean() - other.correct[mask].mean()),
                            "difference_interval": list(difference_interval(report.correct[mask],
                                                                            other.correct[mask], part))}
    return {"state": str(other_path), "accuracy": other.test_accuracy,
            "difference": report.test_accuracy - other.test_accuracy,
            "difference_interval": list(difference_interval(report.correct, other.correct, report.writers)),
            "per_source": per_source}


def with_intervals_per_source(per_source, test, correct, writers):
    """per_source ({source: {...}} of a mixture) with each source's accuracy interval (list [low, high], percent)
    and what it resampled, from `correct` (bool (N,)) and `writers` (int (N,) or None) of all of `test`."""
    for name, mask in test.source_masks():
        part = None if writers is None else writers[mask]
        per_source[name]["interval"] = list(accuracy_interval(correct[mask], part))
        per_source[name]["interval_over"] = describe_groups(part, int(mask.sum()))
    return per_source


def with_calibration_per_source(per_source, test, probabilities):
    """per_source ({source: {...}} of a mixture) with each source's top-label ECE in [0, 1] of `probabilities`
    (float (n, C), the calibrated reading of all of `test`) added as "calibration_error"."""
    for name, mask in test.source_masks():
        per_source[name]["calibration_error"] = expected_calibration_error(probabilities[mask], test.labels[mask])
    return per_source


def best_letter_scores(test, log_probs, writers=None):
    """(percent, {source: {"accuracy", "images", "interval", "interval_over"}}, (low, high) percent) of the letter
    images of `test` whose most likely letter, the class 'other' left aside, is right, with the bootstrap
    intervals over writers (int (N,) of all of `test`, -1 unknown, or None: see accuracy_interval); (None, {},
    None) when the classes hold no 'other'."""
    if NOT_A_LETTER not in test.classes:
        return None, {}, None
    other = test.classes.index(NOT_A_LETTER)
    letters = test.labels != other
    if not letters.any():
        return None, {}, None
    scores = np.array(log_probs, copy=True)
    scores[:, other] = -np.inf
    predictions = scores.argmax(axis=1)
    only_letters = replace(test, images=test.images[letters], labels=test.labels[letters],
                           sources=None if test.sources is None else test.sources[letters],
                           writers=None if test.writers is None else test.writers[letters])
    correct = predictions[letters] == test.labels[letters]
    letter_writers = None if writers is None else np.asarray(writers)[letters]
    per_source = with_intervals_per_source(per_source_accuracy(only_letters, predictions[letters]), only_letters,
                                           correct, letter_writers)
    return 100.0 * float(np.mean(correct)), per_source, accuracy_interval(correct, letter_writers)
