"""PyTorch as an oracle: every public op, both reference networks and the optimisers, in float64.

Each op case builds the same expression in hdl_native and in torch from the
same float64 arrays, compares the forward values, then seeds both with the
same random upstream gradient and compares the gradient of every float input.
Every case runs on both kernel backends (numpy and, when built, native).
The networks get the hdl_native model's weights copied into a functional
torch twin (torch_twins.py) and are compared on a batch of 64; the
optimisers are compared parameter by parameter after 20 steps on batches
of 8.

Tolerance: rtol 1e-9 for every computed value (float64 round-off is ~1e-16
per operation; the two libraries sum in different orders, so agreement to
the last bits is not expected, but 1e-9 leaves room only for
order-of-summation effects).  The absolute floor is 1e-12 times the largest
reference magnitude, because an element that cancels to nearly zero carries
the rounding error of the terms that cancelled, not of its own size.
Max-pool tie and NaN routing is compared exactly, in float32 too (no
arithmetic is involved, and float32 k=2 has its own vectorised native loop).

Conventions that differ from PyTorch on purpose:

- Max-pool gradient routing among several NaNs in one window: hdl_native
  routes the window's gradient to the *first* NaN in row-major order (the
  rule of numpy's argmax, and of both backends); PyTorch's CPU kernel
  replaces its running maximum at every NaN (``val > max || isnan(val)``)
  and so routes it to the *last* NaN.  The forward value (NaN) is the same,
  and with a single NaN, or with ties among ordinary numbers (the first
  maximum wins in both), the routing is the same.
  test_max_pool_nan_routing pins both behaviours.

Requires torch (``pip install .[compare]`` pins torch 2.13.0); the module is
skipped, with that advice, when torch is not installed.
"""
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pytest

import hdl_native as hdl
from hdl_native import functional as F
from hdl_native import models, optim
from hdl_native.tensor import Tensor
from torch_twins import TORCH_LOGITS, TrainingGraph, in_float64, random_batches, torch_weights

torch = pytest.importorskip(
    "torch", reason="the PyTorch oracle needs torch: pip install .[compare] (pins torch 2.13.0)")
tfunctional = torch.nn.functional

RTOL = 1e-9


@pytest.fixture(scope="module", autouse=True)
def one_thread_each():
    """torch, BLAS and hdl_native's kernels on one thread each while this module runs.

    On a busy two-core machine, pools of threads spinning against each other
    made a 1 ms optimiser step take 150 ms, and every OpenMP barrier of a conv
    step wait for a descheduled thread (8 s instead of 0.4 s for 20 steps).
    Agreement across thread counts is test_kernels' concern; the network
    gradient test also runs the engine on two threads.
    """
    previous_torch, previous_engine = torch.get_num_threads(), hdl.get_num_threads()
    torch.set_num_threads(1)
    hdl.set_num_threads(1)
    yield
    hdl.set_num_threads(previous_engine)
    torch.set_num_threads(previous_torch)


@pytest.fixture(params=[1, 2], ids=lambda n: f"{n}thread")
def engine_threads(request):
    """hdl_native's kernels (and BLAS) on this many threads for one test, then back to one."""
    hdl.set_num_threads(request.param)
    yield request.param
    hdl.set_num_threads(1)


@pytest.fixture(params=["numpy", "native"])
def backend(request):
    """Run the test on one kernel backend, restoring the previous one afterwards."""
    if request.param == "native" and not hdl.native_available():
        pytest.skip("native kernels not built: python setup.py build_ext --inplace")
    previous = hdl.use_ops(request.param)
    yield request.param
    hdl.use_ops(previous)


def assert_close(got, expected, what, rtol=RTOL):
    got, expected = np.asarray(got), np.asarray(expected)
    assert got.shape == expected.shape, f"{what}: shape {got.shape}, torch {expected.shape}"
    scale = float(np.nanmax(np.abs(expected))) if expected.size else 0.0
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=1e-12 * scale, err_msg=what)


