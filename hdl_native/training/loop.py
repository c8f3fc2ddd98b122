"""The training loop shared by the digits MLP and the letters CNN.

The graph is built once: placeholders for a batch of normalised images
(N, 1, 28, 28) and their labels (N,), the model's logits, the mean
cross-entropy, plus ``l2 * sum of squared weights`` when asked for (the
tutorial's penalty; the factor is an input of the graph, so it can be ramped
up over a warm-up).  Decoupled weight decay is the optimiser's business.  Each
batch only assigns the placeholders, runs backward and steps the optimiser, so
the per-batch Python work stays small.  The RunConfig says how:
``feed.TrainingFeed`` makes the batches, ``schedule.Schedule`` gives each
batch its learning rate and --l2 factor and says when the plan is done.

Everything needed to continue exactly where a run stopped (batch counter,
epoch and position in it (the batcher's state),
the augmentation and dropout RNG states, the weights' moving average when
--ema-decay keeps one) is in ``Trainer.state()``; with the parameters and
the optimiser state it makes a resumable checkpoint.
"""
import time
from contextlib import nullcontext

import numpy as np
from tqdm import tqdm

from .. import functional as F
from ..data import Batcher, augment
from ..data.cases import UNKNOWN
from ..models import reads_capitals_apart
from ..tensor import Tensor
from ..weights import named_weights
from .cases import allowed_columns, read_classes
from .divergence import check_gradients, check_loss
from .evaluate import Evaluator
from .feed import TrainingFeed
from .mixup import mix_batch
from .schedule import Schedule
from .sqlite_log import Progress, should_log_parameters
from .weight_average import STATE_KEY as WEIGHT_AVERAGE, WeightAverage


class TrainingGraph:
    """Placeholders, logits, data loss and total loss of `model`, built once."""

    def __init__(self, model, l2=0.0, label_smoothing=0.0, mixup=False):
        self.images = Tensor.placeholder((None, 1, 28, 28), name="images")
        self.labels = Tensor.placeholder((None,), dtype=np.int64, name="labels")
        self.logits = model.logits(self.images)
        self.allowed = None  # a reader of the capitals apart: (N, F) log-weights of the columns each label allows
        if reads_capitals_apart(model):
            self.allowed = Tensor.placeholder((None, self.logits.shape[1]), name="allowed")
            self.data_loss = F.cross_entropy_among(self.logits, self.allowed)
        else:
            self.data_loss = F.cross_entropy(self.logits, self.labels, label_smoothing=label_smoothing)
        self.mixed_labels = self.mix = None  # --mixup: labels_b and the () weight m
        if mixup:
            self.mixed_labels = Tensor.placeholder((None,), dtype=np.int64, name="mixed_labels")
            self.mix = Tensor.placeholder((), name="mix")
            other_loss = F.cross_entropy(self.logits, self.mixed_labels, label_smoothing=label_smoothing)
            self.data_loss = self.mix * self.data_loss + (1.0 - self.mix) * other_loss
        self.loss = self.data_loss
        self.l2_factor = None  # () placeholder holding the current --l2 factor
        if l2:
            self.l2_factor = Tensor.placeholder((), name="l2")
            self.l2_factor.assign(l2)
            squares = [F.sum(F.square(weight)) for weight in penalised_weights(model)]
            self.loss = self.loss + self.l2_factor * sum(squares[1:], squares[0])


def penalised_weights(model):
    """The parameters the --l2 penalty acts on: every weight matrix/filter bank, not the biases."""
    return [p for _, p in named_weights(model)]


