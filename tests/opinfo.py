"""One record per op: how to call it, sample inputs, and a plain-numpy reference.

test_ops.py parametrises over OPS: forward against the reference in float32
and float64, and a central-difference gradient check in float64 for every
float input of every differentiable op.  References here are written
independently of hdl_native's kernels (direct loops for conv and pool).
"""
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np
from scipy.special import erf

from hdl_native import functional as F


@dataclass
class OpInfo:
    name: str
    fn: Callable                      # Tensors -> Tensor
    make_inputs: Callable             # rng -> list of numpy arrays (float64 or int)
    reference: Callable               # numpy arrays -> numpy array
    differentiable: bool = True
    check: Optional[list] = None      # input indices to gradcheck (default: all float inputs)
    tolerance: dict = field(default_factory=dict)


def away_from_zero(rng, shape, margin=0.1):
    """Values with |x| >= margin, so kinks (relu at 0) are never crossed by eps."""
    return rng.choice([-1.0, 1.0], size=shape) * (margin + rng.random(shape))


def positive(rng, shape):
    return 0.5 + rng.random(shape)


def normal(rng, *shape):
    return rng.standard_normal(shape)


def log_softmax_ref(x):
    shifted = x - x.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def conv2d_ref(x, w, b=None):
    n, c, h, wd = x.shape
    o, _, k, _ = w.shape
    out = np.zeros((n, o, h - k + 1, wd - k + 1))
    for i in range(h - k + 1):
        for j in range(wd - k + 1):
            patch = x[:, :, i:i + k, j:j + k].reshape(n, -1)
            out[:, :, i, j] = patch @ w.reshape(o, -1).T
    if b is not None:
        out += b[None, :, None, None]
    return out