# ------------------------------------------------------------------ op cases
@dataclass
class Case:
    """One op expression, written for hdl_native (`ours`, on Tensors) and for torch (`theirs`).

    make_inputs: rng -> list of arrays; float64 ones become leaves asking for
    gradients, int64 ones label leaves.  Positions in `constants` are float
    arrays passed as plain arrays (hdl_native makes them constant leaves).
    `covers` names the hdl_native.functional functions the case exercises.
    """

    name: str
    covers: tuple
    ours: Callable
    theirs: Callable
    make_inputs: Callable
    constants: tuple = field(default=())


def normal(rng, *shape, scale=1.0):
    return scale * rng.standard_normal(shape)


def away_from_zero(rng, *shape):
    """|x| in [0.1, 1.1): no kink of relu and no zero denominator within reach."""
    return rng.choice([-1.0, 1.0], size=shape) * (0.1 + rng.random(shape))


def spread_positive(rng, *shape):
    """Positive values over six orders of magnitude (log, pow)."""
    return np.exp(rng.uniform(-7.0, 7.0, size=shape))


GROUPS = (2, 0, 1, 0, 2, 2, 1)  # group_logsumexp's group of each of 7 columns
CASE_GROUPS = tuple(range(27)) + tuple(range(26))  # models.LettersVGGCases: 27 classes, then 26 capitals


def torch_group_logsumexp(x, groups):
    return torch.stack([torch.logsumexp(x[:, [j for j, g in enumerate(groups) if g == group]], dim=1)
                        for group in range(max(groups) + 1)], dim=1)


def allowed_mask(rng, n, n_classes):
    """cross_entropy_among's log-weights: 0 at one to three allowed columns per row, F.NOT_ALLOWED elsewhere."""
    allowed = rng.random((n, n_classes)) < 0.3
    allowed[np.arange(n), rng.integers(0, n_classes, size=n)] = True
    return np.where(allowed, 0.0, F.NOT_ALLOWED)


def labels(rng, n, n_classes):
    return rng.integers(0, n_classes, size=n).astype(np.int64)


def torch_recurrent(kind, x, weight_ih, weight_hh, bias_ih, bias_hh, *states):
    """(output, (h_n, c_n) or h_n) of torch.nn.GRU / nn.LSTM (one layer, batch-first) run on the given weights."""
    module = {"gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[kind](
        weight_ih.shape[1], weight_hh.shape[1], batch_first=True, dtype=torch.float64)
    weights = {"weight_ih_l0": weight_ih, "weight_hh_l0": weight_hh, "bias_ih_l0": bias_ih, "bias_hh_l0": bias_hh}
    given = tuple(state[None] for state in states)  # (N, H) -> (num_layers = 1, N, H)
    state = None if not given else given[0] if kind == "gru" else given
    return torch.func.functional_call(module, weights, (x, state))


def recurrent_inputs(r, n_gates, n_states, n=3, t=4, features=2, hidden=3):
    """x (N, T, I), weight_ih (G, I), weight_hh (G, H), bias_ih, bias_hh (G,), then the initial states (N, H)."""
    gates = n_gates * hidden
    return ([normal(r, n, t, features), normal(r, gates, features, scale=0.5), normal(r, gates, hidden, scale=0.5),
             normal(r, gates, scale=0.5), normal(r, gates, scale=0.5)]
            + [normal(r, n, hidden) for _ in range(n_states)])


