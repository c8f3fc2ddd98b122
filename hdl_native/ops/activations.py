"""Activation functions and log-softmax: elementwise ops on the backend's kernel pairs.

Each class names its kernels (``<stem>_forward`` / ``<stem>_backward`` in
kernels/numpy_ops.py, fused native ones for GELU and log-softmax when built)
and what the backward rule needs saved: the output, or the input for GELU.
"""
from .base import ElementwiseOp


class Relu(ElementwiseOp):
    name = stem = "relu"


class Sigmoid(ElementwiseOp):
    name = stem = "sigmoid"


class Tanh(ElementwiseOp):
    name = stem = "tanh"


class Gelu(ElementwiseOp):
    """Exact GELU, x * Phi(x), with the erf form of the normal CDF."""

    name = stem = "gelu"
    saves = "input"


class LogSoftmax(ElementwiseOp):
    """Numerically stable log-softmax over the last axis of (N, F)."""

    name = stem = "log_softmax"

    def infer(self, x):
        if x.ndim != 2:
            raise self.shape_error("expects (N, F)", x)
        return super().infer(x)
