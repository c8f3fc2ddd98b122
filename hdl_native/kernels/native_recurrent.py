"""The native time loops of the GRU and LSTM layers and the embedding's scatter-add: a mixin
that NativeOps inherits.

It overrides NumpyRecurrentOps's per-step loops and weight-gradient sums with
pyx/recurrent.pyx (same signatures); the GEMMs over all N*T rows (input
projection, input and weight_ih gradients) already run natively through
NativeOps.linear_forward / linear_backward.  Each method checks its
arguments once, allocates the outputs and calls one nogil kernel.

Shape legend as in numpy_recurrent: N batch, T time steps, H hidden size, G gate rows.
"""
import numpy as np

from .._native import recurrent
from ..threads import get_num_threads
from . import native_ops  # the validation helpers; a module reference, as native_ops imports this module
from .blas_threads import pin_single_threaded_blas


def check_float(name, array, ndim=None, dtype=None):
    return native_ops.check_float(name, array, ndim, dtype)


def describe(array):
    return native_ops.describe(array)


def check_shape(name, array, expected):
    native_ops.check_shape(name, array, expected)


def check_sequence(name, array, n, t_len, width, dtype):
    check_float(name, array, 3, dtype)
    check_shape(name, array, (n, t_len, width))


def check_state(name, array, n, hidden, dtype):
    check_float(name, array, 2, dtype)
    check_shape(name, array, (n, hidden))


class NativeRecurrentOps:
    """The recurrent loops in Cython + OpenMP; threads take slices of the batch."""

    def loop_threads(self, n_batch):
        """Threads for a time loop: each needs at least one batch row."""
        return max(1, min(get_num_threads(), n_batch))

    def run_forward(self, projected, h0, c0, weight_hh, bias_hh, n_gates):
        """The checked call of recurrence_forward (c0 None: a GRU) -> (output, cells or None, gates)."""
        check_float("projected", projected, 3)
        n, t_len, g = projected.shape
        dtype = projected.dtype
        check_float("weight_hh", weight_hh, 2, dtype)
        hidden = weight_hh.shape[1]
        check_shape("weight_hh", weight_hh, (n_gates * hidden, hidden))
        check_shape("projected", projected, (n, t_len, n_gates * hidden))
        check_float("bias_hh", bias_hh, 1, dtype)
        check_shape("bias_hh", bias_hh, (n_gates * hidden,))
        for name, state in (("h0", h0), ("c0", c0)):
            if state is not None:
                check_state(name, state, n, hidden, dtype)
        output = np.empty((n, t_len, hidden), dtype=dtype)
        cells = None if c0 is None else np.empty_like(output)
        gates = np.empty((n, t_len, 4 * hidden), dtype=dtype)
        n_threads = self.loop_threads(n)
        scratch = self.scratch("recurrent", dtype, n_threads, -(-n // n_threads) * g)
        pin_single_threaded_blas()
        recurrent.recurrence_forward(projected, h0, c0, np.ascontiguousarray(weight_hh.T), bias_hh, output, cells,
                                     gates, scratch, n_threads)
        return output, cells, gates

    def run_backward(self, grad_output, grad_final_cell, h0, c0, weight_hh, output, cells, gates, n_gates):
        """The checked call of recurrence_backward (c0 and cells None: a GRU)
        -> (grad_projected, grad_recurrent (GRU only, else None), grad_h0, grad_c0 or None)."""
        check_float("output", output, 3)
        n, t_len, hidden = output.shape
        dtype = output.dtype
        check_sequence("grad_output", grad_output, n, t_len, hidden, dtype)
        check_sequence("gates", gates, n, t_len, 4 * hidden, dtype)
        check_float("weight_hh", weight_hh, 2, dtype)
        check_shape("weight_hh", weight_hh, (n_gates * hidden, hidden))
        check_state("h0", h0, n, hidden, dtype)
        grad_projected = np.empty((n, t_len, n_gates * hidden), dtype=dtype)
        grad_recurrent = grad_c0 = None
        if c0 is None:
            grad_recurrent = np.empty_like(grad_projected)
        else:
            check_state("c0", c0, n, hidden, dtype)
            check_sequence("cells", cells, n, t_len, hidden, dtype)
            if grad_final_cell is None:
                grad_c0 = np.zeros((n, hidden), dtype=dtype)
            else:
                check_state("grad_final_cell", grad_final_cell, n, hidden, dtype)
                grad_c0 = grad_final_cell.copy()
        grad_h0 = np.zeros((n, hidden), dtype=dtype)
        pin_single_threaded_blas()
        recurrent.recurrence_backward(grad_output, h0, c0, weight_hh, output, cells, gates, grad_projected,
                                      grad_recurrent, grad_h0, grad_c0, self.loop_threads(n))
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
        check_float("c0", c0, 2)  # None would run the GRU's loop
        return self.run_forward(projected, h0, c0, weight_hh, bias_hh, 4)

    def lstm_recurrence_backward(self, grad_output, grad_final_cell, h0, c0, weight_hh, output, cells, gates):
        check_float("c0", c0, 2)  # None would run the GRU's loop
        check_float("cells", cells, 3)
        grad_gates, _, grad_h0, grad_c0 = self.run_backward(grad_output, grad_final_cell, h0, c0, weight_hh,
                                                            output, cells, gates, 4)
        return grad_gates, grad_h0, grad_c0

    # ------------------------------------------------------------ weight and bias gradients
    def recurrent_weight_grad(self, grad_gates, h0, output):
        check_float("grad_gates", grad_gates, 3)
        n, t_len, g = grad_gates.shape
        hidden = h0.shape[1] if h0.ndim == 2 else -1
        check_state("h0", h0, n, hidden, grad_gates.dtype)
        check_sequence("output", output, n, t_len, hidden, grad_gates.dtype)
        grad_weight = np.empty((g, hidden), dtype=grad_gates.dtype)
        pin_single_threaded_blas()
        recurrent.recurrent_weight_grad(grad_gates, h0, output, grad_weight, min(get_num_threads(), max(1, g)))
        return grad_weight

    def gate_bias_grad(self, grad_gates):
        check_float("grad_gates", grad_gates, 3)
        grad_bias = np.empty(grad_gates.shape[2], dtype=grad_gates.dtype)
        recurrent.row_sums(grad_gates.reshape(-1, grad_gates.shape[2]), grad_bias)
        return grad_bias

    # ------------------------------------------------------------ embedding
    def embedding_backward(self, grad_output, indices, num_embeddings):
        check_float("grad_output", grad_output)
        dim = grad_output.shape[-1]
        indices = np.asarray(indices)
        if indices.dtype.kind not in "iu" or indices.shape != grad_output.shape[:-1]:
            raise TypeError(f"indices must be integers of shape {grad_output.shape[:-1]}, got {describe(indices)}")
        grad_weight = np.empty((num_embeddings, dim), dtype=grad_output.dtype)
        n_bad = recurrent.embedding_backward(grad_output.reshape(-1, dim),
                                             np.ascontiguousarray(indices.reshape(-1), dtype=np.int64), grad_weight)
        if n_bad:
            raise ValueError(f"embedding: {n_bad} indices outside [0, {num_embeddings})")
        return grad_weight
