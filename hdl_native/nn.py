"""Modules: layers that own named parameters and build graph nodes when called.

A module is called once on a placeholder to build the graph; the graph is
then fed batch after batch.  ``named_parameters()`` walks attributes in the
order they were set, so names are stable ("conv1.weight", "fc2.bias") and
drive the optimisers, save/load and logging.
"""
import math

import numpy as np

from . import functional as F
from .tensor import DEFAULT_DTYPE, Tensor


def Parameter(data, name=None):
    """A leaf tensor that asks for gradients (a trainable weight)."""
    return Tensor(data, requires_grad=True, name=name)  # a list becomes float32, an array keeps its dtype


class Module:
    """Base class: subclasses set parameters and submodules as attributes and define forward()."""

    training = True

    def __call__(self, *inputs, **options):
        return self.forward(*inputs, **options)

    def forward(self, *inputs):
        """Build this module's output node from its input Tensors (module(x) calls it); subclasses define it."""
        raise NotImplementedError

    def named_children(self):
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value
            elif isinstance(value, (list, tuple)):
                for i, item in enumerate(value):
                    if isinstance(item, Module):
                        yield f"{name}.{i}", item

    def named_parameters(self, prefix=""):
        """(dotted name, Tensor) for every trainable parameter, in definition order."""
        for name, value in vars(self).items():
            if isinstance(value, Tensor) and value.requires_grad and value.is_leaf:
                yield prefix + name, value
        for name, child in self.named_children():
            yield from child.named_parameters(f"{prefix}{name}.")

    def parameters(self):
        """The trainable parameters, in named_parameters() order."""
        return [p for _, p in self.named_parameters()]

    def zero_grad(self):
        """Set every parameter's accumulated gradient to zero (backward adds to it)."""
        for p in self.parameters():
            p.zero_grad()

    def train(self, mode=True):
        """Switch training behaviour (dropout, batch normalisation) on or off, for this module and its children.
        A module whose graphs read a 0-d `training_flag` leaf has it assigned, so cached values recompute."""
        self.training = mode
        flag = getattr(self, "training_flag", None)
        if flag is not None and bool(flag.value) != mode:
            flag.assign(np.float32(mode))
        for _, child in self.named_children():
            child.train(mode)
        return self

    def eval(self):
        """Evaluation behaviour: no dropout, batch normalisation by its running statistics; train() undoes it."""
        return self.train(False)

    def named_buffers(self, prefix=""):
        """(dotted name, Tensor) for every array a module keeps and saves but does not train (the names in its
        `buffer_names`, e.g. a batch normalisation's running mean and var), in definition order."""
        for name in getattr(self, "buffer_names", ()):
            yield prefix + name, getattr(self, name)
        for name, child in self.named_children():
            yield from child.named_buffers(f"{prefix}{name}.")

    def named_arrays(self):
        """{name: Tensor} of what a state saves: the parameters, then the buffers."""
        return {**dict(self.named_parameters()), **dict(self.named_buffers())}

    def state_dict(self):
        """{name: array copy} of every parameter and buffer."""
        return {name: p.value.copy() for name, p in self.named_arrays().items()}

    def load_state_dict(self, state):
        """Copy arrays into the parameters and buffers; names and shapes must match exactly."""
        params = self.named_arrays()
        missing, unexpected = set(params) - set(state), set(state) - set(params)
        if missing or unexpected:
            raise ValueError(f"load_state_dict: missing {sorted(missing)}, unexpected {sorted(unexpected)}")
        for name, p in params.items():
            array = np.asarray(state[name])
            if array.shape != p.shape:
                raise ValueError(f"load_state_dict: {name} has shape {array.shape}, model expects {p.shape}")
            if p.requires_grad:
                p.data[...] = array  # in place: an optimiser's flat views of the parameters stay valid
            else:
                p.assign(array.astype(p.dtype, copy=True))  # a buffer: a new value, so graphs reading it recompute

    def num_parameters(self):
        """How many trainable values the module has (the sum of its parameters' sizes)."""
        return sum(int(np.prod(p.shape)) for p in self.parameters())


def _uniform(rng, bound, shape):
    return rng.uniform(-bound, bound, size=shape).astype(DEFAULT_DTYPE)


class Linear(Module):
    """y = x W^T + b.  x: (N, in_features) -> (N, out_features).

    Initialised like PyTorch: uniform in +-1/sqrt(in_features).
    """

    def __init__(self, in_features, out_features, bias=True, rng=None):
        rng = rng if rng is not None else np.random.default_rng()
        bound = 1.0 / math.sqrt(in_features)
        self.weight = Parameter(_uniform(rng, bound, (out_features, in_features)), "weight")
        self.bias = Parameter(_uniform(rng, bound, (out_features,)), "bias") if bias else None

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)


