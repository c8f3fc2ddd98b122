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
    """Shape rules shared by GRU and LSTM.  Parents: x (N, T, I), weight_ih (G, I), weight_hh (G, H),
    bias_ih and bias_hh (G,) with G = n_gates * H, then the initial states (N, H) if given (else
    zeros) -> output (N, T, H)."""

    n_gates = None
    n_states = None

    def infer(self, x, weight_ih, weight_hh, bias_ih, bias_hh, *states):
        parents = (x, weight_ih, weight_hh, bias_ih, bias_hh, *states)
        if len(states) not in (0, self.n_states):
            raise self.shape_error(f"takes {self.n_states} initial state(s) or none", *parents)
        if x.ndim != 3 or weight_ih.ndim != 2 or weight_hh.ndim != 2:
            raise self.shape_error("expects x (N, T, I), weight_ih (G, I) and weight_hh (G, H)", *parents)
        hidden = weight_hh.shape[1]
        gates = self.n_gates * hidden
        if weight_hh.shape[0] != gates or weight_ih.shape[0] != gates:
            raise self.shape_error(f"weights must have {self.n_gates} * H = {gates} rows", *parents)
        if x.shape[2] != weight_ih.shape[1]:
            raise self.shape_error("x features differ from weight_ih's second dimension", *parents)
        if bias_ih.shape != (gates,) or bias_hh.shape != (gates,):
            raise self.shape_error(f"biases must be ({gates},)", *parents)
        for state in states:
            if state.ndim != 2 or state.shape[1] != hidden or (
                    None not in (state.shape[0], x.shape[0]) and state.shape[0] != x.shape[0]):
                raise self.shape_error(f"initial states must be (N, H) with x's N and H = {hidden}", *parents)
        return (x.shape[0], x.shape[1], hidden), self.same_float_dtype(*parents)

    def initial_states(self, x, weight_hh, states):
        """The given initial states, or zeros (N, H) for each."""
        if states:
            return states
        return tuple(np.zeros((x.shape[0], weight_hh.shape[1]), dtype=x.dtype) for _ in range(self.n_states))

    def parent_grads(self, grads):
        """The backend's gradients (inputs, weights, biases, states) cut to this node's parents."""
        return grads[:5 + self.n_parent_states]


class GRU(RecurrentLayer):
    """One GRU layer over a sequence: x (N, T, I), h0 (N, H), weight_ih (3H, I), weight_hh (3H, H),
    bias_ih, bias_hh (3H,) -> the hidden state after every step (N, T, H); gates r, z, n."""

    name = "gru"
    n_gates, n_states = 3, 1

    def forward(self, x, weight_ih, weight_hh, bias_ih, bias_hh, *states):
        self.n_parent_states = len(states)
        (h0,) = self.initial_states(x, weight_hh, states)
        self.x, self.h0, self.weight_ih, self.weight_hh = x, h0, weight_ih, weight_hh
        self.output, self.gates = get_ops().gru_forward(x, h0, weight_ih, weight_hh, bias_ih, bias_hh)
        return self.output

    def backward(self, grad, needs):
        return self.parent_grads(get_ops().gru_backward(
            contiguous(grad), self.x, self.h0, self.weight_ih, self.weight_hh, self.output, self.gates,
            needs + (False,) * (6 - len(needs))))


class LSTM(RecurrentLayer):
    """One LSTM layer over a sequence: x (N, T, I), h0, c0 (N, H), weight_ih (4H, I), weight_hh (4H, H),
    bias_ih, bias_hh (4H,) -> the hidden state after every step (N, T, H); gates i, f, g, o.

    The cell state after the last step is a node of its own, LSTMFinalCell, whose gradient
    reaches this op's backward through ``grad_final_cell`` (set by LSTMFinalCell.backward,
    which the reverse topological walk always runs before this op's backward).
    """

    name = "lstm"
    n_gates, n_states = 4, 2
    grad_final_cell = None

    def forward(self, x, weight_ih, weight_hh, bias_ih, bias_hh, *states):
        self.n_parent_states = len(states)
        h0, c0 = self.initial_states(x, weight_hh, states)
        self.x, self.h0, self.c0, self.weight_ih, self.weight_hh = x, h0, c0, weight_ih, weight_hh
        self.output, self.cells, self.gates = get_ops().lstm_forward(x, h0, c0, weight_ih, weight_hh,
                                                                     bias_ih, bias_hh)
        return self.output

    def final_cell(self):
        """The cell state after the last step of the latest forward, (N, H)."""
        return contiguous(self.cells[:, -1])

    def receive_final_cell_grad(self, grad):
        self.grad_final_cell = grad if self.grad_final_cell is None else self.grad_final_cell + grad

    def backward(self, grad, needs):
        grad_final_cell, self.grad_final_cell = self.grad_final_cell, None
        return self.parent_grads(get_ops().lstm_backward(
            contiguous(grad), grad_final_cell, self.x, self.h0, self.c0, self.weight_ih, self.weight_hh,
            self.output, self.cells, self.gates, needs + (False,) * (7 - len(needs))))


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
