"""Ops that move data without arithmetic: reshape, transpose, slice, stack."""
import numpy as np

from ..tensor import contiguous
from .base import Op


class Reshape(Op):
    """Reshape; -1 infers one size, and a None leading dimension stays the batch."""

    name = "reshape"

    def __init__(self, shape):
        self.target = tuple(shape)

    def infer(self, x):
        known = [d for d in x.shape if d is not None]
        if None in x.shape:
            if x.shape[0] is not None or None in x.shape[1:]:
                raise self.shape_error("only a leading batch dimension may be unknown", x)
            if self.target[0] not in (None, -1) or -1 in self.target[1:]:
                raise self.shape_error(f"keep the batch dimension first as None or -1, target {self.target}", x)
            if int(np.prod(known)) != int(np.prod(self.target[1:])):
                raise self.shape_error(f"cannot reshape to {self.target}", x)
            self.runtime_shape = (-1,) + self.target[1:]
            return (None,) + self.target[1:], x.dtype
        total = int(np.prod(known))
        target = (-1,) + self.target[1:] if self.target[:1] == (None,) else self.target  # None first: the batch
        try:
            shape = np.empty(total, dtype=np.int8).reshape(target).shape
        except (TypeError, ValueError):
            raise self.shape_error(f"cannot reshape to {self.target}", x) from None
        self.runtime_shape = shape
        return shape, x.dtype

    def forward(self, x):
        self.input_shape = x.shape
        return x.reshape(self.runtime_shape)

    def backward(self, grad, needs):
        return (grad.reshape(self.input_shape),)


class Transpose(Op):
    """x.transpose(axes): output axis i is input axis axes[i] (None reverses them, as numpy).  Gradient: the same
    permutation undone, grad.transpose(argsort(axes))."""

    name = "transpose"

    def __init__(self, axes=None):
        self.axes = None if axes is None else tuple(axes)

    def infer(self, x):
        axes = tuple(reversed(range(x.ndim))) if self.axes is None else self.axes
        in_range = all(-x.ndim <= a < x.ndim for a in axes)
        if not in_range or sorted(a % max(x.ndim, 1) for a in axes) != list(range(x.ndim)):
            raise self.shape_error(f"axes {axes} are not a permutation of {x.ndim} dimensions", x)
        self.axes = tuple(a % x.ndim for a in axes)
        self.inverse = tuple(np.argsort(self.axes))
        return tuple(x.shape[a] for a in self.axes), x.dtype

    def forward(self, x):
        return contiguous(x.transpose(self.axes))

    def backward(self, grad, needs):
        return (contiguous(grad.transpose(self.inverse)),)


class Slice(Op):
    """Basic indexing with integers and slices, e.g. x[:, 2:5] or x[0]."""

    name = "slice"

    def __init__(self, index):
        self.index = index if isinstance(index, tuple) else (index,)

    def infer(self, x):
        if len(self.index) > x.ndim:
            raise self.shape_error(f"index {self.index} has more entries than dimensions", x)
        for i, item in enumerate(self.index):
            if not isinstance(item, (int, np.integer, slice)):
                raise TypeError(f"slice: only ints and slices are supported, got {item!r}")
            if x.shape[i] is None and item != slice(None):
                raise self.shape_error("an unknown (batch) dimension can only be kept whole with ':'", x)
        probe = np.empty(tuple(1 if d is None else d for d in x.shape), dtype=np.int8)
        try:
            shape = list(probe[self.index].shape)
        except IndexError as error:  # stays an IndexError, as numpy's: it ends iteration (list(x), for row in x)
            raise IndexError(str(self.shape_error(str(error), x))) from None
        out_dim = 0
        for i, d in enumerate(x.shape):
            item = self.index[i] if i < len(self.index) else slice(None)
            if isinstance(item, slice):
                if d is None:
                    shape[out_dim] = None
                out_dim += 1
        return tuple(shape), x.dtype

    def forward(self, x):
        self.input_shape, self.input_dtype = x.shape, x.dtype
        return contiguous(x[self.index])

    def backward(self, grad, needs):
        grad_x = np.zeros(self.input_shape, dtype=grad.dtype)
        grad_x[self.index] = grad
        return (grad_x,)


class Stack(Op):
    """Join k tensors of one shape along a new axis: k x (...) -> (..., k, ...) with k at `axis`."""

    name = "stack"

    def __init__(self, axis=0):
        self.axis = int(axis)

    def infer(self, *parts):
        if not parts:
            raise ValueError("stack: needs at least one tensor")
        if any(p.shape != parts[0].shape for p in parts) or len({p.dtype for p in parts}) != 1:
            dtypes = ", ".join(str(p.dtype) for p in parts)
            raise self.shape_error(f"all tensors must have one shape and dtype, got dtypes {dtypes}", *parts)
        ndim = parts[0].ndim + 1
        if not -ndim <= self.axis < ndim:
            raise self.shape_error(f"axis {self.axis} out of range for {ndim} dimensions", parts[0])
        self.axis %= ndim
        shape = list(parts[0].shape)
        shape.insert(self.axis, len(parts))
        return tuple(shape), parts[0].dtype

    def forward(self, *parts):
        return np.stack(parts, axis=self.axis)

    def backward(self, grad, needs):
        return tuple(contiguous(part) for part in np.moveaxis(grad, self.axis, 0))