class Conv2d(Module):
    """Valid convolution, stride 1.  x: (N, C_in, H, W) -> (N, C_out, H-K+1, W-K+1)."""

    def __init__(self, in_channels, out_channels, kernel_size, bias=True, rng=None):
        rng = rng if rng is not None else np.random.default_rng()
        bound = 1.0 / math.sqrt(in_channels * kernel_size * kernel_size)
        shape = (out_channels, in_channels, kernel_size, kernel_size)
        self.weight = Parameter(_uniform(rng, bound, shape), "weight")
        self.bias = Parameter(_uniform(rng, bound, (out_channels,)), "bias") if bias else None

    def forward(self, x):
        return F.conv2d(x, self.weight, self.bias)


class MaxPool2d(Module):
    """k x k max-pool, stride k, ceil mode (11x11 -> 6x6 for k=2)."""

    def __init__(self, kernel_size):
        self.kernel_size = kernel_size

    def forward(self, x):
        return F.max_pool2d(x, self.kernel_size)


class Dropout(Module):
    """Dropout with probability p while training; identity in eval mode.

    Every graph it builds reads one 0-d leaf, the training flag, which
    ``train()``/``eval()`` assign, so cached values recompute when it flips.
    """

    def __init__(self, p=0.5, rng=None):
        self.p = p
        self.rng = rng if rng is not None else np.random.default_rng()
        self.training_flag = Tensor(np.float32(1.0), name="dropout_training")

    def forward(self, x):
        return F.dropout(x, self.p, self.rng, self.training_flag)


class BatchNorm2d(Module):
    """Batch normalisation of C channels: x (N, C, H, W) -> (N, C, H, W).

    gamma (ones) and beta (zeros) are trained (not decayed: hdl_native.weights.is_weight).  While training,
    each batch is standardised by its own statistics, and the buffers `mean` and `var` follow them as running
    averages (momentum 0.1, as PyTorch's); in eval mode every image is standardised by `mean` and `var`, so it
    reads the same alone as in a batch.  The buffers are saved with the parameters (Module.named_buffers).
    Like Dropout, every graph it builds reads a 0-d training flag leaf that ``train()``/``eval()`` assign.
    """

    def __init__(self, channels, eps=1e-5, momentum=0.1):
        self.gamma = Parameter(np.ones(channels, dtype=DEFAULT_DTYPE), "gamma")
        self.beta = Parameter(np.zeros(channels, dtype=DEFAULT_DTYPE), "beta")
        self.mean = Tensor(np.zeros(channels, dtype=DEFAULT_DTYPE), name="bn_mean")
        self.var = Tensor(np.ones(channels, dtype=DEFAULT_DTYPE), name="bn_var")
        self.eps, self.momentum = eps, momentum
        self.buffer_names = ("mean", "var")
        self.training_flag = Tensor(np.float32(1.0), name="bn_training")

    def forward(self, x):
        return F.batch_norm2d(x, self.gamma, self.beta, self.mean, self.var, self.training_flag, self.eps,
                              self.momentum)

    def set_statistics(self, mean, var):
        """Store copies of the mean and variance (C,) that eval mode standardises by (training moves them in
        place, so the arrays given are never the ones stored)."""
        self.mean.assign(np.array(mean, dtype=DEFAULT_DTYPE))
        self.var.assign(np.array(var, dtype=DEFAULT_DTYPE))


class Function(Module):
    """A parameter-free module around one functional op (GELU, ReLU, ...)."""

    def __init__(self, fn):
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


def GELU():
    """A module applying F.gelu: for Sequential."""
    return Function(F.gelu)


def ReLU():
    """A module applying F.relu: for Sequential."""
    return Function(F.relu)


def Sigmoid():
    """A module applying F.sigmoid: for Sequential."""
    return Function(F.sigmoid)


def Tanh():
    """A module applying F.tanh: for Sequential."""
    return Function(F.tanh)


def Flatten():
    """A module applying F.flatten: for Sequential."""
    return Function(F.flatten)


def LogSoftmax():
    """A module applying F.log_softmax: for Sequential."""
    return Function(F.log_softmax)


