"""Central finite-difference gradient checking, in PyTorch's gradcheck spirit.

Build a graph once from float64 leaves; reduce its output to a scalar with
fixed random weights; then for every element of every checked input,
re-feed the graph with the element moved by +-eps and compare the central
difference with the analytic gradient from ``backward()``.  Re-feeding the
same graph also exercises cache invalidation.
"""
import numpy as np

from .tensor import Tensor


class GradcheckError(AssertionError):
    """An analytic gradient that differs from the finite-difference one beyond the tolerance (the message names
    the input, the first position found wrong and both values)."""


def gradcheck(fn, inputs, check=None, eps=1e-6, rtol=1e-4, atol=1e-6, seed=0):
    """Check d fn(*inputs) / d inputs[i] numerically for each i in `check`.

    fn: builds the output Tensor from leaf Tensors.
    inputs: list of numpy arrays; float arrays become float64 leaves, integer
        arrays (labels) constant leaves.
    check: indices of inputs to check (default: every float input).
    Raises GradcheckError naming the input and the worst element; returns the
    largest absolute difference found.
    """
    leaves = []
    for array in inputs:
        array = np.asarray(array)
        if array.dtype.kind == "f":
            leaves.append(Tensor(array.astype(np.float64), requires_grad=True))
        else:
            leaves.append(Tensor(array))
    if check is None:
        check = [i for i, leaf in enumerate(leaves) if leaf.requires_grad]
    output = fn(*leaves)
    weights = np.random.default_rng(seed).standard_normal(output.shape)
    weights_leaf = Tensor(weights.astype(np.float64))
    scalar = (output * weights_leaf).sum() if output.shape else output * weights_leaf
    scalar.backward()
    worst = 0.0
    for index in check:
        leaf = leaves[index]
        analytic = np.zeros(leaf.shape) if leaf.grad is None else leaf.grad.copy()
        base = leaf.value.copy()
        numeric = np.zeros_like(base)
        for flat in range(base.size):
            position = np.unravel_index(flat, base.shape)
            shifted = base.copy()
            shifted[position] = base[position] + eps
            leaf.assign(shifted)
            plus = scalar.item()
            shifted[position] = base[position] - eps
            leaf.assign(shifted)
            minus = scalar.item()
            numeric[position] = (plus - minus) / (2 * eps)
        leaf.assign(base)
        difference = np.abs(numeric - analytic)
        bound = atol + rtol * np.abs(numeric)
        wrong = ~(difference <= bound)  # a NaN on either side is wrong too (NaN > bound would be False)
        if np.any(wrong):
            worst_at = np.argmax(np.where(wrong, np.nan_to_num(difference - bound, nan=np.inf), -np.inf))
            at = tuple(int(i) for i in np.unravel_index(worst_at, base.shape))
            raise GradcheckError(
                f"gradient of input {index} (shape {base.shape}) wrong at {at}: "
                f"numeric {numeric[at]:.8g}, analytic {analytic[at]:.8g}"
            )
        worst = max(worst, float(difference.max(initial=0.0)))
    return worst
