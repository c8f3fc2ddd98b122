"""Sum and mean, over all axes or some."""
from ..kernels import get_ops
from .base import FloatOp, normalize_axes


class Sum(FloatOp):
    """x.sum(axis, keepdims): axis None sums every axis (a 0-d result), an int or tuple those axes (negative ones
    count from the end); keepdims leaves them as size 1.  Gradient: grad spread back over the summed axes."""

    name = "sum"

    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def infer(self, x):
        self.axes = normalize_axes(self, self.axis, x.ndim, x)
        if self.keepdims:
            shape = tuple(1 if i in self.axes else d for i, d in enumerate(x.shape))
        else:
            shape = tuple(d for i, d in enumerate(x.shape) if i not in self.axes)
        return shape, self.infer_dtype(x)

    def forward(self, x):
        self.input_shape = x.shape
        return get_ops().sum(self.as_float(x), self.axes, self.keepdims)

    def backward(self, grad, needs):
        return (get_ops().sum_backward(grad, self.axes, self.input_shape),)


class Mean(Sum):
    """x.mean(axis, keepdims), the shapes as Sum.  Gradient: grad spread back, divided by the count averaged."""

    name = "mean"

    def forward(self, x):
        self.count = 1
        for axis in self.axes:
            self.count *= x.shape[axis]
        return get_ops().scale(super().forward(x), 1.0 / self.count)

    def backward(self, grad, needs):
        (spread,) = super().backward(grad, needs)
        return (get_ops().scale(spread, 1.0 / self.count),)
