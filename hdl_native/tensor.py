"""Tensor: a handle on one node of a lazily evaluated DAG.

Building an expression only records nodes; asking for a value evaluates just
the ancestors whose cached value is stale.  Staleness is pulled, not pushed:
every leaf (parameter or input placeholder) carries a version number that
changes whenever its data changes (``assign()``, or handing out its writable
``data``), each computed node remembers the versions of its parents when it
was computed, and a cached value is reused only while those are unchanged.
So a graph built once is fed batch after batch, and no writer has to know
what depends on what it writes.  `backward()` walks a topological order that
is computed iteratively (no recursion limit) once per node and reused.

Shapes are checked when a node is built.  A leading dimension of ``None``
stands for "any batch size"; placeholders declare it so one graph serves
every batch, including a smaller last one.

The operators and methods (``+``, ``@``, ``x.relu()``, ``x.sum(axis)`` ...)
are defined here, each a one-line call of its op class's ``apply`` in
hdl_native/ops/, where the op's forward and backward sit side by side.
"""
from __future__ import annotations

import itertools
import numbers

import numpy as np

DEFAULT_DTYPE = np.float32

# Versions of leaf data and of computed values, unique across the process, so a
# node can tell "my parent changed" by comparing numbers.
_next_version = itertools.count(1).__next__


