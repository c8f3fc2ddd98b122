"""dtypes through the Python API: PyTorch's promotion for integer tensors, declared dtype ==
computed dtype, no silent truncation of labels, and unsupported dtypes refused at build time
by the op that cannot take them."""
import numpy as np
import pytest

from hdl_native import Tensor
from hdl_native import functional as F
from opinfo import BACKENDS, running_on


def test_an_integer_image_divided_by_a_float_is_float32_and_right():
    image = np.array([[0, 51, 255]], dtype=np.uint8)
    scaled = Tensor(image) / 255.0
    assert scaled.dtype == np.float32 and scaled.value.dtype == np.float32
    np.testing.assert_allclose(scaled.value, [[0.0, 0.2, 1.0]], rtol=1e-6)


@pytest.mark.parametrize("build", [lambda t: t * 0.5, lambda t: 0.5 * t, lambda t: t + 0.25, lambda t: 1 - t,
                                   lambda t: F.exp(t), lambda t: t.sum(), lambda t: t.mean(), lambda t: -t,
                                   lambda t: t * Tensor(np.full(3, 0.5, dtype=np.float64)),
                                   lambda t: F.dropout(t, 0.3, rng=np.random.default_rng(0))],
                         ids=["mul", "rmul", "add", "rsub", "exp", "sum", "mean", "neg", "mul-float64", "dropout"])
def test_integer_tensors_compute_in_the_declared_float_dtype(build):
    ints = np.array([1, 2, 3], dtype=np.int64)
    out = build(Tensor(ints))
    assert out.value.dtype == out.dtype
    expected = build(Tensor(ints.astype(out.dtype))).value
    np.testing.assert_allclose(out.value, expected, rtol=1e-6)


def test_float_labels_are_refused_not_truncated():
    labels = Tensor.placeholder((None,), dtype=np.int64, name="labels")
    with pytest.raises(TypeError, match="labels: float64 data for an int64 tensor"):
        labels.assign([0.7, 1.9])
    labels.assign(np.array([0, 1], dtype=np.int32))  # other integers are fine
    assert labels.value.dtype == np.int64


@pytest.mark.parametrize("dtype", [np.float16, np.int64, np.complex64])
@pytest.mark.parametrize("layer", ["conv2d", "linear", "maxpool2d"])
def test_layers_refuse_other_dtypes_when_built_naming_the_op(layer, dtype):
    build = {
        "conv2d": lambda x: F.conv2d(x, Tensor(np.zeros((2, 1, 3, 3), dtype=np.float32))),
        "linear": lambda x: F.linear(x.reshape(1, 25), Tensor(np.zeros((2, 25), dtype=np.float32))),
        "maxpool2d": lambda x: F.max_pool2d(x, 2),
    }[layer]
    x = Tensor(np.zeros((1, 1, 5, 5), dtype=dtype))
    with pytest.raises(TypeError, match=f"{layer}: inputs must all be float32 or all float64, got {np.dtype(dtype)}"):
        build(x)


def test_a_layer_refuses_mixed_float_widths_when_built():
    x = Tensor(np.zeros((2, 3), dtype=np.float32))
    with pytest.raises(TypeError, match="linear: .* got float32, float64"):
        F.linear(x, Tensor(np.zeros((4, 3), dtype=np.float64)))


@pytest.mark.parametrize("dtype", [np.complex128, np.float16])
def test_elementwise_ops_refuse_complex_and_half_when_built(dtype):
    with pytest.raises(TypeError, match=f"gelu: computes in float32 or float64 .* got {np.dtype(dtype)}"):
        F.gelu(Tensor(np.zeros(3, dtype=dtype)))


