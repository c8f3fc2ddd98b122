"""Sum and mean, over all axes or some."""
import numpy as np

from .base import Op, float_result_dtype, normalize_axes


class Sum(Op):
    name = "sum"

    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def infer(self, x):
        self.axes = normalize_axes(self, self.axis, x.ndim, x)
        if self.keepdims:
            shape = tuple(1 if i in self.axes else d for i, d in enumerate(x.shape))
        else:
            shape = tuple(d for i, d in enumerate(x.shape) if i not in self.axes)
        return shape, float_result_dtype(x)

    def forward(self, x):
        self.input_shape = x.shape
        return np.asarray(x.sum(axis=self.axes, keepdims=self.keepdims))

    def backward(self, grad, needs):
        kept = tuple(1 if i in self.axes else d for i, d in enumerate(self.input_shape))
        return (np.broadcast_to(grad.reshape(kept), self.input_shape),)


class Mean(Sum):
    name = "mean"

    def forward(self, x):
        self.count = int(np.prod([x.shape[i] for i in self.axes])) if self.axes else 1
        return np.asarray(super().forward(x) / x.dtype.type(self.count))

    def backward(self, grad, needs):
        (spread,) = super().backward(grad, needs)
        return (spread / spread.dtype.type(self.count),)
