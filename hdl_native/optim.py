"""Optimisers over a module's named parameters: SGD (with momentum) and Adam.

Updates happen in place on the parameter arrays (through the active kernel
backend, fused natively when built); each updated parameter's version changes,
so values computed from it are recomputed when next asked for.  Once every
parameter has a gradient, the parameters, gradients and optimiser buffers are
re-homed into one flat array per dtype (hdl_native.flat_params), and each step
is one update call over the whole model instead of one per parameter.

Weight decay is decoupled, as in PyTorch's AdamW: before each update the
weights (not the biases: hdl_native.weights.is_weight) are multiplied by
1 - lr * weight_decay, whatever the optimiser does with the gradient.  In a
flat group the weights come first, so that is one slice multiply per step.

Pruned weights stay at zero once ``keep_zero(masks)`` is given: their gradients
are zeroed before each update and the parameters re-masked after it, so no
optimiser buffer ever moves them away from exactly 0.
"""
import math

import numpy as np

from .flat_params import build_flat_groups
from .kernels import get_ops
from .tensor import Tensor
from .weights import is_weight


class Optimizer:
    """params: a Module, [(name, Tensor)] or [Tensor] (named param0, param1, ...).  weight_decay: the decoupled
    decay factor L (each step the weights are multiplied by 1 - lr * L); names that is_weight() rejects
    (biases) are never decayed."""

    def __init__(self, params, lr, weight_decay=0.0):
        if hasattr(params, "named_parameters"):
            params = list(params.named_parameters())
        params = list(params)
        if params and not isinstance(params[0], tuple):
            params = [(f"param{i}", p) for i, p in enumerate(params)]
        if not params:
            raise ValueError(f"{type(self).__name__}: no parameters to optimise")
        for name, param in params:  # anything else never gets a gradient, and step() would skip it silently
            if not (isinstance(param, Tensor) and param.is_leaf and param.requires_grad):
                what = repr(param) if isinstance(param, Tensor) else f"a {type(param).__name__}"
                raise ValueError(f"{type(self).__name__}: {name} is {what}, not a leaf that requires grad "
                                 "(make it nn.Parameter(...) or Tensor(..., requires_grad=True))")
        if not (math.isfinite(lr) and lr >= 0):
            raise ValueError(f"lr must be a finite number >= 0, got {lr}")
        if not (math.isfinite(weight_decay) and weight_decay >= 0):
            raise ValueError(f"weight_decay must be a finite number >= 0, got {weight_decay}")
        self.named_params = params
        self.lr = float(lr)
        self.weight_decay = float(weight_decay)
        self.decayed = frozenset(name for name, _ in params if is_weight(name))
        self.masks = {}  # {name: float array of 0 (pruned) and 1 (kept)}, see keep_zero()
        self.step_count = 0
        self.flat_groups = None

    def zero_grad(self):
        groups = self.flat_groups
        if groups is not None and all(group.is_current() for group in groups):
            for group in groups:
                group.grad.fill(0)  # one fill per dtype instead of one per parameter
            return
        for _, p in self.named_params:
            p.zero_grad()

    def step(self):
        """Decay the weights, then update every parameter from its gradient (pruned entries stay 0)."""
        groups = self.current_flat_groups()
        self.step_count += 1
        ops = get_ops()
        shrink = 1.0 - self.lr * self.weight_decay
        self.mask_gradients()
        if groups is not None:
            for group in groups:
                if self.weight_decay:
                    group.value[:group.decayed_size] *= shrink
                self.update_flat(ops, group)
                group.mark_modified()
        else:
            for name, p in self.named_params:
                if p.grad is None:
                    continue
                if self.weight_decay and name in self.decayed:
                    p.data[...] *= shrink
                self.update(ops, name, p)
        self.mask_parameters()

    def keep_zero(self, masks):
        """Keep the entries where `masks[name]` is False (or 0) at exactly zero from now on.

        masks: {parameter name: bool array of the parameter's shape}, True where a value is kept.  The
        masked values, and any optimiser buffers already held for them, are zeroed at once.
        """
        params = dict(self.named_params)
        unknown = sorted(set(masks) - set(params))
        if unknown:
            raise ValueError(f"masks for unknown parameters: {', '.join(unknown)}")
        for name, mask in masks.items():
            if np.shape(mask) != params[name].shape:
                raise ValueError(f"mask for {name} has shape {np.shape(mask)}, the parameter {params[name].shape}")
        self.masks = {name: np.asarray(mask, dtype=bool).astype(params[name].dtype) for name, mask in masks.items()}
        self.mask_parameters()
        for key, buffer in self.buffers().items():
            name = key.split("/", 1)[1]
            if name in self.masks:
                buffer *= self.masks[name]

    def mask_gradients(self):
        """Zero the pruned entries' gradients, so no optimiser buffer picks them up."""
        if not self.masks:
            return
        params = dict(self.named_params)
        for name, mask in self.masks.items():
            if params[name].grad is not None:
                params[name].grad *= mask

    def mask_parameters(self):
        """Put the pruned entries back to exactly zero (after an update, or when the masks arrive)."""
        if not self.masks:
            return
        for name, param in self.named_params:
            if name in self.masks:
                param.data[...] *= self.masks[name]

    def current_flat_groups(self):
        """The flat groups, rebuilt when a parameter's array or gradient was rebound; None while
        some parameter has no gradient (then parameters are updated one by one)."""
        groups = self.flat_groups
        if groups is not None and all(group.is_current() for group in groups):
            return groups
        self.flat_groups = build_flat_groups(self.named_params, self.per_name_buffers(), self.decayed)
        return self.flat_groups

    def per_name_buffers(self):
        """{kind: {parameter name: array}} of the buffers to re-home beside the parameters."""
        return {}

    def update(self, ops, name, param):
        raise NotImplementedError

    def update_flat(self, ops, group):
        raise NotImplementedError

    def state_dict(self):
        """What resuming exactly needs besides the hyper-parameters: kind, step count and buffers (and the lr of
        the last step, for the record).  The hyper-parameters (lr, momentum, betas, eps, weight decay) are not
        here: a resumed run builds its optimiser from the settings its state file records."""
        return {"kind": type(self).__name__, "lr": self.lr, "step_count": self.step_count,
                "buffers": {k: v.copy() for k, v in self.buffers().items()}}

    def load_state_dict(self, state):
        """Continue from a state_dict(); ValueError saying what does not fit these parameters.

        Nothing is broadcast, cast or silently restarted at zero: once a step has been taken every
        parameter needs each of this optimiser's buffers (velocity for SGD with momentum, exp_avg and
        exp_avg_sq for Adam) with its exact shape and dtype and finite values; before the first step
        the buffers may also be absent.  step_count must be a whole number >= 0.
        """
        if not isinstance(state, dict) or not {"kind", "step_count", "buffers"} <= set(state):
            raise ValueError("optimizer state must be a mapping with kind, step_count and buffers")
        if state["kind"] != type(self).__name__:
            raise ValueError(f"optimizer state is for {state['kind']}, not {type(self).__name__}")
        step_count, buffers = state["step_count"], state["buffers"]
        if isinstance(step_count, bool) or not isinstance(step_count, (int, np.integer)) or step_count < 0:
            raise ValueError(f"optimizer step_count must be a whole number >= 0, got {step_count!r}")
        if not isinstance(buffers, dict):
            raise ValueError(f"optimizer buffers must be a mapping, got {type(buffers).__name__}")
        params, kinds = dict(self.named_params), list(self.per_name_buffers())
        expected = {f"{kind}/{name}": params[name] for kind in kinds for name in params}
        if buffers or step_count:
            missing, unexpected = sorted(set(expected) - set(buffers)), sorted(set(buffers) - set(expected))
            if missing or unexpected:
                keeps = " and ".join(kinds) + " per parameter" if kinds else "no buffers"
                raise ValueError(f"optimizer buffers after {step_count} steps do not fit this {type(self).__name__} "
                                 f"(it keeps {keeps}): missing {_listing(missing)}, unexpected {_listing(unexpected)}")
        for key, value in buffers.items():
            param = expected[key]
            if not isinstance(value, np.ndarray) or value.shape != param.shape or value.dtype != param.dtype:
                found = f"{value.dtype} {value.shape}" if isinstance(value, np.ndarray) else type(value).__name__
                raise ValueError(f"optimizer buffer {key} is {found}, the parameter is {param.dtype} {param.shape}")
            if not np.isfinite(value).all():
                raise ValueError(f"optimizer buffer {key} holds non-finite values (NaN or inf)")
        self.step_count = int(step_count)
        self.set_buffers({k: np.array(v) for k, v in buffers.items()})
        self.flat_groups = None  # rebuilt from the loaded buffers at the next step

    def buffers(self):
        return {}

    def set_buffers(self, buffers):
        pass


