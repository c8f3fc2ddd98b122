"""Activation functions and log-softmax.

GELU and log-softmax run on the active kernel backend (fused native kernels
when built); the others are one numpy expression each way.
"""
import numpy as np

from ..kernels import get_ops
from .base import Op, float_result_dtype


class Activation(Op):
    def infer(self, x):
        return x.shape, float_result_dtype(x)


class Relu(Activation):
    name = "relu"

    def forward(self, x):
        # np.maximum is one pass; np.where(x > 0, ...) took three times as long at (64, 128).
        self.out = np.maximum(x, x.dtype.type(0))
        return self.out

    def backward(self, grad, needs):
        return (grad * (self.out > 0),)


class Sigmoid(Activation):
    name = "sigmoid"

    def forward(self, x):
        # Two branches so exp never overflows: 1/(1+e^-x) for x >= 0, e^x/(1+e^x) below.
        e = np.exp(-np.abs(x))
        self.out = np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)
        return self.out

    def backward(self, grad, needs):
        return (grad * self.out * (1 - self.out),)


class Tanh(Activation):
    name = "tanh"

    def forward(self, x):
        self.out = np.tanh(x)
        return self.out

    def backward(self, grad, needs):
        return (grad * (1 - self.out * self.out),)


class Gelu(Activation):
    """Exact GELU, x * Phi(x), with the erf form of the normal CDF."""

    name = "gelu"

    def forward(self, x):
        self.x = x
        return get_ops().gelu_forward(x)

    def backward(self, grad, needs):
        return (get_ops().gelu_backward(self.x, np.ascontiguousarray(grad)),)


class LogSoftmax(Activation):
    """Numerically stable log-softmax over the last axis of (N, F)."""

    name = "log_softmax"

    def infer(self, x):
        if x.ndim != 2:
            raise self.shape_error("expects (N, F)", x)
        return super().infer(x)

    def forward(self, x):
        self.out = get_ops().log_softmax_forward(x)
        return self.out

    def backward(self, grad, needs):
        return (get_ops().log_softmax_backward(self.out, np.ascontiguousarray(grad)),)