def recurrent_cases():
    """F.gru and F.lstm against torch.nn.GRU / nn.LSTM: with and without initial state, and reading the rows
    of an embedding table (embedding=); the LSTM's final cell state through F.lstm_final_cell."""
    cases = []
    for kind, layer, n_gates, n_states in (("gru", F.gru, 3, 1), ("lstm", F.lstm, 4, 2)):
        def theirs(*arrays, kind=kind):
            return torch_recurrent(kind, *arrays)[0]

        def ours_on_table(indices, table, *rest, layer=layer):
            return layer(indices, *rest, embedding=table)

        def theirs_on_table(indices, table, *rest, kind=kind):
            return torch_recurrent(kind, tfunctional.embedding(indices, table), *rest)[0]

        def table_inputs(r, n_gates=n_gates, n_states=n_states):
            return [r.integers(0, 5, size=(3, 4)), normal(r, 5, 2)] + recurrent_inputs(r, n_gates, n_states)[1:]

        cases += [
            Case(kind, (kind,), layer, theirs, lambda r, g=n_gates, s=n_states: recurrent_inputs(r, g, s)),
            Case(f"{kind}_zero_state", (kind,), layer, theirs, lambda r, g=n_gates: recurrent_inputs(r, g, 0)),
            Case(f"{kind}_embedded", (kind, "embedding"), ours_on_table, theirs_on_table, table_inputs),
        ]
    cases.append(Case("lstm_final_cell", ("lstm_final_cell",), lambda *a: F.lstm_final_cell(F.lstm(*a)),
                      lambda *a: torch_recurrent("lstm", *a)[1][1][0], lambda r: recurrent_inputs(r, 4, 2)))
    return cases


def conv2d_cases():
    cases = []
    for kernel_size in (1, 3, 5):
        for height, width in ((7, 9), (11, 5)):
            for with_bias in (True, False):
                def make(rng, k=kernel_size, h=height, w=width, bias=with_bias):
                    return [normal(rng, 2, 3, h, w), normal(rng, 4, 3, k, k)] + ([normal(rng, 4)] if bias else [])
                cases.append(Case(f"conv2d_k{kernel_size}_{height}x{width}{'' if with_bias else '_nobias'}",
                                  ("conv2d",), F.conv2d, tfunctional.conv2d, make))
    return cases


def max_pool_cases():
    """Distinct random values (no ties: those have their own test), exact and ceil-mode sizes."""
    cases = []
    for kernel_size in (2, 3):
        for height, width in ((7, 9), (6, 8), (11, 11), (5, 4), (2, 5)):
            cases.append(Case(f"max_pool2d_k{kernel_size}_{height}x{width}", ("max_pool2d",),
                              lambda x, k=kernel_size: F.max_pool2d(x, k),
                              lambda x, k=kernel_size: tfunctional.max_pool2d(x, k, ceil_mode=True),
                              lambda rng, h=height, w=width: [normal(rng, 2, 3, h, w)]))
    return cases