def _listing(names, limit=3):
    """'none', or the first `limit` names and how many more, for messages."""
    if not names:
        return "none"
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


class SGD(Optimizer):
    """param -= lr * v, with v = momentum * v + grad (PyTorch's form; v = grad when momentum is 0).

    With weight_decay L the weights first shrink: w -= lr * L * w (decoupled: unlike PyTorch's SGD, whose
    weight_decay adds L * w to the gradient and so passes it through the momentum).
    """

    def __init__(self, params, lr=0.01, momentum=0.0, weight_decay=0.0):
        super().__init__(params, lr, weight_decay)
        self.momentum = float(momentum)
        self.velocity = {}

    def update(self, ops, name, param):
        velocity = None
        if self.momentum:
            velocity = self.velocity.get(name)
            if velocity is None:
                velocity = self.velocity[name] = np.zeros(param.shape, dtype=param.dtype)
        ops.sgd_update(param.data, param.grad, velocity, self.lr, self.momentum)

    def per_name_buffers(self):
        return {"velocity": self.velocity} if self.momentum else {}

    def update_flat(self, ops, group):
        ops.sgd_update(group.value, group.grad, group.buffers.get("velocity"), self.lr, self.momentum)

    def buffers(self):
        return {f"velocity/{k}": v for k, v in self.velocity.items()}

    def set_buffers(self, buffers):
        self.velocity = {k.split("/", 1)[1]: v for k, v in buffers.items()}


