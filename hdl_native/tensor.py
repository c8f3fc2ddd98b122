"""Tensor: a handle on one node of a lazily evaluated DAG.

Building an expression only records nodes; asking for a value evaluates just
the ancestors that are not cached yet.  Leaves (parameters and input
placeholders) hold data; assigning a leaf new data clears the cached values
of everything downstream of it, so a graph built once is fed batch after
batch.  `backward()` walks a topological order that is computed iteratively
(no recursion limit) once per node and reused.

Shapes are checked when a node is built.  A leading dimension of ``None``
stands for "any batch size"; placeholders declare it so one graph serves
every batch, including a smaller last one.
"""
from __future__ import annotations

import weakref

import numpy as np

DEFAULT_DTYPE = np.float32


class Tensor:
    """A node of the graph: a leaf with data, or an op applied to parents.

    Create leaves with ``Tensor(data)``, ``Tensor.placeholder(shape)`` or
    ``hdl_native.nn.Parameter``; everything else comes from operators.
    """

    __slots__ = (
        "op", "parents", "shape", "dtype", "requires_grad", "name", "grad",
        "_value", "_children", "_order", "_needs", "_plan", "__weakref__",
    )
    __array_priority__ = 100  # numpy scalars on the left defer to Tensor ops

    def __init__(self, data, *, requires_grad=False, dtype=None, name=None):
        if dtype is None and not isinstance(data, (np.ndarray, np.generic)):
            dtype = DEFAULT_DTYPE  # Python numbers and lists become float32
        array = np.asarray(data, dtype=dtype)
        self._init_leaf(array.shape, array.dtype, requires_grad, name)
        self._value = contiguous(array)

    # ------------------------------------------------------------------ leaves
    def _init_leaf(self, shape, dtype, requires_grad, name):
        self.op = None
        self.parents = ()
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.requires_grad = bool(requires_grad)
        self.name = name
        self.grad = None
        self._value = None
        self._children = []
        self._order = None
        self._plan = None
        self._needs = ()

    @classmethod
    def placeholder(cls, shape, dtype=DEFAULT_DTYPE, name=None):
        """An input leaf with no data yet; ``None`` in `shape` means any size.

        Feed it with ``assign(array)``; it never asks for a gradient.
        """
        tensor = cls.__new__(cls)
        tensor._init_leaf(tuple(shape), dtype, False, name or "input")
        return tensor

    def assign(self, data):
        """Give this leaf new data and invalidate every cached value downstream.

        The array must match the leaf's declared shape (``None`` dimensions
        match any size) and is converted to the leaf's dtype.
        """
        if self.op is not None:
            raise TypeError(f"assign() is for leaves; {self!r} is computed by {self.op.name}")
        array = contiguous(np.asarray(data, dtype=self.dtype))
        if not shape_matches(array.shape, self.shape):
            raise ValueError(
                f"assign to {self.name or 'tensor'}: got shape {array.shape}, expected {format_shape(self.shape)}"
            )
        self._value = array
        self.invalidate_downstream()

    def invalidate_downstream(self):
        """Forget cached values of every node computed from this one.

        Call after changing a leaf's array in place (optimisers do).
        """
        stack = [self]
        while stack:
            for child_ref in stack.pop()._children:
                node = child_ref()
                if node is not None and node._value is not None:
                    node._value = None
                    stack.append(node)

    # ------------------------------------------------------------ op results
    @classmethod
    def _from_op(cls, op, parents):
        """Record `op` applied to `parents`; the op checks shapes now."""
        shape, dtype = op.infer(*parents)
        node = cls.__new__(cls)
        node.op = op
        node.parents = parents
        node.shape = tuple(shape)
        node.dtype = np.dtype(dtype)
        node._needs = tuple(p.requires_grad for p in parents)
        node.requires_grad = any(node._needs)
        node.name = None
        node.grad = None
        node._value = None
        node._children = []
        node._order = None
        node._plan = None
        for parent in parents:
            parent._add_child(node)
        return node

    def _add_child(self, node):
        """Remember `node` weakly, so graphs built and dropped (an evaluation graph per call)
        are freed; dead references are pruned whenever the list doubles, amortised O(1).
        (x * x adds x's child twice; invalidation then just meets it twice.)"""
        children = self._children
        children.append(weakref.ref(node))
        size = len(children)
        if size >= 16 and size & (size - 1) == 0:
            children[:] = [child_ref for child_ref in children if child_ref() is not None]

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
        """Evaluate (only what is not cached) and return this node's array."""
        if self._value is not None:
            return self._value
        for node in self.topological_order():
            if node._value is None:
                if node.op is None:
                    raise RuntimeError(
                        f"placeholder {node.name!r} of shape {format_shape(node.shape)} has no data: call assign() first"
                    )
                value = node.op.forward(*[p._value for p in node.parents])
                # numpy turns 0-d results into scalars; keep every value an ndarray.
                node._value = value if type(value) is np.ndarray else np.asarray(value)
        return self._value

    @property
    def value(self):
        """The evaluated array (read-only view for computed nodes)."""
        return self.realize()

    def numpy(self):
        """A copy of the evaluated array."""
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
        add up across calls until ``zero_grad()``.
        """
        value = self.realize()
        if grad_output is None:
            seed = np.ones_like(value)
        else:
            seed = np.asarray(grad_output, dtype=value.dtype)
            if seed.shape != value.shape:
                raise ValueError(f"backward: grad_output shape {seed.shape} != output shape {value.shape}")
        if not self.requires_grad:
            return
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
        return self.shape[0]

    def __bool__(self):
        raise TypeError("a Tensor has no truth value; use .item() or .value")

    def __hash__(self):
        return id(self)


def contiguous(array):
    """`array` itself if C-contiguous, else a C-contiguous copy (0-d stays 0-d,
    unlike np.ascontiguousarray)."""
    return array if array.flags.c_contiguous else array.copy(order="C")


def shape_matches(actual, declared):
    """True when `actual` fits `declared`, where ``None`` matches any size."""
    return len(actual) == len(declared) and all(d is None or a == d for a, d in zip(actual, declared))


def format_shape(shape):
    return "(" + ", ".join("N" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