CASES = [
    Case("add", ("add",), F.add, torch.add, lambda r: [normal(r, 3, 4), normal(r, 3, 4)]),
    Case("add_broadcast_row", ("add",), F.add, torch.add, lambda r: [normal(r, 3, 4), normal(r, 4)]),
    Case("add_broadcast_both", ("add",), F.add, torch.add, lambda r: [normal(r, 3, 1), normal(r, 1, 4)]),
    Case("add_scalar_right", ("add",), lambda x: x + 2.5, lambda x: x + 2.5, lambda r: [normal(r, 3, 4)]),
    Case("add_scalar_left", ("add",), lambda x: 2.5 + x, lambda x: 2.5 + x, lambda r: [normal(r, 3, 4)]),
    Case("add_array_left", ("add",), lambda c, x: c + x, lambda c, x: c + x,
         lambda r: [normal(r, 4), normal(r, 3, 4)], constants=(0,)),
    Case("sub", ("sub",), F.sub, torch.sub, lambda r: [normal(r, 3, 4), normal(r, 3, 1)]),
    Case("sub_scalar_right", ("sub",), lambda x: x - 1.5, lambda x: x - 1.5, lambda r: [normal(r, 5)]),
    Case("sub_scalar_left", ("sub",), lambda x: 1.5 - x, lambda x: 1.5 - x, lambda r: [normal(r, 5)]),
    Case("sub_array_left", ("sub",), lambda c, x: c - x, lambda c, x: c - x,
         lambda r: [normal(r, 3, 1), normal(r, 3, 4)], constants=(0,)),
    Case("mul", ("mul",), F.mul, torch.mul, lambda r: [normal(r, 2, 3, 4), normal(r, 3, 1)]),
    Case("mul_0d_tensor", ("mul",), F.mul, torch.mul, lambda r: [normal(r), normal(r, 4)]),
    Case("mul_scalar_right", ("mul",), lambda x: x * 0.7, lambda x: x * 0.7, lambda r: [normal(r, 4)]),
    Case("mul_scalar_left", ("mul",), lambda x: 0.7 * x, lambda x: 0.7 * x, lambda r: [normal(r, 4)]),
    Case("mul_numpy_scalar_left", ("mul",), lambda x: np.float64(0.7) * x, lambda x: 0.7 * x,
         lambda r: [normal(r, 4)]),
    Case("div", ("div",), F.div, torch.div, lambda r: [normal(r, 3, 4), away_from_zero(r, 3, 4)]),
    Case("div_broadcast", ("div",), F.div, torch.div, lambda r: [normal(r, 3, 4), away_from_zero(r, 4)]),
    Case("div_scalar_right", ("div",), lambda x: x / 3.0, lambda x: x / 3.0, lambda r: [normal(r, 4)]),
    Case("div_scalar_left", ("div",), lambda x: 3.0 / x, lambda x: 3.0 / x, lambda r: [away_from_zero(r, 4)]),
    Case("div_array_left", ("div",), lambda c, x: c / x, lambda c, x: c / x,
         lambda r: [normal(r, 4), away_from_zero(r, 2, 4)], constants=(0,)),
    Case("neg", ("neg",), F.neg, torch.neg, lambda r: [normal(r, 5)]),
    Case("pow_3", ("power",), lambda x: x ** 3.0, lambda x: x ** 3.0, lambda r: [normal(r, 6)]),
    Case("pow_2_is_square", ("power",), lambda x: F.power(x, 2), lambda x: x ** 2, lambda r: [normal(r, 6)]),
    Case("pow_half", ("power",), lambda x: x ** 0.5, torch.sqrt, lambda r: [spread_positive(r, 6)]),
    Case("pow_negative", ("power",), lambda x: x ** -1.5, lambda x: x ** -1.5, lambda r: [spread_positive(r, 6)]),
    Case("square", ("square",), F.square, torch.square, lambda r: [normal(r, 3, 3)]),
    Case("exp", ("exp",), F.exp, torch.exp, lambda r: [normal(r, 3, 3, scale=5.0)]),
    Case("log", ("log",), F.log, torch.log, lambda r: [spread_positive(r, 3, 3)]),
    Case("matmul", ("matmul",), F.matmul, torch.matmul, lambda r: [normal(r, 5, 7), normal(r, 7, 3)]),
    Case("sum_all", ("sum",), F.sum, torch.sum, lambda r: [normal(r, 3, 4)]),
    Case("sum_axis", ("sum",), lambda x: F.sum(x, axis=1), lambda x: x.sum(dim=1), lambda r: [normal(r, 3, 4, 2)]),
    Case("sum_axes_keepdims", ("sum",), lambda x: F.sum(x, axis=(0, 2), keepdims=True),
         lambda x: x.sum(dim=(0, 2), keepdim=True), lambda r: [normal(r, 3, 4, 2)]),
    Case("sum_negative_axis_keepdims", ("sum",), lambda x: x.sum(axis=-1, keepdims=True),
         lambda x: x.sum(dim=-1, keepdim=True), lambda r: [normal(r, 3, 4)]),
    Case("mean_all", ("mean",), F.mean, torch.mean, lambda r: [normal(r, 3, 4)]),
    Case("mean_axis", ("mean",), lambda x: F.mean(x, axis=0), lambda x: x.mean(dim=0), lambda r: [normal(r, 3, 4)]),
    Case("mean_negative_axis", ("mean",), lambda x: x.mean(axis=-2), lambda x: x.mean(dim=-2),
         lambda r: [normal(r, 2, 3, 5)]),
    Case("mean_axes_keepdims", ("mean",), lambda x: x.mean(axis=(1, 2), keepdims=True),
         lambda x: x.mean(dim=(1, 2), keepdim=True), lambda r: [normal(r, 2, 3, 5)]),
    Case("reshape", ("reshape",), lambda x: F.reshape(x, (6, 4)), lambda x: x.reshape(6, 4),
         lambda r: [normal(r, 2, 3, 4)]),
    Case("reshape_infer", ("reshape",), lambda x: x.reshape(-1, 2), lambda x: x.reshape(-1, 2),
         lambda r: [normal(r, 2, 3, 4)]),
    Case("flatten", ("flatten",), F.flatten, lambda x: x.flatten(1), lambda r: [normal(r, 2, 3, 4, 5)]),
    Case("transpose_2d", ("transpose",), lambda x: x.T, lambda x: x.T, lambda r: [normal(r, 3, 5)]),
    Case("transpose_axes", ("transpose",), lambda x: F.transpose(x, (2, 0, 1)), lambda x: x.permute(2, 0, 1),
         lambda r: [normal(r, 2, 3, 4)]),
    Case("transpose_negative_axes", ("transpose",), lambda x: x.transpose((-1, 0, 1)), lambda x: x.permute(2, 0, 1),
         lambda r: [normal(r, 2, 3, 4)]),
    Case("slice_columns", (), lambda x: x[:, 1:4], lambda x: x[:, 1:4], lambda r: [normal(r, 3, 5)]),
    Case("slice_row", (), lambda x: x[1], lambda x: x[1], lambda r: [normal(r, 3, 5)]),
    Case("slice_strided", (), lambda x: x[::2, -3:], lambda x: x[::2, -3:], lambda r: [normal(r, 5, 6)]),
    Case("slice_element", (), lambda x: x[2, 0], lambda x: x[2, 0], lambda r: [normal(r, 3, 5)]),
    Case("slice_negative_index", (), lambda x: x[-1, 1:-1], lambda x: x[-1, 1:-1], lambda r: [normal(r, 3, 5)]),
    Case("relu", ("relu",), F.relu, torch.relu, lambda r: [away_from_zero(r, 4, 5)]),
    Case("gelu", ("gelu",), F.gelu, lambda x: tfunctional.gelu(x, approximate="none"),
         lambda r: [normal(r, 4, 5, scale=3.0)]),
    Case("sigmoid", ("sigmoid",), F.sigmoid, torch.sigmoid, lambda r: [normal(r, 4, 5, scale=6.0)]),
    Case("sigmoid_saturated", ("sigmoid",), F.sigmoid, torch.sigmoid,
         lambda r: [np.array([-700.0, -40.0, -30.0, 30.0, 40.0, 700.0])]),
    Case("tanh", ("tanh",), F.tanh, torch.tanh, lambda r: [normal(r, 4, 5, scale=2.0)]),
    Case("log_softmax", ("log_softmax",), F.log_softmax, lambda x: tfunctional.log_softmax(x, dim=1),
         lambda r: [normal(r, 6, 10, scale=5.0)]),
    Case("log_softmax_large_logits", ("log_softmax",), F.log_softmax, lambda x: tfunctional.log_softmax(x, dim=1),
         lambda r: [1e4 + normal(r, 6, 10, scale=5.0)]),
    Case("cross_entropy", ("cross_entropy",), F.cross_entropy, tfunctional.cross_entropy,
         lambda r: [normal(r, 8, 5, scale=3.0), labels(r, 8, 5)]),
    Case("cross_entropy_one_row", ("cross_entropy",), F.cross_entropy, tfunctional.cross_entropy,
         lambda r: [normal(r, 1, 5, scale=3.0), labels(r, 1, 5)]),
    Case("cross_entropy_large_logits", ("cross_entropy",), F.cross_entropy, tfunctional.cross_entropy,
         lambda r: [1e4 + normal(r, 8, 5, scale=3.0), labels(r, 8, 5)]),
    Case("cross_entropy_label_smoothing", ("cross_entropy",),
         lambda x, y: F.cross_entropy(x, y, label_smoothing=0.2),
         lambda x, y: tfunctional.cross_entropy(x, y, label_smoothing=0.2),
         lambda r: [normal(r, 8, 5, scale=3.0), labels(r, 8, 5)]),
    Case("nll_loss", ("nll_loss",), F.nll_loss, tfunctional.nll_loss,
         lambda r: [normal(r, 8, 5), labels(r, 8, 5)]),
    Case("group_logsumexp", ("group_logsumexp",), lambda x: F.group_logsumexp(x, GROUPS),
         lambda x: torch_group_logsumexp(x, GROUPS), lambda r: [normal(r, 6, 7, scale=4.0)]),
    Case("group_logsumexp_cases", ("group_logsumexp", "log_softmax"),
         lambda x: F.group_logsumexp(F.log_softmax(x), CASE_GROUPS),
         lambda x: torch_group_logsumexp(tfunctional.log_softmax(x, dim=1), CASE_GROUPS),
         lambda r: [normal(r, 5, 53, scale=6.0)]),
    Case("cross_entropy_among", ("cross_entropy_among",), F.cross_entropy_among,
         lambda x, allowed: -torch.logsumexp(tfunctional.log_softmax(x, dim=1) + allowed, dim=1).mean(),
         lambda r: [normal(r, 8, 6, scale=3.0), allowed_mask(r, 8, 6)], constants=(1,)),
    Case("linear", ("linear",), F.linear, tfunctional.linear,
         lambda r: [normal(r, 6, 5), normal(r, 3, 5), normal(r, 3)]),
    Case("linear_nobias", ("linear",), F.linear, tfunctional.linear, lambda r: [normal(r, 6, 5), normal(r, 3, 5)]),
    Case("input_used_three_times", (), lambda x: x * x + F.exp(x), lambda x: x * x + torch.exp(x),
         lambda r: [normal(r, 3, 4)]),
    Case("dropout_eval", ("dropout",), lambda x: F.dropout(x, 0.5, training=False),
         lambda x: tfunctional.dropout(x, 0.5, training=False), lambda r: [normal(r, 4, 6)]),
    Case("dropout_p0", ("dropout",), lambda x: F.dropout(x, 0.0),
         lambda x: tfunctional.dropout(x, 0.0, training=True), lambda r: [normal(r, 4, 6)]),
    Case("batch_norm2d_training", ("batch_norm2d",), lambda x, g, b, m, v: F.batch_norm2d(x, g, b, m, v),
         lambda x, g, b, m, v: tfunctional.batch_norm(x, None, None, g, b, training=True),
         lambda r: [2.0 + normal(r, 4, 3, 5, 6), normal(r, 3), normal(r, 3), normal(r, 3), 0.5 + r.random(3)],
         constants=(3, 4)),
    Case("batch_norm2d_eval", ("batch_norm2d",), lambda x, g, b, m, v: F.batch_norm2d(x, g, b, m, v, training=False),
         lambda x, g, b, m, v: tfunctional.batch_norm(x, m, v, g, b, training=False),
         lambda r: [normal(r, 2, 3, 4, 5), normal(r, 3), normal(r, 3), normal(r, 3), 0.5 + r.random(3)],
         constants=(3, 4)),
    Case("embedding", ("embedding",), F.embedding, tfunctional.embedding,
         lambda r: [r.integers(0, 4, size=(2, 5)), normal(r, 4, 3)]),
    Case("stack", ("stack",), lambda a, b, c: F.stack([a, b, c], axis=1), lambda a, b, c: torch.stack([a, b, c], 1),
         lambda r: [normal(r, 2, 3), normal(r, 2, 3), normal(r, 2, 3)]),
] + conv2d_cases() + max_pool_cases() + recurrent_cases()


