"""The letter readers (LettersCNN, LettersVGG) in int8: built from the float network and a calibration batch,
run on pyx/int8.pyx.

Every layer is a convolution (a linear layer is one whose kernel covers its whole input), optionally
max-pooled, then a GELU, except the last.  The LettersCNN, for example (NHWC codes; Hp, Wp after the
ceil-mode pool):
  input (N, 28, 28, 1) -> c1 3x3 + pool 2 + GELU -> (13, 13, 32) -> c2 + pool + GELU -> (6, 6, 64)
  -> c3 + pool + GELU -> (2, 2, 128) -> fc1 (a 2x2 conv) + GELU -> (1, 1, 64) -> fc2 (1x1) + GELU
  -> (1, 1, 128) -> fc3 (1x1) -> logits (N, n_classes) float32.
Weights: int8 per output channel, scale max|w| / 127.  Activations: uint8 codes on a grid per
quantisation point (the network's input, and each hidden layer's output before and after its
GELU), spanning the range the float network reaches on the calibration images.  The GELU is a
256-entry table from the pre-activation grid to the next layer's input grid, exact per code.
"""
import math

import numpy as np

from .. import functional as F
from ..models import reads_capitals_apart
from ..ops.reductions import log_sum_exp_by_group
from ..tensor import Tensor
from ..threads import get_num_threads
from . import kernels
from .codes import ActivationCodes, activation_table, gelu, requantization
from .layers import Int8Conv, quantize_weight

CONV_POOL = 2
N_RANGE_IMAGES = 512  # the images a calibration sample holds


class Int8Classifier:
    """An int8 letter reader: images (N, 1, 28, 28) float32, normalised as for the float model -> logits."""

    def __init__(self, input_codes, layers, n_classes, output_groups=None):
        self.input_codes, self.layers, self.n_classes = input_codes, list(layers), n_classes
        # a reader of the capitals apart (models.LettersVGGCases): the class each logit is read as
        self.output_groups = output_groups

    @classmethod
    def from_float(cls, model, calibration_images=None, ranges=None):
        """Quantise `model` (a LettersCNN or LettersVGG) with activation grids spanning what it reaches on
        calibration_images (n, 1, 28, 28) float32, or on the images `ranges` was measured on
        (activation_ranges: what a calibrated state stores, so that int8 reading needs no data)."""
        model = without_batch_norm(model)  # once, not in each of the layer_plan calls below
        if ranges is None:
            ranges = activation_ranges(model, calibration_images)
        check_ranges(ranges, model)
        grids = [ActivationCodes.spanning(*ranges["input"])]
        grids += [ActivationCodes.spanning(post_low, post_high) for _, _, post_low, post_high in ranges["hidden"]]
        layers, in_channels = [], 1
        for index, (linear_or_conv, pool) in enumerate(layer_plan(model)):
            weight = as_conv_weight(linear_or_conv.weight.value, in_channels)
            packed, codes, scales = quantize_weight(weight)
            bias = linear_or_conv.bias.value
            if index < len(ranges["hidden"]):
                pre_grid = ActivationCodes.spanning(*ranges["hidden"][index][:2])
                multiplier, offset = requantization(grids[index], codes, scales, bias, pre_grid)
                table = activation_table(gelu, pre_grid, grids[index + 1])
            else:  # the logits: real values, no table
                multiplier, offset = requantization(grids[index], codes, scales, bias)
                table = np.arange(256, dtype=np.uint8)
            layers.append(Int8Conv(packed, multiplier, offset, table, in_channels, weight.shape[2], pool))
            in_channels = weight.shape[0]
        groups = model.output_groups() if reads_capitals_apart(model) else None
        return cls(grids[0], layers, model.n_classes, groups)

    def logits(self, images, n_threads=None):
        """images (N, 1, 28, 28) float32 -> logits (N, n_classes) float32 (a reader of the capitals apart:
        (N, n_classes + 26), as models.LettersVGGCases.logits)."""
        n_threads = n_threads or get_num_threads()
        images = np.asarray(images, np.float32)
        if images.ndim != 4 or images.shape[1:] != (1, 28, 28):
            raise ValueError(f"images must be (N, 1, 28, 28), got {images.shape}")
        # (N, 1, 28, 28) and (N, 28, 28, 1) are the same bytes: one channel
        return kernels.network(images.reshape(-1, 28, 28, 1), self.input_codes, self.layers, n_threads)

    def __call__(self, images, n_threads=None):
        """Log-probabilities (N, n_classes) float32, as the float model's forward."""
        logits = self.logits(images, n_threads).astype(np.float64)
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        if self.output_groups is not None:
            log_probs = log_sum_exp_by_group(log_probs, self.output_groups)
        return log_probs.astype(np.float32)