def maxpool_ref(x, k):
    n, c, h, w = x.shape
    ho, wo = -(-h // k), -(-w // k)
    out = np.empty((n, c, ho, wo))
    for i in range(ho):
        for j in range(wo):
            out[:, :, i, j] = x[:, :, i * k:(i + 1) * k, j * k:(j + 1) * k].max(axis=(2, 3))
    return out


class FixedUniform:
    """An rng whose random() returns the same draws every call, so dropout's mask
    stays fixed while gradcheck re-evaluates the graph."""

    def __init__(self, seed):
        self.seed = seed

    def random(self, shape, dtype=np.float64):
        return np.random.default_rng(self.seed).random(shape).astype(dtype)


def dropout_ref(x):
    keep = FixedUniform(7).random(x.shape, dtype=np.float32) < 0.7
    return x * keep / 0.7


def labels(rng, n, classes):
    return rng.integers(0, classes, size=n).astype(np.int64)


OPS = [
    OpInfo("add", lambda a, b: a + b, lambda r: [normal(r, 3, 4), normal(r, 3, 4)], np.add),
    OpInfo("add_broadcast", lambda a, b: a + b, lambda r: [normal(r, 3, 4), normal(r, 4)], np.add),
    OpInfo("sub", lambda a, b: a - b, lambda r: [normal(r, 3, 4), normal(r, 3, 1)], np.subtract),
    OpInfo("neg", lambda a: -a, lambda r: [normal(r, 5)], np.negative),
    OpInfo("mul", lambda a, b: a * b, lambda r: [normal(r, 2, 3), normal(r, 2, 3)], np.multiply),
    OpInfo("mul_scalar_tensor", lambda a, b: a * b, lambda r: [normal(r), normal(r, 4)], np.multiply),
    OpInfo("div", lambda a, b: a / b, lambda r: [normal(r, 3, 4), positive(r, (3, 4))], np.divide),
    OpInfo("matmul", lambda a, b: a @ b, lambda r: [normal(r, 3, 5), normal(r, 5, 2)], np.matmul),
    OpInfo("sum_all", lambda a: F.sum(a), lambda r: [normal(r, 3, 4)], lambda a: a.sum()),
    OpInfo("sum_axis", lambda a: F.sum(a, axis=1), lambda r: [normal(r, 3, 4, 2)], lambda a: a.sum(axis=1)),
    OpInfo("sum_keepdims", lambda a: F.sum(a, axis=(0, 2), keepdims=True), lambda r: [normal(r, 3, 4, 2)],
           lambda a: a.sum(axis=(0, 2), keepdims=True)),
    OpInfo("mean_all", lambda a: F.mean(a), lambda r: [normal(r, 3, 4)], lambda a: a.mean()),
    OpInfo("mean_axis", lambda a: F.mean(a, axis=0), lambda r: [normal(r, 3, 4)], lambda a: a.mean(axis=0)),
    OpInfo("scalar_mul", lambda a: a * 2.5, lambda r: [normal(r, 4)], lambda a: a * 2.5),
    OpInfo("scalar_add", lambda a: 1.5 + a, lambda r: [normal(r, 4)], lambda a: a + 1.5),
    OpInfo("square", F.square, lambda r: [normal(r, 3, 3)], np.square),
    OpInfo("pow", lambda a: a ** 3, lambda r: [normal(r, 4)], lambda a: a ** 3),
    OpInfo("exp", F.exp, lambda r: [normal(r, 3, 3)], np.exp),
    OpInfo("log", F.log, lambda r: [positive(r, (3, 3))], np.log),
    OpInfo("relu", F.relu, lambda r: [away_from_zero(r, (4, 5))], lambda a: np.maximum(a, 0)),
    OpInfo("gelu", F.gelu, lambda r: [normal(r, 4, 5) * 2], lambda a: 0.5 * a * (1 + erf(a / np.sqrt(2)))),
    OpInfo("sigmoid", F.sigmoid, lambda r: [normal(r, 4, 5) * 3], lambda a: 1 / (1 + np.exp(-a))),
    OpInfo("tanh", F.tanh, lambda r: [normal(r, 4, 5)], np.tanh),
    OpInfo("log_softmax", F.log_softmax, lambda r: [normal(r, 4, 6) * 3], log_softmax_ref),
    OpInfo("cross_entropy", F.cross_entropy, lambda r: [normal(r, 5, 4), labels(r, 5, 4)],
           lambda x, y: -log_softmax_ref(x)[np.arange(len(y)), y].mean()),
    OpInfo("nll_loss", F.nll_loss, lambda r: [normal(r, 5, 4), labels(r, 5, 4)],
           lambda x, y: -x[np.arange(len(y)), y].mean()),
    OpInfo("reshape", lambda a: a.reshape(4, 6), lambda r: [normal(r, 2, 3, 4)], lambda a: a.reshape(4, 6)),
    OpInfo("flatten", F.flatten, lambda r: [normal(r, 2, 3, 2, 2)], lambda a: a.reshape(2, -1)),
    OpInfo("slice", lambda a: a[1:3, ::2], lambda r: [normal(r, 4, 5)], lambda a: a[1:3, ::2]),
    OpInfo("slice_int", lambda a: a[:, 2], lambda r: [normal(r, 3, 4)], lambda a: a[:, 2]),
    OpInfo("transpose", lambda a: a.transpose((1, 2, 0)), lambda r: [normal(r, 2, 3, 4)],
           lambda a: a.transpose(1, 2, 0)),
    OpInfo("dropout", lambda a: F.dropout(a, 0.3, rng=FixedUniform(7)), lambda r: [normal(r, 4, 6)], dropout_ref),
    OpInfo("linear", F.linear, lambda r: [normal(r, 4, 5), normal(r, 3, 5), normal(r, 3)],
           lambda x, w, b: x @ w.T + b),
    OpInfo("linear_nobias", F.linear, lambda r: [normal(r, 4, 5), normal(r, 3, 5)], lambda x, w: x @ w.T),
    OpInfo("conv2d", F.conv2d, lambda r: [normal(r, 2, 3, 6, 5), normal(r, 4, 3, 3, 3), normal(r, 4)], conv2d_ref),
    OpInfo("conv2d_k1_nobias", F.conv2d, lambda r: [normal(r, 2, 2, 4, 4), normal(r, 3, 2, 1, 1)], conv2d_ref),
    OpInfo("conv2d_k5", F.conv2d, lambda r: [normal(r, 1, 2, 7, 7), normal(r, 2, 2, 5, 5), normal(r, 2)], conv2d_ref),
    OpInfo("maxpool2d", lambda a: F.max_pool2d(a, 2), lambda r: [normal(r, 2, 3, 4, 6)], lambda a: maxpool_ref(a, 2)),
    OpInfo("maxpool2d_ceil", lambda a: F.max_pool2d(a, 2), lambda r: [normal(r, 2, 2, 5, 5)],
           lambda a: maxpool_ref(a, 2)),
    OpInfo("maxpool2d_k3", lambda a: F.max_pool2d(a, 3), lambda r: [normal(r, 1, 2, 7, 8)],
           lambda a: maxpool_ref(a, 3)),
]
