"""The Op protocol and the shape rules shared by many ops.

An op instance belongs to exactly one graph node.  ``infer`` checks the
parents' shapes when the node is built (raising ``ValueError`` naming the op
and the shapes), ``forward`` computes the node's array from its parents'
arrays and may save what backward needs on ``self``, and ``backward`` maps
the gradient of the node's output to one gradient per parent (``None`` where
``needs`` says a parent wants none).
"""
import numpy as np

from ..tensor import Tensor, format_shape


class Op:
    name = "op"

    def infer(self, *parents):
        """(shape, dtype) of the output; raise ValueError for bad shapes."""
        raise NotImplementedError

    def forward(self, *arrays):
        raise NotImplementedError

    def backward(self, grad_output, needs):
        raise NotImplementedError(f"{self.name} has no backward rule")

    def shape_error(self, message, *parents):
        shapes = " and ".join(format_shape(p.shape) for p in parents)
        return ValueError(f"{self.name}: {message} (got {shapes})")


def as_tensor(value, like=None):
    """Wrap a Python number or array as a constant leaf (dtype of `like` for numbers)."""
    if isinstance(value, Tensor):
        return value
    if like is not None and not isinstance(value, np.ndarray):
        return Tensor(value, dtype=like.dtype)
    return Tensor(value)


def float_result_dtype(*parents):
    dtype = np.result_type(*[p.dtype for p in parents])
    if dtype.kind != "f":
        dtype = np.dtype(np.float32)
    return dtype


def broadcast_shape(op, a, b):
    """Numpy broadcasting of two shapes in which None means 'any size'."""
    result = []
    for i in range(1, max(a.ndim, b.ndim) + 1):
        da = a.shape[-i] if i <= a.ndim else 1
        db = b.shape[-i] if i <= b.ndim else 1
        if da == db or db == 1:
            result.append(da)
        elif da == 1:
            result.append(db)
        elif da is None or db is None:
            result.append(da if db is None else db)
        else:
            raise op.shape_error("shapes do not broadcast", a, b)
    return tuple(reversed(result))


def unbroadcast(grad, shape):
    """Sum `grad` over the axes that broadcasting expanded, back to `shape`."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, size in enumerate(shape) if size == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


def normalize_axes(op, axis, ndim, parent):
    """Tuple of non-negative axes (all of them for None); errors name the op."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    result = []
    for ax in axes:
        if not -ndim <= ax < ndim:
            raise op.shape_error(f"axis {ax} out of range for {ndim} dimensions", parent)
        result.append(ax % ndim)
    return tuple(sorted(set(result)))
