"""Measure a classifier on a set of images: accuracy, top-2 accuracy, mean loss, confusion matrix.

The evaluation graph is built once per model (a placeholder for a batch of
normalised images -> logits) and fed in batches, with the model in eval mode
(no dropout); the model's previous mode is restored afterwards.
"""
from dataclasses import dataclass

import numpy as np

from ..data.augment import MNIST_MEAN, MNIST_STD, normalize
from ..errors import check_finite_outputs
from ..tensor import Tensor


@dataclass
class Evaluation:
    """Results on one set of n images with C classes."""

    accuracy: float        # percent
    top2_accuracy: float   # percent: the true class is among the two highest scores
    loss: float            # mean cross-entropy
    confusion: np.ndarray  # int64 (C, C): rows = true class, columns = predicted class
    predictions: np.ndarray  # int64 (n,)
    log_probs: np.ndarray  # float32 (n, C)

    @property
    def n_images(self):
        return len(self.predictions)


class Evaluator:
    """Evaluates one model: build the graph once, feed it any number of image sets."""

    def __init__(self, model, batch_size=500, normalization=None, source=None):
        self.model, self.source = model, source  # source: the state file, named when the outputs are not finite
        self.batch_size = int(batch_size)
        normalization = normalization or {"mean": MNIST_MEAN, "std": MNIST_STD}
        self.mean, self.std = float(normalization["mean"]), float(normalization["std"])
        self.images = Tensor.placeholder((None, 1, 28, 28), name="eval_images")
        self.log_probs = model(self.images)

    def predict_log_probs(self, images, progress=None):
        """uint8 (n, 28, 28) -> float32 log-probabilities (n, C), in eval mode; errors.NonFiniteOutputs when any is
        NaN or inf (weights a diverged run left).  progress: optional callable(n_images_done_in_batch), e.g. a
        bar's update, so that a long read (shifted copies of a whole split) is not silent."""
        was_training = self.model.training
        self.model.eval()
        try:
            chunks = []
            for start in range(0, len(images), self.batch_size):
                batch = images[start:start + self.batch_size]
                self.images.assign(normalize(batch, self.mean, self.std))
                chunks.append(self.log_probs.numpy())
                if progress is not None:
                    progress(len(batch))
        finally:
            if was_training:
                self.model.train()
        if not chunks:
            return np.zeros((0, self.log_probs.shape[1]), dtype=np.float32)
        log_probs = np.concatenate(chunks)
        check_finite_outputs(log_probs, self.model, self.source)
        return log_probs

    def evaluate(self, images, labels, progress=None):
        """An Evaluation of uint8 images (n, 28, 28) against int labels (n,); progress as predict_log_probs'."""
        log_probs = self.predict_log_probs(images, progress)
        return summarize(log_probs, np.asarray(labels, dtype=np.int64))


def summarize(log_probs, labels):
    """Accuracy, top-2, loss and confusion from log-probabilities (n, C) and labels (n,)."""
    n, n_classes = log_probs.shape
    predictions = log_probs.argmax(axis=1)
    confusion = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(confusion, (labels, predictions), 1)
    if n == 0:
        return Evaluation(0.0, 0.0, float("nan"), confusion, predictions, log_probs)
    top2 = np.argpartition(-log_probs, 1, axis=1)[:, :2] if n_classes > 1 else predictions[:, None]
    return Evaluation(
        accuracy=100.0 * float(np.mean(predictions == labels)),
        top2_accuracy=100.0 * float(np.mean((top2 == labels[:, None]).any(axis=1))),
        # summed in float64: finite float32 log-probabilities of a network with huge weights (-1e37 each)
        # overflowed a float32 sum to inf, with numpy's RuntimeWarning printed on stderr
        loss=float(-log_probs[np.arange(n), labels].mean(dtype=np.float64)),
        confusion=confusion,
        predictions=predictions,
        log_probs=log_probs,
    )


def per_source_accuracy(dataset, predictions):
    """{source name: {"accuracy": percent, "images": count}} of a mixture's predictions (int (N,)); {} otherwise."""
    correct = predictions == dataset.labels
    return {name: {"accuracy": 100.0 * float(correct[mask].mean()), "images": int(mask.sum())}
            for name, mask in dataset.source_masks()}


def format_confusion(confusion, classes):
    """The confusion matrix as text: one row per true class, one column per prediction."""
    width = max(4, len(str(int(confusion.max()))) + 1, max(len(str(name)) for name in classes) + 1)
    lines = ["true\\pred" + "".join(f"{name:>{width}}" for name in classes)]
    for name, row in zip(classes, confusion):
        lines.append(f"{name:>9}" + "".join(f"{count:>{width}}" for count in row))
    return "\n".join(lines)
