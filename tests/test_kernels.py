"""What the op table (test_ops.py) cannot reach in the native kernels.

test_ops.py runs every op on both backends at 1 and 2 threads against float64
references, at LettersCNN shapes and odd ones.  Here: each conv forward path
forced on its own, the gradients asked for one by one, tiny tiles, scratch
reuse across shapes and Python threads, empty batches, NaN and ties in
pooling, BLAS kept single-threaded, and bad arguments raising a clear
Python error.
"""
import numpy as np
import pytest

pytest.importorskip("hdl_native._native.conv2d",
                    reason="native kernels not built (python setup.py build_ext --inplace)")

import hdl_native  # noqa: E402
from hdl_native.kernels import native_ops  # noqa: E402
from hdl_native.kernels.native_ops import NativeOps  # noqa: E402
from hdl_native.kernels.numpy_ops import NumpyOps  # noqa: E402
from hdl_native.threads import MIN_PARALLEL_ELEMENTS  # noqa: E402
from opinfo import OPS, assert_close  # noqa: E402

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
    # the blocked loops take batches of at least 100 output pixels (float32, 16k output channels)
    (2, 32, 32, 26, 26, 3),   # LettersVGG conv2: rows of whole 6-pixel runs in the blocked loops
    (3, 5, 48, 9, 12, 3),     # three 16-channel blocks, rows of 6 + 4 pixels
    (9, 4, 16, 7, 8, 5),      # 5x5 kernel, rows of 4 pixels only
    (5, 3, 32, 5, 10, 3),     # rows of 8 pixels: 4 + 4
    (2, 3, 16, 6, 15, 3),     # rows of 13 pixels: 6 + 4 + 3
    (100, 2, 16, 5, 5, 5),    # one output pixel per image
    # with AVX-512, 32k output channels take the 16-lane loops: rows in even runs of at most 12 pixels
    (3, 5, 64, 9, 27, 3),     # rows of 25 pixels: 9 + 8 + 8, two pairs of 16-channel blocks
    (2, 4, 32, 12, 14, 3),    # rows of 12 pixels: one run
    (4, 2, 32, 9, 9, 5),      # 5x5 kernel, rows of 5 pixels
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


def close(actual, expected, dtype):
    assert actual.dtype == dtype
    assert_close(actual, expected, dtype, "native against numpy in float64")


def arrays(rng, dtype, *shapes):
    """Random arrays in `dtype`, and the same values in float64 for the reference."""
    values = [rng.standard_normal(s).astype(dtype) for s in shapes]
    return values, [v.astype(np.float64) for v in values]


# ---------------------------------------------------------------- conv2d
FORWARD_PATHS = {
    "gemm-only": dict(max_patch=0, blocked=False),
    "direct-only": dict(max_patch=10 ** 6, blocked=False),
    "blocked": dict(max_patch=0, blocked=True, wide=False),  # float32, 16k output channels; the rest: GEMM
    "blocked-16-lanes": dict(max_patch=0, blocked=True, wide=True),  # AVX-512 CPUs: 32k channels 16 lanes wide
}


@pytest.fixture(params=list(FORWARD_PATHS))
def forward_path(request):
    """The forward runs direct loops for short patches, conv_blocked.h's loops for float32 layers
    with a multiple of 16 output channels, im2col + GEMM otherwise (the op table tests that choice);
    force each way on every shape."""
    from hdl_native._native import conv2d

    if FORWARD_PATHS[request.param].get("wide") and not conv2d.wide_loops_supported():
        pytest.skip("the 16-lane loops need AVX-512, which this CPU (or this build) lacks")
    previous = conv2d.set_paths(**FORWARD_PATHS[request.param])
    yield
    conv2d.set_paths(**previous)