class Trainer:
    """Trains `model` with `optimizer` as `config` (a RunConfig) says.

    train: (uint8 images (N, 28, 28), int labels (N,)).  validation: optional pair of the same kind,
    evaluated every `config.validate_every` batches.  log: optional SqliteLog.  weights: optional float64 (N,)
    probabilities of drawing each training image (a mixture's proportions; see data.Batcher).  parallel: a
    parallel.DataParallel when this process is one rank of several (MPI), else None.  distort_strengths, pair: as
    TrainingFeed takes them.
    """

    def __init__(self, model, optimizer, config, train, validation=None, log=None, weights=None, parallel=None,
                 distort_strengths=None, cases=None, pair=None):
        self.model, self.optimizer, self.config = model, optimizer, config
        self.validation, self.log, self.parallel = validation, log, parallel
        self.graph = TrainingGraph(model, config.l2, config.label_smoothing, bool(config.mixup))
        self.evaluator = Evaluator(model) if validation else None
        self.feed = TrainingFeed(*train, config, distort_strengths, pair)
        # int8 (N,) each training letter's case (-1 unknown), for a reader of the capitals apart (training/cases.py)
        self.cases = np.full(len(self.feed), UNKNOWN, np.int8) if cases is None else np.asarray(cases, np.int8)
        self.batcher = Batcher(len(self.feed), config.batch_size, config.seed, weights=weights)
        self.schedule = Schedule(config, len(self.batcher), optimizer.lr)
        self.validation_rng = np.random.default_rng([config.seed, 2])
        # --ema-decay: the weights' moving average, which validation, the test and --export use (weight_average.py)
        self.average = WeightAverage(model, config.ema_decay) if config.ema_decay else None
        self.batch_counter = 0
        self.train_seconds = 0.0    # all training time of this model, including runs it was resumed from
        self.run_seconds = 0.0      # training time of this run only
        self.images_trained = 0     # images trained on in this run
        self.log_seconds = 0.0      # part of run_seconds spent writing the SQLite log
        self.stopped_by = None
        self.last_validation = None  # {"batch", "accuracy", "top2_accuracy", "loss"} of the last validation
        self.checkpoint, self.stop_flag = None, None
        self._last_checkpoint = time.monotonic()
        self._window = [0.0, 0, 0]
        if parallel is not None:
            parallel.prepare(self)

    # ------------------------------------------------------------- state
    @property
    def epoch(self):
        """Epochs completed so far (an epoch whose last batch is trained counts as completed)."""
        return self.batcher.epoch_number + (1 if self.batcher.position >= self.batcher.n_items else 0)

    @property
    def batches_per_epoch(self):
        return len(self.batcher)

    def plan_done(self):
        """Whether the epochs or max_batches are already all trained (a resumed state may be past them)."""
        return self.epoch >= self.config.epochs or self.batch_counter >= self.schedule.total_batches()

    def state(self):
        """What a checkpoint needs besides parameters and optimiser state to resume exactly."""
        dropout = getattr(self.model, "dropout", None)
        return {
            "batch_counter": self.batch_counter,
            "epoch": self.epoch,
            "batcher_state": self.batcher.state(),
            "rng_state": {
                "augment": self.feed.rng.bit_generator.state,
                "dropout": dropout.rng.bit_generator.state if dropout is not None else None,
            },
            "train_seconds": self.train_seconds,
            **({WEIGHT_AVERAGE: self.average.state()} if self.average is not None else {}),
        }

    def load_state(self, state, path="<state>"):
        """Continue from a state() dict (a checkpoint holds its entries at top level) read from `path`."""
        self.batch_counter = int(state["batch_counter"])
        self.batcher.set_state(state["batcher_state"])
        self.feed.rng.bit_generator.state = state["rng_state"]["augment"]
        dropout = getattr(self.model, "dropout", None)
        if dropout is not None and state["rng_state"].get("dropout") is not None:
            dropout.rng.bit_generator.state = state["rng_state"]["dropout"]
        self.train_seconds = float(state.get("train_seconds", 0.0))
        if self.average is not None and WEIGHT_AVERAGE in state:  # else the average starts at the resumed weights
            self.average.load_state(state[WEIGHT_AVERAGE], path)
        if self.parallel is not None:
            self.parallel.after_resume(self)

    # ------------------------------------------------------------- the loop
    def run(self, checkpoint=None, stop_flag=None):
        """Train until the epochs, max_batches or max_seconds run out or a stop is requested.

        checkpoint: optional callable(trainer) that saves a state file; called every
        `checkpoint_every` seconds and whenever the run stops.  stop_flag: optional object that
        becomes truthy (with a `.requested` reason) to stop after the current batch.
        Returns why it stopped: 'done', 'time', or the signal's name; raises divergence.Diverged when
        the loss or a gradient stops being finite (the parameters then still hold the previous batch's).
        """
        self.checkpoint, self.stop_flag = checkpoint, stop_flag
        total_batches = self.schedule.total_batches()
        self.model.train()
        self._last_checkpoint = time.monotonic()
        self._window = [0.0, 0, 0]  # loss sum, correct, images since the progress bar was last updated
        bar = tqdm(total=total_batches, initial=self.batch_counter, unit="batch",
                   disable=not self.config.progress, dynamic_ncols=True, leave=False)
        try:
            while not self.plan_done():
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
        if self.checkpoint is not None and self.images_trained:  # nothing trained: its state file is left as it is
            self.checkpoint(self)
        return "done"

    def timed_batch(self, indices):
        started = time.perf_counter()
        loss, correct = self.train_batch(indices, self.schedule.learning_rate(self.batch_counter, self.run_seconds))
        elapsed = time.perf_counter() - started
        self.run_seconds += elapsed
        self.train_seconds += elapsed
        self._window[0] += loss * len(indices)
        self._window[1] += correct
        self._window[2] += len(indices)

    def show_progress(self, bar):
        bar.update(1)
        if self.batch_counter % 25 == 0 or self.batch_counter == self.schedule.total_batches():
            loss_sum, correct, images = self._window
            bar.set_postfix_str(f"epoch {self.batcher.epoch_number} loss {loss_sum / images:.4f} "
                                f"acc {100.0 * correct / images:.1f}%", refresh=False)
            self._window = [0.0, 0, 0]

    def after_batch(self):
        """Validate and checkpoint when due; returns the stop reason, if any."""
        if self.validation is not None and self.batch_counter % self.config.validate_every == 0:
            self.validate()
        reason = self.stop_reason()
        due = time.monotonic() - self._last_checkpoint > self.config.checkpoint_every
        if self.parallel is not None:
            reason, due = self.parallel.agree(reason, due)
        if reason:
            self.stopped_by = reason
        if self.checkpoint is not None and (reason or due):
            self.checkpoint(self)
            self._last_checkpoint = time.monotonic()
        return reason

    def stop_reason(self):
        if self.stop_flag:
            return self.stop_flag.requested
        if self.config.max_seconds is not None and self.run_seconds >= self.config.max_seconds:
            return "time"
        if self.batch_counter >= self.schedule.total_batches():
            return "done"
        return None

    def train_batch(self, indices, lr):
        """One optimiser step on the images at `indices`; returns (mean data loss, number correct).

        Raises divergence.Diverged, before stepping, when the loss or a gradient is not finite.
        """
        mine = indices if self.parallel is None else self.parallel.shard(indices)
        self.optimizer.lr = lr
        self.optimizer.zero_grad()
        loss, correct = self.forward_backward(mine) if len(mine) else (0.0, 0)
        if self.parallel is not None:
            loss, correct = self.parallel.combine(self.optimizer, loss, correct, len(mine), len(indices))
        check_loss(loss, self.batch_counter + 1)
        check_gradients(self.optimizer, self.batch_counter + 1)  # before step(): keep the parameters finite
        if self.log is not None:
            started = time.perf_counter()
            self.log_batch(loss, correct, len(indices))
            self.log_seconds += time.perf_counter() - started
        self.optimizer.step()
        if self.average is not None:
            self.average.update()
        self.batch_counter += 1
        self.images_trained += len(indices)
        return loss, correct

    def forward_backward(self, indices):
        """Gradients of the loss on the images at `indices`; returns (mean data loss, number correct)."""
        graph = self.graph
        images, labels = self.feed.batch(indices)
        if graph.mix is not None:  # --mixup; drawn from the feed's generator, which a checkpoint keeps
            images, mixed_labels, weight = mix_batch(images, labels, self.feed.rng, self.config.mixup)
            graph.mixed_labels.assign(mixed_labels)
            graph.mix.assign(weight)
        graph.images.assign(images)
        graph.labels.assign(labels)
        if graph.allowed is not None:
            graph.allowed.assign(allowed_columns(labels, self.cases[indices], self.model))
        if graph.l2_factor is not None:
            graph.l2_factor.assign(self.schedule.l2_factor(self.batch_counter))
        graph.loss.backward()
        # Read results before step(): updating the parameters invalidates the cached values.
        loss = graph.data_loss.item()
        return loss, int(np.count_nonzero(read_classes(graph.logits.value, self.model) == labels))

    # ------------------------------------------------------------- logging
    def progress(self, percent_correct, loss, n_images):
        """A Progress row for the log at the current batch, learning rate and momentum."""
        momentum = getattr(self.optimizer, "momentum", getattr(self.optimizer, "beta1", 0.0))
        return Progress(self.batch_counter, self.batcher.epoch_number, percent_correct, loss, n_images,
                        self.optimizer.lr, momentum)

    def log_batch(self, loss, correct, n_images):
        self.log.log_training(self.progress(100.0 * correct / n_images, loss, n_images))
        if should_log_parameters(self.batch_counter, self.schedule.total_batches()):
            self.log.log_parameters(self.batch_counter, self.model.named_parameters())

    def timed_flush(self):
        started = time.perf_counter()
        self.log.flush()
        elapsed = time.perf_counter() - started
        self.train_seconds += elapsed
        self.run_seconds += elapsed
        self.log_seconds += elapsed

    def weights_to_use(self):
        """A context in which the model holds the weights to validate, test and export: the moving average with
        --ema-decay, else the trained weights themselves."""
        return self.average.in_model() if self.average is not None else nullcontext()

    def validate(self):
        """Evaluate on the validation images (with weights_to_use()), print one line, log it; returns the
        Evaluation (None on ranks other than 0 of a data-parallel run, which only evaluate their part)."""
        images, labels = self.validation
        if self.config.augment_validation:
            images = augment(images, self.validation_rng)
        with self.weights_to_use():
            if self.parallel is None:
                result = self.evaluator.evaluate(images, labels)
            else:
                self.parallel.average_buffers(self.model)
                result = self.parallel.evaluate(self.evaluator, images, labels)
        if result is None:
            return None
        self.last_validation = {"batch": self.batch_counter, "accuracy": result.accuracy,
                                "top2_accuracy": result.top2_accuracy, "loss": result.loss}
        tqdm.write(f"validation after batch {self.batch_counter} (epoch {self.batcher.epoch_number}): "
                   f"{result.accuracy:.2f}% correct, top-2 {result.top2_accuracy:.2f}%, loss {result.loss:.4f}, "
                   f"lr {self.optimizer.lr:.3g}")
        if self.log is not None:
            self.log.log_validation(self.progress(result.accuracy, result.loss, len(labels)))
            self.timed_flush()
        self.model.train()
        return result
