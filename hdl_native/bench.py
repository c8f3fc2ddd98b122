"""Timing of training steps and of inference: the logic behind ``hdl-native bench`` and the benchmarks.

A training step is what a training loop does per batch: feed the batch, clear
the gradients, forward, backward and one Adam update.  An inference step feeds
a batch and computes the logits, in float32 on the graph or in int8 on the
int8 kernels.  The graph is built once and fed a few pre-made random batches
in turn, so the timing measures the engine, not data loading.
"""
import resource
import sys
import time

import numpy as np

from . import functional as F
from .models import CHAR_MODELS, LETTER_MODELS, MODELS, CharRNN
from .optim import Adam
from .tensor import Tensor

IMAGE_SHAPE = (1, 28, 28)
VOCAB_SIZE = 95  # printable ASCII, the tutorial's symbols
N_RANDOM_BATCHES = 4


class FedStep:
    """What a benchmarked training step does per batch: feed its placeholders the next of a few
    pre-made batches, clear the gradients, forward and backward, one Adam update.

    Subclasses set ``placeholders`` (a tuple), ``batches`` (tuples of arrays in the same order),
    ``loss`` and ``optimizer``.
    """

    step_count = 0

    def step(self):
        """Run one training step on the next random batch; returns nothing (no sync to Python floats)."""
        batch = self.batches[self.step_count % len(self.batches)]
        self.step_count += 1
        for placeholder, array in zip(self.placeholders, batch):
            placeholder.assign(array)
        self.optimizer.zero_grad()
        self.loss.backward()
        self.optimizer.step()

    def loss_value(self):
        return self.loss.item()


class TrainingStep(FedStep):
    """One model's training graph, built once: ``step()`` runs feed, forward, backward, Adam.

    images: (batch_size, 1, 28, 28) float32 random normal; labels: (batch_size,) int64.
    The loss is the fused log-softmax + mean NLL over the model's logits,
    which equals ``nll_loss(model(x), labels)``.
    """

    def __init__(self, model_name, batch_size, seed=0, lr=1e-3):
        if model_name not in MODELS:
            raise ValueError(f"unknown model {model_name!r}; choose one of {', '.join(MODELS)}")
        if batch_size < 1:
            raise ValueError(f"batch size must be >= 1, got {batch_size}")
        self.model_name, self.batch_size = model_name, int(batch_size)
        self.model = MODELS[model_name](seed=seed)
        self.images = Tensor.placeholder((None,) + IMAGE_SHAPE, name="images")
        self.labels = Tensor.placeholder((None,), dtype=np.int64, name="labels")
        self.loss = F.cross_entropy(self.model.logits(self.images), self.labels)
        self.optimizer = Adam(self.model, lr=lr)
        self.batches = random_batches(batch_size, self.model.n_classes, seed)
        self.placeholders = (self.images, self.labels)


class InferenceStep:
    """One model's inference, built once: ``step()`` computes the logits (batch_size, classes) of the next batch.

    dtype float32: the model's graph on the current kernels.  dtype int8 (the letter readers,
    LETTER_MODELS): the model quantised by hdl_native.int8, calibrated on the same random batches.
    """

    DTYPES = ("float32", "int8")

    def __init__(self, model_name, batch_size, dtype="float32", seed=0):
        if model_name not in MODELS:
            raise ValueError(f"unknown model {model_name!r}; choose one of {', '.join(MODELS)}")
        if dtype not in self.DTYPES:
            raise ValueError(f"unknown dtype {dtype!r}; choose one of {', '.join(self.DTYPES)}")
        if dtype == "int8" and model_name not in LETTER_MODELS:
            raise ValueError(f"int8 inference exists for the letter readers ({', '.join(LETTER_MODELS)}) only")
        if batch_size < 1:
            raise ValueError(f"batch size must be >= 1, got {batch_size}")
        self.model_name, self.batch_size, self.dtype = model_name, int(batch_size), dtype
        model = MODELS[model_name](seed=seed)
        self.batches = [images for images, _ in random_batches(batch_size, model.n_classes, seed)]
        self.step_count = 0
        if dtype == "int8":
            from .int8 import Int8Classifier

            self.network = Int8Classifier.from_float(model, np.concatenate(self.batches))
        else:
            self.images = Tensor.placeholder((None,) + IMAGE_SHAPE, name="images")
            self.output = model.logits(self.images)

    def step(self):
        """Logits of the next random batch."""
        images = self.batches[self.step_count % len(self.batches)]
        self.step_count += 1
        if self.dtype == "int8":
            return self.network.logits(images)
        self.images.assign(images)
        return self.output.value