class Sequential(Module):
    """Apply layers in order."""

    def __init__(self, *layers):
        self.layers = list(layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


class Embedding(Module):
    """A lookup table: integer indices (...) in [0, num_embeddings) -> rows (..., embedding_dim).

    Initialised like PyTorch: standard normal.
    """

    def __init__(self, num_embeddings, embedding_dim, rng=None):
        rng = rng if rng is not None else np.random.default_rng()
        self.weight = Parameter(rng.standard_normal((num_embeddings, embedding_dim)).astype(DEFAULT_DTYPE), "weight")

    def forward(self, indices):
        return F.embedding(indices, self.weight)


class _Recurrent(Module):
    """A stack of recurrent layers with PyTorch's parameter names and init (uniform +-1/sqrt(H)).

    Layer l has weight_ih_l{l} (G, I or H), weight_hh_l{l} (G, H), bias_ih_l{l} and
    bias_hh_l{l} (G,), G = n_gates * H; each layer's output sequence is the next one's input.
    dropout: as PyTorch's, the probability of dropping each output of every layer but the last while
    training (the final states are the layers' own, never dropped).
    """

    n_gates = None

    def __init__(self, input_size, hidden_size, num_layers=1, batch_first=True, rng=None, dropout=0.0):
        if num_layers < 1:
            raise ValueError(f"{type(self).__name__}: num_layers must be >= 1, got {num_layers}")
        rng = rng if rng is not None else np.random.default_rng()
        bound = 1.0 / math.sqrt(hidden_size)
        gates = self.n_gates * hidden_size
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.batch_first = batch_first
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size
            for name, shape in ((f"weight_ih_l{layer}", (gates, layer_input)),
                                (f"weight_hh_l{layer}", (gates, hidden_size)),
                                (f"bias_ih_l{layer}", (gates,)), (f"bias_hh_l{layer}", (gates,))):
                setattr(self, name, Parameter(_uniform(rng, bound, shape), name))
        self.dropouts = []
        self.drop_between_layers(dropout, rng)  # after the weights: a seed draws them alike with or without

    def drop_between_layers(self, p, rng):
        """Drop each output of every layer but the last with probability p while training (nothing when
        p is 0); the masks' generators are seeded from draws of `rng`, one per gap between layers."""
        if not 0 <= p < 1:
            raise ValueError(f"{type(self).__name__}: dropout must be in [0, 1), got {p}")
        self.dropouts = ([Dropout(p, rng=np.random.default_rng(rng.integers(2 ** 63)))
                          for _ in range(self.num_layers - 1)] if p > 0 else [])

    def between_layers(self, layer, x):
        """x, the output sequence of `layer`, as the next layer reads it (dropped out while training)."""
        return self.dropouts[layer](x) if self.dropouts and layer < self.num_layers - 1 else x

    def layer_weights(self, layer):
        """(weight_ih, weight_hh, bias_ih, bias_hh) of one layer."""
        return tuple(getattr(self, f"{kind}_l{layer}") for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))

    def batch_major(self, x):
        """x as (N, T, ...): batch_first=False inputs (T, N, ...) are transposed."""
        return x if self.batch_first else x.transpose((1, 0) + tuple(range(2, x.ndim)))

    def layer_input(self, layer, embedding):
        """Extra keyword arguments of layer `layer`'s op: for layer 0 with an embedding, its table (the op then
        reads x as the indices of its rows, and projects the table once: fused); else none (x is the input)."""
        return {"embedding": embedding.weight} if layer == 0 and embedding is not None else {}

    def as_given(self, output):
        return output if self.batch_first else output.transpose((1, 0, 2))


class GRU(_Recurrent):
    """Multi-layer GRU.  forward(x, state=None, embedding=None) -> (output, h_n).

    x: (N, T, I) (batch_first, the default) or (T, N, I); state: h_0 (num_layers, N, H) or None
    (zeros) -> output (N, T, H) or (T, N, H), the last layer's hidden states; h_n (num_layers, N, H).
    embedding: an nn.Embedding (V, I) whose rows integer x (N, T) or (T, N) selects; the same as
    calling the GRU on embedding(x), faster (the first layer projects the V rows, not N*T inputs).
    """

    n_gates = 3

    def forward(self, x, state=None, embedding=None):
        x = self.batch_major(x)
        finals = []
        for layer in range(self.num_layers):
            x = F.gru(x, *self.layer_weights(layer), h0=None if state is None else state[layer],
                      **self.layer_input(layer, embedding))
            finals.append(x[:, -1])
            x = self.between_layers(layer, x)
        return self.as_given(x), F.stack(finals)


class LSTM(_Recurrent):
    """Multi-layer LSTM.  forward(x, state=None, embedding=None) -> (output, (h_n, c_n)).

    x: (N, T, I) (batch_first, the default) or (T, N, I); state: (h_0, c_0), each (num_layers, N, H),
    or None (zeros) -> output (N, T, H) or (T, N, H); h_n and c_n (num_layers, N, H).
    embedding: as for GRU.
    """

    n_gates = 4

    def forward(self, x, state=None, embedding=None):
        if state is not None and (isinstance(state, Tensor) or len(state) != 2):
            raise TypeError(f"LSTM: state must be the pair (h_0, c_0), each (num_layers, N, H), got {state!r}")
        x = self.batch_major(x)
        hidden_finals, cell_finals = [], []
        for layer in range(self.num_layers):
            h0, c0 = (None, None) if state is None else (state[0][layer], state[1][layer])
            x = F.lstm(x, *self.layer_weights(layer), h0=h0, c0=c0, **self.layer_input(layer, embedding))
            hidden_finals.append(x[:, -1])
            cell_finals.append(F.lstm_final_cell(x))
            x = self.between_layers(layer, x)
        return self.as_given(x), (F.stack(hidden_finals), F.stack(cell_finals))
