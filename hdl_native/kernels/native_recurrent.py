"""The native time loops of the GRU and LSTM layers and the embedding's scatter-add: a mixin
that NativeOps inherits.

It overrides NumpyRecurrentOps's per-step loops, weight-gradient sums and, in
float32, the GEMMs over all N*T rows (input projection, input and weight_ih
gradients) with pyx/recurrent.pyx (same signatures); float64 runs those through
NativeOps.linear_forward / linear_backward (BLAS).  Each method checks its
arguments once (validation.check_arrays), allocates the outputs and calls one
nogil kernel.  In float32 every GEMM reads its right operand packed once per call
(pyx/packed_gemm.h), into scratch given here; use_packed_gemm_path() forces
one of that GEMM's instruction-set paths.

Shape legend as in numpy_recurrent: N batch, T time steps, H hidden size, G gate rows.
"""
import numpy as np

from .._native import matmul, recurrent
from ..threads import get_num_threads, threads_for
from .blas_threads import pin_single_threaded_blas
from .validation import check_arrays, describe, optional


PACKED_GEMM_PATHS = tuple(recurrent.PACKED_GEMM_PATHS)

# Register tiles per row block of the packed GEMMs over all N*T rows, as measured on one
# Zen 4 core (G = 768, H = I = 256, N*T = 6,400): the projection ran 7% faster one tile at a
# time (its rows of A in L1 while it sweeps B from L2) than 6 at a time, grad_x as fast either
# way; the weight gradients, whose K is N*T and whose A is read transposed, 5% faster with 6
# (A's block then stays in L2 across B's panels).
TILES_PER_ROW_BLOCK = 1
WEIGHT_GRAD_TILES_PER_ROW_BLOCK = 6


def use_packed_gemm_path(name):
    """Run the float32 GEMMs of the recurrent layers on `name` (one of PACKED_GEMM_PATHS); returns the
    previous one.  ValueError when the CPU cannot."""
    if name not in PACKED_GEMM_PATHS:
        raise ValueError(f"unknown packed GEMM path {name!r}; choose one of {', '.join(PACKED_GEMM_PATHS)}")
    if not recurrent.packed_gemm_path_supported(name):
        raise ValueError(f"this CPU cannot run the packed GEMM path {name!r}")
    return recurrent.set_packed_gemm_path(name)


def check_gate_rows(sizes, n_gates):
    """The gate rows G must be n_gates * H (and the saved gates F, when given, 4H)."""
    if sizes["G"] != n_gates * sizes["H"] or sizes.get("F", 4 * sizes["H"]) != 4 * sizes["H"]:
        raise ValueError(f"weight_hh must have {n_gates} * H rows and the saved gates 4 * H columns, got "
                         f"G={sizes['G']}, H={sizes['H']}" + (f", F={sizes['F']}" if "F" in sizes else ""))


