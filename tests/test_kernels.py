"""The native (Cython + OpenMP) kernels against the plain-numpy reference.

Every NativeOps method runs in float32 and float64 and is compared with
NumpyOps evaluated on the same values in float64.  Odd shapes (1x1 and 5x5
kernels, non-square images, ceil-mode pooling, 1/3/32 channels, batches that
do not fill a tile) are included on purpose, results at 1 and 2 threads must
agree, and bad arguments must raise a clear Python error.
"""
import numpy as np
import pytest

pytest.importorskip("hdl_native._native.conv2d", reason="native kernels not built (python setup.py build_ext --inplace)")

import hdl_native  # noqa: E402
from hdl_native.kernels import native_ops  # noqa: E402
from hdl_native.kernels.native_ops import NativeOps  # noqa: E402
from hdl_native.kernels.numpy_ops import NumpyOps  # noqa: E402

DTYPES = [np.float32, np.float64]
REFERENCE = NumpyOps()

# (n_batch, c_in, c_out, height, width, kernel_size)
CONV_SHAPES = [
    (2, 1, 32, 28, 28, 3),    # LettersCNN conv1
    (3, 32, 64, 13, 13, 3),   # conv2
    (2, 64, 128, 6, 6, 3),    # conv3
    (3, 3, 4, 7, 5, 1),       # 1x1 kernel, non-square
    (2, 3, 2, 9, 11, 5),      # 5x5 kernel, non-square
    (1, 1, 1, 5, 5, 5),       # kernel as large as the image
    (5, 2, 3, 8, 6, 3),       # odd batch
]
CONV_IDS = ["x".join(map(str, s)) for s in CONV_SHAPES]


@pytest.fixture
def ops():
    return NativeOps()


@pytest.fixture
def restore_threads():
    before = hdl_native.get_num_threads()
    yield
    hdl_native.set_num_threads(before)


def close(actual, expected, dtype, scale=1.0):
    """Compare in float64; float32 gets a tolerance relative to the size of the values."""
    assert actual.dtype == dtype
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape
    if dtype == np.float32:
        tol = 2e-5 * max(1.0, float(np.abs(expected).max(initial=0.0))) * scale
        np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=tol)
    else:
        np.testing.assert_allclose(actual, expected, rtol=1e-10, atol=1e-10)


def arrays(rng, dtype, *shapes):
    values = [rng.standard_normal(s) for s in shapes]
    return [v.astype(dtype) for v in values], values


# ---------------------------------------------------------------- conv2d
@pytest.fixture(params=["direct-or-gemm", "gemm-only", "direct-only"])
def forward_path(request):
    """The forward runs direct loops for short patches, im2col + GEMM otherwise; force each way too."""
    from hdl_native._native import conv2d

    limit = {"direct-or-gemm": None, "gemm-only": 0, "direct-only": 10 ** 6}[request.param]
    previous = conv2d.set_direct_max_patch(27)
    if limit is not None:
        conv2d.set_direct_max_patch(limit)
    yield
    conv2d.set_direct_max_patch(previous)


