"""The numpy reference of the recurrent layers (GRU, LSTM) and of the embedding lookup.

A mixin that NumpyOps inherits, so NativeOps (which inherits NumpyOps) can
override the per-time-step loops and, in float32, the GEMMs over all time steps,
which otherwise go through ``linear_forward`` / ``linear_backward``.

The layer op (ops/recurrent.py) runs a whole sequence from these pieces: one
GEMM projects the inputs of all time steps at once (``input_projection``, or
``embedded_projection`` when the input is rows of an embedding table), the
loop does the recurrent GEMM and the gates per step (``*_recurrence``), and
backward runs the loop in reverse (backpropagation through time), then gets
the weight gradients from GEMMs over all N*T rows.  Gate order and equations
are PyTorch's:

GRU (gates r, z, n):  r = s(W_ir x + b_ir + W_hr h + b_hr),  z likewise,
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),  h' = (1 - z) * n + z * h.
LSTM (gates i, f, g, o):  i, f, o = s(...), g = tanh(...),
    c' = f * c + i * g,  h' = o * tanh(c').

Shape legend: N batch, T time steps, I input features, H hidden size,
G = 3H (GRU) or 4H (LSTM) gate rows, V vocabulary (embedding rows), D embedding size.
Saved for backward: GRU ``gates`` (N, T, 4H) = [r | z | n | W_hn h + b_hn] per step;
LSTM ``gates`` (N, T, 4H) = [i | f | g | o] after their activations and ``cells`` (N, T, H).
"""
import numpy as np