class Adam(Optimizer):
    """Adam with bias correction (beta1 0.9, beta2 0.999, eps 1e-8 by default); with weight_decay it is
    PyTorch's AdamW: the weights are multiplied by 1 - lr * weight_decay before each Adam update.

    On the native backend every update, flat or per parameter, is
    pyx/optim.pyx's loop (AVX2 where the CPU has it).
    """

    def __init__(self, params, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr, weight_decay)
        self.beta1, self.beta2 = map(float, betas)
        self.eps = float(eps)
        self.exp_avg, self.exp_avg_sq = {}, {}

    def per_name_buffers(self):
        return {"exp_avg": self.exp_avg, "exp_avg_sq": self.exp_avg_sq}

    def update_flat(self, ops, group):
        ops.adam_update(group.value, group.grad, group.buffers["exp_avg"], group.buffers["exp_avg_sq"],
                        self.lr, self.beta1, self.beta2, self.eps, self.step_count)

    def update(self, ops, name, param):
        if name not in self.exp_avg:
            self.exp_avg[name] = np.zeros(param.shape, dtype=param.dtype)
            self.exp_avg_sq[name] = np.zeros(param.shape, dtype=param.dtype)
        ops.adam_update(param.data, param.grad, self.exp_avg[name], self.exp_avg_sq[name],
                        self.lr, self.beta1, self.beta2, self.eps, self.step_count)

    def buffers(self):
        out = {f"exp_avg/{k}": v for k, v in self.exp_avg.items()}
        out.update({f"exp_avg_sq/{k}": v for k, v in self.exp_avg_sq.items()})
        return out

    def set_buffers(self, buffers):
        self.exp_avg = {k.split("/", 1)[1]: v for k, v in buffers.items() if k.startswith("exp_avg/")}
        self.exp_avg_sq = {k.split("/", 1)[1]: v for k, v in buffers.items() if k.startswith("exp_avg_sq/")}



def clip_grad_norm(params_or_model, max_norm):
    """Scale all gradients in place so their global L2 norm is at most `max_norm` (PyTorch's
    clip_grad_norm_: factor max_norm / (norm + 1e-6) when that is below 1).

    params_or_model: a Module or an iterable of parameters (or of (name, parameter) pairs);
    parameters without a gradient are skipped.  Returns the norm before clipping, a float.
    """
    if hasattr(params_or_model, "parameters"):
        params_or_model = params_or_model.parameters()
    params = [p[1] if isinstance(p, tuple) else p for p in params_or_model]
    grads = [p.grad for p in params if p.grad is not None]
    total = float(np.sqrt(sum(float(np.dot(g.reshape(-1), g.reshape(-1))) for g in grads)))
    factor = float(max_norm) / (total + 1e-6)
    if factor < 1.0:
        for grad in grads:
            grad *= grad.dtype.type(factor)
    return total
