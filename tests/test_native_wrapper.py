"""The native wrapper's own contract: matmul on the shared GEMM kernel, the one
argument check (validation.check_arrays), labels range-checked once, and the
warning when the compiled kernels are missing.

A NativeOps method hands raw pointers to nogil kernels, so every method called
directly with a bad argument must raise a Python error naming that argument.
"""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import hdl_native
from hdl_native.kernels.validation import check_arrays, check_labels

PACKAGE = Path(hdl_native.__file__).resolve().parent
PYX_DIR = PACKAGE.parent / "pyx"
pytest.importorskip("hdl_native._native.conv2d",
                    reason="native kernels not built (python setup.py build_ext --inplace)")
from hdl_native.kernels import native_ops  # noqa: E402


@pytest.fixture
def ops():
    return native_ops.NativeOps()


@pytest.fixture(params=[1, 2], ids=["1-thread", "2-threads"])
def n_threads(request):
    before = hdl_native.get_num_threads()
    hdl_native.set_num_threads(request.param)
    yield request.param
    hdl_native.set_num_threads(before)


def assert_close(actual, expected, dtype):
    assert actual.dtype == dtype and actual.shape == expected.shape
    rtol = 1e-4 if dtype == np.float32 else 1e-11
    scale = max(1.0, float(np.abs(expected).max(initial=0.0)))
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale)


# ---------------------------------------------------------------- matmul
# (N, F, G): tiny, empty dimensions, and above MIN_PARALLEL_MACS so 2 threads split the rows.
MATMUL_SHAPES = [(1, 1, 1), (5, 3, 7), (0, 4, 3), (4, 0, 3), (3, 4, 0), (257, 130, 70)]


@pytest.mark.parametrize("shape", MATMUL_SHAPES, ids=["x".join(map(str, s)) for s in MATMUL_SHAPES])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matmul_and_its_gradients_match_numpy(ops, n_threads, shape, dtype):
    n, f, g = shape
    rng = np.random.default_rng(n * 100 + f + g)
    a64, b64, grad64 = rng.standard_normal((n, f)), rng.standard_normal((f, g)), rng.standard_normal((n, g))
    a, b, grad = (v.astype(dtype) for v in (a64, b64, grad64))
    assert_close(ops.matmul(a, b), a64 @ b64, dtype)
    grad_a, grad_b = ops.matmul_backward(grad, a, b, (True, True))
    assert_close(grad_a, grad64 @ b64.T, dtype)
    assert_close(grad_b, a64.T @ grad64, dtype)


def test_matmul_backward_computes_only_what_is_needed(ops):
    a, b, grad = np.ones((2, 3)), np.ones((3, 4)), np.ones((2, 4))
    assert ops.matmul_backward(grad, a, b, (False, True))[0] is None
    assert ops.matmul_backward(grad, a, b, (True, False))[1] is None


def test_matmul_and_linear_share_one_kernel(ops, monkeypatch):
    calls = []
    kernel = native_ops.matmul.matmul
    monkeypatch.setattr(native_ops.matmul, "matmul", lambda *args: calls.append(args[:2]) or kernel(*args))
    x, weight = np.ones((2, 3)), np.ones((4, 3))
    ops.matmul(x, weight.T.copy())
    ops.linear_forward(x, weight)
    ops.linear_backward(np.ones((2, 4)), x, weight, (True, True, False))
    assert calls == [(False, False), (False, True), (False, False), (True, False)]


# ---------------------------------------------------------------- the one argument check
def test_check_arrays_binds_letters_across_arrays():
    x, weight = np.ones((2, 3), np.float32), np.ones((4, 3), np.float32)
    assert check_arrays(("x", x, "NF"), ("weight", weight, "GF")) == {"N": 2, "F": 3, "G": 4}
    with pytest.raises(ValueError, match=r"weight must have shape \(G, F\) with F=3 \(from x\)"):
        check_arrays(("x", x, "NF"), ("weight", np.ones((4, 5), np.float32), "GF"))
    with pytest.raises(ValueError, match=r"x must have shape \(N, F\) with N=7 \(from input_shape\)"):
        check_arrays(("x", x, "NF"), sizes={"N": 7}, sizes_from="input_shape")
    with pytest.raises(ValueError, match=r"x must have shape \(N, C, H, W\), got shape \(2, 3\)"):
        check_arrays(("x", x, "NCHW"))


