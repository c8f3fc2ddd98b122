"""The training loop shared by the digits MLP and the letters CNN.

The graph is built once: placeholders for a batch of normalised images
(N, 1, 28, 28) and their labels (N,), the model's logits, the mean
cross-entropy, plus ``weight_decay * sum of squared weights`` when asked
for (the factor is an input of the graph, so it can be ramped up over a
warm-up).  Each batch only assigns the placeholders, runs backward and steps
the optimiser, so the per-batch Python work stays small.

Everything needed to continue exactly where a run stopped (batch counter,
epoch and position in it (the batcher's state),
the augmentation and dropout RNG states) is in ``Trainer.state()``; with
the parameters and the optimiser state it makes a resumable checkpoint.
"""
import math
import time
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from .. import functional as F
from ..tensor import Tensor
from ..data import Batcher, augment, normalize
from ..data.distort import distort
from ..inspect.weight_stats import SMALL_SQUARE, named_weights
from .evaluate import MEAN, STD, Evaluator
from .sqlite_log import should_log_parameters


@dataclass
class TrainSettings:
    """How to train.  epochs and max_batches are totals counted from the very first batch (so a
    resumed run with the same settings finishes the original plan)."""

    batch_size: int = 64
    epochs: int = 1
    max_batches: int = None        # stop once this many batches have been trained in total
    max_seconds: float = None      # stop after this much training time in this run
    weight_decay: float = 0.0      # factor on the sum of squared weights (biases excluded)
    weight_decay_warmup: float = 0.0  # epochs over which that factor rises linearly from 0
    augment: bool = False          # shift/flip training images (the tutorial's mutations)
    augment_validation: bool = False
    distort: float = 0.0           # strength of rotation/shear/scale/elastic/stroke distortions (0 = off)
    lr_schedule: str = "constant"  # or "cosine": lr * (1 + cos(pi * progress)) / 2
    validate_every: int = 200      # batches
    checkpoint_every: float = 60.0  # seconds of wall time between periodic checkpoints
    seed: int = 0
    progress: bool = True
    normalization: dict = field(default_factory=lambda: {"mean": MEAN, "std": STD})


class TrainingGraph:
    """Placeholders, logits, data loss and total loss of `model`, built once."""

    def __init__(self, model, weight_decay=0.0):
        self.images = Tensor.placeholder((None, 1, 28, 28), name="images")
        self.labels = Tensor.placeholder((None,), dtype=np.int64, name="labels")
        self.logits = model.logits(self.images)
        self.data_loss = F.cross_entropy(self.logits, self.labels)
        self.loss = self.data_loss
        self.decay_factor = None  # () placeholder holding the current weight-decay factor
        if weight_decay:
            self.decay_factor = Tensor.placeholder((), name="weight_decay")
            self.decay_factor.assign(weight_decay)
            squares = [F.sum(F.square(weight)) for weight in decayed_weights(model)]
            self.loss = self.loss + self.decay_factor * sum(squares[1:], squares[0])


def normalize_all(images, normalization, chunk=4096):
    """The whole uint8 split (N, 28, 28) normalised to float32 (N, 1, 28, 28), a chunk at a time to bound memory."""
    out = np.empty((len(images), 1) + tuple(images.shape[1:]), dtype=np.float32)
    for start in range(0, len(images), chunk):
        out[start:start + chunk] = normalize(images[start:start + chunk], normalization["mean"], normalization["std"])
    return out


def decayed_weights(model):
    """The parameters weight decay acts on: every weight matrix/filter bank, not the biases."""
    return [p for _, p in named_weights(model)]


def count_small_parameters(model, threshold=SMALL_SQUARE):
    """How many parameter values (weights and biases) have a squared value below `threshold`."""
    return int(sum(np.count_nonzero(np.square(p.value) < threshold) for p in model.parameters()))