class NativeRecurrentOps:
    """The recurrent loops in Cython + OpenMP; threads take slices of the batch."""

    def loop_threads(self, n_batch):
        """Threads for a time loop: each needs at least one batch row."""
        return max(1, min(get_num_threads(), n_batch))

    def packed_scratch(self, dtype, k, n):
        """Room for the packed copy of a (k, n) weight the float32 step GEMMs read; None in float64 (BLAS)."""
        if dtype != np.float32:
            return None
        return self.scratch("recurrent-packed", dtype, 1, recurrent.packed_size(k, n))[0]

    def run_forward(self, projected, h0, c0, weight_hh, bias_hh, n_gates):
        """The checked call of recurrence_forward (c0 None: a GRU) -> (output, cells or None, gates)."""
        sizes = check_arrays(("projected", projected, "NTG"), ("weight_hh", weight_hh, "GH"), ("bias_hh", bias_hh, "G"),
                             ("h0", h0, "NH"), *optional("c0", c0, "NH"))
        check_gate_rows(sizes, n_gates)
        n, t_len, g, hidden, dtype = sizes["N"], sizes["T"], sizes["G"], sizes["H"], projected.dtype
        output = np.empty((n, t_len, hidden), dtype=dtype)
        cells = None if c0 is None else np.empty_like(output)
        gates = np.empty((n, t_len, 4 * hidden), dtype=dtype)
        n_threads = self.loop_threads(n)
        scratch = self.scratch("recurrent", dtype, n_threads, -(-n // n_threads) * g)
        pin_single_threaded_blas()
        recurrent.recurrence_forward(projected, h0, c0, np.ascontiguousarray(weight_hh.T), bias_hh, output, cells,
                                     gates, scratch, self.packed_scratch(dtype, hidden, g), n_threads)
        return output, cells, gates

    def run_backward(self, grad_output, grad_final_cell, h0, c0, weight_hh, output, cells, gates, n_gates):
        """The checked call of recurrence_backward (c0 and cells None: a GRU)
        -> (grad_projected, grad_recurrent (GRU only, else None), grad_h0, grad_c0 or None)."""
        sizes = check_arrays(("output", output, "NTH"), ("grad_output", grad_output, "NTH"), ("gates", gates, "NTF"),
                             ("weight_hh", weight_hh, "GH"), ("h0", h0, "NH"), *optional("c0", c0, "NH"),
                             *optional("cells", cells, "NTH"), *optional("grad_final_cell", grad_final_cell, "NH"))
        check_gate_rows(sizes, n_gates)
        n, t_len, hidden, dtype = sizes["N"], sizes["T"], sizes["H"], output.dtype
        grad_projected = np.empty((n, t_len, n_gates * hidden), dtype=dtype)
        grad_recurrent = grad_c0 = None
        if c0 is None:
            grad_recurrent = np.empty_like(grad_projected)
        elif grad_final_cell is None:
            grad_c0 = np.zeros((n, hidden), dtype=dtype)
        else:
            grad_c0 = grad_final_cell.copy()
        grad_h0 = np.zeros((n, hidden), dtype=dtype)
        packed = self.packed_scratch(dtype, n_gates * hidden, hidden)
        pin_single_threaded_blas()
        recurrent.recurrence_backward(grad_output, h0, c0, weight_hh, output, cells, gates, grad_projected,
                                      grad_recurrent, grad_h0, grad_c0, packed, self.loop_threads(n))
        return grad_projected, grad_recurrent, grad_h0, grad_c0

    # ------------------------------------------------------------ GRU
    def gru_recurrence(self, projected, h0, weight_hh, bias_hh):
        output, _, gates = self.run_forward(projected, h0, None, weight_hh, bias_hh, 3)
        return output, gates

    def gru_recurrence_backward(self, grad_output, h0, weight_hh, output, gates):
        grad_projected, grad_recurrent, grad_h0, _ = self.run_backward(grad_output, None, h0, None, weight_hh,
                                                                       output, None, gates, 3)
        return grad_projected, grad_recurrent, grad_h0

    # ------------------------------------------------------------ LSTM
    def lstm_recurrence(self, projected, h0, c0, weight_hh, bias_hh):
        check_arrays(("c0", c0, None))  # None would run the GRU's loop
        return self.run_forward(projected, h0, c0, weight_hh, bias_hh, 4)

    def lstm_recurrence_backward(self, grad_output, grad_final_cell, h0, c0, weight_hh, output, cells, gates):
        check_arrays(("c0", c0, None), ("cells", cells, None))  # None would run the GRU's loop
        grad_gates, _, grad_h0, grad_c0 = self.run_backward(grad_output, grad_final_cell, h0, c0, weight_hh,
                                                            output, cells, gates, 4)
        return grad_gates, grad_h0, grad_c0

    # ------------------------------------------------------------ the GEMMs over all N*T rows
    def packed_product(self, a, b, bias, out, tiles_per_block):
        """out (M, P) = a (M, K) @ b (K, P) (+ bias (P,)) by the packed GEMM (a and b may be
        transposed views), threads taking slices of out's rows; returns out."""
        packed = self.packed_scratch(np.float32, b.shape[0], b.shape[1])
        recurrent.packed_matmul(a, b, bias, packed, out, False, tiles_per_block,
                                 max(1, min(get_num_threads(), len(out))))
        return out

    def input_projection(self, x, weight_ih, bias_ih):
        if x.dtype != np.float32:
            return super().input_projection(x, weight_ih, bias_ih)
        sizes = check_arrays(("x", x, "NTI"), ("weight_ih", weight_ih, "GI"), *optional("bias_ih", bias_ih, "G"))
        n, t_len, g = sizes["N"], sizes["T"], sizes["G"]
        # (N*T, I) @ (I, G): W_ih^T packed from W_ih as it is stored
        out = np.empty((n, t_len, g), dtype=np.float32)
        self.packed_product(x.reshape(n * t_len, -1), weight_ih.T, bias_ih, out.reshape(n * t_len, g),
                            TILES_PER_ROW_BLOCK)
        return out

    def input_projection_backward(self, grad_gates, x, weight_ih, needs):
        if x.dtype != np.float32:
            return super().input_projection_backward(grad_gates, x, weight_ih, needs)
        sizes = check_arrays(("grad_gates", grad_gates, "NTG"), ("x", x, "NTI"), ("weight_ih", weight_ih, "GI"))
        rows, g = sizes["N"] * sizes["T"], sizes["G"]
        grad_rows, x_rows = grad_gates.reshape(rows, g), x.reshape(rows, -1)
        grad_x = grad_w = grad_b = None
        if needs[0]:  # (N*T, G) @ (G, I)
            grad_x = np.empty_like(x)
            self.packed_product(grad_rows, weight_ih, None, grad_x.reshape(rows, -1), TILES_PER_ROW_BLOCK)
        if needs[1]:  # (G, N*T) @ (N*T, I): grad_gates read transposed, x packed
            grad_w = self.packed_product(grad_rows.T, x_rows, None, np.empty_like(weight_ih),
                                         WEIGHT_GRAD_TILES_PER_ROW_BLOCK)
        if needs[2]:
            grad_b = self.gate_bias_grad(grad_gates)
        return grad_x, grad_w, grad_b

    # ------------------------------------------------------------ weight and bias gradients
    def recurrent_weight_grad(self, grad_gates, h0, output):
        sizes = check_arrays(("grad_gates", grad_gates, "NTG"), ("h0", h0, "NH"), ("output", output, "NTH"))
        g, hidden, dtype = sizes["G"], sizes["H"], grad_gates.dtype
        grad_weight = np.empty((g, hidden), dtype=dtype)
        pin_single_threaded_blas()
        recurrent.recurrent_weight_grad(grad_gates, h0, output, grad_weight,
                                        self.packed_scratch(dtype, sizes["N"] * sizes["T"], hidden),
                                        WEIGHT_GRAD_TILES_PER_ROW_BLOCK, min(get_num_threads(), max(1, g)))
        return grad_weight

    def gate_bias_grad(self, grad_gates):
        check_arrays(("grad_gates", grad_gates, "NTG"))
        grad_bias = np.empty(grad_gates.shape[2], dtype=grad_gates.dtype)
        matmul.column_sums(grad_gates.reshape(-1, grad_gates.shape[2]), grad_bias, threads_for(grad_gates.size))
        return grad_bias

    # ------------------------------------------------------------ embedding
    def embedding_forward(self, weight, indices):
        check_arrays(("weight", weight, "VD"))
        codes = self.embedding_indices(indices)
        out = np.empty(codes.shape + weight.shape[1:], dtype=weight.dtype)
        if recurrent.embedding_forward(weight, codes.reshape(-1), out.reshape(-1, weight.shape[1]),
                                       threads_for(out.size)):
            super().embedding_forward(weight, np.asarray(indices))  # names the first index out of range
        return out

    def embedding_indices(self, indices):
        """indices as contiguous int64 (the kernels' type); TypeError unless integers."""
        indices = np.asarray(indices)
        if indices.dtype.kind not in "iu":
            raise TypeError(f"embedding indices must be integers, got {describe(indices)}")
        return np.ascontiguousarray(indices, dtype=np.int64)

    def embedding_backward(self, grad_output, indices, num_embeddings):
        check_arrays(("grad_output", grad_output, None))
        dim = grad_output.shape[-1]
        indices = self.embedding_indices(indices)
        if indices.shape != grad_output.shape[:-1]:
            raise TypeError(f"indices must be integers of shape {grad_output.shape[:-1]}, got {describe(indices)}")
        grad_weight = np.empty((num_embeddings, dim), dtype=grad_output.dtype)
        # threads take slices of the rows, each adding into its own (V, D) table: worth it only
        # while those tables are small beside the rows (a char model's 95 rows against 6,400)
        n_threads = max(1, min(threads_for(grad_output.size), grad_output.size // max(1, 4 * grad_weight.size)))
        partial = self.scratch("embedding", grad_output.dtype, 1, (n_threads - 1) * grad_weight.size)[0]
        n_bad = recurrent.embedding_backward(grad_output.reshape(-1, dim), indices.reshape(-1), grad_weight,
                                             partial[:(n_threads - 1) * grad_weight.size].reshape(
                                                 n_threads - 1, num_embeddings, dim), n_threads)
        if n_bad:
            raise ValueError(f"embedding: {n_bad} indices outside [0, {num_embeddings})")
        return grad_weight
