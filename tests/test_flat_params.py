"""Flat parameter groups: the whole-model Adam and SGD updates equal the per-parameter ones,
and rebinding a parameter's array or gradient, or loading a state, keeps it correct."""
import numpy as np
import pytest

import hdl_native as hdl
from hdl_native import functional as F
from hdl_native.models import DigitsMLP
from hdl_native.optim import SGD, Adam
from hdl_native.tensor import Tensor


def training_graph(seed=0):
    model = DigitsMLP(seed=seed)
    images = Tensor.placeholder((None, 784), name="images")
    labels = Tensor.placeholder((None,), dtype=np.int64, name="labels")
    loss = F.nll_loss(model(images), labels)
    return model, images, labels, loss


def batches(n=4, seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((16, 784), dtype=np.float32), rng.integers(0, 10, 16)) for _ in range(n)]


def train(optimizer_factory, steps=4, rebind_after=None):
    model, images, labels, loss = training_graph()
    optimizer = optimizer_factory(model)
    for i, (x, y) in enumerate(batches(steps)):
        images.assign(x)
        labels.assign(y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if i == rebind_after:
            model.fc1.weight.assign(model.fc1.weight.numpy())  # a new array, same numbers
            model.fc2.bias.grad = model.fc2.bias.grad.copy()
    return model, optimizer


class PerParameterAdam(Adam):
    """The one-parameter-at-a-time path, as reference."""

    def current_flat_groups(self):
        return None


def assert_same_parameters(model_a, model_b, rtol=2e-6, atol=1e-6):
    # atol: one loop serves both paths, but an element may fall in the vector body (FMA) in one and in
    # the scalar tail in the other, and Adam divides by sqrt(v): for a tiny gradient one float32 ulp of g
    # moves the 0.01 update by ~1e-7.
    state_a, state_b = model_a.state_dict(), model_b.state_dict()
    for name in state_a:
        np.testing.assert_allclose(state_a[name], state_b[name], rtol=rtol, atol=atol, err_msg=name)


@pytest.mark.parametrize("backend", ["numpy", "native"])
def test_flat_adam_matches_per_parameter_adam(backend):
    if backend == "native" and not hdl.native_available():
        pytest.skip("compiled kernels are not built")
    previous = hdl.use_ops(backend)
    try:
        flat_model, flat_opt = train(lambda m: Adam(m, lr=1e-2))
        reference_model, _ = train(lambda m: PerParameterAdam(m, lr=1e-2))
    finally:
        hdl.use_ops(previous)
    assert flat_opt.flat_groups is not None
    assert_same_parameters(flat_model, reference_model)
    flat_value = flat_opt.flat_groups[0].value
    assert np.shares_memory(flat_model.fc1.weight.value, flat_value)


def test_rebinding_arrays_rebuilds_the_groups():
    flat_model, flat_opt = train(lambda m: Adam(m, lr=1e-2), steps=4, rebind_after=1)
    reference_model, _ = train(lambda m: PerParameterAdam(m, lr=1e-2), steps=4, rebind_after=1)
    assert_same_parameters(flat_model, reference_model)
    assert flat_opt.flat_groups[0].is_current()


def test_state_round_trip_through_flat_groups():
    model, optimizer = train(lambda m: Adam(m, lr=1e-2), steps=2)
    state = optimizer.state_dict()
    fresh = Adam(model, lr=1e-2)
    fresh.load_state_dict(state)
    for key, value in optimizer.buffers().items():
        np.testing.assert_array_equal(fresh.buffers()[key], value)
    assert fresh.step_count == 2


def test_parameters_without_gradients_are_left_alone():
    model, images, labels, _ = training_graph()
    loss = F.nll_loss(model(images), labels)
    unused = hdl.nn.Parameter(np.ones(3, dtype=np.float32))
    optimizer = Adam(list(model.named_parameters()) + [("unused", unused)], lr=1e-2)
    (x, y), = batches(1)
    images.assign(x)
    labels.assign(y)
    loss.backward()
    optimizer.step()
    assert optimizer.flat_groups is None and unused.grad is None
    np.testing.assert_array_equal(unused.value, np.ones(3))


def adam_kernel():
    """pyx/optim.pyx's Adam loop, which the native backend runs for every Adam update."""
    if not hdl.native_available():
        pytest.skip("compiled kernels are not built")
    from hdl_native._native.optim import adam_update

    return adam_update


@pytest.mark.parametrize("dtype, rtol", [(np.float32, 2e-5), (np.float64, 1e-12)])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_adam_kernel_matches_numpy_reference(dtype, rtol, n_threads):
    kernel = adam_kernel()
    rng = np.random.default_rng(3)
    size = 70_001  # above the kernel's parallel threshold, odd so the split is uneven
    param, grad = rng.standard_normal(size).astype(dtype), rng.standard_normal(size).astype(dtype)
    exp_avg, exp_avg_sq = rng.standard_normal(size).astype(dtype), rng.random(size).astype(dtype)
    expected = [a.copy() for a in (param, grad, exp_avg, exp_avg_sq)]
    hdl.kernels.NumpyOps().adam_update(*expected, 1e-3, 0.9, 0.999, 1e-8, 5)
    kernel(param, grad, exp_avg, exp_avg_sq, 1e-3, 0.9, 0.999, 1e-8, 5, n_threads)
    for got, want in zip((param, exp_avg, exp_avg_sq), (expected[0], expected[2], expected[3])):
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * 1e-3)


class PerParameterSGD(SGD):
    def current_flat_groups(self):
        return None


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_flat_sgd_matches_per_parameter_sgd(momentum):
    flat_model, flat_opt = train(lambda m: SGD(m, lr=0.05, momentum=momentum))
    reference_model, reference_opt = train(lambda m: PerParameterSGD(m, lr=0.05, momentum=momentum))
    assert flat_opt.flat_groups is not None
    assert_same_parameters(flat_model, reference_model)
    assert sorted(flat_opt.buffers()) == sorted(reference_opt.buffers())