class NumpyRecurrentOps:
    """GRU, LSTM and embedding math; mixed into NumpyOps (whose linear and sigmoid methods it uses)."""

    # ------------------------------------------------------------ shared by both cells
    def input_projection(self, x, weight_ih, bias_ih):
        """x @ weight_ih^T + bias_ih for every time step in one GEMM. x: (N, T, I) -> (N, T, G)."""
        n, t, i = x.shape
        return self.linear_forward(x.reshape(n * t, i), weight_ih, bias_ih).reshape(n, t, -1)

    def input_projection_backward(self, grad_gates, x, weight_ih, needs):
        """(grad_x (N, T, I), grad_weight_ih (G, I), grad_bias_ih (G,)) of input_projection; None where not needed."""
        n, t, i = x.shape
        grad_x, grad_w, _ = self.linear_backward(grad_gates.reshape(n * t, -1), x.reshape(n * t, i),
                                                 weight_ih, (needs[0], needs[1], False))
        grad_b = self.gate_bias_grad(grad_gates) if needs[2] else None
        return None if grad_x is None else grad_x.reshape(n, t, i), grad_w, grad_b

    def gate_bias_grad(self, grad_gates):
        """The gradient of a bias added at every step: grad_gates (N, T, G) summed over N and T -> (G,)."""
        return grad_gates.sum(axis=(0, 1))

    def embedded_projection(self, indices, table, weight_ih, bias_ih):
        """input_projection of x = table[indices], made by projecting the V table rows once.
        indices: (N, T) ints in [0, V), table: (V, I) -> (N, T, G)."""
        return self.embedding_forward(self.linear_forward(table, weight_ih, bias_ih), indices)

    def embedded_projection_backward(self, grad_gates, indices, table, weight_ih, needs):
        """(grad_table (V, I), grad_weight_ih (G, I), grad_bias_ih (G,)) of embedded_projection; None where not
        needed."""
        grad_rows = self.embedding_backward(grad_gates, indices, table.shape[0])
        return self.linear_backward(grad_rows, table, weight_ih, needs)

    def recurrent_weight_grad(self, grad_gates, h0, output):
        """sum over n, t of grad_gates[n, t]^T outer h_prev[n, t], where h_prev is h0 at t = 0
        and output[:, t-1] after.  grad_gates: (N, T, G), h0: (N, H), output: (N, T, H) -> (G, H)."""
        h_prev = np.concatenate([h0[:, None], output[:, :-1]], axis=1)
        return grad_gates.reshape(-1, grad_gates.shape[2]).T @ h_prev.reshape(-1, h0.shape[1])

    # ------------------------------------------------------------ GRU
    def gru_recurrence(self, projected, h0, weight_hh, bias_hh):
        """The GRU layer's time loop (ops/recurrent.py GRU) over the projected inputs (N, T, 3H) -> (output, gates)."""
        n, t_len, g = projected.shape
        hidden = g // 3
        output = np.empty((n, t_len, hidden), dtype=projected.dtype)
        gates = np.empty((n, t_len, 4 * hidden), dtype=projected.dtype)
        h = h0
        for t in range(t_len):
            gi = projected[:, t]
            gh = h @ weight_hh.T + bias_hh
            r = self.sigmoid_forward(gi[:, :hidden] + gh[:, :hidden])
            z = self.sigmoid_forward(gi[:, hidden:2 * hidden] + gh[:, hidden:2 * hidden])
            hn = gh[:, 2 * hidden:]
            new = np.tanh(gi[:, 2 * hidden:] + r * hn)
            h = new + z * (h - new)
            output[:, t] = h
            gates[:, t] = np.concatenate([r, z, new, hn], axis=1)
        return output, gates

    def gru_recurrence_backward(self, grad_output, h0, weight_hh, output, gates):
        """Backpropagation through time of gru_recurrence.

        -> (grad of the projected inputs (N, T, 3H), grad of the recurrent pre-activations
        W_hh h + b_hh (N, T, 3H), grad_h0 (N, H)).
        """
        n, t_len, hidden = output.shape
        grad_projected = np.empty((n, t_len, 3 * hidden), dtype=output.dtype)
        grad_hh = np.empty_like(grad_projected)
        grad_h = np.zeros_like(h0)
        for t in range(t_len - 1, -1, -1):
            grad_h = grad_h + grad_output[:, t]
            h_prev = h0 if t == 0 else output[:, t - 1]
            r, z, new, hn = np.split(gates[:, t], 4, axis=1)
            grad_new = grad_h * (1 - z) * (1 - new * new)
            grad_r = grad_new * hn * r * (1 - r)
            grad_z = grad_h * (h_prev - new) * z * (1 - z)
            grad_projected[:, t] = np.concatenate([grad_r, grad_z, grad_new], axis=1)
            grad_hh[:, t] = np.concatenate([grad_r, grad_z, grad_new * r], axis=1)
            grad_h = grad_h * z + grad_hh[:, t] @ weight_hh
        return grad_projected, grad_hh, grad_h

    # ------------------------------------------------------------ LSTM
    def lstm_recurrence(self, projected, h0, c0, weight_hh, bias_hh):
        """The LSTM layer's time loop (ops/recurrent.py LSTM) over the projected inputs (N, T, 4H) ->
        (output, cells, gates)."""
        n, t_len, g = projected.shape
        hidden = g // 4
        output = np.empty((n, t_len, hidden), dtype=projected.dtype)
        cells = np.empty_like(output)
        gates = np.empty((n, t_len, g), dtype=projected.dtype)
        h, c = h0, c0
        for t in range(t_len):
            pre = projected[:, t] + h @ weight_hh.T + bias_hh
            i, f, o = (self.sigmoid_forward(pre[:, k * hidden:(k + 1) * hidden]) for k in (0, 1, 3))
            g_cell = np.tanh(pre[:, 2 * hidden:3 * hidden])
            c = f * c + i * g_cell
            h = o * np.tanh(c)
            output[:, t], cells[:, t] = h, c
            gates[:, t] = np.concatenate([i, f, g_cell, o], axis=1)
        return output, cells, gates

    def lstm_recurrence_backward(self, grad_output, grad_final_cell, h0, c0, weight_hh, output, cells, gates):
        """Backpropagation through time of lstm_recurrence.

        -> (grad of the gate pre-activations (N, T, 4H), grad_h0 (N, H), grad_c0 (N, H)).
        """
        n, t_len, hidden = output.shape
        grad_gates = np.empty_like(gates)
        grad_h = np.zeros_like(h0)
        grad_c = np.zeros_like(c0) if grad_final_cell is None else grad_final_cell.astype(c0.dtype, copy=True)
        for t in range(t_len - 1, -1, -1):
            grad_h = grad_h + grad_output[:, t]
            c_prev = c0 if t == 0 else cells[:, t - 1]
            i, f, g_cell, o = np.split(gates[:, t], 4, axis=1)
            tanh_c = np.tanh(cells[:, t])
            grad_c = grad_c + grad_h * o * (1 - tanh_c * tanh_c)
            grad_gates[:, t] = np.concatenate([
                grad_c * g_cell * i * (1 - i),
                grad_c * c_prev * f * (1 - f),
                grad_c * i * (1 - g_cell * g_cell),
                grad_h * tanh_c * o * (1 - o)], axis=1)
            grad_c = grad_c * f
            grad_h = grad_gates[:, t] @ weight_hh
        return grad_gates, grad_h, grad_c

    # ------------------------------------------------------------ embedding
    def embedding_forward(self, weight, indices):
        """Rows of weight (V, D) at integer indices of any shape (...) in [0, V) -> (..., D)."""
        if indices.size and (indices.min() < 0 or indices.max() >= weight.shape[0]):
            bad = indices[(indices < 0) | (indices >= weight.shape[0])][0]
            raise ValueError(f"embedding: index {bad} is outside [0, {weight.shape[0]})")
        return weight[indices]

    def embedding_backward(self, grad_output, indices, num_embeddings):
        """Scatter-add grad_output (..., D) into the rows named by indices -> (V, D)."""
        dim = grad_output.shape[-1]
        grad_weight = np.zeros((num_embeddings, dim), dtype=grad_output.dtype)
        np.add.at(grad_weight, indices.reshape(-1), grad_output.reshape(-1, dim))
        return grad_weight
