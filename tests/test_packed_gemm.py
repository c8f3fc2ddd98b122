"""The packed float32 GEMM of the recurrent layers (pyx/packed_gemm.h), on every
instruction-set path this CPU has (scalar, AVX2, AVX-512; forced with use_packed_gemm_path):

- alone, against float64 numpy products, at sizes that leave partial register tiles, a
  partial last panel and a partial last K block, with A and B row-major (A's rows strided as
  a time step's are) or transposed views, a bias or none, C overwritten or added to, on 1 and 2
  threads in row blocks of 1 or 6 register tiles;
- the float32 products over all N*T rows of the native backend (input projection, its
  gradients, grad_weight_hh) against the numpy backend in float64;
- inside F.gru and F.lstm in float32 on the native backend at 1 and 2 threads: outputs and
  every gradient against the numpy backend run in float64 on the same values.
"""
import numpy as np
import pytest

from hdl_native import Tensor
from hdl_native import functional as F
from hdl_native._native import recurrent
from hdl_native.kernels import get_ops
from hdl_native.kernels.native_recurrent import PACKED_GEMM_PATHS, use_packed_gemm_path
from opinfo import THREADS, assert_close, running_on


@pytest.fixture(params=PACKED_GEMM_PATHS)
def packed_path(request):
    """Runs the test with the float32 step GEMMs on one path, then restores the default."""
    if not recurrent.packed_gemm_path_supported(request.param):
        pytest.skip(f"this CPU cannot run the {request.param} path")
    previous = use_packed_gemm_path(request.param)
    yield
    use_packed_gemm_path(previous)


def operand(rng, rows, cols, transposed):
    """A (rows, cols) float32 view: row-major with rows 3 * cols + 2 floats apart (a time step's
    rows of a batch-first array), or the transpose of a stored (cols, rows) matrix."""
    if transposed:
        return rng.standard_normal((cols, rows)).astype(np.float32).T
    return rng.standard_normal((rows, 3 * cols + 2)).astype(np.float32)[:, 1:1 + cols]


@pytest.mark.parametrize("accumulate", [False, True], ids=["overwrite", "accumulate"])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_packed_product_matches_float64(packed_path, accumulate, n_threads):
    rng = np.random.default_rng(0)
    # N: under one 32-column panel, just over one, and two panels plus a few; K odd, empty, or
    # over one K block (768 rows); M up to 13 (partial tiles) and 50 (row blocks of 6 tiles)
    for n_rows in [*range(1, 14), 50]:
        for n_cols, n_inner in [(5, 7), (33, 1), (70, 33), (64, 0), (17, 800)]:
            for a_transposed, b_transposed in [(False, False), (True, False), (False, True)]:
                a = operand(rng, n_rows, n_inner, a_transposed)
                b = operand(rng, n_inner, n_cols, b_transposed)
                bias = rng.standard_normal(n_cols).astype(np.float32) if n_rows % 2 else None
                c = rng.standard_normal((n_rows, n_cols)).astype(np.float32)
                expected = a.astype(np.float64) @ b + (c if accumulate else 0) + (0 if bias is None else bias)
                recurrent.packed_matmul(a, b, bias, np.empty(recurrent.packed_size(n_inner, n_cols), np.float32),
                                        c, accumulate, 1 + 5 * (n_rows % 3 == 0), n_threads)
                assert_close(c, expected, np.float32, f"M={n_rows} N={n_cols} K={n_inner} "
                             f"A^T={a_transposed} B^T={b_transposed} bias={bias is not None}")