def test_check_arrays_names_the_argument_for_type_dtype_and_layout():
    x = np.ones((4, 4), np.float32)
    with pytest.raises(TypeError, match="grad must be a numpy array, got list"):
        check_arrays(("x", x, None), ("grad", [1.0], None))
    with pytest.raises(TypeError, match="grad must have dtype float32, got shape .* dtype float64"):
        check_arrays(("x", x, None), ("grad", x.astype(np.float64), None))
    with pytest.raises(TypeError, match="x must be float32 or float64, got shape .* dtype int64"):
        check_arrays(("x", x.astype(np.int64), None))
    with pytest.raises(TypeError, match="argmax must have dtype int32"):
        check_arrays(("argmax", x, None), dtype=np.int32)
    with pytest.raises(ValueError, match="x must be C-contiguous"):
        check_arrays(("x", x.T, None))
    with pytest.raises(ValueError, match=r"grad must have shape \(4, 4\)"):
        check_arrays(("grad", np.ones(16, np.float32), (4, 4)))


def valid_calls():
    """{method: keyword arguments} of a valid call of every NativeOps method that takes arrays."""
    rng = np.random.default_rng(0)

    def floats(*shape):
        return rng.standard_normal(shape).astype(np.float32)

    x, weight, grad_conv = floats(2, 3, 6, 6), floats(4, 3, 3, 3), floats(2, 4, 4, 4)
    pooled, argmax = native_ops.NativeOps().maxpool2d_forward(x, 2)
    rows, labels = floats(5, 4), np.array([0, 3, 1, 2, 3])
    flat = [floats(8) for _ in range(4)]
    return {
        "conv2d_forward": dict(x=x, weight=weight, bias=floats(4)),
        "conv2d_backward": dict(grad_output=grad_conv, x=x, weight=weight),
        "conv2d_backward_input": dict(grad_output=grad_conv, weight=weight, input_shape=x.shape),
        "conv2d_backward_weight": dict(grad_output=grad_conv, x=x, kernel_size=3),
        "conv2d_backward_bias": dict(grad_output=grad_conv),
        "maxpool2d_forward": dict(x=x, kernel_size=2),
        "maxpool2d_backward": dict(grad_output=pooled, argmax=argmax, input_shape=x.shape),
        "matmul": dict(a=rows, b=floats(4, 6)),
        "matmul_backward": dict(grad_output=floats(5, 6), a=rows, b=floats(4, 6), needs=(True, True)),
        "linear_forward": dict(x=rows, weight=floats(6, 4), bias=floats(6)),
        "linear_backward": dict(grad_output=floats(5, 6), x=rows, weight=floats(6, 4)),
        "gelu_forward": dict(x=rows),
        "gelu_backward": dict(x=rows, grad_output=floats(5, 4)),
        "log_softmax_forward": dict(x=rows),
        "log_softmax_backward": dict(output=rows, grad_output=floats(5, 4)),
        "cross_entropy_forward": dict(logits=rows, labels=labels),
        "cross_entropy_backward": dict(probs=rows, labels=labels, grad_output=1.0),
        "adam_update": dict(param=flat[0], grad=flat[1], exp_avg=flat[2], exp_avg_sq=flat[3],
                            lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, step=1),
        "sgd_update": dict(param=flat[0], grad=flat[1], velocity=flat[2], lr=0.1, momentum=0.9),
    }


ARRAY_ARGUMENTS = [(method, name) for method, kwargs in valid_calls().items()
                   for name, value in kwargs.items() if isinstance(value, np.ndarray)]
OPTIONAL = {("conv2d_forward", "bias"), ("linear_forward", "bias"), ("sgd_update", "velocity")}


def test_every_valid_call_runs(ops):
    for method, kwargs in valid_calls().items():
        getattr(ops, method)(**kwargs)


def strided_twin(array):
    """A non-contiguous view with the same shape, dtype and values."""
    return np.stack([array, array], axis=-1)[..., 0]


@pytest.mark.parametrize("method, name", ARRAY_ARGUMENTS, ids=[f"{m}-{n}" for m, n in ARRAY_ARGUMENTS])
def test_bad_arrays_raise_errors_that_name_the_argument(ops, method, name):
    kwargs = valid_calls()[method]
    good = kwargs[name]
    bad = {"float16": (TypeError, good.astype(np.float16))}
    if (method, name) not in OPTIONAL:
        bad["None"] = (TypeError, None)
    if name != "labels":  # labels may be any integer sequence: they are copied to contiguous int64
        bad["a list"] = (TypeError, good.tolist())
        bad["a strided view"] = (ValueError, strided_twin(good))
    for what, (error, value) in bad.items():
        with pytest.raises(error, match=rf"\b{name}\b") as caught:
            getattr(ops, method)(**dict(kwargs, **{name: value}))
        assert caught.type is error, what


SHAPED_ARGUMENTS = [argument for argument in ARRAY_ARGUMENTS if argument != ("gelu_forward", "x")]  # any shape