class Trainer:
    """Trains `model` with `optimizer` on uint8 images (N, 28, 28) and int labels (N,).

    validation: optional (images, labels) evaluated every `validate_every` batches.
    log: optional SqliteLog.  checkpoint: optional callable(trainer) that saves a state file.
    stop_flag: optional object that becomes truthy (with a `.requested` reason) to stop after a batch.
    """

    def __init__(self, model, optimizer, train_images, train_labels, settings, *, validation=None,
                 log=None, checkpoint=None, stop_flag=None, write=None):
        self.model, self.optimizer, self.settings = model, optimizer, settings
        self.train_images = train_images
        self.train_labels = np.asarray(train_labels, dtype=np.int64)
        self.validation, self.log, self.checkpoint = validation, log, checkpoint
        self.stop_flag = stop_flag
        self.write = write or tqdm.write
        self.graph = TrainingGraph(model, settings.weight_decay)
        self.evaluator = Evaluator(model, normalization=settings.normalization) if validation else None
        self.batcher = Batcher(len(self.train_labels), settings.batch_size, settings.seed)
        # Without augmentation every batch is a plain gather from the split normalised once, up front.
        mutated = settings.augment or settings.distort
        self.normalized = None if mutated else normalize_all(train_images, settings.normalization)
        self.augment_rng = np.random.default_rng([settings.seed, 1])
        self.validation_rng = np.random.default_rng([settings.seed, 2])
        self.base_lr = optimizer.lr
        self.batch_counter = 0
        self.train_seconds = 0.0    # all training time of this model, including runs it was resumed from
        self.run_seconds = 0.0      # training time of this run only
        self.images_trained = 0     # images trained on in this run
        self.log_seconds = 0.0      # part of run_seconds spent writing the SQLite log
        self.history = []  # (batch_counter, validation accuracy, validation loss)
        self.stopped_by = None
        self._last_checkpoint = time.monotonic()
        self._window = [0.0, 0, 0]

    # ------------------------------------------------------------- state
    @property
    def epoch(self):
        """Epochs completed so far (an epoch whose last batch is trained counts as completed)."""
        return self.batcher.epoch_number + (1 if self.batcher.position >= self.batcher.n_items else 0)

    @property
    def batches_per_epoch(self):
        return len(self.batcher)

    def state(self):
        """What a checkpoint needs besides parameters and optimiser state to resume exactly."""
        dropout = getattr(self.model, "dropout", None)
        return {
            "batch_counter": self.batch_counter,
            "epoch": self.epoch,
            "batcher_state": self.batcher.state(),
            "rng_state": {
                "augment": self.augment_rng.bit_generator.state,
                "dropout": dropout.rng.bit_generator.state if dropout is not None else None,
            },
            "train_seconds": self.train_seconds,
        }

    def load_state(self, state):
        """Continue from a state() dict (a checkpoint holds its entries at top level)."""
        self.batch_counter = int(state["batch_counter"])
        self.batcher.set_state(state["batcher_state"])
        self.augment_rng.bit_generator.state = state["rng_state"]["augment"]
        dropout = getattr(self.model, "dropout", None)
        if dropout is not None and state["rng_state"].get("dropout") is not None:
            dropout.rng.bit_generator.state = state["rng_state"]["dropout"]
        self.train_seconds = float(state.get("train_seconds", 0.0))

    # ------------------------------------------------------------- schedule
    def total_batches(self):
        total = self.settings.epochs * self.batches_per_epoch
        if self.settings.max_batches is not None:
            total = min(total, self.settings.max_batches)
        return total

    def learning_rate(self, run_seconds):
        """The learning rate for the next batch under the configured schedule."""
        if self.settings.lr_schedule == "constant":
            return self.base_lr
        progress = self.batch_counter / max(1, self.total_batches())
        if self.settings.max_seconds:
            progress = max(progress, run_seconds / self.settings.max_seconds)
        return self.base_lr * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    def decay_factor(self):
        """The weight-decay factor for the next batch: FACTOR, ramped linearly from 0 over the warm-up."""
        warmup_batches = self.settings.weight_decay_warmup * self.batches_per_epoch
        if warmup_batches <= 0:
            return self.settings.weight_decay
        return self.settings.weight_decay * min(1.0, self.batch_counter / warmup_batches)

    # ------------------------------------------------------------- the loop
    def run(self):
        """Train until the epochs, max_batches or max_seconds run out or a stop is requested.

        Returns why it stopped: 'done', 'time', or the signal's name.  The state is
        checkpointed every `checkpoint_every` seconds and whenever the run stops.
        """
        self.model.train()
        self._last_checkpoint = time.monotonic()
        self._window = [0.0, 0, 0]  # loss sum, correct, images since the progress bar was last updated
        bar = tqdm(total=self.total_batches(), initial=self.batch_counter, unit="batch",
                   disable=not self.settings.progress, dynamic_ncols=True, leave=False)
        try:
            while self.epoch < self.settings.epochs and self.batch_counter < self.total_batches():
                for indices in self.batcher.epoch():
                    self.timed_batch(indices)
                    self.show_progress(bar)
                    reason = self.after_batch()
                    if reason:
                        return reason
        finally:
            bar.close()
            if self.log is not None:
                self.timed_flush()
        self.stopped_by = "done"
        if self.checkpoint is not None:
            self.checkpoint(self)
        return "done"

    def timed_batch(self, indices):
        started = time.perf_counter()
        loss, correct = self.train_batch(indices, self.learning_rate(self.run_seconds))
        elapsed = time.perf_counter() - started
        self.run_seconds += elapsed
        self.train_seconds += elapsed
        self._window[0] += loss * len(indices)
        self._window[1] += correct
        self._window[2] += len(indices)

    def show_progress(self, bar):
        bar.update(1)
        if self.batch_counter % 25 == 0 or self.batch_counter == self.total_batches():
            loss_sum, correct, images = self._window
            bar.set_postfix_str(f"epoch {self.batcher.epoch_number} loss {loss_sum / images:.4f} "
                                f"acc {100.0 * correct / images:.1f}%", refresh=False)
            self._window = [0.0, 0, 0]

    def after_batch(self):
        """Validate and checkpoint when due; returns the stop reason, if any."""
        if self.validation is not None and self.batch_counter % self.settings.validate_every == 0:
            self.validate()
        reason = self.stop_reason()
        if reason:
            self.stopped_by = reason
        due = time.monotonic() - self._last_checkpoint > self.settings.checkpoint_every
        if self.checkpoint is not None and (reason or due):
            self.checkpoint(self)
            self._last_checkpoint = time.monotonic()
        return reason

    def stop_reason(self):
        if self.stop_flag:
            return self.stop_flag.requested
        if self.settings.max_seconds is not None and self.run_seconds >= self.settings.max_seconds:
            return "time"
        if self.batch_counter >= self.total_batches():
            return "done"
        return None

    def train_batch(self, indices, lr):
        """One optimiser step on the images at `indices`; returns (mean data loss, number correct)."""
        graph, settings = self.graph, self.settings
        if self.normalized is not None:
            graph.images.assign(self.normalized[indices])
        else:
            images = self.train_images[indices]
            if settings.distort:
                images = distort(images, self.augment_rng, settings.distort)
            if settings.augment:
                images = augment(images, self.augment_rng)
            graph.images.assign(normalize(images, settings.normalization["mean"], settings.normalization["std"]))
        labels = self.train_labels[indices]
        graph.labels.assign(labels)
        if graph.decay_factor is not None:
            graph.decay_factor.assign(self.decay_factor())
        self.optimizer.lr = lr
        self.optimizer.zero_grad()
        graph.loss.backward()
        # Read results before step(): updating the parameters invalidates the cached values.
        loss = graph.data_loss.item()
        correct = int(np.count_nonzero(graph.logits.value.argmax(axis=1) == labels))
        if self.log is not None:
            started = time.perf_counter()
            self.log_batch(loss, correct, len(indices), lr)
            self.log_seconds += time.perf_counter() - started
        self.optimizer.step()
        self.batch_counter += 1
        self.images_trained += len(indices)
        return loss, correct

    # ------------------------------------------------------------- logging
    def momentum_value(self):
        return getattr(self.optimizer, "momentum", getattr(self.optimizer, "beta1", 0.0))

    def log_batch(self, loss, correct, n_images, lr):
        self.log.log_training(self.batch_counter, self.batcher.epoch_number, 100.0 * correct / n_images, loss, n_images, lr,
                              self.momentum_value())
        if should_log_parameters(self.batch_counter):
            self.log.log_parameters(self.batch_counter, self.model.named_parameters())

    def timed_flush(self):
        started = time.perf_counter()
        self.log.flush()
        elapsed = time.perf_counter() - started
        self.train_seconds += elapsed
        self.run_seconds += elapsed
        self.log_seconds += elapsed

    def validate(self):
        """Evaluate on the validation images, print one line, log it; returns the Evaluation."""
        images, labels = self.validation
        if self.settings.augment_validation:
            images = augment(images, self.validation_rng)
        result = self.evaluator.evaluate(images, labels)
        self.history.append((self.batch_counter, result.accuracy, result.loss))
        self.write(f"validation after batch {self.batch_counter} (epoch {self.batcher.epoch_number}): "
                   f"{result.accuracy:.2f}% correct, top-2 {result.top2_accuracy:.2f}%, loss {result.loss:.4f}, "
                   f"lr {self.optimizer.lr:.3g}")
        if self.log is not None:
            self.log.log_validation(self.batch_counter, self.batcher.epoch_number, result.accuracy, result.loss, len(labels),
                                    self.optimizer.lr, self.momentum_value())
            self.timed_flush()
        self.model.train()
        return result
