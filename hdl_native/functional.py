"""The function forms of the graph ops: ``F.relu(x)`` is ``x.relu()``, ``F.add(a, b)`` is ``a + b``.

The elementwise ops, reductions and shaping ops are Tensor methods and
operators (tensor.py); the layer ops and losses, which take several named
inputs, are built here.  Every function returns a new Tensor node; nothing is
computed until a value is asked for.
"""
import operator

import numpy as np

from . import ops
from .tensor import Tensor

add, sub, mul, div, neg, matmul = operator.add, operator.sub, operator.mul, operator.truediv, operator.neg, operator.matmul
square, exp, log = Tensor.square, Tensor.exp, Tensor.log
relu, gelu, sigmoid, tanh, log_softmax = Tensor.relu, Tensor.gelu, Tensor.sigmoid, Tensor.tanh, Tensor.log_softmax
sum, mean = Tensor.sum, Tensor.mean  # noqa: A001 - mirrors numpy's names
flatten, transpose = Tensor.flatten, Tensor.transpose


def power(x, exponent):
    """x ** exponent for a constant exponent."""
    return x ** exponent


def reshape(x, shape):
    return x.reshape(shape)


def cross_entropy(logits, labels):
    """Mean cross-entropy of raw logits (N, F) against integer labels (N,)."""
    return ops.CrossEntropy.apply(logits, labels)


def nll_loss(log_probs, labels):
    """Mean negative log-likelihood of log-probabilities (N, F) at integer labels (N,)."""
    return ops.NLLLoss.apply(log_probs, labels)


def linear(x, weight, bias=None):
    """x @ weight.T + bias.  x: (N, F), weight: (G, F), bias: (G,) or None -> (N, G)."""
    return ops.Linear.apply(x, weight, *([bias] if bias is not None else []))


def conv2d(x, weight, bias=None):
    """Valid convolution, stride 1.  x: (N, C_in, H, W), weight: (C_out, C_in, K, K) -> (N, C_out, H-K+1, W-K+1)."""
    return ops.Conv2d.apply(x, weight, *([bias] if bias is not None else []))


def max_pool2d(x, kernel_size):
    """k x k max-pool, stride k, ceil mode.  (N, C, H, W) -> (N, C, ceil(H/k), ceil(W/k))."""
    return ops.MaxPool2d.apply(x, kernel_size=kernel_size)


def dropout(x, p, rng=None, training=True):
    """Dropout with probability p.  `training`: a bool, or a 0-d leaf Tensor to switch it later (nn.Dropout)."""
    flag = training if isinstance(training, Tensor) else Tensor(np.float32(bool(training)))
    return ops.Dropout.apply(x, flag, p=p, rng=rng if rng is not None else np.random.default_rng())
