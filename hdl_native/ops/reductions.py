"""Sum and mean, over all axes or some; log-sum-exp over groups of columns."""
import numpy as np

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


class GroupLogSumExp(FloatOp):
    """Log-sum-exp of the columns of x (N, F) by group: y[:, g] = log(sum over the columns j with groups[j] = g of
    e^x[:, j]) -> (N, G), G = max(groups) + 1, every group holding at least one column.  Fed log-probabilities
    it gives the log-probability of each group (a letter read as 'a' or 'A': models.LettersVGGCases).
    Gradient: grad[:, g] e^(x[:, j] - y[:, g]) for each column j of group g.  Light numpy (F per row)."""

    name = "group_logsumexp"

    def __init__(self, groups):
        self.groups = checked_groups(groups)

    def infer(self, x):
        if x.ndim != 2 or (x.shape[1] is not None and x.shape[1] != len(self.groups)):
            raise self.shape_error(f"expects (N, {len(self.groups)}): one group number per column", x)
        return (x.shape[0], int(self.groups.max()) + 1), self.infer_dtype(x)

    def forward(self, x):
        self.input = self.as_float(x)
        self.output = log_sum_exp_by_group(self.input, self.groups)
        return self.output

    def backward(self, grad, needs):
        with np.errstate(under="ignore"):
            weights = np.exp(self.input - self.output[:, self.groups])  # each column's share of its group
        return ((grad[:, self.groups] * weights).astype(self.dtype, copy=False),)


def checked_groups(groups):
    """int64 (F,) group numbers, each of 0 .. G - 1 used; ValueError otherwise."""
    groups = np.asarray(groups, dtype=np.int64)
    if groups.ndim != 1 or not groups.size or groups.min() < 0:
        raise ValueError(f"group_logsumexp: groups must be a non-empty list of group numbers >= 0, got {groups}")
    if len(np.unique(groups)) != groups.max() + 1:
        raise ValueError(f"group_logsumexp: every group from 0 to {groups.max()} needs a column, got {list(groups)}")
    return groups


def log_sum_exp_by_group(x, groups):
    """GroupLogSumExp's value in numpy: x float (N, F), groups int (F,) -> (N, G) of x's dtype."""
    groups = checked_groups(groups)
    order = np.argsort(groups, kind="stable")  # the columns group by group, so each group is one run
    starts = np.flatnonzero(np.diff(groups[order], prepend=-1))  # where each group's run begins, group 0 first
    ordered = x[:, order]
    peak = np.maximum.reduceat(ordered, starts, axis=1)  # (N, G)
    with np.errstate(under="ignore"):
        total = np.add.reduceat(np.exp(ordered - peak[:, groups[order]]), starts, axis=1)
    return (peak + np.log(total)).astype(x.dtype, copy=False)
