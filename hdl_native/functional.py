"""The function forms of the graph ops: ``F.relu(x)`` is ``x.relu()``, ``F.add(a, b)`` is ``a + b``.

The elementwise ops, reductions and shaping ops are Tensor methods and
operators (tensor.py); the layer ops and losses, which take several named
inputs, are built here.  Every function returns a new Tensor node; nothing is
computed until a value is asked for.
"""
import operator

import numpy as np

from . import ops
from .tensor import Tensor

add, sub, mul, div = operator.add, operator.sub, operator.mul, operator.truediv
neg, matmul = operator.neg, operator.matmul
square, exp, log = Tensor.square, Tensor.exp, Tensor.log
relu, gelu, sigmoid, tanh, log_softmax = Tensor.relu, Tensor.gelu, Tensor.sigmoid, Tensor.tanh, Tensor.log_softmax
sum, mean = Tensor.sum, Tensor.mean  # noqa: A001 - mirrors numpy's names
flatten, transpose = Tensor.flatten, Tensor.transpose


def power(x, exponent):
    """x ** exponent for a constant exponent."""
    return x ** exponent


def reshape(x, shape):
    return x.reshape(shape)


def cross_entropy(logits, labels, label_smoothing=0.0):
    """Mean cross-entropy of raw logits (N, F) against integer labels (N,); with label_smoothing e the target
    gives each label 1 - e and spreads e evenly over all F classes (PyTorch's label_smoothing)."""
    return ops.CrossEntropy.apply(logits, labels, label_smoothing=label_smoothing)


def nll_loss(log_probs, labels):
    """Mean negative log-likelihood of log-probabilities (N, F) at integer labels (N,)."""
    return ops.NLLLoss.apply(log_probs, labels)


def group_logsumexp(x, groups):
    """(N, F) -> (N, G): the log-sum-exp of each group of columns, groups[j] the group of column j (0 .. G - 1)."""
    return ops.GroupLogSumExp.apply(x, groups=tuple(int(g) for g in groups))


def cross_entropy_among(logits, log_allowed):
    """Mean over the rows of -log(the softmax of logits (N, F) summed over each row's allowed columns), where
    log_allowed (N, F) is 0 at an allowed column and hugely negative (NOT_ALLOWED) elsewhere: a label that names a
    set of classes (a letter of unknown case: 'a' or 'A').  One allowed column per row is cross_entropy."""
    n_columns = logits.shape[1]
    return -mean(group_logsumexp(log_softmax(logits) + log_allowed, [0] * n_columns))


NOT_ALLOWED = -1e30  # cross_entropy_among's log-weight of a class a label excludes (finite in float32)


def linear(x, weight, bias=None):
    """x @ weight.T + bias.  x: (N, F), weight: (G, F), bias: (G,) or None -> (N, G)."""
    return ops.Linear.apply(x, weight, *([bias] if bias is not None else []))


def conv2d(x, weight, bias=None):
    """Valid convolution, stride 1.  x: (N, C_in, H, W), weight: (C_out, C_in, K, K) -> (N, C_out, H-K+1, W-K+1)."""
    return ops.Conv2d.apply(x, weight, *([bias] if bias is not None else []))


def max_pool2d(x, kernel_size):
    """k x k max-pool, stride k, ceil mode.  (N, C, H, W) -> (N, C, ceil(H/k), ceil(W/k))."""
    return ops.MaxPool2d.apply(x, kernel_size=kernel_size)


def batch_norm2d(x, gamma, beta, mean, var, training=True, eps=1e-5, momentum=None):
    """Batch normalisation per channel.  x: (N, C, H, W); gamma, beta, mean, var: (C,) -> (N, C, H, W).

    Training: x standardised by its own batch statistics over N, H, W; otherwise by `mean` and `var`.
    `training`: a bool, or a 0-d leaf Tensor to switch it later (nn.BatchNorm2d); with a `momentum`, training
    moves the leaves `mean` and `var` towards each batch's statistics (running averages)."""
    flag = training if isinstance(training, Tensor) else Tensor(np.float32(bool(training)))
    return ops.BatchNorm2d.apply(x, gamma, beta, mean, var, flag, eps=eps, momentum=momentum)


def dropout(x, p, rng=None, training=True):
    """Dropout with probability p: x (any shape) -> the same shape, each value zeroed with probability p and the
    rest divided by 1 - p.  `rng`: a numpy Generator (default: a fresh, unseeded one).  `training`: a bool, or a
    0-d leaf Tensor to switch it later (nn.Dropout)."""
    flag = training if isinstance(training, Tensor) else Tensor(np.float32(bool(training)))
    return ops.Dropout.apply(x, flag, p=p, rng=rng if rng is not None else np.random.default_rng())


def stack(tensors, axis=0):
    """Join tensors of one shape along a new axis: k x (...) -> k at position `axis`."""
    return ops.Stack.apply(*tensors, axis=axis)


def embedding(indices, weight):
    """Rows of weight (V, D) at integer indices (...) in [0, V) -> (..., D) (PyTorch's argument order)."""
    return ops.Embedding.apply(weight, indices)


def gru(x, weight_ih, weight_hh, bias_ih, bias_hh, h0=None, embedding=None):
    """One GRU layer over a whole sequence, PyTorch's gates (r, z, n) and layouts.

    x: (N, T, I), weight_ih: (3H, I), weight_hh: (3H, H), biases (3H,), h0: (N, H) or None (zeros)
    -> the hidden state after every step, (N, T, H); the final state is ``out[:, -1]``.
    With an `embedding` table (V, I), x is integer indices (N, T) and the layer reads
    embedding(x, table), projecting the V rows once instead of the N*T inputs.
    """
    return _recurrent(ops.GRU, x, (weight_ih, weight_hh, bias_ih, bias_hh), [] if h0 is None else [h0], embedding)


def lstm(x, weight_ih, weight_hh, bias_ih, bias_hh, h0=None, c0=None, embedding=None):
    """One LSTM layer over a whole sequence, PyTorch's gates (i, f, g, o) and layouts.

    x: (N, T, I), weight_ih: (4H, I), weight_hh: (4H, H), biases (4H,), h0 and c0: (N, H),
    or both None (zeros) -> the hidden state after every step, (N, T, H); the final
    cell state is ``lstm_final_cell(out)``.  `embedding` as for gru.
    """
    if (h0 is None) != (c0 is None):
        raise ValueError("lstm: give both initial states h0 and c0, or neither")
    return _recurrent(ops.LSTM, x, (weight_ih, weight_hh, bias_ih, bias_hh), [] if h0 is None else [h0, c0],
                      embedding)


def _recurrent(op, x, weights, states, embedding):
    inputs = [x] if embedding is None else [x, embedding]
    return op.apply(*inputs, *weights, *states, embedded=embedding is not None)


def lstm_final_cell(lstm_output):
    """The cell state (N, H) after the last step of the LSTM node `lstm_output`; gradients flow."""
    return ops.LSTMFinalCell.apply(lstm_output, lstm=lstm_output.op)