@pytest.mark.parametrize("method, name", SHAPED_ARGUMENTS, ids=[f"{m}-{n}" for m, n in SHAPED_ARGUMENTS])
def test_a_wrong_shape_is_a_value_error(ops, method, name):
    kwargs = valid_calls()[method]
    with pytest.raises(ValueError, match="must have shape|must be .* sizes|does not fit"):
        getattr(ops, method)(**dict(kwargs, **{name: kwargs[name][None]}))


def test_shape_tuples_and_sizes_are_checked(ops):
    calls = valid_calls()
    with pytest.raises(ValueError, match=r"input_shape must be 4 sizes \(N, C, H, W\), got \(2, 3, 6\)"):
        ops.conv2d_backward_input(**dict(calls["conv2d_backward_input"], input_shape=(2, 3, 6)))
    with pytest.raises(ValueError, match=r"grad_output must have shape \(N, C, P, Q\) with N=3 \(from input_shape\)"):
        ops.maxpool2d_backward(**dict(calls["maxpool2d_backward"], input_shape=(3, 3, 6, 6)))
    with pytest.raises(ValueError, match="the 7x7 kernel does not fit the 6x6 image"):
        ops.conv2d_backward_weight(**dict(calls["conv2d_backward_weight"], kernel_size=7))
    with pytest.raises(ValueError, match="Adam step must be >= 1"):
        ops.adam_update(**dict(calls["adam_update"], step=0))


def test_kernels_raise_nothing_themselves():
    """Errors come from the wrapper: a .pyx kernel reports bad indices by returning a count."""
    if not PYX_DIR.is_dir():
        pytest.skip("no pyx/ sources next to the package")
    raising = [path.name for path in PYX_DIR.glob("*.pyx") if re.search(r"^\s*raise\b", path.read_text(), re.M)]
    assert raising == []


# ---------------------------------------------------------------- labels: checked once
@pytest.mark.parametrize("bad_label", [26, -1])
def test_native_cross_entropy_names_the_bad_label(ops, bad_label):
    logits, labels = np.zeros((3, 26), np.float32), np.array([0, bad_label, 25])
    message = rf"cross_entropy: label {bad_label} is outside \[0, 26\)"
    with pytest.raises(ValueError, match=message):
        ops.cross_entropy_forward(logits, labels)
    with pytest.raises(ValueError, match=message):
        ops.cross_entropy_backward(np.full((3, 26), 1 / 26, np.float32), labels, 1.0)


def test_native_cross_entropy_checks_the_range_in_the_kernel(ops, monkeypatch):
    """No separate pass over the labels: the wrapper asks check_labels for dtype and shape only."""
    seen = []
    monkeypatch.setattr(native_ops, "check_labels", lambda *args, **kwargs: seen.append(kwargs) or
                        check_labels(*args, **kwargs))
    loss, _ = ops.cross_entropy_forward(np.zeros((2, 4), np.float32), np.array([1, 3]))
    np.testing.assert_allclose(loss, np.log(4), rtol=1e-6)
    assert seen == [{}]


def test_check_labels_for_the_numpy_backend():
    np.testing.assert_array_equal(check_labels("nll_loss", np.array([2, 0], np.uint8), 2, 3), [2, 0])
    assert check_labels("nll_loss", np.array([2, 0], np.uint8), 2, 3).dtype == np.int64
    with pytest.raises(ValueError, match=r"nll_loss: label 3 is outside \[0, 3\)"):
        check_labels("nll_loss", np.array([0, 3]), 2, 3)
    with pytest.raises(TypeError, match="nll_loss: labels must be integers, got dtype float64"):
        check_labels("nll_loss", np.array([0.0, 1.0]), 2, 3)
    with pytest.raises(ValueError, match=r"nll_loss: labels must have shape \(3,\), got \(2,\)"):
        check_labels("nll_loss", np.array([0, 1]), 3, 3)


# ---------------------------------------------------------------- missing compiled kernels
def run_import(package_parent, code):
    env = dict(os.environ, PYTHONPATH=str(package_parent))
    return subprocess.run([sys.executable, "-W", "default", "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=package_parent, env=env)


def test_a_checkout_without_compiled_kernels_warns_once_naming_the_fix(tmp_path):
    shutil.copytree(PACKAGE, tmp_path / "hdl_native", ignore=shutil.ignore_patterns("*.so", "*.pyd", "__pycache__"))
    result = run_import(tmp_path, "import hdl_native, hdl_native.kernels; print(hdl_native.get_ops().name)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["numpy"]
    assert result.stderr.count("RuntimeWarning") == 1, result.stderr
    assert "pip install ." in result.stderr and "build_ext --inplace" in result.stderr


def test_a_built_package_imports_without_warning(tmp_path):
    result = run_import(PACKAGE.parent, "import hdl_native; print(hdl_native.get_ops().name)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["native"] and "Warning" not in result.stderr
