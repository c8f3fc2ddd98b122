"""Functions that build graph nodes, and the Tensor operators that call them.

Every function takes Tensors (Python numbers where noted) and returns a new
Tensor node; nothing is computed until a value is asked for.
"""
import numbers

import numpy as np

from . import ops
from .ops.base import as_tensor
from .tensor import Tensor


def _node(op, *parents):
    return Tensor._from_op(op, tuple(parents))


def add(a, b):
    if isinstance(b, numbers.Number):
        return _node(ops.ScalarAdd(b), a)
    if isinstance(a, numbers.Number):
        return _node(ops.ScalarAdd(a), b)
    return _node(ops.Add(), as_tensor(a, b), as_tensor(b, a))


def sub(a, b):
    if isinstance(b, numbers.Number):
        return _node(ops.ScalarAdd(-b), a)
    if isinstance(a, numbers.Number):
        return _node(ops.ScalarAdd(a), neg(b))
    return _node(ops.Sub(), as_tensor(a, b), as_tensor(b, a))


def mul(a, b):
    if isinstance(b, numbers.Number):
        return _node(ops.ScalarMul(b), a)
    if isinstance(a, numbers.Number):
        return _node(ops.ScalarMul(a), b)
    return _node(ops.Mul(), as_tensor(a, b), as_tensor(b, a))


def div(a, b):
    if isinstance(b, numbers.Number):
        return _node(ops.ScalarMul(1.0 / b), a)
    return _node(ops.Div(), as_tensor(a, b), as_tensor(b, a))


def neg(x):
    return _node(ops.Neg(), x)


def scalar_mul(x, scalar):
    return _node(ops.ScalarMul(scalar), x)


def scalar_add(x, scalar):
    return _node(ops.ScalarAdd(scalar), x)


def square(x):
    return _node(ops.Square(), x)


def power(x, exponent):
    if exponent == 2:
        return square(x)
    return _node(ops.Pow(exponent), x)


def exp(x):
    return _node(ops.Exp(), x)


def log(x):
    return _node(ops.Log(), x)


def matmul(a, b):
    return _node(ops.MatMul(), a, b)


def sum(x, axis=None, keepdims=False):  # noqa: A001 - mirrors numpy's name
    return _node(ops.Sum(axis, keepdims), x)


def mean(x, axis=None, keepdims=False):
    return _node(ops.Mean(axis, keepdims), x)


def reshape(x, shape):
    return _node(ops.Reshape(shape), x)


def flatten(x):
    """(N, ...) -> (N, prod(...))."""
    features = int(np.prod(x.shape[1:])) if x.ndim > 1 else 1
    if None in x.shape[1:]:
        raise ValueError(f"flatten: only the batch dimension may be unknown, got {x.shape}")
    return reshape(x, (x.shape[0] if x.shape[0] is not None else -1, features))


def transpose(x, axes=None):
    return _node(ops.Transpose(axes), x)


def relu(x):
    return _node(ops.Relu(), x)


def gelu(x):
    return _node(ops.Gelu(), x)


def sigmoid(x):
    return _node(ops.Sigmoid(), x)


def tanh(x):
    return _node(ops.Tanh(), x)


def log_softmax(x):
    return _node(ops.LogSoftmax(), x)


def cross_entropy(logits, labels):
    """Mean cross-entropy of raw logits (N, F) against integer labels (N,)."""
    return _node(ops.CrossEntropy(), logits, labels)


def nll_loss(log_probs, labels):
    """Mean negative log-likelihood of log-probabilities (N, F) at integer labels (N,)."""
    return _node(ops.NLLLoss(), log_probs, labels)


def linear(x, weight, bias=None):
    return _node(ops.Linear(), x, weight, *([bias] if bias is not None else []))


def conv2d(x, weight, bias=None):
    return _node(ops.Conv2d(), x, weight, *([bias] if bias is not None else []))


def max_pool2d(x, kernel_size):
    return _node(ops.MaxPool2d(kernel_size), x)


def dropout(x, p, rng=None, training=True):
    return _node(ops.Dropout(p, rng if rng is not None else np.random.default_rng(), training), x)


def _install_operators():
    """Give Tensor its arithmetic operators and method forms."""
    Tensor.__add__ = add
    Tensor.__radd__ = lambda self, other: add(other, self)
    Tensor.__sub__ = sub
    Tensor.__rsub__ = lambda self, other: sub(other, self)
    Tensor.__mul__ = mul
    Tensor.__rmul__ = lambda self, other: mul(other, self)
    Tensor.__truediv__ = div
    Tensor.__rtruediv__ = lambda self, other: div(as_tensor(other, self), self)
    Tensor.__neg__ = neg
    Tensor.__pow__ = power
    Tensor.__matmul__ = matmul
    Tensor.__getitem__ = lambda self, index: _node(ops.Slice(index), self)
    Tensor.sum = sum
    Tensor.mean = mean
    Tensor.reshape = lambda self, *shape: reshape(self, shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape)
    Tensor.flatten = flatten
    Tensor.transpose = transpose
    Tensor.T = property(lambda self: transpose(self))
    Tensor.exp = exp
    Tensor.log = log
    Tensor.square = square
    Tensor.relu = relu
    Tensor.gelu = gelu
    Tensor.sigmoid = sigmoid
    Tensor.tanh = tanh
    Tensor.log_softmax = log_softmax


_install_operators()