@pytest.mark.parametrize("backend", ["numpy", "native"])
def test_float32_log_softmax_keeps_its_precision_at_large_logits(backend):
    """(x - max) - log(sum), not x - (max + log(sum)): the latter rounded at the scale of the max
    and was off by 4e-4 at logits near 1e4 (PyTorch: 1e-6)."""
    import hdl_native

    if backend == "native" and not hdl_native.native_available():
        pytest.skip("native kernels not built (pip install . or python setup.py build_ext --inplace)")
    logits = (1e4 + np.random.default_rng(0).standard_normal((64, 26)) * 3).astype(np.float32)
    labels = np.arange(64) % 26
    shifted = logits.astype(np.float64) - logits.max(axis=1, keepdims=True)
    expected = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    previous = hdl_native.use_ops(backend)
    try:
        got = F.log_softmax(Tensor(logits)).value
        loss = F.cross_entropy(Tensor(logits), Tensor(labels)).item()
    finally:
        hdl_native.use_ops(previous)
    np.testing.assert_allclose(got, expected, atol=4e-6)
    assert abs(loss - (-expected[np.arange(64), labels].mean())) < 4e-6


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("build", [
    lambda x, w: F.linear(x, w) + np.array([0.5, -0.5]),
    lambda x, w: F.gelu(F.linear(x, w) * np.array([2.0, 3.0])),
    lambda x, w: F.log_softmax(F.linear(x, w) - np.array([1.0, 0.0])),
    lambda x, w: (x @ w.T) + np.float64(1.5),
], ids=["add", "gelu", "log-softmax", "matmul"])
def test_a_float32_graph_promoted_to_float64_by_numpy_data_takes_its_gradients_back(backend, build):
    """numpy's float64 arrays promote a float32 node to float64 (as numpy would); backward then hands each float32
    parent its gradient in float32, which the native kernels require, with the float64 graph's values."""
    rng = np.random.default_rng(0)
    x_data, w_data = rng.standard_normal((4, 3)), rng.standard_normal((2, 3))
    grads = {}
    for dtype in (np.float32, np.float64):
        with running_on(backend, 1):
            w = Tensor(w_data.astype(dtype), requires_grad=True)
            (build(Tensor(x_data.astype(dtype)), w) ** 2).sum().backward()
        assert w.grad.dtype == dtype
        grads[dtype] = w.grad
    np.testing.assert_allclose(grads[np.float32], grads[np.float64], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_gradient_of_a_division_by_a_tiny_float32_stays_finite(backend):
    """d(a/b)/db = -a/b^2 = -1e23 for a = b = 1e-23: representable in float32, though b^2 is not."""
    with running_on(backend, 1):
        a = Tensor(np.full(2, 1e-23, dtype=np.float32), requires_grad=True)
        b = Tensor(np.full(2, 1e-23, dtype=np.float32), requires_grad=True)
        (a / b).sum().backward()
    np.testing.assert_allclose(b.grad, np.full(2, -1e23), rtol=1e-5)
    np.testing.assert_allclose(a.grad, np.full(2, 1e23), rtol=1e-5)


def test_a_parameter_made_from_a_list_is_float32_as_a_tensor_is():
    from hdl_native.nn import Parameter

    assert Parameter([1.0, 2.0]).dtype == np.float32 == Tensor([1.0, 2.0]).dtype
    assert Parameter(np.zeros(2)).dtype == np.float64  # an array keeps its dtype


@pytest.mark.parametrize("data", [np.array([1, 2, 3]), np.array([True, False]), np.arange(3, dtype=np.uint8)],
                         ids=["int64", "bool", "uint8"])
def test_an_integer_leaf_cannot_require_gradients_whose_fractions_it_would_truncate(data):
    from hdl_native.nn import Parameter

    with pytest.raises(TypeError, match=f"only float tensors can require gradients, got {data.dtype}"):
        Tensor(data, requires_grad=True)
    with pytest.raises(TypeError, match="only float tensors can require gradients"):
        Parameter(data)
    weight = Tensor(data.astype(np.float32), requires_grad=True)  # the fix the message names
    (weight * 0.5).sum().backward()
    np.testing.assert_allclose(weight.grad, np.full(data.shape, 0.5))