def run_ours(case, arrays, seed):
    """(output value, {input position: gradient}) from hdl_native."""
    inputs, leaves = [], {}
    for i, array in enumerate(arrays):
        if i in case.constants:
            inputs.append(array)  # the operator turns it into a constant leaf
        elif array.dtype.kind != "f":
            inputs.append(Tensor(array))  # labels
        else:
            leaves[i] = Tensor(array, requires_grad=True)
            inputs.append(leaves[i])
    out = case.ours(*inputs)
    value = out.numpy()
    assert out.dtype == value.dtype == np.float64, f"{case.name}: declared {out.dtype}, computed {value.dtype}"
    out.backward(seed)
    return value, {i: leaf.grad for i, leaf in leaves.items()}


def run_theirs(case, arrays):
    """(output value, {input position: gradient}, upstream gradient) from torch, seeded with a random
    upstream gradient of the output's shape (ones would hide transposed or mis-scaled rules)."""
    inputs, leaves = [], {}
    for i, array in enumerate(arrays):
        grad = array.dtype.kind == "f" and i not in case.constants
        inputs.append(torch.tensor(array, requires_grad=grad))
        if grad:
            leaves[i] = inputs[-1]
    out = case.theirs(*inputs)
    seed = np.random.default_rng(7).standard_normal(tuple(out.shape))
    out.backward(torch.from_numpy(seed))
    return out.detach().numpy(), {i: leaf.grad.numpy() for i, leaf in leaves.items()}, seed


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_op_matches_torch(case, backend):
    rng = np.random.default_rng(20260)
    arrays = [np.asarray(array) for array in case.make_inputs(rng)]
    expected_value, expected_grads, seed = run_theirs(case, arrays)
    value, grads = run_ours(case, arrays, seed)
    assert_close(value, expected_value, f"{case.name} forward ({backend})")
    assert grads.keys() == expected_grads.keys()
    for i, expected in expected_grads.items():
        assert_close(grads[i], expected, f"{case.name} gradient of input {i} ({backend})")


