"""Optimiser steps against hand-written numpy references."""
import numpy as np

from hdl_native import functional as F
from hdl_native.nn import Parameter
from hdl_native.optim import SGD, Adam


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
        g = grad_of(p, target)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        p = p - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
        expected.append(p.copy())
    np.testing.assert_allclose(run_graph(Adam, 7, lr=lr), np.array(expected), rtol=1e-10)


def test_sgd_momentum_matches_numpy_reference():
    start, target = quadratic_problem()
    lr, mu = 0.01, 0.9
    p, velocity = start.copy(), np.zeros(6)
    expected = []
    for _ in range(7):
        velocity = mu * velocity + grad_of(p, target)
        p = p - lr * velocity
        expected.append(p.copy())
    np.testing.assert_allclose(run_graph(SGD, 7, lr=lr, momentum=mu), np.array(expected), rtol=1e-10)


def test_plain_sgd_matches_numpy_reference():
    start, target = quadratic_problem()
    p = start.copy()
    expected = []
    for _ in range(5):
        p = p - 0.02 * grad_of(p, target)
        expected.append(p.copy())
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