@pytest.mark.parametrize("shape", CONV_SHAPES, ids=CONV_IDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_conv2d_forward(ops, shape, dtype, forward_path):
    n, c_in, c_out, h, w, k = shape
    (x, weight, bias), (x64, w64, b64) = arrays(np.random.default_rng(0), dtype, (n, c_in, h, w),
                                                 (c_out, c_in, k, k), (c_out,))
    close(ops.conv2d_forward(x, weight, bias), REFERENCE.conv2d_forward(x64, w64, b64), dtype)
    close(ops.conv2d_forward(x, weight), REFERENCE.conv2d_forward(x64, w64), dtype)


@pytest.mark.parametrize("shape", [(3, 32, 64, 13, 13, 3), (2, 32, 32, 26, 26, 3), (3, 5, 64, 9, 27, 3),
                                   (2, 64, 64, 10, 10, 3), (4, 2, 32, 9, 9, 5), (2, 12, 96, 14, 12, 3)],
                         ids=lambda s: "x".join(map(str, s)))
def test_conv2d_16_lane_loops_give_the_8_lane_loops_results_bit_for_bit(ops, shape):
    """conv_blocked.h's AVX-512 loops add the same products in the same order as its 8-lane ones: the forward
    pass and the 3x3 weight gradient agree exactly (and so a run trains to the same bits on either)."""
    from hdl_native._native import conv2d

    if not conv2d.wide_loops_supported():
        pytest.skip("the 16-lane loops need AVX-512, which this CPU (or this build) lacks")
    n, c_in, c_out, h, w, k = shape
    rng = np.random.default_rng(21)
    x, weight = rng.standard_normal((n, c_in, h, w), np.float32), rng.standard_normal((c_out, c_in, k, k), np.float32)
    bias = rng.standard_normal(c_out, np.float32)
    grad = rng.standard_normal((n, c_out, h - k + 1, w - k + 1), np.float32)
    results = {}
    previous = conv2d.set_paths(max_patch=0, blocked=True)
    try:
        for wide in (False, True):
            conv2d.set_paths(wide=wide)
            results[wide] = ops.conv2d_forward(x, weight, bias), ops.conv2d_backward_weight(grad, x, k)
    finally:
        conv2d.set_paths(**previous)
    np.testing.assert_array_equal(results[True][0], results[False][0])
    np.testing.assert_array_equal(results[True][1], results[False][1])
    (x64, w64, b64, g64) = (a.astype(np.float64) for a in (x, weight, bias, grad))
    close(results[True][0], REFERENCE.conv2d_forward(x64, w64, b64), np.float32)
    close(results[True][1], REFERENCE.conv2d_backward_weight(g64, x64, k), np.float32)


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
    np.testing.assert_array_equal(ops.conv2d_backward_bias(grad), np.zeros(4))  # (0, 4, -1) cannot be a shape


def test_linear_backward_computes_only_what_is_needed(ops):
    (x, weight, grad), (x64, w64, g64) = arrays(np.random.default_rng(5), np.float64, (7, 784), (10, 784), (7, 10))
    grad_x, grad_w, grad_b = ops.linear_backward(grad, x, weight, needs=(False, True, False))
    assert grad_x is None and grad_b is None
    close(grad_w, REFERENCE.linear_backward(g64, x64, w64)[1], np.float64)


# ---------------------------------------------------------------- max-pool
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


@pytest.mark.parametrize("shape", [(3, 4, 11, 11), (2, 2, 5, 7), (1, 2, 6, 9), (1, 1, 9, 4), (1, 1, 1, 1),
                                   (1, 1, 1, 3), (1, 1, 3, 1)])
def test_maxpool2d_k2_ties_on_whole_and_partial_windows(ops, shape):
    """Values from {0, 1, 2}: most windows hold equal maxima, and the first of them must win in every kind of
    window (2 x 2, the last column's 2 x 1, the last row's 1 x 2, the corner's 1 x 1)."""
    x = np.random.default_rng(sum(shape)).integers(0, 3, shape).astype(np.float32)
    out, argmax = ops.maxpool2d_forward(x, 2)
    ref_out, ref_argmax = REFERENCE.maxpool2d_forward(x, 2)
    np.testing.assert_array_equal(argmax, ref_argmax)
    np.testing.assert_array_equal(out, ref_out)


def test_scratch_sizes_do_not_wrap_past_2_31_elements():
    """Products of layer sizes: computed in C int they wrapped to a negative or too small size (1024 x 1024
    images at 512 channels, 3x3), and the kernels would have written past the scratch allocated."""
    from hdl_native._native import conv2d, int8

    c, k, pixels = 512, 3, 1022 * 1022
    assert conv2d.forward_scratch_size(c, c, k, pixels, 1) == (c * k * k + c) * pixels
    assert conv2d.backward_scratch_size(c, c, k, pixels, 1) == c * c * k * k + c + c * pixels + (c * k * k + c) * pixels
    n_pixels = 50000 * 50000
    assert int8.conv_scratch_size(50000, 50000, 1, 1, 16) == 2 * n_pixels * 4 + 4 * n_pixels * 16


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


@pytest.mark.parametrize("dtype", DTYPES)
def test_gelu_gradient_vanishes_and_saturates_far_out(ops, dtype):
    """GELU'(x) = Phi(x) + x phi(x) tends to 0 and 1: float32's exp stops at e^-87, and x phi(x) taken with
    that floor grew with |x| (0.66 at 1e38) instead of vanishing."""
    x = np.array([-1e38, -1e30, -1e5, -20, 20, 1e5, 1e30, 1e38], dtype)
    np.testing.assert_allclose(ops.gelu_backward(x, np.ones_like(x)), (x > 0).astype(dtype), atol=1e-6)


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


@pytest.mark.parametrize("dtype", DTYPES)
def test_row_kernels_split_over_threads_match_numpy(ops, dtype, restore_threads):
    """The embedding gather and scatter-add, the bias gradient's column sums and the cross-entropy take
    slices of the rows per thread above their thresholds; the char models reach those paths."""
    hdl_native.set_num_threads(2)
    rng = np.random.default_rng(5)
    indices = rng.integers(0, 7, size=(40, 60))               # 2,400 rows of a 7-row table
    (table, grad), (table64, grad64) = arrays(rng, dtype, (7, 32), (40, 60, 32))
    close(ops.embedding_forward(table, indices), table64[indices], dtype)
    expected = np.zeros((7, 32))
    np.add.at(expected, indices.reshape(-1), grad64.reshape(-1, 32))
    close(ops.embedding_backward(grad, indices, 7), expected, dtype)
    close(ops.gate_bias_grad(grad), grad64.sum(axis=(0, 1)), dtype)
    (logits,), (logits64,) = arrays(rng, dtype, (2400, 30))
    labels = rng.integers(0, 30, size=2400)
    loss, probs = ops.cross_entropy_forward(logits, labels)
    shifted = logits64 - logits64.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    close(np.asarray(loss), np.asarray(-log_probs[np.arange(2400), labels].mean()), dtype)
    close(probs, np.exp(log_probs), dtype)
    bad = indices.copy()
    bad[39, 59] = 7
    with pytest.raises(ValueError, match=r"embedding: index 7 is outside \[0, 7\)"):
        ops.embedding_forward(table, bad)
    with pytest.raises(ValueError, match=r"embedding: 1 indices outside \[0, 7\)"):
        ops.embedding_backward(grad, bad, 7)
    labels[-1] = 30
    with pytest.raises(ValueError, match=r"cross_entropy: label 30 is outside \[0, 30\)"):
        ops.cross_entropy_forward(logits, labels)


def test_the_op_tables_threaded_samples_reach_the_threaded_paths():
    """Samples named '...threaded' in opinfo.OPS must stay above the kernels' thresholds for threads."""
    threaded = [(op, sample) for op in OPS for sample in op.samples if "threaded" in sample.label]
    assert len(threaded) >= 5
    for op, sample in threaded:
        inputs = sample.make_inputs(np.random.default_rng(0))
        if op.api == "F.linear":
            assert inputs[0].size * inputs[1].shape[0] >= native_ops.MIN_PARALLEL_MACS, sample.label
        else:
            assert inputs[0].size >= MIN_PARALLEL_ELEMENTS, f"{op.api} {sample.label}"


def test_native_is_the_default_backend():
    from hdl_native.kernels import make_ops, native_available

    assert native_available()
    assert make_ops("native").name == "native"