def random_batches(batch_size, n_classes, seed, count=N_RANDOM_BATCHES):
    """`count` (images float32 (B, 1, 28, 28), labels int64 (B,)) pairs of random data."""
    rng = np.random.default_rng(seed + 12345)
    return [(rng.standard_normal((batch_size,) + IMAGE_SHAPE, dtype=np.float32),
             rng.integers(0, n_classes, batch_size).astype(np.int64)) for _ in range(count)]


class CharTrainingStep(FedStep):
    """A character model's training graph (CHAR_MODELS: 3-layer GRU 256 or 2-layer LSTM 256), built once.

    indices and targets: (batch_size, seq_len) int64 random characters; the loss is the mean
    cross-entropy over all batch_size * seq_len positions; Adam.  ``step()`` as TrainingStep's.
    """

    def __init__(self, model_name, batch_size, seq_len=100, hidden_size=256, seed=0, lr=1e-3):
        if model_name not in CHAR_MODELS:
            raise ValueError(f"unknown model {model_name!r}; choose one of {', '.join(CHAR_MODELS)}")
        if min(batch_size, seq_len) < 1:
            raise ValueError(f"batch size and sequence length must be >= 1, got {batch_size} and {seq_len}")
        cell, num_layers = CHAR_MODELS[model_name]
        self.model_name, self.batch_size, self.seq_len = model_name, int(batch_size), int(seq_len)
        self.model = CharRNN(cell, VOCAB_SIZE, hidden_size, num_layers, seed=seed)
        self.indices = Tensor.placeholder((batch_size, seq_len), dtype=np.int64, name="characters")
        self.targets = Tensor.placeholder((batch_size * seq_len,), dtype=np.int64, name="next_characters")
        logits, _ = self.model(self.indices)
        self.loss = F.cross_entropy(logits, self.targets)
        self.optimizer = Adam(self.model, lr=lr)
        rng = np.random.default_rng(seed + 12345)
        self.batches = [(rng.integers(0, VOCAB_SIZE, (batch_size, seq_len)),
                         rng.integers(0, VOCAB_SIZE, batch_size * seq_len)) for _ in range(N_RANDOM_BATCHES)]
        self.placeholders = (self.indices, self.targets)


def time_steps(step, steps, warmup=0, progress=None):
    """Call `step()` `warmup` times untimed, then `steps` times timed.

    progress: optional callable(1) after each step, warm-up too (a bar's update, so that a thousand steps are not
    silent); it is called outside the timed span, so it costs the figures nothing.
    Returns the list of per-step wall-clock seconds (perf_counter).
    """
    for _ in range(warmup):
        step()
        if progress is not None:
            progress(1)
    times = []
    clock = time.perf_counter
    for _ in range(steps):
        start = clock()
        step()
        times.append(clock() - start)
        if progress is not None:
            progress(1)
    return times


def summarize(times, batch_size, unit="images"):
    """<unit>/s (batch_size of them per step) and ms per step from the total time, and again from
    the median step and from the fastest step (less and least swayed by other processes on a busy machine)."""
    total, median, fastest = float(sum(times)), float(np.median(times)), float(min(times))

    def rate(seconds, n_steps=1):
        return n_steps * batch_size / seconds if seconds > 0 else float("inf")

    return {
        f"{unit}_per_s": rate(total, len(times)),
        "ms_per_step": 1000.0 * total / len(times),
        f"{unit}_per_s_median": rate(median),
        "ms_per_step_median": 1000.0 * median,
        f"{unit}_per_s_best": rate(fastest),
        "ms_per_step_min": 1000.0 * fastest,
    }


def peak_rss_mb():
    """Peak resident memory of this process so far, in MB.

    Linux: VmHWM from /proc/self/status.  getrusage's ru_maxrss survives
    exec, so a process started from a big parent (a benchmark runner that
    imported torch) would report the parent's peak; VmHWM belongs to the
    new address space.  Elsewhere: ru_maxrss.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0  # kB
    except OSError:
        pass
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports kilobytes, macOS bytes.
    return maxrss / (1024.0 * 1024.0) if sys.platform == "darwin" else maxrss / 1024.0
