"""Optimiser steps against hand-written float64 numpy references.

The update kernels (adam_update, sgd_update with and without momentum) run on
both backends at 1 and 2 threads, in float32 and float64; the optimisers run
a few steps of a graph end to end.
"""
import numpy as np
import pytest

import hdl_native
from hdl_native import functional as F
from hdl_native.nn import Parameter
from hdl_native.optim import SGD, Adam
from opinfo import BACKENDS, THREADS, assert_close, running_on

DTYPES = [pytest.param(np.float32, id="float32"), pytest.param(np.float64, id="float64")]
# 70000 elements run the kernels' threaded path (MIN_PARALLEL_ELEMENTS is 32768).
SIZES = [pytest.param(5, id="small"), pytest.param(70000, id="threaded")]


def adam_reference_step(param, grad, exp_avg, exp_avg_sq, lr, beta1, beta2, eps, step):
    """One bias-corrected Adam step -> new (param, exp_avg, exp_avg_sq)."""
    exp_avg = beta1 * exp_avg + (1 - beta1) * grad
    exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * grad * grad
    m_hat, v_hat = exp_avg / (1 - beta1 ** step), exp_avg_sq / (1 - beta2 ** step)
    return param - lr * m_hat / (np.sqrt(v_hat) + eps), exp_avg, exp_avg_sq


def sgd_reference_step(param, grad, velocity, lr, momentum):
    """One SGD step with PyTorch-style momentum -> new (param, velocity); velocity None without momentum."""
    if velocity is None:
        return param - lr * grad, None
    velocity = momentum * velocity + grad
    return param - lr * velocity, velocity


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_adam_update_kernel_matches_float64_reference(backend, n_threads, size, dtype):
    rng = np.random.default_rng(9)
    state = [rng.standard_normal(size).astype(dtype) for _ in range(3)] + [rng.random(size).astype(dtype)]
    hyper = (1e-2, 0.9, 0.999, 1e-8, 3)
    expected = adam_reference_step(*[a.astype(np.float64) for a in state], *hyper)
    with running_on(backend, n_threads):
        param, grad, exp_avg, exp_avg_sq = state
        hdl_native.get_ops().adam_update(param, grad, exp_avg, exp_avg_sq, *hyper)
    for name, got, want in zip(("param", "exp_avg", "exp_avg_sq"), (param, exp_avg, exp_avg_sq), expected):
        assert got.dtype == dtype, f"{name} changed dtype to {got.dtype}"
        assert_close(got, want, dtype, f"adam_update {name}")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("momentum", [pytest.param(0.0, id="plain"), pytest.param(0.9, id="momentum")])
@pytest.mark.parametrize("dtype", DTYPES)
def test_sgd_update_kernel_matches_float64_reference(backend, n_threads, size, momentum, dtype):
    rng = np.random.default_rng(10)
    param, grad, velocity = (rng.standard_normal(size).astype(dtype) for _ in range(3))
    if not momentum:
        velocity = None
    widened = [None if a is None else a.astype(np.float64) for a in (param, grad, velocity)]
    expected = sgd_reference_step(*widened, 0.1, momentum)
    with running_on(backend, n_threads):
        hdl_native.get_ops().sgd_update(param, grad, velocity, 0.1, momentum)
    assert param.dtype == dtype
    assert_close(param, expected[0], dtype, "sgd_update param")
    if velocity is not None:
        assert_close(velocity, expected[1], dtype, "sgd_update velocity")


def quadratic_problem(seed=0):
    rng = np.random.default_rng(seed)
    target = rng.standard_normal(6)
    start = rng.standard_normal(6)
    return start, target


def grad_of(params, target):
    return 2 * (params - target) * np.arange(1, 7)


def run_graph(optimizer_class, steps, **kwargs):
    start, target = quadratic_problem()
    w = Parameter(start.copy())
    weights = np.arange(1, 7, dtype=np.float64)
    diff = w - target
    loss = F.sum(diff * diff * weights)
    opt = optimizer_class([w], **kwargs)
    trajectory = []
    for _ in range(steps):
        opt.zero_grad()
        loss.backward()
        opt.step()
        trajectory.append(w.value.copy())
    return np.array(trajectory)


def test_adam_matches_numpy_reference():
    start, target = quadratic_problem()
    lr, b1, b2, eps = 0.05, 0.9, 0.999, 1e-8
    p, m, v = start.copy(), np.zeros(6), np.zeros(6)
    expected = []
    for t in range(1, 8):
        p, m, v = adam_reference_step(p, grad_of(p, target), m, v, lr, b1, b2, eps, t)
        expected.append(p)
    np.testing.assert_allclose(run_graph(Adam, 7, lr=lr), np.array(expected), rtol=1e-10)


def test_sgd_momentum_matches_numpy_reference():
    start, target = quadratic_problem()
    lr, mu = 0.01, 0.9
    p, velocity = start.copy(), np.zeros(6)
    expected = []
    for _ in range(7):
        p, velocity = sgd_reference_step(p, grad_of(p, target), velocity, lr, mu)
        expected.append(p)
    np.testing.assert_allclose(run_graph(SGD, 7, lr=lr, momentum=mu), np.array(expected), rtol=1e-10)


def test_plain_sgd_matches_numpy_reference():
    start, target = quadratic_problem()
    p = start.copy()
    expected = []
    for _ in range(5):
        p, _ = sgd_reference_step(p, grad_of(p, target), None, 0.02, 0.0)
        expected.append(p)
    np.testing.assert_allclose(run_graph(SGD, 5, lr=0.02), np.array(expected), rtol=1e-10)


def test_optimizer_state_round_trips():
    start, target = quadratic_problem()
    w = Parameter(start.copy())
    loss = F.sum((w - target) * (w - target))
    opt = Adam([("w", w)], lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        loss.backward()
        opt.step()
    state = opt.state_dict()
    fresh = Adam([("w", w)], lr=0.1)
    fresh.load_state_dict(state)
    assert fresh.step_count == 3
    np.testing.assert_array_equal(fresh.exp_avg["w"], opt.exp_avg["w"])


@pytest.mark.parametrize("kind", [SGD, Adam])
def test_an_optimiser_refuses_what_would_never_get_a_gradient_and_a_bad_lr(kind):
    weight = Parameter(np.ones(2, dtype=np.float32))
    for not_trainable, what in ((hdl_native.Tensor(np.ones(2, dtype=np.float32)), "leaf"),
                                (weight * 2.0, "scalar_mul"), (np.ones(2), "ndarray")):
        with pytest.raises(ValueError, match=f"{kind.__name__}: param1 is .*{what}.*not a leaf that requires grad"):
            kind([weight, not_trainable], lr=0.1)  # step() would have skipped it without a word
    for bad in (-0.1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="lr must be a finite number >= 0"):
            kind([weight], lr=bad)