@pytest.mark.parametrize("shape", CONV_SHAPES, ids=CONV_IDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_conv2d_forward(ops, shape, dtype, forward_path):
    n, c_in, c_out, h, w, k = shape
    (x, weight, bias), (x64, w64, b64) = arrays(np.random.default_rng(0), dtype, (n, c_in, h, w),
                                                 (c_out, c_in, k, k), (c_out,))
    close(ops.conv2d_forward(x, weight, bias), REFERENCE.conv2d_forward(x64, w64, b64), dtype)
    close(ops.conv2d_forward(x, weight), REFERENCE.conv2d_forward(x64, w64), dtype)


@pytest.mark.parametrize("shape", CONV_SHAPES, ids=CONV_IDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_conv2d_backward(ops, shape, dtype):
    n, c_in, c_out, h, w, k = shape
    (x, weight, grad), (x64, w64, g64) = arrays(np.random.default_rng(1), dtype, (n, c_in, h, w),
                                                 (c_out, c_in, k, k), (n, c_out, h - k + 1, w - k + 1))
    close(ops.conv2d_backward_input(grad, weight, x.shape), REFERENCE.conv2d_backward_input(g64, w64, x.shape), dtype)
    close(ops.conv2d_backward_weight(grad, x, k), REFERENCE.conv2d_backward_weight(g64, x64, k), dtype)
    close(ops.conv2d_backward_bias(grad), REFERENCE.conv2d_backward_bias(g64), dtype)


@pytest.mark.parametrize("needs", [(True, True, True), (False, True, True), (True, False, False), (False, False, True)])
def test_conv2d_fused_backward(ops, needs):
    """conv2d_backward computes exactly the gradients asked for, equal to the separate methods."""
    (x, weight, grad), (x64, w64, g64) = arrays(np.random.default_rng(13), np.float64, (5, 3, 9, 8),
                                                 (4, 3, 3, 3), (5, 4, 7, 6))
    got = ops.conv2d_backward(grad, x, weight, needs)
    want = REFERENCE.conv2d_backward(g64, x64, w64)
    for need, g, r in zip(needs, got, want):
        if need:
            close(g, r, np.float64)
        else:
            assert g is None


@pytest.mark.parametrize("dtype", DTYPES)
def test_conv2d_one_image_per_tile(ops, dtype, monkeypatch):
    """Tiny tiles: many tiles per thread, per-thread weight sums over several tiles."""
    monkeypatch.setattr(native_ops, "TILE_BYTES", 1)
    (x, weight, grad), (x64, w64, g64) = arrays(np.random.default_rng(2), dtype, (7, 3, 9, 8), (4, 3, 3, 3),
                                                 (7, 4, 7, 6))
    close(ops.conv2d_forward(x, weight), REFERENCE.conv2d_forward(x64, w64), dtype)
    close(ops.conv2d_backward_input(grad, weight, x.shape), REFERENCE.conv2d_backward_input(g64, w64, x.shape), dtype)
    close(ops.conv2d_backward_weight(grad, x, 3), REFERENCE.conv2d_backward_weight(g64, x64, 3), dtype)


def test_conv2d_shapes_change_between_calls(ops):
    """Cached scratch is reused; results stay right when the next call is bigger or smaller."""
    rng = np.random.default_rng(3)
    for n, c_in, c_out, size in [(2, 3, 4, 6), (9, 8, 16, 12), (1, 2, 3, 4), (4, 8, 16, 12)]:
        (x, weight, grad), (x64, w64, g64) = arrays(rng, np.float64, (n, c_in, size, size), (c_out, c_in, 3, 3),
                                                     (n, c_out, size - 2, size - 2))
        close(ops.conv2d_forward(x, weight), REFERENCE.conv2d_forward(x64, w64), np.float64)
        close(ops.conv2d_backward_weight(grad, x, 3), REFERENCE.conv2d_backward_weight(g64, x64, 3), np.float64)


def test_conv2d_empty_batch(ops):
    x = np.zeros((0, 3, 6, 6), np.float32)
    weight = np.ones((4, 3, 3, 3), np.float32)
    assert ops.conv2d_forward(x, weight).shape == (0, 4, 4, 4)
    grad = np.zeros((0, 4, 4, 4), np.float32)
    np.testing.assert_array_equal(ops.conv2d_backward_weight(grad, x, 3), np.zeros((4, 3, 3, 3)))
    assert ops.conv2d_backward_input(grad, weight, x.shape).shape == x.shape


# ---------------------------------------------------------------- max-pool
@pytest.mark.parametrize("shape,k", [((2, 32, 26, 26), 2), ((3, 64, 11, 11), 2), ((2, 3, 7, 5), 3),
                                     ((1, 1, 4, 4), 1), ((2, 2, 3, 2), 4)],
                         ids=["26-k2", "11-k2-ceil", "7x5-k3", "k1", "k-beyond-image"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_maxpool2d(ops, shape, k, dtype):
    rng = np.random.default_rng(4)
    x64 = rng.standard_normal(shape)
    x = x64.astype(dtype)
    out, argmax = ops.maxpool2d_forward(x, k)
    ref_out, ref_argmax = REFERENCE.maxpool2d_forward(x64, k)
    assert out.shape == (shape[0], shape[1], -(-shape[2] // k), -(-shape[3] // k))
    assert argmax.dtype == np.int32
    np.testing.assert_array_equal(argmax, ref_argmax)
    close(out, ref_out, dtype)
    grad64 = rng.standard_normal(out.shape)
    close(ops.maxpool2d_backward(grad64.astype(dtype), argmax, x.shape),
          REFERENCE.maxpool2d_backward(grad64, ref_argmax, x.shape), dtype)


def test_maxpool2d_ceil_mode_pools_the_partial_edge(ops):
    x = np.arange(121, dtype=np.float32).reshape(1, 1, 11, 11)
    out, argmax = ops.maxpool2d_forward(x, 2)
    assert out.shape == (1, 1, 6, 6)
    assert out[0, 0, 5, 5] == 120.0 and argmax[0, 0, 5, 5] == 120
    assert out[0, 0, 5, 0] == 111.0  # last row, window of 1 x 2 pixels


@pytest.mark.parametrize("dtype", DTYPES)
def test_maxpool2d_nan_and_ties_follow_numpy(ops, dtype):
    """The first NaN of a window wins (numpy's argmax); so does the first of equal maxima."""
    x = np.random.default_rng(12).standard_normal((2, 3, 7, 8)).astype(dtype)
    x[0, 0, 1, 3] = x[1, 2, 6, 7] = x[0, 1, 4, 4] = x[0, 1, 5, 5] = np.nan
    x[1, 0, :2, :2] = 5.0
    out, argmax = ops.maxpool2d_forward(x, 2)
    ref_out, ref_argmax = REFERENCE.maxpool2d_forward(x, 2)
    np.testing.assert_array_equal(argmax, ref_argmax)
    np.testing.assert_array_equal(out, ref_out)


# ---------------------------------------------------------------- linear
@pytest.mark.parametrize("n,f,g", [(64, 512, 64), (1, 3, 1), (7, 784, 10)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_linear(ops, n, f, g, dtype):
    (x, weight, bias, grad), (x64, w64, b64, g64) = arrays(np.random.default_rng(5), dtype, (n, f), (g, f), (g,),
                                                           (n, g))
    close(ops.linear_forward(x, weight, bias), REFERENCE.linear_forward(x64, w64, b64), dtype)
    close(ops.linear_forward(x, weight), REFERENCE.linear_forward(x64, w64), dtype)
    for got, want in zip(ops.linear_backward(grad, x, weight), REFERENCE.linear_backward(g64, x64, w64)):
        close(got, want, dtype)
    assert ops.linear_backward(grad, x, weight, needs=(False, True, False))[::2] == (None, None)


# ---------------------------------------------------------------- activations and losses
@pytest.mark.parametrize("size", [1, 1000, 40000])  # the last runs threaded
@pytest.mark.parametrize("dtype", DTYPES)
def test_gelu(ops, size, dtype):
    (x, grad), (x64, g64) = arrays(np.random.default_rng(6), dtype, (size,), (size,))
    x[:3], x64[:3] = [0.0, -9.0, 9.0][: min(3, size)], [0.0, -9.0, 9.0][: min(3, size)]
    close(ops.gelu_forward(x), REFERENCE.gelu_forward(x64), dtype)
    close(ops.gelu_backward(x, grad), REFERENCE.gelu_backward(x64, g64), dtype)
    x4 = x.reshape(1, -1, 1, 1)
    assert ops.gelu_forward(x4).shape == x4.shape


@pytest.mark.parametrize("shape", [(64, 26), (1, 1), (3, 10)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_log_softmax(ops, shape, dtype):
    (x, grad), (x64, g64) = arrays(np.random.default_rng(7), dtype, shape, shape)
    x *= 30  # large logits: the max shift must keep exp finite
    x64 *= 30
    out = ops.log_softmax_forward(x)
    close(out, REFERENCE.log_softmax_forward(x64), dtype)
    ref_out = REFERENCE.log_softmax_forward(x64)
    close(ops.log_softmax_backward(ref_out.astype(dtype), grad), REFERENCE.log_softmax_backward(ref_out, g64), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy(ops, dtype):
    rng = np.random.default_rng(8)
    (logits,), (logits64,) = arrays(rng, dtype, (64, 26))
    labels = rng.integers(0, 26, 64)
    loss, probs = ops.cross_entropy_forward(logits, labels)
    ref_loss, ref_probs = REFERENCE.cross_entropy_forward(logits64, labels)
    assert loss.shape == () and loss.dtype == dtype
    close(loss, ref_loss, dtype)
    close(probs, ref_probs, dtype)
    close(ops.cross_entropy_backward(probs, labels, 0.5),
          REFERENCE.cross_entropy_backward(ref_probs, labels, 0.5), dtype)


# ---------------------------------------------------------------- optimisers
@pytest.mark.parametrize("size", [5, 70000])
@pytest.mark.parametrize("dtype", DTYPES)
def test_adam_update(ops, size, dtype):
    rng = np.random.default_rng(9)
    param, grad, exp_avg = (rng.standard_normal(size) for _ in range(3))
    exp_avg_sq = rng.random(size)
    native = [a.astype(dtype) for a in (param, grad, exp_avg, exp_avg_sq)]
    reference = [a.copy() for a in (param, grad, exp_avg, exp_avg_sq)]
    ops.adam_update(*native, 1e-2, 0.9, 0.999, 1e-8, 3)
    REFERENCE.adam_update(*reference, 1e-2, 0.9, 0.999, 1e-8, 3)
    for got, want in zip(native, reference):
        close(got, want, dtype)


@pytest.mark.parametrize("momentum", [0.0, 0.9])
@pytest.mark.parametrize("dtype", DTYPES)
def test_sgd_update(ops, momentum, dtype):
    rng = np.random.default_rng(10)
    param, grad, velocity = (rng.standard_normal((4, 5)) for _ in range(3))
    native = [a.astype(dtype) for a in (param, grad, velocity)]
    reference = [a.copy() for a in (param, grad, velocity)]
    ops.sgd_update(*native, 0.1, momentum)
    REFERENCE.sgd_update(*reference, 0.1, momentum)
    for got, want in zip(native, reference):
        close(got, want, dtype)


# ---------------------------------------------------------------- threads
def run_every_kernel(ops, rng):
    x = rng.standard_normal((9, 32, 13, 13))
    weight = rng.standard_normal((64, 32, 3, 3))
    bias = rng.standard_normal(64)
    grad = rng.standard_normal((9, 64, 11, 11))
    pooled, argmax = ops.maxpool2d_forward(x, 2)
    big = rng.standard_normal(50000)
    features, weight_fc = rng.standard_normal((64, 784)), rng.standard_normal((128, 784))
    grad_fc = rng.standard_normal((64, 128))
    results = [ops.linear_forward(features, weight_fc), *ops.linear_backward(grad_fc, features, weight_fc)[:2]]
    results += [ops.conv2d_forward(x, weight, bias), ops.conv2d_backward_input(grad, weight, x.shape),
               ops.conv2d_backward_weight(grad, x, 3), ops.conv2d_backward_bias(grad), pooled,
               ops.maxpool2d_backward(pooled, argmax, x.shape), ops.gelu_forward(big), ops.gelu_backward(big, big)]
    param, state = big.copy(), [big.copy() * 0.1, np.abs(big)]
    ops.adam_update(param, big, *state, 1e-3, 0.9, 0.999, 1e-8, 2)
    return results + [param]


@pytest.mark.skipif(not hdl_native.openmp_enabled(), reason="kernels built without OpenMP")
def test_one_and_two_threads_agree(ops, restore_threads):
    hdl_native.set_num_threads(1)
    serial = run_every_kernel(ops, np.random.default_rng(11))
    hdl_native.set_num_threads(2)
    parallel = run_every_kernel(ops, np.random.default_rng(11))
    for i, (a, b) in enumerate(zip(serial, parallel)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10, err_msg=f"result {i}")


def test_blas_runs_single_threaded_under_the_kernels(ops, restore_threads):
    """OpenMP does the threading: scipy's BLAS is kept at one thread so the two pools never compete."""
    from hdl_native.kernels.blas_threads import _scipy_blas_controllers

    hdl_native.set_num_threads(2)
    ops.conv2d_forward(np.ones((2, 3, 6, 6), np.float32), np.ones((4, 3, 3, 3), np.float32))
    assert all(lib.get_num_threads() == 1 for lib in _scipy_blas_controllers())


def test_python_threads_sharing_one_backend_do_not_share_scratch(ops):
    """The kernels release the GIL; scratch is per Python thread, so concurrent calls stay correct."""
    import threading

    rng = np.random.default_rng(14)
    cases = [arrays(rng, np.float64, (3, c, 9, 9), (4, c, 3, 3)) for c in (2, 5)]
    failures = []

    def work(native, reference):
        for _ in range(20):
            got = ops.conv2d_forward(*native)
            if not np.allclose(got, REFERENCE.conv2d_forward(*reference), rtol=1e-10, atol=1e-10):
                failures.append(native[0].shape)

    workers = [threading.Thread(target=work, args=case) for case in cases]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert not failures


# ---------------------------------------------------------------- bad arguments
def test_wrong_dtype_is_a_type_error(ops):
    x = np.ones((1, 1, 5, 5), np.float32)
    with pytest.raises(TypeError, match="weight must have dtype float32"):
        ops.conv2d_forward(x, np.ones((2, 1, 3, 3), np.float64))
    with pytest.raises(TypeError, match="x must be float32 or float64.*int64"):
        ops.conv2d_forward(np.ones((1, 1, 5, 5), np.int64), np.ones((2, 1, 3, 3), np.float32))
    with pytest.raises(TypeError, match="float16"):
        ops.gelu_forward(np.ones(3, np.float16))
    with pytest.raises(TypeError, match="must be a numpy array"):
        ops.linear_forward([[1.0]], np.ones((1, 1), np.float32))


def test_non_contiguous_is_a_value_error(ops):
    x = np.ones((1, 1, 6, 6), np.float32)
    with pytest.raises(ValueError, match="x must be C-contiguous"):
        ops.conv2d_forward(x[:, :, ::2, ::2], np.ones((2, 1, 3, 3), np.float32))
    with pytest.raises(ValueError, match="grad_output must be C-contiguous"):
        ops.gelu_backward(np.ones((3, 4), np.float32), np.ones((4, 3), np.float32).T)


def test_mismatched_shapes_are_value_errors(ops):
    x = np.ones((2, 3, 6, 6), np.float32)
    with pytest.raises(ValueError, match=r"weight must have shape \(O, C, K, K\) with C=3 \(from x\)"):
        ops.conv2d_forward(x, np.ones((2, 4, 3, 3), np.float32))
    with pytest.raises(ValueError, match="the 7x7 kernel does not fit the 6x6 image"):
        ops.conv2d_forward(x, np.ones((2, 3, 7, 7), np.float32))
    with pytest.raises(ValueError, match=r"weight must have shape \(O, C, K, K\) with K=3"):
        ops.conv2d_forward(x, np.ones((2, 3, 3, 2), np.float32))
    with pytest.raises(ValueError, match="bias must have shape"):
        ops.conv2d_forward(x, np.ones((2, 3, 3, 3), np.float32), np.ones(3, np.float32))
    with pytest.raises(ValueError, match="grad_output must have shape"):
        ops.conv2d_backward_input(np.ones((2, 2, 3, 3), np.float32), np.ones((2, 3, 3, 3), np.float32), x.shape)
    with pytest.raises(ValueError, match="grad_output must have shape"):
        ops.conv2d_backward_weight(np.ones((2, 2, 3, 3), np.float32), x, 3)
    with pytest.raises(ValueError, match=r"weight must have shape \(G, F\) with F=3 \(from x\)"):
        ops.linear_forward(np.ones((2, 3), np.float32), np.ones((4, 5), np.float32))
    with pytest.raises(ValueError, match="grad_output must have shape"):
        ops.gelu_backward(np.ones(3, np.float32), np.ones(4, np.float32))


def test_bad_indices_are_value_errors_not_crashes(ops):
    x = np.ones((1, 1, 4, 4), np.float32)
    out, argmax = ops.maxpool2d_forward(x, 2)
    with pytest.raises(ValueError, match="outside the 4x4 input plane"):
        ops.maxpool2d_backward(out, argmax + 1000, x.shape)
    with pytest.raises(TypeError, match="argmax must have dtype int32"):
        ops.maxpool2d_backward(out, argmax.astype(np.int64), x.shape)
    logits = np.zeros((2, 3), np.float32)
    with pytest.raises(ValueError, match=r"cross_entropy: label 3 is outside \[0, 3\)"):
        ops.cross_entropy_forward(logits, np.array([0, 3]))
    with pytest.raises(ValueError, match="labels must have shape"):
        ops.cross_entropy_forward(logits, np.array([0]))


def test_native_is_the_default_backend():
    from hdl_native.kernels import make_ops, native_available

    assert native_available()
    assert make_ops("native").name == "native"
