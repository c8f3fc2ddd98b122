"""Activation functions and log-softmax, elementwise (log-softmax row-wise).

Forward saves what the backward rule needs (the output, or the input for
GELU); the math is the backend's, fused native kernels for GELU and
log-softmax when built.
"""
from ..kernels import get_ops
from ..tensor import contiguous
from .base import FloatOp


class Activation(FloatOp):
    def infer(self, x):
        return x.shape, self.infer_dtype(x)


class Relu(Activation):
    name = "relu"

    def forward(self, x):
        self.out = get_ops().relu_forward(self.as_float(x))
        return self.out

    def backward(self, grad, needs):
        return (get_ops().relu_backward(self.out, grad),)


class Sigmoid(Activation):
    name = "sigmoid"

    def forward(self, x):
        self.out = get_ops().sigmoid_forward(self.as_float(x))
        return self.out

    def backward(self, grad, needs):
        return (get_ops().sigmoid_backward(self.out, grad),)


class Tanh(Activation):
    name = "tanh"

    def forward(self, x):
        self.out = get_ops().tanh_forward(self.as_float(x))
        return self.out

    def backward(self, grad, needs):
        return (get_ops().tanh_backward(self.out, grad),)


class Gelu(Activation):
    """Exact GELU, x * Phi(x), with the erf form of the normal CDF."""

    name = "gelu"

    def forward(self, x):
        self.x = self.as_float(x)
        return get_ops().gelu_forward(self.x)

    def backward(self, grad, needs):
        return (get_ops().gelu_backward(self.x, contiguous(grad)),)


class LogSoftmax(Activation):
    """Numerically stable log-softmax over the last axis of (N, F)."""

    name = "log_softmax"

    def infer(self, x):
        if x.ndim != 2:
            raise self.shape_error("expects (N, F)", x)
        return super().infer(x)

    def forward(self, x):
        self.out = get_ops().log_softmax_forward(self.as_float(x))
        return self.out

    def backward(self, grad, needs):
        return (get_ops().log_softmax_backward(self.out, contiguous(grad)),)