def layer_plan(model):
    """[(layer, pool size)] in order; every layer but the last is followed by a GELU.  A reader trained with
    batch normalisation runs as the LettersVGG it folds into (models.LettersVGGBN.folded)."""
    from ..models import LettersCNN, LettersVGG

    model = without_batch_norm(model)
    if isinstance(model, LettersCNN):
        return [(model.c1, CONV_POOL), (model.c2, CONV_POOL), (model.c3, CONV_POOL),
                (model.fc1, 1), (model.fc2, 1), (model.fc3, 1)]
    if isinstance(model, LettersVGG):
        return [(model.c1, 1), (model.c2, CONV_POOL), (model.c3, 1), (model.c4, CONV_POOL),
                (model.fc1, 1), (model.fc2, 1)]
    raise TypeError(f"int8 runs the letter readers (LettersCNN, LettersVGG, LettersVGGBN), "
                    f"not a {type(model).__name__}")


def without_batch_norm(model):
    """A LettersVGGBN as the LettersVGG its batch normalisation folds into; any other model as is."""
    from ..models import LettersVGGBN

    return model.folded() if isinstance(model, LettersVGGBN) else model


def as_conv_weight(weight, in_channels):
    """A conv weight (O, C, k, k) as is; a linear one (O, C*k*k), reading a flattened (C, k, k) input, reshaped."""
    if weight.ndim == 4:
        return weight
    side = math.isqrt(weight.shape[1] // in_channels)
    return weight.reshape(weight.shape[0], in_channels, side, side)


def activation_ranges(model, images):
    """What the int8 grids span: {"input": [low, high], "hidden": [[pre low, pre high, post low, post high], ...]}
    of the float network on images (n, 1, 28, 28) float32, one row per hidden layer (before and after its GELU).
    Plain floats, so a state file can store them (`hdl-native calibrate` does)."""
    images = np.ascontiguousarray(images, np.float32)
    if images.ndim != 4 or images.shape[1:] != (1, 28, 28) or len(images) == 0:
        raise ValueError(f"calibration images must be (n >= 1, 1, 28, 28), got {images.shape}")
    pre, post = float_activations(model, images)
    return {"input": [float(images.min()), float(images.max())],
            "hidden": [[float(a.min()), float(a.max()), float(b.min()), float(b.max())] for a, b in zip(pre, post)]}


def calibration_sample(images, mean, std):
    """(m, 1, 28, 28) float32: a fixed random N_RANGE_IMAGES of `images` (uint8 (n, 28, 28)), all when fewer,
    in their order, normalised with `mean` and `std`."""
    from ..ocr.crops import normalize

    chosen = np.random.default_rng(0).choice(len(images), min(N_RANGE_IMAGES, len(images)), replace=False)
    return normalize(images[np.sort(chosen)], mean, std)


def state_ranges(model, normalization, images):
    """activation_ranges of a letter reader on the calibration_sample of `images` (uint8 (n, 28, 28)), normalised
    as its state says ({"mean", "std"}, None: MNIST's), for the state's "int8_ranges" entry; None for a model
    the int8 kernels do not run.  `calibrate` and the fine-tune store it."""
    from ..data.augment import MNIST_MEAN, MNIST_STD
    from ..models import LettersCNN, LettersVGG

    if not isinstance(model, (LettersCNN, LettersVGG)) or len(images) == 0:  # LettersVGGBN is a LettersVGG
        return None
    normalization = normalization or {"mean": MNIST_MEAN, "std": MNIST_STD}
    return activation_ranges(model, calibration_sample(images, normalization["mean"], normalization["std"]))


def check_ranges(ranges, model):
    """ValueError unless `ranges` has activation_ranges' form for `model`: finite lows <= highs, a row per layer."""
    n_hidden = len(layer_plan(model)) - 1
    try:
        rows = [list(ranges["input"])] + [list(row) for row in ranges["hidden"]]
        ok = (len(rows[0]) == 2 and len(rows) == n_hidden + 1 and all(len(row) == 4 for row in rows[1:])
              and all(math.isfinite(v) for row in rows for v in row)
              and all(row[i] <= row[i + 1] for row in rows for i in range(0, len(row), 2)))
    except (KeyError, TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"int8 ranges must be {{'input': [low, high], 'hidden': {n_hidden} rows of [pre low, "
                         f"pre high, post low, post high]}} with finite lows <= highs, got {str(ranges)[:200]}")


def float_activations(model, images):
    """The float network's hidden layers on `images`: (pre-GELU, post-GELU) lists of arrays, one per layer."""
    x = Tensor(images)
    pre, post = [], []
    for layer, pool in layer_plan(model)[:-1]:
        if layer.weight.value.ndim == 2 and len(x.shape) == 4:
            x = F.flatten(x)
        pre.append(F.max_pool2d(layer(x), pool) if pool > 1 else layer(x))
        post.append(F.gelu(pre[-1]))
        x = post[-1]
    return [np.array(t.value) for t in pre], [np.array(t.value) for t in post]