def test_every_public_op_has_a_case():
    """A function added to hdl_native.functional without an oracle case fails here."""
    public = {name for name, value in vars(F).items()
              if not name.startswith("_") and callable(value) and value is not Tensor}
    covered = {name for case in CASES for name in case.covers}
    assert public - covered == set(), f"no torch case for {sorted(public - covered)}"


# ------------------------------------------------------------------ max-pool ties and NaN
def pool_both(x, kernel_size, seed):
    """(ours, torch) as ((out, grad_x)) of a ceil-mode max-pool of `x` seeded with `seed` upstream."""
    ours_x = Tensor(x, requires_grad=True)
    out = F.max_pool2d(ours_x, kernel_size)
    out.backward(seed.astype(x.dtype))
    theirs_x = torch.tensor(x, requires_grad=True)
    theirs = tfunctional.max_pool2d(theirs_x, kernel_size, ceil_mode=True)
    theirs.backward(torch.from_numpy(seed.astype(x.dtype)))
    return (out.numpy(), ours_x.grad), (theirs.detach().numpy(), theirs_x.grad.numpy())


# float32 too: ties are exact in any precision, and float32 with k=2 has its own vectorised native loop.
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kernel_size", [2, 3])
def test_max_pool_ties_route_like_torch(backend, kernel_size, dtype):
    """Several equal maxima in one window: both send the gradient to the first in row-major order."""
    rng = np.random.default_rng(kernel_size)
    x = rng.integers(0, 3, size=(2, 3, 11, 7)).astype(dtype)  # three levels: most windows tie
    x[0, 0, :kernel_size, :kernel_size] = -np.inf  # a window of nothing but -inf still picks one element
    x[1, 2] = 1.0  # a plane where every window is one tie
    ho, wo = -(-11 // kernel_size), -(-7 // kernel_size)
    seed = 1.0 + rng.random((2, 3, ho, wo))  # nonzero everywhere, so every routing shows
    (value, grad), (expected_value, expected_grad) = pool_both(x, kernel_size, seed)
    windows = np.pad(x, ((0, 0), (0, 0), (0, ho * kernel_size - 11), (0, wo * kernel_size - 7)),
                     constant_values=-np.inf).reshape(2, 3, ho, kernel_size, wo, kernel_size)
    n_tied = ((windows == windows.max(axis=(3, 5), keepdims=True)).sum(axis=(3, 5)) > 1).sum()
    assert n_tied > windows.size // kernel_size ** 2 // 2, "the input should tie in most windows"
    np.testing.assert_array_equal(value, expected_value)
    np.testing.assert_array_equal(grad, expected_grad)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_max_pool_nan_routing(backend, dtype):
    """NaN wins its window in both; among several NaNs we pick the first, torch the last (module docstring)."""
    nan = np.nan
    x = np.array([[[[nan, 1.0, 2.0, nan, nan, 5.0],
                    [3.0, 4.0, nan, 6.0, 7.0, nan]]]], dtype=dtype)
    (value, grad), (expected_value, expected_grad) = pool_both(x, 2, np.array([[[[1.0, 2.0, 3.0]]]]))
    np.testing.assert_array_equal(value, expected_value)
    assert np.isnan(value).all()
    # Window 0 holds one NaN: the same routing.  Windows 1 and 2 hold two each.
    np.testing.assert_array_equal(grad, [[[[1.0, 0, 0, 2.0, 3.0, 0],
                                           [0, 0, 0, 0, 0, 0]]]])
    np.testing.assert_array_equal(expected_grad, [[[[1.0, 0, 0, 0, 0, 0],
                                                    [0, 0, 2.0, 0, 0, 3.0]]]])


# ------------------------------------------------------------------ networks
NETWORKS = [models.LettersCNN, models.DigitsMLP]
# the shipped reader's network and its wider variant: their forward and backward too (one batch, no optimiser run)
READERS = [models.LettersVGG, models.LettersVGGWide]


@pytest.mark.parametrize("network", NETWORKS + READERS, ids=lambda network: network.__name__)
def test_network_loss_and_gradients_match_torch(network, backend, engine_threads):
    """The training loss (cross-entropy of the logits) and every parameter's gradient on a batch of 64."""
    model = in_float64(network(seed=3))
    graph = TrainingGraph(model)
    [(images, batch_labels)] = random_batches(1, 64, model.n_classes, seed=4)
    weights = torch_weights(torch, model)
    logits = TORCH_LOGITS[network.__name__](torch, weights, torch.from_numpy(images))
    expected_loss = tfunctional.cross_entropy(logits, torch.from_numpy(batch_labels))
    expected_loss.backward()

    graph.feed(images, batch_labels)
    graph.loss.backward()
    assert_close(graph.log_probs.value, tfunctional.log_softmax(logits, dim=1).detach().numpy(),
                 f"{network.__name__} log-probabilities ({backend})")
    assert_close(graph.loss.value, expected_loss.detach().numpy(), f"{network.__name__} loss ({backend})")
    assert [name for name, _ in model.named_parameters()] == list(weights)
    for name, param in model.named_parameters():
        assert_close(param.grad, weights[name].grad.numpy(), f"{network.__name__} gradient of {name} ({backend})")


# ------------------------------------------------------------------ optimisers
OPTIMISERS = {
    "sgd": (lambda params: optim.SGD(params, lr=0.05), lambda params: torch.optim.SGD(params, lr=0.05)),
    "sgd_momentum": (lambda params: optim.SGD(params, lr=0.05, momentum=0.9),
                     lambda params: torch.optim.SGD(params, lr=0.05, momentum=0.9)),
    "adam": (lambda params: optim.Adam(params, lr=1e-3), lambda params: torch.optim.Adam(params, lr=1e-3)),
}
N_STEPS = 20


@pytest.mark.parametrize("network", NETWORKS, ids=lambda network: network.__name__)
@pytest.mark.parametrize("kind", OPTIMISERS)
def test_optimiser_steps_match_torch(kind, network, backend):
    """20 steps on the same network and batches: every parameter agrees afterwards."""
    make_ours, make_theirs = OPTIMISERS[kind]
    model = in_float64(network(seed=5))
    graph = TrainingGraph(model)
    weights = torch_weights(torch, model)
    ours, theirs = make_ours(model), make_theirs(list(weights.values()))
    twin = TORCH_LOGITS[network.__name__]
    for images, batch_labels in random_batches(N_STEPS, 8, model.n_classes, seed=6):
        graph.feed(images, batch_labels)
        ours.zero_grad()
        graph.loss.backward()
        ours.step()
        theirs.zero_grad()
        tfunctional.cross_entropy(twin(torch, weights, torch.from_numpy(images)),
                                  torch.from_numpy(batch_labels)).backward()
        theirs.step()
    for name, param in model.named_parameters():
        assert_close(param.value, weights[name].detach().numpy(), f"{kind} {network.__name__} {name} ({backend})")
