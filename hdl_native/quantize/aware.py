"""Quantisation-aware fine-tuning: a short training run in which the model computes with its quantised weights.

Quantising a trained model after the fact moves every weight to its bin; a network whose layers are sensitive
to that can lose much (the shipped letters reader lost 11 points on its held-out images at 4 bits
equal-population, 10.9 of them from its second convolution).  Here the model keeps a float32 copy of its weights
and trains for a few hundred batches on its own training images, with each forward and backward pass run on the
quantised copy (scheme.dequantize(scheme.quantize(w))).  The gradient so found updates the float32 weights as if
it were theirs (the straight-through estimator), so they move to where their quantised values serve best; the
bins are recomputed from them after every step.  The state then written is the ordinary quantisation of the
tuned weights: for equal-population, 2^bits bins of equal population per tensor, each read back as its mean,
exactly as without fine-tuning.  Biases, which stay float32, train as usual.

Adam with a cosine-decayed step (default DEFAULT_LR, a third of the letters trainer's) over the images the
state's run trained on: its --holdout images stay out, so they can measure the result, and its distortion and
--touching and --lead-in shares apply as in training.
"""
import math
import time

from ..weights import named_weights

DEFAULT_LR = 3e-4  # Adam's step at the start; held-out images of the shipped reader chose it (BENCHMARKS.md)
BATCH_SIZE = 64  # images per fine-tuning batch, as the letters trainer's default


def round_trip(scheme, weight, bits, per_channel):
    """The float32 values `weight` is read back as after quantisation by `scheme` (a schemes.SCHEMES entry)."""
    return scheme.dequantize(scheme.quantize(weight, bits, per_channel), bits, per_channel)


class QuantizedCopy:
    """A model's weights held twice: float32 `tuned` values that learn, and the quantised ones the model computes
    with (written into its parameters).  Biases are left alone."""

    def __init__(self, model, scheme, bits, per_channel):
        self.scheme, self.bits, self.per_channel = scheme, bits, per_channel
        self.params = dict(named_weights(model))
        self.tuned = {name: p.value.copy() for name, p in self.params.items()}
        self.compute_with_quantized()

    def compute_with_quantized(self):
        """Write the quantised values of the tuned weights into the model."""
        for name, parameter in self.params.items():
            parameter.data[...] = round_trip(self.scheme, self.tuned[name], self.bits, self.per_channel)

    def step(self, optimizer):
        """Apply the gradient found at the quantised values to the tuned weights, then quantise again."""
        for name, parameter in self.params.items():
            parameter.data[...] = self.tuned[name]
        optimizer.step()
        for name, parameter in self.params.items():
            self.tuned[name] = parameter.value.copy()
        self.compute_with_quantized()


def finetune_quantized(model, feed, batcher, n_batches, lr, scheme, bits, per_channel, stop=None, progress=False):
    """Train `model` for `n_batches` through its quantised weights; returns the batches done.

    feed: training.feed.TrainingFeed (images as the run trained on them).  batcher: data.Batcher over the feed.
    stop: optional object that becomes truthy to stop after the current batch.  On return the model's weights are
    the quantised values of the tuned weights (so evaluating it measures what the quantised state will hold).
    Raises training.divergence.Diverged when the loss or a gradient is not finite (the weights then hold the
    previous batch's quantised values).
    """
    from tqdm import tqdm

    from ..optim import Adam
    from ..training.divergence import check_gradients, check_loss
    from ..training.loop import TrainingGraph

    graph = TrainingGraph(model)
    optimizer = Adam(model, lr=lr)
    copy = QuantizedCopy(model, scheme, bits, per_channel)
    model.train()
    done, started, batches = 0, time.monotonic(), _endless(batcher)
    bar = tqdm(total=n_batches, unit="batch", disable=not progress, dynamic_ncols=True, leave=False)
    try:
        while done < n_batches and not stop:
            images, labels = feed.batch(next(batches))
            graph.images.assign(images)
            graph.labels.assign(labels)
            optimizer.zero_grad()
            loss = float(graph.data_loss.value)
            check_loss(loss, done + 1)
            graph.loss.backward()
            check_gradients(optimizer, done + 1)
            optimizer.lr = cosine_step(lr, done, n_batches)
            copy.step(optimizer)
            done += 1
            bar.update(1)
            if done % 25 == 0:
                bar.set_postfix_str(f"loss {loss:.4f}", refresh=False)
    finally:
        bar.close()
        model.eval()
    return done, time.monotonic() - started


def cosine_step(lr, done, total):
    """Adam's step for batch `done` (0-based) of `total`: lr decayed to 0 along half a cosine."""
    return lr * 0.5 * (1.0 + math.cos(math.pi * done / total))


def _endless(batcher):
    """Index arrays from `batcher`, epoch after epoch."""
    while True:
        yield from batcher.epoch()

