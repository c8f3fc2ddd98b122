"""Activation functions and log-softmax: elementwise ops on the backend's kernel pairs.

Each class names its kernels (``<stem>_forward`` / ``<stem>_backward`` in
kernels/numpy_ops.py, fused native ones for GELU and log-softmax when built)
and what the backward rule needs saved: the output, or the input for GELU.
"""
from .base import ElementwiseOp


class Relu(ElementwiseOp):
    """max(x, 0).  Gradient: grad where the output is > 0, else 0 (relu_backward, from the saved output)."""

    name = stem = "relu"


class Sigmoid(ElementwiseOp):
    """s = 1 / (1 + e^-x).  Gradient: grad * s * (1 - s) (sigmoid_backward, from the saved output s)."""

    name = stem = "sigmoid"


class Tanh(ElementwiseOp):
    """t = tanh(x).  Gradient: grad * (1 - t^2) (tanh_backward, from the saved output t)."""

    name = stem = "tanh"


class Gelu(ElementwiseOp):
    """Exact GELU, x * Phi(x), with the erf form of the normal CDF.  Gradient: grad * (Phi(x) + x phi(x)), phi
    the normal density (gelu_backward, from the saved input)."""

    name = stem = "gelu"
    saves = "input"


class LogSoftmax(ElementwiseOp):
    """Numerically stable log-softmax over the last axis of (N, F): y = x - max - log(sum(e^(x - max))).
    Gradient: grad - e^y * sum(grad) per row (log_softmax_backward, from the saved output y)."""

    name = stem = "log_softmax"

    def infer(self, x):
        if x.ndim != 2:
            raise self.shape_error("expects (N, F)", x)
        return super().infer(x)
