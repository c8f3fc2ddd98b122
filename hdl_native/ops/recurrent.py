"""The recurrent ops: a GRU layer and an LSTM layer over a whole sequence, the LSTM's final
cell state, and the embedding lookup.

One graph node runs a layer over all T time steps (Python works once per
sequence, not per step) and its backward is backpropagation through time,
both on the active kernel backend (kernels/numpy_recurrent.py, natively
pyx/recurrent.pyx).  Gates, equations and weight layouts are PyTorch's, so
``nn.GRU``/``nn.LSTM`` weights map one to one.

Shape legend: N batch, T time steps, I input features, H hidden size, G gate rows (3H or 4H).
"""
import numpy as np

from ..kernels import get_ops
from ..tensor import contiguous
from .base import FLOAT_DTYPES, Op
from .layers import LayerOp


class RecurrentLayer(LayerOp):
    """What GRU and LSTM share: shapes, the input projection and the backward around the time loop.

    Parents: x (N, T, I), weight_ih (G, I), weight_hh (G, H), bias_ih and bias_hh (G,) with
    G = n_gates * H, then the initial states (N, H) if given (else zeros) -> output (N, T, H).
    With ``embedded=True`` x is replaced by two parents, indices (N, T) and an embedding table
    (V, I): the layer reads x = table[indices], and projects the V table rows once instead of
    the N*T inputs (the same values; the gradient reaches the table rows).
    """

    n_gates = None
    n_states = None

    def __init__(self, embedded=False):
        self.embedded = bool(embedded)
        self.n_inputs = 2 if self.embedded else 1

    def infer(self, *parents):
        inputs, (weight_ih, weight_hh, bias_ih, bias_hh), states = self.split(parents)
        if len(states) not in (0, self.n_states):
            raise self.shape_error(f"takes {self.n_states} initial state(s) or none", *parents)
        x_shape = self.input_shape(inputs, parents)
        if weight_ih.ndim != 2 or weight_hh.ndim != 2:
            raise self.shape_error("expects weight_ih (G, I) and weight_hh (G, H)", *parents)
        hidden = weight_hh.shape[1]
        gates = self.n_gates * hidden
        if weight_hh.shape[0] != gates or weight_ih.shape[0] != gates:
            raise self.shape_error(f"weights must have {self.n_gates} * H = {gates} rows", *parents)
        if x_shape[2] != weight_ih.shape[1]:
            raise self.shape_error("input features differ from weight_ih's second dimension", *parents)
        if bias_ih.shape != (gates,) or bias_hh.shape != (gates,):
            raise self.shape_error(f"biases must be ({gates},)", *parents)
        for state in states:
            if state.ndim != 2 or state.shape[1] != hidden or (
                    None not in (state.shape[0], x_shape[0]) and state.shape[0] != x_shape[0]):
                raise self.shape_error(f"initial states must be (N, H) with the input's N and H = {hidden}", *parents)
        floats = parents[1:] if self.embedded else parents
        return (x_shape[0], x_shape[1], hidden), self.same_float_dtype(*floats)

    def split(self, parents):
        """(inputs, (weight_ih, weight_hh, bias_ih, bias_hh), states) of the parents."""
        k = self.n_inputs
        return parents[:k], parents[k:k + 4], parents[k + 4:]

    def input_shape(self, inputs, parents):
        """(N, T, I) of the layer's input."""
        if not self.embedded:
            if inputs[0].ndim != 3:
                raise self.shape_error("expects x (N, T, I)", *parents)
            return inputs[0].shape
        indices, table = inputs
        if indices.dtype.kind not in "iu":
            raise TypeError(f"{self.name}: embedded indices must be an integer tensor, got {indices.dtype}")
        if indices.ndim != 2 or table.ndim != 2:
            raise self.shape_error("expects indices (N, T) and an embedding table (V, I)", *parents)
        return indices.shape + (table.shape[1],)

    def forward(self, *parents):
        inputs, (weight_ih, weight_hh, bias_ih, bias_hh), states = self.split(parents)
        ops = get_ops()
        self.inputs, self.weight_ih, self.weight_hh, self.n_parent_states = inputs, weight_ih, weight_hh, len(states)
        if self.embedded:
            projected = ops.embedded_projection(*inputs, weight_ih, bias_ih)
        else:
            projected = ops.input_projection(inputs[0], weight_ih, bias_ih)
        if not states:
            states = tuple(np.zeros((projected.shape[0], weight_hh.shape[1]), dtype=projected.dtype)
                           for _ in range(self.n_states))
        self.states = states
        return self.recurrence(ops, projected, states, weight_hh, bias_hh)

    def backward(self, grad, needs):
        ops = get_ops()
        grad_projected, grad_recurrent, grad_states = self.recurrence_backward(ops, contiguous(grad))
        inputs, k = self.inputs, self.n_inputs
        need_inputs, (need_w_ih, need_w_hh, need_b_ih, need_b_hh) = needs[:k], needs[k:k + 4]
        if self.embedded:
            grad_table, grad_w_ih, grad_b_ih = ops.embedded_projection_backward(
                grad_projected, *inputs, self.weight_ih, (need_inputs[1], need_w_ih, need_b_ih))
            grad_inputs = (None, grad_table)
        else:
            grad_x, grad_w_ih, grad_b_ih = ops.input_projection_backward(
                grad_projected, inputs[0], self.weight_ih, (need_inputs[0], need_w_ih, need_b_ih))
            grad_inputs = (grad_x,)
        grad_w_hh = ops.recurrent_weight_grad(grad_recurrent, self.states[0], self.output) if need_w_hh else None
        if not need_b_hh:
            grad_b_hh = None
        elif grad_recurrent is grad_projected and grad_b_ih is not None:
            grad_b_hh = grad_b_ih.copy()  # an LSTM: both biases meet the same pre-activations, one sum serves
        else:
            grad_b_hh = ops.gate_bias_grad(grad_recurrent)
        return grad_inputs + (grad_w_ih, grad_w_hh, grad_b_ih, grad_b_hh) + tuple(grad_states[:self.n_parent_states])


