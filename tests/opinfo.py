"""One record per public op: how to call it, sample inputs, and float64 references.

test_ops.py runs every sample of every record on both kernel backends at 1
and 2 threads.  The references are plain numpy (direct loops for conv and
pool, scipy's erf for GELU), written without hdl_native, and are evaluated
in float64 on exactly the values the op saw (float32 inputs widened).

A record names the public callable it tests: an ``F.*`` function of
hdl_native.functional or a ``Tensor`` operator.  Each sample is one call;
samples marked ``gradcheck=False`` are too large for an elementwise finite
difference and exist for the native fast paths: the vectorised float32 GELU
and 2x2 pooling loops, LettersCNN conv shapes, and the threaded paths, which
start at MIN_PARALLEL_ELEMENTS elements or MIN_PARALLEL_MACS multiply-adds
(test_kernels.py checks that the samples named "...threaded" stay above them).
"""
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np
import pytest
from scipy.special import erf

import hdl_native
from hdl_native import functional as F

# ---------------------------------------------------------------- backends and threads
BACKENDS = [
    pytest.param("numpy", id="numpy"),
    pytest.param("native", id="native", marks=pytest.mark.skipif(
        not hdl_native.native_available(),
        reason="native kernels not built: run python setup.py build_ext --inplace")),
]
THREADS = [pytest.param(1, id="1thread"), pytest.param(2, id="2threads")]


@contextmanager
def running_on(backend, n_threads):
    """Run the block on kernel backend `backend` with `n_threads` threads, then restore both."""
    previous_backend = hdl_native.use_ops(backend)
    previous_threads = hdl_native.get_num_threads()
    hdl_native.set_num_threads(n_threads)
    try:
        yield
    finally:
        hdl_native.set_num_threads(previous_threads)
        hdl_native.use_ops(previous_backend)


def assert_close(actual, expected, dtype, what):
    """`actual` (computed in `dtype`) against a float64 `expected`.

    float32 gets float32 tolerance relative to the values' scale (the largest
    |expected|, at least 1), so long sums and large logits are judged fairly;
    float64 must agree to ~1e-10 of that scale.
    """
    expected = np.asarray(expected, dtype=np.float64)
    assert np.shape(actual) == expected.shape, f"{what}: shape {np.shape(actual)}, expected {expected.shape}"
    scale = max(1.0, float(np.abs(expected).max(initial=0.0)))
    rtol = 1e-5 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64), expected, rtol=rtol, atol=rtol * scale,
                               err_msg=what)


# ---------------------------------------------------------------- the record
@dataclass
class Sample:
    """One call of an op: inputs (rng -> float64 arrays or int64 labels) and keyword arguments."""
    label: str
    make_inputs: Callable
    kwargs: dict = field(default_factory=dict)
    gradcheck: bool = True


@dataclass
class OpInfo:
    """api: the public callable under test, e.g. "F.conv2d" or "Tensor.__add__".
    fn(*Tensors, **kwargs) -> Tensor; reference(*float64 arrays, **kwargs) -> float64 array.
    reference_grad(grad_output, *arrays, **kwargs) -> the gradient of every float input,
    given for the ops with native kernels so their float32 backward meets a float64 reference.
    """
    api: str
    fn: Callable
    reference: Callable
    samples: list
    reference_grad: Optional[Callable] = None


# ---------------------------------------------------------------- inputs
def normal(*shape, scale=1.0):
    return lambda rng: [scale * rng.standard_normal(shape)]


def normals(*shapes):
    return lambda rng: [rng.standard_normal(shape) for shape in shapes]


def positive(*shape):
    return lambda rng: [0.5 + rng.random(shape)]


def away_from_zero(*shape):
    """|x| >= 0.1, so kinks (relu at 0) are never crossed by the finite difference."""
    return lambda rng: [rng.choice([-1.0, 1.0], size=shape) * (0.1 + rng.random(shape))]


