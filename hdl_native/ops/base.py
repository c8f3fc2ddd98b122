"""The Op protocol and the shape rules shared by many ops.

An op instance belongs to exactly one graph node.  ``apply`` builds that
node; ``infer`` checks the parents' shapes when the node is built (raising
``ValueError`` naming the op and the shapes) and gives the output's shape
and dtype; ``forward`` computes the node's array from its parents' arrays,
calling the active kernel backend (hdl_native/kernels/) for the arithmetic
and saving on ``self`` what backward needs; ``backward`` maps the gradient
of the node's output to one gradient per parent (``None`` where ``needs``
says a parent wants none).  The heavy array math lives in the backend,
numpy's reference in kernels/numpy_ops.py, with Cython overrides in
kernels/native_ops.py; an op keeps the bookkeeping and the light numpy
around it (a slice's scatter, a stack's split, batch normalisation's
statistics and running averages, label smoothing's blend).
"""
import numpy as np

from ..kernels import get_ops
from ..tensor import Tensor, constant, contiguous, format_shape


class Op:
    name = "op"

    @classmethod
    def apply(cls, *parents, **config):
        """The node of a new ``cls(**config)`` applied to `parents` (arrays become constant leaves)."""
        return Tensor._from_op(cls(**config), tuple(constant(p) for p in parents))

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


FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def float_result_dtype(op, *parents):
    """The float dtype an op computes in: numpy's promotion of the parents' dtypes, where integers
    and booleans count as float32 (PyTorch's default float: an integer tensor times 0.5 is float32).
    Only float32 and float64 are computed; any other dtype is a TypeError naming the op, at build time."""
    dtypes = [p.dtype if p.dtype.kind == "f" else np.dtype(np.float32) for p in parents if p.dtype.kind != "c"]
    if len(dtypes) != len(parents) or any(d not in FLOAT_DTYPES for d in dtypes):
        given = ", ".join(str(p.dtype) for p in parents)
        raise TypeError(f"{op.name}: computes in float32 or float64 (integers become float32); got {given}")
    return np.result_type(*dtypes)


class FloatOp(Op):
    """An op whose output is a float of its inputs' promoted dtype; forward sees its inputs in that dtype,
    so the declared dtype is the computed one (integer inputs are converted, float ones untouched)."""

    def infer_dtype(self, *parents):
        self.dtype = float_result_dtype(self, *parents)
        return self.dtype

    def as_float(self, array):
        return array if array.dtype == self.dtype else array.astype(self.dtype)


class ElementwiseOp(FloatOp):
    """y = f(x) elementwise, on the backend's kernel pair ``<stem>_forward(x)`` and
    ``<stem>_backward(saved, grad_output)``, where `saved` is the output (``saves = "output"``)
    or the input (``saves = "input"``): the one rule every such op follows."""

    stem = None
    saves = "output"

    def infer(self, x):
        return x.shape, self.infer_dtype(x)

    def forward(self, x):
        x = self.as_float(x)
        out = getattr(get_ops(), self.stem + "_forward")(x)
        self.saved = out if self.saves == "output" else x
        return out

    def backward(self, grad, needs):
        return (getattr(get_ops(), self.stem + "_backward")(self.saved, contiguous(grad)),)


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


def normalize_axes(op, axis, ndim, parent):
    """Tuple of non-negative axes (all of them for None); errors name the op."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else axis
    if not isinstance(axes, (tuple, list)) or not all(isinstance(ax, (int, np.integer)) for ax in axes):
        raise TypeError(f"{op.name}: axis must be None, an int or a tuple of ints, got {axis!r}")
    result = []
    for ax in axes:
        if not -ndim <= ax < ndim:
            raise op.shape_error(f"axis {ax} out of range for {ndim} dimensions", parent)
        result.append(ax % ndim)
    return tuple(sorted(set(result)))