class GRU(RecurrentLayer):
    """One GRU layer over a sequence: x (N, T, I), weight_ih (3H, I), weight_hh (3H, H),
    bias_ih, bias_hh (3H,), h0 (N, H) -> the hidden state after every step (N, T, H); gates r, z, n."""

    name = "gru"
    n_gates, n_states = 3, 1

    def recurrence(self, ops, projected, states, weight_hh, bias_hh):
        self.output, self.gates = ops.gru_recurrence(projected, states[0], weight_hh, bias_hh)
        return self.output

    def recurrence_backward(self, ops, grad):
        grad_projected, grad_recurrent, grad_h0 = ops.gru_recurrence_backward(grad, self.states[0], self.weight_hh,
                                                                             self.output, self.gates)
        return grad_projected, grad_recurrent, (grad_h0,)


class LSTM(RecurrentLayer):
    """One LSTM layer over a sequence: x (N, T, I), weight_ih (4H, I), weight_hh (4H, H),
    bias_ih, bias_hh (4H,), h0, c0 (N, H) -> the hidden state after every step (N, T, H); gates i, f, g, o.

    The cell state after the last step is a node of its own, LSTMFinalCell, whose gradient
    reaches this op's backward through ``grad_final_cell`` (set by LSTMFinalCell.backward,
    which the reverse topological walk always runs before this op's backward).
    """

    name = "lstm"
    n_gates, n_states = 4, 2
    grad_final_cell = None

    def recurrence(self, ops, projected, states, weight_hh, bias_hh):
        self.output, self.cells, self.gates = ops.lstm_recurrence(projected, *states, weight_hh, bias_hh)
        return self.output

    def final_cell(self):
        """The cell state after the last step of the latest forward, (N, H)."""
        return contiguous(self.cells[:, -1])

    def receive_final_cell_grad(self, grad):
        self.grad_final_cell = grad if self.grad_final_cell is None else self.grad_final_cell + grad

    def recurrence_backward(self, ops, grad):
        grad_final_cell, self.grad_final_cell = self.grad_final_cell, None
        grad_gates, grad_h0, grad_c0 = ops.lstm_recurrence_backward(grad, grad_final_cell, *self.states,
                                                                    self.weight_hh, self.output, self.cells,
                                                                    self.gates)
        # both biases and both weights meet the same gate pre-activations
        return grad_gates, grad_gates, (grad_h0, grad_c0)


class LSTMFinalCell(Op):
    """The cell state c_T (N, H) after the last step of an LSTM node, read from that node's op.

    Its parent is the LSTM node, so it is recomputed whenever the LSTM is; its gradient is
    handed to the LSTM op (which adds it to the last step's cell gradient) and the LSTM
    output itself gets a zero gradient from here, so the LSTM's backward always runs.
    """

    name = "lstm_final_cell"

    def __init__(self, lstm):
        if not isinstance(lstm, LSTM):
            raise TypeError(f"lstm_final_cell: expects the output of an lstm node, got one of "
                            f"{getattr(lstm, 'name', 'a leaf')}")
        self.lstm = lstm

    def infer(self, lstm_output):
        return (lstm_output.shape[0], lstm_output.shape[2]), lstm_output.dtype

    def forward(self, lstm_output):
        self.output_shape = lstm_output.shape
        return self.lstm.final_cell()

    def backward(self, grad, needs):
        self.lstm.receive_final_cell_grad(contiguous(grad))
        return (np.zeros(self.output_shape, dtype=grad.dtype),)


class Embedding(Op):
    """Rows of weight (V, D) at integer indices (...) -> (..., D); backward scatter-adds into the rows."""

    name = "embedding"

    def infer(self, weight, indices):
        if weight.ndim != 2:
            raise self.shape_error("expects weight (V, D)", weight, indices)
        if weight.dtype not in FLOAT_DTYPES:
            raise TypeError(f"{self.name}: weight must be float32 or float64, got {weight.dtype}")
        if indices.dtype.kind not in "iu":
            raise TypeError(f"{self.name}: indices must be an integer tensor, got {indices.dtype}")
        return tuple(indices.shape) + (weight.shape[1],), weight.dtype

    def forward(self, weight, indices):
        self.indices, self.num_embeddings = indices, weight.shape[0]
        return get_ops().embedding_forward(weight, indices)

    def backward(self, grad, needs):
        return get_ops().embedding_backward(contiguous(grad), self.indices, self.num_embeddings), None