@pytest.mark.parametrize("n_threads", THREADS)
def test_float32_products_over_all_rows_match_the_numpy_backend(packed_path, n_threads):
    # N*T = 57 rows (partial tiles and blocks at 1 and 2 threads), G = 70 (a partial panel), I = 9
    n_batch, n_steps, in_features, gates, hidden = 3, 19, 9, 70, 33
    rng = np.random.default_rng(3)
    x, grad_gates = rng.standard_normal((n_batch, n_steps, in_features)), rng.standard_normal((n_batch, n_steps, gates))
    weight_ih, bias_ih = rng.standard_normal((gates, in_features)), rng.standard_normal(gates)
    h0, output = rng.standard_normal((n_batch, hidden)), rng.standard_normal((n_batch, n_steps, hidden))
    arrays32 = [a.astype(np.float32) for a in (x, grad_gates, weight_ih, bias_ih, h0, output)]

    def products(ops, x, grad_gates, weight_ih, bias_ih, h0, output):
        return [ops.input_projection(x, weight_ih, bias_ih),
                *ops.input_projection_backward(grad_gates, x, weight_ih, (True, True, True)),
                ops.recurrent_weight_grad(grad_gates, h0, output)]

    with running_on("numpy", 1):
        expected = products(get_ops(), *[a.astype(np.float64) for a in arrays32])
    with running_on("native", n_threads):
        actual = products(get_ops(), *arrays32)
    for name, mine, reference in zip(["projection", "grad x", "grad weight_ih", "grad bias_ih", "grad weight_hh"],
                                     actual, expected):
        assert mine.dtype == np.float32, name
        assert_close(mine, reference, np.float32, name)


def test_an_unknown_path_is_refused_by_name():
    with pytest.raises(ValueError, match="unknown packed GEMM path 'sse9'; choose one of scalar, avx2, avx512"):
        use_packed_gemm_path("sse9")


def layer_values(layer, n_gates, arrays):
    """Output (N, T, H) of layer (F.gru or F.lstm) and the gradients of x, the weights, biases and
    initial states, for a fixed weighted sum of the outputs (and, for the LSTM, the final cell)."""
    leaves = [Tensor(a, requires_grad=True) for a in arrays]
    output = layer(*leaves)
    rng = np.random.default_rng(1)
    loss = (output * Tensor(rng.standard_normal(output.shape).astype(arrays[0].dtype))).sum()
    if n_gates == 4:
        cell = F.lstm_final_cell(output)
        loss = loss + (cell * Tensor(rng.standard_normal(cell.shape).astype(arrays[0].dtype))).sum()
    loss.backward()
    return [output.value] + [leaf.grad for leaf in leaves]


@pytest.mark.parametrize("layer, n_gates, n_states", [(F.gru, 3, 1), (F.lstm, 4, 2)], ids=["gru", "lstm"])
@pytest.mark.parametrize("n_threads", THREADS)
def test_float32_layer_matches_the_numpy_backend(packed_path, layer, n_gates, n_states, n_threads):
    # H = 40: G = 3H = 120 or 4H = 160 columns forward (partial last panel for the GRU), 40 backward;
    # 19 rows: full and partial register tiles at 1 thread (19) and at 2 (10 and 9)
    n_batch, n_steps, in_features, hidden = 19, 5, 7, 40
    rng = np.random.default_rng(2)
    gates = n_gates * hidden
    arrays = [rng.standard_normal((n_batch, n_steps, in_features)),
              0.3 * rng.standard_normal((gates, in_features)), 0.3 * rng.standard_normal((gates, hidden)),
              0.3 * rng.standard_normal(gates), 0.3 * rng.standard_normal(gates)]
    arrays += [rng.standard_normal((n_batch, hidden)) for _ in range(n_states)]
    arrays32 = [a.astype(np.float32) for a in arrays]
    with running_on("numpy", 1):
        expected = layer_values(layer, n_gates, [a.astype(np.float64) for a in arrays32])
    with running_on("native", n_threads):
        actual = layer_values(layer, n_gates, arrays32)
    names = ["output", "grad x", "grad weight_ih", "grad weight_hh", "grad bias_ih", "grad bias_hh", "grad h0",
             "grad c0"]
    for name, mine, reference in zip(names, actual, expected):
        assert mine.dtype == np.float32, name
        assert_close(mine, reference, np.float32, name)
