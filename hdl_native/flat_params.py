"""Flat parameter groups: a model's parameters, gradients and optimiser buffers as views into flat arrays.

An optimiser that updates P parameters one by one pays P kernel calls and P
times the per-call overhead.  Re-homing every parameter of one dtype into a
single flat array (each parameter's array becomes a reshaped view of it), and
likewise its gradient and each optimiser buffer, lets one fused call update a
whole model in one pass over memory.

The views stay valid as long as nobody rebinds a parameter's array or
gradient; ``FlatGroup.is_current()`` checks that by identity before each use,
and the optimiser rebuilds the group when it fails (after ``assign()`` or a
new gradient array).

Weight decay acts on some parameters only (the weights, not the biases): a group
puts those first, so its ``value[:decayed_size]`` is exactly the decayed part
and decoupled decay is one in-place multiply per step.
"""
import numpy as np


class FlatGroup:
    """Parameters of one dtype re-homed into flat arrays.

    named_params: [(name, Tensor)] with gradients; buffers: {kind: {name: array}}
    of existing optimiser state (missing names start at zero); decayed: the names
    weight decay acts on.  The decayed parameters are laid out first (each part
    in the given order), so ``value[:decayed_size]`` holds exactly their values.
    Afterwards ``value``, ``grad`` and ``buffers[kind]`` are flat (P,) arrays, each
    parameter's value and grad are views into them, and ``buffers[kind][name]``
    is rebound to the view of that name (so the optimiser's dicts stay valid).
    """

    def __init__(self, named_params, buffers, decayed=frozenset()):
        named_params = sorted(named_params, key=lambda item: item[0] not in decayed)  # stable: decayed first
        self.names = [name for name, _ in named_params]
        self.tensors = [tensor for _, tensor in named_params]
        self.dtype = self.tensors[0].dtype
        shapes = [tensor.shape for tensor in self.tensors]
        sizes = [int(np.prod(shape)) for shape in shapes]
        bounds = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        total = int(bounds[-1])
        self.decayed_size = int(sum(size for (name, _), size in zip(named_params, sizes) if name in decayed))
        self.value = np.empty(total, dtype=self.dtype)
        self.grad = np.empty(total, dtype=self.dtype)
        self.buffers = {kind: np.zeros(total, dtype=self.dtype) for kind in buffers}
        self.value_views, self.grad_views = [], []
        for i, (name, tensor) in enumerate(named_params):
            start, stop, shape = bounds[i], bounds[i + 1], shapes[i]
            value_view = self.value[start:stop].reshape(shape)
            value_view[...] = tensor.value
            tensor.assign(value_view)  # same numbers, now living in the flat array
            grad_view = self.grad[start:stop].reshape(shape)
            grad_view[...] = tensor.grad
            tensor.grad = grad_view
            self.value_views.append(value_view)
            self.grad_views.append(grad_view)
            for kind, per_name in buffers.items():
                buffer_view = self.buffers[kind][start:stop].reshape(shape)
                if name in per_name:
                    buffer_view[...] = per_name[name]
                per_name[name] = buffer_view

    def is_current(self):
        """True while every parameter's value and grad are still this group's views."""
        for tensor, value_view, grad_view in zip(self.tensors, self.value_views, self.grad_views):
            if not tensor.holds(value_view) or tensor.grad is not grad_view:
                return False
        return True

    def mark_modified(self):
        """Tell every parameter of the group that its array changed in place (after a flat update)."""
        for tensor in self.tensors:
            tensor.mark_modified()


def build_flat_groups(named_params, buffers, decayed=frozenset()):
    """One FlatGroup per float dtype among `named_params` (`decayed` names laid out first), or None when
    some parameter has no gradient yet or is not a float32/float64 array (the caller then updates one by one)."""
    if len({id(tensor) for _, tensor in named_params}) != len(named_params):
        return None  # a parameter listed twice cannot live in two places
    by_dtype = {}
    for name, tensor in named_params:
        if tensor.grad is None or tensor.dtype not in (np.float32, np.float64):
            return None
        by_dtype.setdefault(tensor.dtype, []).append((name, tensor))
    return [FlatGroup(group, buffers, decayed) for group in by_dtype.values()]
