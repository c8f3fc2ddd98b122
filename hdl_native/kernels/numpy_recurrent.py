"""The numpy reference of the recurrent layers (GRU, LSTM) and of the embedding lookup.

A mixin that NumpyOps inherits, so NativeOps (which inherits NumpyOps) can
override the per-time-step loops while the GEMMs over all time steps go
through ``linear_forward`` / ``linear_backward`` on either backend.

Each layer runs over a whole sequence: one GEMM projects the inputs of all
time steps at once, the loop does the recurrent GEMM and the gates per step,
and backward runs the loop in reverse (backpropagation through time), then
gets the weight gradients from GEMMs over all N*T rows.  Gate order and
equations are PyTorch's:

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


def sigmoid(x):
    """1 / (1 + e^-x) without overflow: e^x / (1 + e^x) for x < 0."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


class NumpyRecurrentOps:
    """GRU, LSTM and embedding math; mixed into NumpyOps."""

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

    def recurrent_weight_grad(self, grad_gates, h0, output):
        """sum over n, t of grad_gates[n, t]^T outer h_prev[n, t], where h_prev is h0 at t = 0
        and output[:, t-1] after.  grad_gates: (N, T, G), h0: (N, H), output: (N, T, H) -> (G, H)."""
        h_prev = np.concatenate([h0[:, None], output[:, :-1]], axis=1)
        return grad_gates.reshape(-1, grad_gates.shape[2]).T @ h_prev.reshape(-1, h0.shape[1])

    # ------------------------------------------------------------ GRU
    def gru_forward(self, x, h0, weight_ih, weight_hh, bias_ih, bias_hh):
        """x: (N, T, I), h0: (N, H), weight_ih: (3H, I), weight_hh: (3H, H), biases (3H,)
        -> (output (N, T, H) the hidden state after every step, gates (N, T, 4H) for backward)."""
        projected = self.input_projection(x, weight_ih, bias_ih)
        return self.gru_recurrence(projected, h0, weight_hh, bias_hh)

    def gru_recurrence(self, projected, h0, weight_hh, bias_hh):
        """The time loop of gru_forward over the projected inputs (N, T, 3H) -> (output, gates)."""
        n, t_len, g = projected.shape
        hidden = g // 3
        output = np.empty((n, t_len, hidden), dtype=projected.dtype)
        gates = np.empty((n, t_len, 4 * hidden), dtype=projected.dtype)
        h = h0
        for t in range(t_len):
            gi = projected[:, t]
            gh = h @ weight_hh.T + bias_hh
            r = sigmoid(gi[:, :hidden] + gh[:, :hidden])
            z = sigmoid(gi[:, hidden:2 * hidden] + gh[:, hidden:2 * hidden])
            hn = gh[:, 2 * hidden:]
            new = np.tanh(gi[:, 2 * hidden:] + r * hn)
            h = new + z * (h - new)
            output[:, t] = h
            gates[:, t] = np.concatenate([r, z, new, hn], axis=1)
        return output, gates

    def gru_backward(self, grad_output, x, h0, weight_ih, weight_hh, output, gates, needs=(True,) * 6):
        """Gradients of gru_forward: (grad_x, grad_weight_ih, grad_weight_hh, grad_bias_ih, grad_bias_hh,
        grad_h0), None where `needs` (same order) says no.  grad_output: (N, T, H); the rest as
        gru_forward took or gave."""
        grad_projected, grad_hh_gates, grad_h0 = self.gru_recurrence_backward(grad_output, h0, weight_hh,
                                                                              output, gates)
        grad_x, grad_w_ih, grad_b_ih = self.input_projection_backward(grad_projected, x, weight_ih,
                                                                      (needs[0], needs[1], needs[3]))
        grad_w_hh = self.recurrent_weight_grad(grad_hh_gates, h0, output) if needs[2] else None
        grad_b_hh = self.gate_bias_grad(grad_hh_gates) if needs[4] else None
        return grad_x, grad_w_ih, grad_w_hh, grad_b_ih, grad_b_hh, grad_h0 if needs[5] else None

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
    def lstm_forward(self, x, h0, c0, weight_ih, weight_hh, bias_ih, bias_hh):
        """x: (N, T, I), h0, c0: (N, H), weight_ih: (4H, I), weight_hh: (4H, H), biases (4H,)
        -> (output (N, T, H) hidden states, cells (N, T, H) cell states, gates (N, T, 4H) for backward)."""
        projected = self.input_projection(x, weight_ih, bias_ih)
        return self.lstm_recurrence(projected, h0, c0, weight_hh, bias_hh)

    def lstm_recurrence(self, projected, h0, c0, weight_hh, bias_hh):
        """The time loop of lstm_forward over the projected inputs (N, T, 4H) -> (output, cells, gates)."""
        n, t_len, g = projected.shape
        hidden = g // 4
        output = np.empty((n, t_len, hidden), dtype=projected.dtype)
        cells = np.empty_like(output)
        gates = np.empty((n, t_len, g), dtype=projected.dtype)
        h, c = h0, c0
        for t in range(t_len):
            pre = projected[:, t] + h @ weight_hh.T + bias_hh
            i, f, o = (sigmoid(pre[:, k * hidden:(k + 1) * hidden]) for k in (0, 1, 3))
            g_cell = np.tanh(pre[:, 2 * hidden:3 * hidden])
            c = f * c + i * g_cell
            h = o * np.tanh(c)
            output[:, t], cells[:, t] = h, c
            gates[:, t] = np.concatenate([i, f, g_cell, o], axis=1)
        return output, cells, gates

    def lstm_backward(self, grad_output, grad_final_cell, x, h0, c0, weight_ih, weight_hh, output, cells, gates,
                      needs=(True,) * 7):
        """Gradients of lstm_forward: (grad_x, grad_weight_ih, grad_weight_hh, grad_bias_ih, grad_bias_hh,
        grad_h0, grad_c0), None where `needs` (same order) says no.  grad_output: (N, T, H);
        grad_final_cell: (N, H) gradient of the last cell state, or None; the rest as lstm_forward took or gave."""
        grad_gates, grad_h0, grad_c0 = self.lstm_recurrence_backward(grad_output, grad_final_cell, h0, c0,
                                                                     weight_hh, output, cells, gates)
        grad_x, grad_w_ih, grad_b_ih = self.input_projection_backward(grad_gates, x, weight_ih,
                                                                      (needs[0], needs[1], needs[3] or needs[4]))
        grad_w_hh = self.recurrent_weight_grad(grad_gates, h0, output) if needs[2] else None
        grad_b_hh = grad_b_ih.copy() if needs[4] else None  # both biases enter the same pre-activation
        return (grad_x, grad_w_ih, grad_w_hh, grad_b_ih if needs[3] else None, grad_b_hh,
                grad_h0 if needs[5] else None, grad_c0 if needs[6] else None)

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