def logits_and_labels(n_rows, n_classes, scale=1.0):
    return lambda rng: [scale * rng.standard_normal((n_rows, n_classes)),
                        rng.integers(0, n_classes, size=n_rows).astype(np.int64)]


def gelu_inputs(*shape):
    """Spread over erf's whole range (its fast float32 form clamps at |x/sqrt 2| = 4), plus 0 and +-9."""
    def make(rng):
        x = 3.0 * rng.standard_normal(shape)
        flat = x.reshape(-1)
        flat[:3] = [0.0, -9.0, 9.0][:flat.size]
        return [x]
    return make


def conv_inputs(n_batch, c_in, c_out, height, width, kernel_size, bias=True):
    shapes = [(n_batch, c_in, height, width), (c_out, c_in, kernel_size, kernel_size)] + ([(c_out,)] if bias else [])
    return normals(*shapes)


# ---------------------------------------------------------------- references
def gelu_ref(x):
    return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))


def gelu_grad(grad_output, x):
    pdf = np.exp(-0.5 * x * x) / np.sqrt(2.0 * np.pi)
    return [grad_output * (0.5 * (1.0 + erf(x / np.sqrt(2.0))) + x * pdf)]


def softmax(x):
    shifted = np.exp(x - x.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def log_softmax_ref(x):
    shifted = x - x.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def log_softmax_grad(grad_output, x):
    return [grad_output - softmax(x) * grad_output.sum(axis=1, keepdims=True)]


def cross_entropy_ref(x, labels, label_smoothing=0.0):
    target = np.full(x.shape, label_smoothing / x.shape[1])
    target[np.arange(len(labels)), labels] += 1.0 - label_smoothing
    return -(target * log_softmax_ref(x)).sum(axis=1).mean()


def group_logsumexp_ref(x, groups):
    groups = np.asarray(groups)
    return np.stack([np.log(np.exp(x[:, groups == g]).sum(axis=1)) for g in range(groups.max() + 1)], axis=1)


def group_logsumexp_grad(grad_output, x, groups):
    groups = np.asarray(groups)
    return [grad_output[:, groups] * np.exp(x - group_logsumexp_ref(x, groups)[:, groups])]


def logits_and_allowed(n_rows, n_classes):
    """Logits and a log-weight mask allowing one to three classes per row (0 allowed, F.NOT_ALLOWED not)."""
    def make(rng):
        allowed = rng.random((n_rows, n_classes)) < 0.3
        allowed[np.arange(n_rows), rng.integers(0, n_classes, size=n_rows)] = True
        return [3.0 * rng.standard_normal((n_rows, n_classes)), np.where(allowed, 0.0, F.NOT_ALLOWED)]
    return make


def cross_entropy_among_ref(x, log_allowed):
    probabilities = softmax(x) * (log_allowed == 0)
    return -np.log(probabilities.sum(axis=1)).mean()


def cross_entropy_among_grad(grad_output, x, log_allowed):
    among = softmax(x) * (log_allowed == 0)
    share = among / among.sum(axis=1, keepdims=True)  # each allowed class's part of the allowed probability
    return [(softmax(x) - share) * grad_output / len(x), -share * grad_output / len(x)]


def cross_entropy_grad(grad_output, x, labels, label_smoothing=0.0):
    target = np.full(x.shape, label_smoothing / x.shape[1])
    target[np.arange(len(labels)), labels] += 1.0 - label_smoothing
    return [(softmax(x) - target) * grad_output / len(labels)]


def linear_ref(x, weight, bias=None):
    return x @ weight.T + (0.0 if bias is None else bias)


def linear_grad(grad_output, x, weight, bias=None):
    grads = [grad_output @ weight, grad_output.T @ x]
    return grads + ([grad_output.sum(axis=0)] if bias is not None else [])


def conv2d_ref(x, weight, bias=None):
    """Valid cross-correlation, one output pixel at a time."""
    n, _, h, w = x.shape
    c_out, _, k, _ = weight.shape
    out = np.zeros((n, c_out, h - k + 1, w - k + 1))
    for i in range(h - k + 1):
        for j in range(w - k + 1):
            out[:, :, i, j] = np.tensordot(x[:, :, i:i + k, j:j + k], weight, axes=([1, 2, 3], [1, 2, 3]))
    if bias is not None:
        out += bias[None, :, None, None]
    return out


def conv2d_grad(grad_output, x, weight, bias=None):
    """Each output pixel sends its gradient back through its own window."""
    k = weight.shape[2]
    grad_x, grad_w = np.zeros_like(x), np.zeros_like(weight)
    for i in range(grad_output.shape[2]):
        for j in range(grad_output.shape[3]):
            pixel = grad_output[:, :, i, j]
            grad_x[:, :, i:i + k, j:j + k] += np.tensordot(pixel, weight, axes=(1, 0))
            grad_w += np.tensordot(pixel, x[:, :, i:i + k, j:j + k], axes=(0, 0))
    return [grad_x, grad_w] + ([grad_output.sum(axis=(0, 2, 3))] if bias is not None else [])


def pool_windows(x, kernel_size):
    """(i, j, window) for every k x k window, stride k; edge windows are partial (ceil mode)."""
    k = kernel_size
    for i in range(-(-x.shape[2] // k)):
        for j in range(-(-x.shape[3] // k)):
            yield i, j, x[:, :, i * k:(i + 1) * k, j * k:(j + 1) * k]


def maxpool_ref(x, kernel_size):
    k = kernel_size
    out = np.empty((*x.shape[:2], -(-x.shape[2] // k), -(-x.shape[3] // k)))
    for i, j, window in pool_windows(x, k):
        out[:, :, i, j] = window.max(axis=(2, 3))
    return out


def maxpool_grad(grad_output, x, kernel_size):
    """Each window's gradient goes to its first maximum in row-major order."""
    grad_x = np.zeros_like(x)
    for i, j, window in pool_windows(x, kernel_size):
        flat = window.reshape(*window.shape[:2], -1)
        at = np.argmax(flat, axis=2)
        rows, cols = np.divmod(at, window.shape[3])
        n_index, c_index = np.indices(at.shape)
        grad_x[n_index, c_index, i * kernel_size + rows, j * kernel_size + cols] += grad_output[:, :, i, j]
    return [grad_x]


class FixedUniform:
    """An rng whose random() returns the same draws every call, so dropout's mask
    stays fixed while gradcheck re-evaluates the graph."""

    def __init__(self, seed):
        self.seed = seed

    def random(self, shape, dtype=np.float64):
        return np.random.default_rng(self.seed).random(shape).astype(dtype)


def dropout_ref(x, p):
    keep = FixedUniform(7).random(x.shape, dtype=np.float32) < 1.0 - p
    return x * keep / (1.0 - p)


def stored_statistics(channels):
    """The mean and variance (C,) a batch normalisation holds for eval mode, fixed per channel count."""
    rng = np.random.default_rng(11)
    return rng.standard_normal(channels), 0.5 + rng.random(channels)


def batch_norm(x, gamma, beta, training):
    """F.batch_norm2d with stored_statistics as the stored mean and var (no gradient reaches them)."""
    mean, var = (stat.astype(x.dtype) for stat in stored_statistics(x.shape[1]))
    return F.batch_norm2d(x, gamma, beta, mean, var, training=training)


def batch_norm_statistics(x, training):
    """(mean, var) (1, C, 1, 1) that standardise x: its own over N, H, W (biased variance) while training."""
    if not training:
        return (stat[None, :, None, None] for stat in stored_statistics(x.shape[1]))
    mean = x.mean(axis=(0, 2, 3), keepdims=True)
    return mean, ((x - mean) ** 2).mean(axis=(0, 2, 3), keepdims=True)


def batch_norm_ref(x, gamma, beta, training, eps=1e-5):
    mean, var = batch_norm_statistics(x, training)
    return gamma[None, :, None, None] * (x - mean) / np.sqrt(var + eps) + beta[None, :, None, None]


def batch_norm_grad(grad_output, x, gamma, beta, training, eps=1e-5):
    """Written out from the chain rule through the batch's mean and variance, as Ioffe and Szegedy give it."""
    mean, var = batch_norm_statistics(x, training)
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = (x - mean) * inv_std
    g = gamma[None, :, None, None]
    grad_x_hat = grad_output * g
    if training:
        count = x.shape[0] * x.shape[2] * x.shape[3]
        grad_var = (grad_x_hat * (x - mean)).sum(axis=(0, 2, 3), keepdims=True) * -0.5 * inv_std ** 3
        grad_mean = -(grad_x_hat * inv_std).sum(axis=(0, 2, 3), keepdims=True)
        grad_x = grad_x_hat * inv_std + grad_var * 2.0 * (x - mean) / count + grad_mean / count
    else:
        grad_x = grad_x_hat * inv_std
    return [grad_x, (grad_output * x_hat).sum(axis=(0, 2, 3)), grad_output.sum(axis=(0, 2, 3))]


def nll_ref(log_probs, labels):
    return -log_probs[np.arange(len(labels)), labels].mean()


def complex_step_grad(reference):
    """reference_grad for a `reference` written with complex-safe numpy: d sum(grad_output * reference)
    / d each float input element as Im(f(x + ih)) / h, exact to rounding (no difference is taken)."""
    step = 1e-30

    def grad(grad_output, *arrays, **kwargs):
        grads = []
        for index, array in enumerate(arrays):
            if array.dtype.kind != "f":
                continue
            result = np.zeros(array.shape)
            for flat in range(array.size):
                shifted = list(arrays)
                moved = array.astype(np.complex128)
                moved.reshape(-1)[flat] += 1j * step
                shifted[index] = moved
                result.reshape(-1)[flat] = np.sum(grad_output * reference(*shifted, **kwargs)).imag / step
            grads.append(result)
        return grads
    return grad


def sigmoid_ref(x):
    return 1.0 / (1.0 + np.exp(-x))


def gru_ref(x, weight_ih, weight_hh, bias_ih, bias_hh, h0=None):
    """PyTorch's GRU equations, one step at a time: (N, T, I) -> (N, T, H)."""
    hidden = weight_hh.shape[1]
    h = np.zeros((x.shape[0], hidden)) if h0 is None else h0
    outputs = []
    for t in range(x.shape[1]):
        gi = x[:, t] @ weight_ih.T + bias_ih
        gh = h @ weight_hh.T + bias_hh
        r = sigmoid_ref(gi[:, :hidden] + gh[:, :hidden])
        z = sigmoid_ref(gi[:, hidden:2 * hidden] + gh[:, hidden:2 * hidden])
        n = np.tanh(gi[:, 2 * hidden:] + r * gh[:, 2 * hidden:])
        h = (1 - z) * n + z * h
        outputs.append(h)
    return np.stack(outputs, axis=1)


def lstm_ref_states(x, weight_ih, weight_hh, bias_ih, bias_hh, h0=None, c0=None):
    """PyTorch's LSTM equations, one step at a time: (outputs (N, T, H), final cell (N, H))."""
    hidden = weight_hh.shape[1]
    h = np.zeros((x.shape[0], hidden)) if h0 is None else h0
    c = np.zeros((x.shape[0], hidden)) if c0 is None else c0
    outputs = []
    for t in range(x.shape[1]):
        pre = x[:, t] @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh
        i, f, g, o = (pre[:, k * hidden:(k + 1) * hidden] for k in range(4))
        c = sigmoid_ref(f) * c + sigmoid_ref(i) * np.tanh(g)
        h = sigmoid_ref(o) * np.tanh(c)
        outputs.append(h)
    return np.stack(outputs, axis=1), c


def lstm_ref(*arrays):
    return lstm_ref_states(*arrays)[0]


def lstm_final_cell_ref(*arrays):
    return lstm_ref_states(*arrays)[1]


def recurrent_inputs(n_gates, n_batch, n_steps, in_features, hidden, n_states):
    """x (N, T, I), weight_ih (G, I), weight_hh (G, H), bias_ih, bias_hh (G,), then the initial states (N, H)."""
    gates = n_gates * hidden
    return lambda rng: ([rng.standard_normal((n_batch, n_steps, in_features)),
                         0.5 * rng.standard_normal((gates, in_features)), 0.5 * rng.standard_normal((gates, hidden)),
                         0.5 * rng.standard_normal(gates), 0.5 * rng.standard_normal(gates)]
                        + [rng.standard_normal((n_batch, hidden)) for _ in range(n_states)])


def embedded_recurrent_inputs(n_gates, n_rows, n_batch, n_steps, in_features, hidden, n_states):
    """indices (N, T), an embedding table (V, I), then recurrent_inputs' weights and states."""
    def make(rng):
        arrays = recurrent_inputs(n_gates, n_batch, n_steps, in_features, hidden, n_states)(rng)
        return embedding_inputs((n_batch, n_steps), n_rows, in_features)(rng) + arrays[1:]
    return make


def recurrent_records(api, layer, reference, n_gates, n_states):
    """Two records of a recurrent layer: on float inputs x (N, T, I), and reading the rows of an
    embedding table selected by indices (N, T) (``embedding=``)."""
    def on_table(indices, table, *rest):
        return layer(indices, *rest, embedding=table)

    def reference_on_table(indices, table, *rest):
        return reference(table[indices], *rest)

    return [
        OpInfo(api, layer, reference, [
            Sample("with-state", recurrent_inputs(n_gates, 3, 4, 2, 3, n_states)),
            Sample("zero-state", recurrent_inputs(n_gates, 2, 3, 3, 2, 0)),
            Sample("odd-batch-one-step", recurrent_inputs(n_gates, 5, 1, 2, 2, n_states)),
            Sample("wider", recurrent_inputs(n_gates, 4, 6, 5, 8, n_states), gradcheck=False)],
            reference_grad=complex_step_grad(reference)),
        OpInfo(api, on_table, reference_on_table, [
            Sample("embedded-with-state", embedded_recurrent_inputs(n_gates, 4, 3, 4, 2, 3, n_states)),
            Sample("embedded-zero-state", embedded_recurrent_inputs(n_gates, 3, 2, 5, 3, 2, 0))],
            reference_grad=complex_step_grad(reference_on_table)),
    ]


def embedding_inputs(index_shape, n_rows, dim):
    """indices (repeats included, so backward must add them up), weight (V, D)."""
    return lambda rng: [rng.integers(0, n_rows, size=index_shape).astype(np.int64),
                        rng.standard_normal((n_rows, dim))]


# ---------------------------------------------------------------- the table
OPS = [
    # Tensor operators (a number on either side is a keyword argument of the sample)
    OpInfo("Tensor.__add__", lambda a, b: a + b, lambda a, b: a + b, [
        Sample("same-shape", normals((3, 4), (3, 4))),
        Sample("broadcast", normals((3, 4), (4,))),
        Sample("number", normal(3, 4), {"b": 1.5})]),
    OpInfo("Tensor.__radd__", lambda a, number: number + a, lambda a, number: number + a, [
        Sample("number", normal(4), {"number": 1.5})]),
    OpInfo("Tensor.__sub__", lambda a, b: a - b, lambda a, b: a - b, [
        Sample("broadcast", normals((3, 4), (3, 1))),
        Sample("number", normal(3, 4), {"b": 0.5})]),
    OpInfo("Tensor.__rsub__", lambda a, number: number - a, lambda a, number: number - a, [
        Sample("number", normal(4), {"number": 1.5})]),
    OpInfo("Tensor.__mul__", lambda a, b: a * b, lambda a, b: a * b, [
        Sample("same-shape", normals((2, 3), (2, 3))),
        Sample("0d-times-tensor", normals((), (4,))),
        Sample("number", normal(4), {"b": 2.5})]),
    OpInfo("Tensor.__rmul__", lambda a, number: number * a, lambda a, number: number * a, [
        Sample("number", normal(4), {"number": 2.5})]),
    OpInfo("Tensor.__truediv__", lambda a, b: a / b, lambda a, b: a / b, [
        Sample("tensors", lambda rng: normal(3, 4)(rng) + positive(3, 4)(rng)),
        Sample("number", normal(3, 4), {"b": 4.0})]),
    OpInfo("Tensor.__rtruediv__", lambda a, number: number / a, lambda a, number: number / a, [
        Sample("number", positive(3, 4), {"number": 2.0})]),
    OpInfo("Tensor.__neg__", lambda a: -a, np.negative, [Sample("vector", normal(5))]),
    OpInfo("Tensor.__pow__", lambda a, exponent: a ** exponent, lambda a, exponent: a ** exponent, [
        Sample("cube", normal(4), {"exponent": 3}),
        Sample("square", normal(4), {"exponent": 2}),
        Sample("sqrt", positive(4), {"exponent": 0.5}),
        Sample("zeroth-at-zero", lambda rng: [np.array([0.0, -1.5, 0.0, 2.0])], {"exponent": 0})]),
    OpInfo("Tensor.__matmul__", lambda a, b: a @ b, np.matmul, [Sample("3x5-5x2", normals((3, 5), (5, 2)))]),
    OpInfo("Tensor.__getitem__", lambda a, index: a[index], lambda a, index: a[index], [
        Sample("strided-slice", normal(4, 5), {"index": (slice(1, 3), slice(None, None, 2))}),
        Sample("integer", normal(3, 4), {"index": (slice(None), 2)})]),
    # hdl_native.functional
    OpInfo("F.add", F.add, np.add, [Sample("broadcast", normals((3, 4), (4,)))]),
    OpInfo("F.sub", F.sub, np.subtract, [Sample("broadcast", normals((3, 4), (3, 1)))]),
    OpInfo("F.mul", F.mul, np.multiply, [Sample("same-shape", normals((2, 3), (2, 3)))]),
    OpInfo("F.div", F.div, np.divide, [Sample("tensors", lambda rng: normal(3, 4)(rng) + positive(3, 4)(rng))]),
    OpInfo("F.neg", F.neg, np.negative, [Sample("vector", normal(5))]),
    OpInfo("F.square", F.square, np.square, [Sample("3x3", normal(3, 3))]),
    OpInfo("F.power", F.power, lambda a, exponent: a ** exponent, [Sample("cube", normal(4), {"exponent": 3}),
                                          Sample("reciprocal", positive(4), {"exponent": -1})]),
    OpInfo("F.exp", F.exp, np.exp, [Sample("3x3", normal(3, 3))]),
    OpInfo("F.log", F.log, np.log, [Sample("3x3", positive(3, 3))]),
    OpInfo("F.matmul", F.matmul, np.matmul, [Sample("3x5-5x2", normals((3, 5), (5, 2)))]),
    OpInfo("F.sum", F.sum, np.sum, [
        Sample("all", normal(3, 4)),
        Sample("axis", normal(3, 4, 2), {"axis": 1}),
        Sample("keepdims", normal(3, 4, 2), {"axis": (0, 2), "keepdims": True})]),
    OpInfo("F.mean", F.mean, np.mean, [
        Sample("all", normal(3, 4)),
        Sample("axis", normal(3, 4), {"axis": 0})]),
    OpInfo("F.reshape", F.reshape, lambda a, shape: a.reshape(shape), [
        Sample("2x3x4-to-4x6", normal(2, 3, 4), {"shape": (4, 6)})]),
    OpInfo("F.flatten", F.flatten, lambda a: a.reshape(len(a), -1), [Sample("4d", normal(2, 3, 2, 2))]),
    OpInfo("F.transpose", F.transpose, np.transpose, [
        Sample("axes", normal(2, 3, 4), {"axes": (1, 2, 0)}),
        Sample("reverse", normal(2, 3))]),
    OpInfo("F.relu", F.relu, lambda a: np.maximum(a, 0.0), [Sample("4x5", away_from_zero(4, 5))]),
    OpInfo("F.gelu", F.gelu, gelu_ref, [
        Sample("4x5", gelu_inputs(4, 5)),
        Sample("one-element", gelu_inputs(1)),
        Sample("vectorised-threaded-4d", gelu_inputs(2, 32, 26, 26), gradcheck=False)],
        reference_grad=gelu_grad),
    OpInfo("F.sigmoid", F.sigmoid, lambda a: 1.0 / (1.0 + np.exp(-a)), [Sample("4x5", normal(4, 5, scale=3.0))]),
    OpInfo("F.tanh", F.tanh, np.tanh, [Sample("4x5", normal(4, 5))]),
    OpInfo("F.log_softmax", F.log_softmax, log_softmax_ref, [
        Sample("4x6", normal(4, 6, scale=3.0)),
        Sample("1x1", normal(1, 1)),
        Sample("large-logits-threaded", normal(1300, 26, scale=30.0), gradcheck=False)],
        reference_grad=log_softmax_grad),
    OpInfo("F.cross_entropy", F.cross_entropy, cross_entropy_ref, [
        Sample("5x4", logits_and_labels(5, 4)),
        Sample("1300x26", logits_and_labels(1300, 26, scale=10.0), gradcheck=False),
        Sample("5x4-smoothed", logits_and_labels(5, 4), {"label_smoothing": 0.1}),
        Sample("1300x26-smoothed", logits_and_labels(1300, 26, scale=10.0), {"label_smoothing": 0.3},
               gradcheck=False)],
        reference_grad=cross_entropy_grad),
    OpInfo("F.group_logsumexp", F.group_logsumexp, group_logsumexp_ref, [
        Sample("4x5-in-3", normal(4, 5, scale=3.0), {"groups": (0, 2, 1, 0, 0)}),
        Sample("one-group", normal(3, 4), {"groups": (0, 0, 0, 0)}),
        Sample("cases-27-of-53", normal(6, 53, scale=5.0), {"groups": tuple(range(27)) + tuple(range(26))})],
        reference_grad=group_logsumexp_grad),
    OpInfo("F.cross_entropy_among", F.cross_entropy_among, cross_entropy_among_ref, [
        Sample("5x4", logits_and_allowed(5, 4)),
        Sample("64x53", logits_and_allowed(64, 53), gradcheck=False)],
        reference_grad=cross_entropy_among_grad),
    OpInfo("F.nll_loss", F.nll_loss, nll_ref, [Sample("5x4", logits_and_labels(5, 4))]),
    OpInfo("F.dropout", lambda a, p: F.dropout(a, p, rng=FixedUniform(7)), dropout_ref, [
        Sample("p0.3", normal(4, 6), {"p": 0.3})]),
    OpInfo("F.batch_norm2d", batch_norm, batch_norm_ref, [
        Sample("training", normals((3, 4, 5, 6), (4,), (4,)), {"training": True}),
        Sample("eval", normals((2, 3, 4, 5), (3,), (3,)), {"training": False}),
        Sample("one-pixel-each", normals((5, 2, 1, 1), (2,), (2,)), {"training": True}),
        Sample("letters-conv1-threaded", normals((4, 32, 26, 26), (32,), (32,)), {"training": True}, gradcheck=False),
        Sample("eval-threaded", normals((4, 32, 26, 26), (32,), (32,)), {"training": False}, gradcheck=False)],
        reference_grad=batch_norm_grad),
    OpInfo("F.linear", F.linear, linear_ref, [
        Sample("4x5-3", normals((4, 5), (3, 5), (3,))),
        Sample("no-bias", normals((4, 5), (3, 5))),
        Sample("one-row-one-output", normals((1, 3), (1, 3), (1,))),
        Sample("mnist-fc-threaded", normals((64, 784), (128, 784), (128,)), gradcheck=False)],
        reference_grad=linear_grad),
    OpInfo("F.conv2d", F.conv2d, conv2d_ref, [
        Sample("k3", conv_inputs(2, 3, 4, 6, 5, 3)),
        Sample("k1-no-bias", conv_inputs(3, 3, 4, 7, 5, 1, bias=False)),
        Sample("k5", conv_inputs(2, 3, 2, 9, 11, 5)),
        Sample("kernel-fills-image", conv_inputs(1, 1, 1, 5, 5, 5)),
        Sample("odd-batch", conv_inputs(5, 2, 3, 8, 6, 3)),
        Sample("letters-conv1", conv_inputs(2, 1, 32, 28, 28, 3), gradcheck=False),
        Sample("letters-conv2", conv_inputs(3, 32, 64, 13, 13, 3), gradcheck=False),
        Sample("letters-conv3", conv_inputs(2, 64, 128, 6, 6, 3), gradcheck=False),
        # float32 through conv_blocked.h: three 16-channel blocks with rows of 6 + 4 pixels; and 24
        # channels, a multiple of 8 (blocked weight gradient) but not of 16 (GEMM forward)
        Sample("blocked-48", conv_inputs(3, 8, 48, 12, 12, 3), gradcheck=False),
        Sample("blocked-24", conv_inputs(2, 8, 24, 12, 13, 3), gradcheck=False),
        # 32 channels: on AVX-512 CPUs the 16-lane loops, rows of 25 pixels as 9 + 8 + 8
        Sample("wide-32", conv_inputs(2, 8, 32, 12, 27, 3), gradcheck=False)],
        reference_grad=conv2d_grad),
    OpInfo("F.max_pool2d", F.max_pool2d, maxpool_ref, [
        Sample("k2-even", normal(2, 3, 4, 6), {"kernel_size": 2}),
        Sample("k2-ceil", normal(2, 2, 5, 5), {"kernel_size": 2}),
        Sample("k3", normal(2, 3, 7, 5), {"kernel_size": 3}),
        Sample("k1", normal(1, 1, 4, 4), {"kernel_size": 1}),
        Sample("k-beyond-image", normal(2, 2, 3, 2), {"kernel_size": 4}),
        Sample("k2-even-threaded", normal(2, 32, 26, 26), {"kernel_size": 2}, gradcheck=False),
        Sample("k2-ceil-threaded", normal(4, 64, 13, 13), {"kernel_size": 2}, gradcheck=False)],
        reference_grad=maxpool_grad),
    OpInfo("F.stack", lambda a, b, c, axis: F.stack([a, b, c], axis=axis),
           lambda a, b, c, axis: np.stack([a, b, c], axis=axis), [
               Sample("axis0", normals((2, 3), (2, 3), (2, 3)), {"axis": 0}),
               Sample("last-axis", normals((2, 3), (2, 3), (2, 3)), {"axis": -1})]),
    OpInfo("F.embedding", F.embedding, lambda indices, weight: weight[indices], [
        Sample("2x5-from-4", embedding_inputs((2, 5), 4, 3)),
        Sample("vector", embedding_inputs((6,), 3, 2))]),
    *recurrent_records("F.gru", F.gru, gru_ref, n_gates=3, n_states=1),
    *recurrent_records("F.lstm", F.lstm, lstm_ref, n_gates=4, n_states=2),
    OpInfo("F.lstm_final_cell", lambda *arrays: F.lstm_final_cell(F.lstm(*arrays)), lstm_final_cell_ref, [
        Sample("with-state", recurrent_inputs(4, 3, 4, 2, 3, 2)),
        Sample("zero-state", recurrent_inputs(4, 2, 3, 3, 2, 0))],
        reference_grad=complex_step_grad(lstm_final_cell_ref)),
]
