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
from ..tensor import Tensor
from ..threads import get_num_threads
from . import kernels
from .codes import ActivationCodes, activation_table, gelu, requantization
from .layers import Int8Conv, quantize_weight

CONV_POOL = 2


class Int8Classifier:
    """An int8 letter reader: images (N, 1, 28, 28) float32, normalised as for the float model -> logits."""

    def __init__(self, input_codes, layers, n_classes):
        self.input_codes, self.layers, self.n_classes = input_codes, list(layers), n_classes

    @classmethod
    def from_float(cls, model, calibration_images):
        """Quantise `model` (a LettersCNN or LettersVGG); calibration_images (n, 1, 28, 28) float32 fix the activation grids."""
        images = np.ascontiguousarray(calibration_images, np.float32)
        pre, post = float_activations(model, images)
        grids = [ActivationCodes.spanning(images.min(), images.max())]
        grids += [ActivationCodes.spanning(a.min(), a.max()) for a in post]
        layers, in_channels = [], images.shape[1]
        for index, (linear_or_conv, pool) in enumerate(layer_plan(model)):
            weight = as_conv_weight(linear_or_conv.weight.value, in_channels)
            packed, codes, scales = quantize_weight(weight)
            bias = linear_or_conv.bias.value
            if index < len(pre):
                pre_grid = ActivationCodes.spanning(pre[index].min(), pre[index].max())
                multiplier, offset = requantization(grids[index], codes, scales, bias, pre_grid)
                table = activation_table(gelu, pre_grid, grids[index + 1])
            else:  # the logits: real values, no table
                multiplier, offset = requantization(grids[index], codes, scales, bias)
                table = np.arange(256, dtype=np.uint8)
            layers.append(Int8Conv(packed, multiplier, offset, table, in_channels, weight.shape[2], pool))
            in_channels = weight.shape[0]
        return cls(grids[0], layers, model.n_classes)

    def logits(self, images, n_threads=None):
        """images (N, 1, 28, 28) float32 -> logits (N, n_classes) float32."""
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
        return (shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))).astype(np.float32)


def layer_plan(model):
    """[(layer, pool size)] in order; every layer but the last is followed by a GELU."""
    from ..models import LettersCNN, LettersVGG

    if isinstance(model, LettersCNN):
        return [(model.c1, CONV_POOL), (model.c2, CONV_POOL), (model.c3, CONV_POOL),
                (model.fc1, 1), (model.fc2, 1), (model.fc3, 1)]
    if isinstance(model, LettersVGG):
        return [(model.c1, 1), (model.c2, CONV_POOL), (model.c3, 1), (model.c4, CONV_POOL),
                (model.fc1, 1), (model.fc2, 1)]
    raise TypeError(f"int8 runs the letter readers (LettersCNN, LettersVGG), not a {type(model).__name__}")


def as_conv_weight(weight, in_channels):
    """A conv weight (O, C, k, k) as is; a linear one (O, C*k*k), reading a flattened (C, k, k) input, reshaped."""
    if weight.ndim == 4:
        return weight
    side = math.isqrt(weight.shape[1] // in_channels)
    return weight.reshape(weight.shape[0], in_channels, side, side)


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