class Tensor:
    """A node of the graph: a leaf with data, or an op applied to parents.

    Create leaves with ``Tensor(data)``, ``Tensor.placeholder(shape)`` or
    ``hdl_native.nn.Parameter``; everything else comes from operators.
    ``value`` is a read-only view of the evaluated array; a leaf's data is
    changed with ``assign(array)`` or written in place through ``data``.
    A leaf made from a writable C-contiguous numpy array of its dtype keeps that
    array (no copy): writing to it afterwards behind the leaf's back is not seen
    by values already computed; write through ``data`` or ``assign`` instead.
    A read-only array is copied, so ``data`` is always writable.
    """

    __slots__ = (
        "op", "parents", "shape", "dtype", "requires_grad", "name", "grad",
        "_value", "_version", "_parent_versions", "_order", "_needs", "_plan", "__weakref__",
    )
    __array_priority__ = 100  # numpy scalars on the left defer to Tensor ops

    def __init__(self, data, *, requires_grad=False, dtype=None, name=None):
        if dtype is None and not isinstance(data, (np.ndarray, np.generic)):
            dtype = DEFAULT_DTYPE  # Python numbers and lists become float32
        array = np.asarray(data, dtype=dtype)
        if requires_grad and array.dtype.kind != "f":
            # an integer gradient would be truncated (0.5 -> 0) without a word; PyTorch refuses too
            raise TypeError(f"Tensor: only float tensors can require gradients, got {array.dtype} "
                            "(convert the data with .astype(np.float32) first)")
        self._init_node(None, (), array.shape, array.dtype, requires_grad, name)
        self._value = leaf_array(array)
        self._version = _next_version()

    def _init_node(self, op, parents, shape, dtype, requires_grad, name):
        self.op = op
        self.parents = parents
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.requires_grad = bool(requires_grad)
        self.name = name
        self.grad = None
        self._value = None
        self._version = 0
        self._parent_versions = None
        self._order = None
        self._plan = None
        self._needs = ()

    # ------------------------------------------------------------------ leaves
    @classmethod
    def placeholder(cls, shape, dtype=DEFAULT_DTYPE, name=None):
        """An input leaf with no data yet; ``None`` in `shape` means any size.

        Feed it with ``assign(array)``; it never asks for a gradient.
        """
        tensor = cls.__new__(cls)
        tensor._init_node(None, (), tuple(shape), dtype, False, name or "input")
        return tensor

    def assign(self, data):
        """Give this leaf new data; values computed from the old data are recomputed when next asked for.

        The array must match the leaf's declared shape (``None`` dimensions
        match any size) and is converted to the leaf's dtype (no copy when it
        already has that dtype and is C-contiguous and writable).
        """
        self._require_leaf("assign()")
        array = np.asarray(data)
        if self.dtype.kind in "iu" and array.dtype.kind not in "iub":
            raise TypeError(f"assign to {self.name or 'tensor'}: {array.dtype} data for an {self.dtype} tensor "
                            "would be truncated; convert it to integers first")
        array = leaf_array(array.astype(self.dtype, copy=False))
        if not shape_matches(array.shape, self.shape):
            raise ValueError(
                f"assign to {self.name or 'tensor'}: got shape {array.shape}, expected {format_shape(self.shape)}"
            )
        self._value = array
        self._version = _next_version()

    @property
    def data(self):
        """A leaf's own array, writable in place (optimisers update parameters through it).

        Handing it out counts as a change: values computed from this leaf are
        recomputed when next asked for.  Write before the next evaluation, or
        call ``mark_modified()`` after writing.  Do not keep it across an optimiser's
        step: the first step moves every parameter (and its ``grad``) into one flat
        array (hdl_native.flat_params), so an array held from before stops following it.
        """
        self._require_leaf("data")
        if self._value is None:
            raise RuntimeError(f"placeholder {self.name!r} has no data: call assign() first")
        self._version = _next_version()
        return self._value

    def mark_modified(self):
        """Say that this leaf's array was changed in place (e.g. through a view of it)."""
        self._require_leaf("mark_modified()")
        self._version = _next_version()

    def holds(self, array):
        """True when this leaf's data is `array` itself, not a copy."""
        return self._value is array

    def _require_leaf(self, what):
        if self.op is not None:
            raise TypeError(f"{what} is for leaves; {self!r} is computed by {self.op.name}")

    # ------------------------------------------------------------ op results
    @classmethod
    def _from_op(cls, op, parents):
        """Record `op` applied to `parents`; the op checks shapes now."""
        shape, dtype = op.infer(*parents)
        needs = tuple(p.requires_grad for p in parents)
        node = cls.__new__(cls)
        node._init_node(op, parents, shape, dtype, any(needs), None)
        node._needs = needs
        return node

    # --------------------------------------------------------------- values
    def topological_order(self):
        """Ancestors then self, each after all its parents; computed once."""
        if self._order is None:
            order, visited = [], set()
            stack = [(self, False)]
            while stack:
                node, parents_done = stack.pop()
                if parents_done:
                    order.append(node)
                    continue
                if id(node) in visited:
                    continue
                visited.add(id(node))
                stack.append((node, True))
                for parent in reversed(node.parents):
                    if id(parent) not in visited:
                        stack.append((parent, False))
            self._order = order
        return self._order

    def realize(self):
        """Evaluate what is stale (a parent's version changed since it was computed) and
        return this node's array (the cached array itself: do not write into it)."""
        for node in self.topological_order():
            if node.op is None:
                if node._value is None:
                    raise RuntimeError(
                        f"placeholder {node.name!r} of shape {format_shape(node.shape)} has no data: "
                        "call assign() first"
                    )
                continue
            parent_versions = tuple([parent._version for parent in node.parents])
            if node._value is None or parent_versions != node._parent_versions:
                value = node.op.forward(*[parent._value for parent in node.parents])
                # numpy turns 0-d results into scalars; keep every value an ndarray.
                node._value = value if type(value) is np.ndarray else np.asarray(value)
                node._parent_versions = parent_versions
                node._version = _next_version()
        return self._value

    @property
    def value(self):
        """The evaluated array as a read-only view (change a leaf with ``assign`` or ``data``); a view of the
        array of the moment: read it again after assign() or an optimiser step, which may put a new array there."""
        view = self.realize().view()
        view.flags.writeable = False
        return view

    def numpy(self):
        """A (writable) copy of the evaluated array."""
        return self.realize().copy()

    def item(self):
        """The single value of a one-element tensor as a Python float."""
        value = self.realize()
        if value.size != 1:
            raise ValueError(f"item() needs a one-element tensor, got shape {value.shape}")
        return float(value.reshape(()))

    # ------------------------------------------------------------- backward
    def backward(self, grad_output=None):
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires grad.

        `grad_output` defaults to ones (so a scalar loss seeds 1).  Gradients
        add up across calls until ``zero_grad()``.  RuntimeError when nothing the
        node depends on requires grad (as PyTorch: a forgotten requires_grad is said).
        """
        value = self.realize()
        if grad_output is None:
            seed = np.ones_like(value)
        else:
            seed = np.asarray(grad_output, dtype=value.dtype)
            if seed.shape != value.shape:
                raise ValueError(f"backward: grad_output shape {seed.shape} != output shape {value.shape}")
        if not self.requires_grad:
            raise RuntimeError(f"backward: {self!r} depends on no tensor with requires_grad=True, so no gradient "
                               "would be computed (make the weights nn.Parameter or Tensor(..., requires_grad=True))")
        nodes, parent_slots = self._backward_plan()
        grads = [None] * len(nodes)
        grads[-1] = seed
        for i in range(len(nodes) - 1, -1, -1):
            grad = grads[i]
            if grad is None:
                continue
            grads[i] = None  # free it as soon as it is used
            node = nodes[i]
            if node.op is None:
                if node.requires_grad:
                    node._accumulate_grad(grad)
                continue
            for slot, parent_grad in zip(parent_slots[i], node.op.backward(grad, node._needs)):
                if slot >= 0 and parent_grad is not None:
                    if parent_grad.dtype != nodes[slot].dtype:  # a float32 parent of a node promoted to float64
                        parent_grad = parent_grad.astype(nodes[slot].dtype)
                    previous = grads[slot]
                    grads[slot] = parent_grad if previous is None else previous + parent_grad

    def _backward_plan(self):
        """(nodes, parent_slots), computed once: the nodes of the topological order that need
        a gradient (self last), and for each the position in `nodes` of every parent, -1 for
        a parent that takes no gradient; backward then indexes a list instead of hashing ids."""
        if self._plan is None:
            nodes = [node for node in self.topological_order() if node.requires_grad]
            position = {id(node): i for i, node in enumerate(nodes)}
            parent_slots = [tuple(position.get(id(parent), -1) if need else -1
                                  for parent, need in zip(node.parents, node._needs)) for node in nodes]
            self._plan = (nodes, parent_slots)
        return self._plan

    def _accumulate_grad(self, grad):
        if self.grad is None:
            self.grad = np.array(grad, dtype=self.dtype, copy=True).reshape(self._value.shape)
        else:
            np.add(self.grad, grad, out=self.grad)

    def zero_grad(self):
        """Reset this leaf's accumulated gradient to zero (buffer kept)."""
        if self.grad is not None:
            self.grad.fill(0)

    # ------------------------------------------------------------ operators
    # Each is one call of an op class's apply (hdl_native/ops/); a Python number
    # on either side becomes a scalar op, an array a constant leaf.
    def __add__(self, other):
        if isinstance(other, numbers.Number):
            return ops.ScalarAdd.apply(self, scalar=other)
        return ops.Add.apply(self, constant(other, self))

    def __radd__(self, other):
        return self + other

    def __sub__(self, other):
        if isinstance(other, numbers.Number):
            return ops.ScalarAdd.apply(self, scalar=-other)
        return ops.Sub.apply(self, constant(other, self))

    def __rsub__(self, other):
        if isinstance(other, numbers.Number):
            return ops.ScalarAdd.apply(-self, scalar=other)
        return ops.Sub.apply(constant(other, self), self)

    def __mul__(self, other):
        if isinstance(other, numbers.Number):
            return ops.ScalarMul.apply(self, scalar=other)
        return ops.Mul.apply(self, constant(other, self))

    def __rmul__(self, other):
        return self * other

    def __truediv__(self, other):
        if isinstance(other, numbers.Number) and other != 0:  # x / 0 is the division's inf or nan, as numpy's
            return ops.ScalarMul.apply(self, scalar=1.0 / other)
        return ops.Div.apply(self, constant(other, self))

    def __rtruediv__(self, other):
        return ops.Div.apply(constant(other, self), self)

    def __neg__(self):
        return ops.Neg.apply(self)

    def __pow__(self, exponent):
        if not isinstance(exponent, numbers.Real):
            raise TypeError(f"pow: the exponent must be a constant number, got {type(exponent).__name__} "
                            "(x ** y for a tensor y is exp(y * log(x)))")
        if exponent == 2:
            return self.square()
        return ops.Pow.apply(self, exponent=exponent)

    def __matmul__(self, other):
        return ops.MatMul.apply(self, other)

    def __getitem__(self, index):
        return ops.Slice.apply(self, index=index)

    # ------------------------------------------------------------ methods
    def square(self):
        """x^2 elementwise, same shape (ops/arithmetic.py Square)."""
        return ops.Square.apply(self)

    def exp(self):
        """e^x elementwise, same shape."""
        return ops.Exp.apply(self)

    def log(self):
        """Natural log elementwise, same shape."""
        return ops.Log.apply(self)

    def relu(self):
        """max(x, 0) elementwise, same shape (ops/activations.py)."""
        return ops.Relu.apply(self)

    def gelu(self):
        """Exact GELU, x * Phi(x)."""
        return ops.Gelu.apply(self)

    def sigmoid(self):
        """1 / (1 + e^-x) elementwise, same shape."""
        return ops.Sigmoid.apply(self)

    def tanh(self):
        """tanh(x) elementwise, same shape."""
        return ops.Tanh.apply(self)

    def log_softmax(self):
        """Log-softmax over the last axis of (N, F)."""
        return ops.LogSoftmax.apply(self)

    def sum(self, axis=None, keepdims=False):
        """Sum over `axis` (None: every axis, giving a 0-d tensor; an int or a tuple; negative counts from the
        end), dropping those axes, or keeping them as size 1 with keepdims: (2, 3).sum(1) -> (2,)."""
        return ops.Sum.apply(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        """Mean over `axis`, with the shapes of sum()."""
        return ops.Mean.apply(self, axis=axis, keepdims=keepdims)

    def reshape(self, *shape):
        """reshape(2, 3) or reshape((2, 3)); -1 infers one size, None/-1 first keeps the batch."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = shape[0]
        return ops.Reshape.apply(self, shape=tuple(shape))

    def flatten(self):
        """(N, ...) -> (N, prod(...))."""
        if None in self.shape[1:]:
            raise ValueError(f"flatten: only the batch dimension may be unknown, got {format_shape(self.shape)}")
        features = int(np.prod(self.shape[1:])) if self.ndim > 1 else 1
        return self.reshape(-1 if self.shape[0] is None else self.shape[0], features)

    def transpose(self, axes=None):
        """Permute the axes: output axis i is input axis axes[i]; None reverses them ((2, 3, 4) -> (4, 3, 2))."""
        return ops.Transpose.apply(self, axes=axes)

    @property
    def T(self):
        """All axes reversed: the transpose of a matrix, (N, F) -> (F, N)."""
        return self.transpose()

    # ------------------------------------------------------------ conveniences
    @property
    def ndim(self):
        return len(self.shape)

    @property
    def is_leaf(self):
        return self.op is None

    def __repr__(self):
        kind = "leaf" if self.op is None else self.op.name
        label = f" {self.name!r}" if self.name else ""
        return f"Tensor<{kind}{label} {format_shape(self.shape)} {self.dtype}>"

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of a 0-d tensor")
        if self.shape[0] is None:
            raise TypeError(f"len() of a tensor of shape {format_shape(self.shape)}: its batch size N is not known "
                            "until data is assigned (len(x.value) then gives it)")
        return self.shape[0]

    def __array__(self, dtype=None, copy=None):
        """np.asarray(x): a copy of the value, for a tensor no gradient flows through.  One that requires grad
        is refused, as PyTorch does: numpy's result would be cut off from the graph (read x.value instead)."""
        if self.requires_grad:
            raise TypeError(f"numpy cannot take {self!r}: it requires grad, and a numpy result would be cut off "
                            "from the graph; use the Tensor's own ops, or read its values with .value or .numpy()")
        return self.numpy() if dtype is None else self.realize().astype(dtype)

    def __bool__(self):
        raise TypeError("a Tensor has no truth value; use .item() or .value")

    def __hash__(self):
        return id(self)


def constant(value, like=None):
    """`value` itself if a Tensor, else a constant leaf (a Python number takes the dtype of `like`)."""
    if isinstance(value, Tensor):
        return value
    if like is not None and not isinstance(value, (np.ndarray, np.generic)):
        return Tensor(value, dtype=like.dtype)
    return Tensor(value)


def contiguous(array):
    """`array` itself if C-contiguous, else a C-contiguous copy (0-d stays 0-d,
    unlike np.ascontiguousarray)."""
    return array if array.flags.c_contiguous else array.copy(order="C")


def leaf_array(array):
    """`array` itself if C-contiguous and writable, else a copy that is: a leaf's data is written in place
    (``data``, optimisers, batch normalisation's running statistics), so a read-only array cannot be kept."""
    return array if array.flags.c_contiguous and array.flags.writeable else array.copy(order="C")


def shape_matches(actual, declared):
    """True when `actual` fits `declared`, where ``None`` matches any size."""
    return len(actual) == len(declared) and all(d is None or a == d for a, d in zip(actual, declared))


def format_shape(shape):
    return "(" + ", ".join("N" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


# The op classes build Tensors, so they import this module; importing them last
# lets the operators above reach them without a cycle at import time.
from . import ops  # noqa: E402
