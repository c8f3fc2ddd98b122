"""The character model's graph, built once at a fixed batch and chunk length and fed chunk after chunk.

CharRNN needs a fixed batch size (Reshape allows an unknown leading dimension only), so the trainer builds
one graph at (batch_size, seq_len) and the sampler another at (1, 1); both read the same parameters.  The
recurrent state enters through placeholders, so each chunk starts from the state the previous chunk of
the same rows ended with: truncated backpropagation through time, the state carried but not differentiated.
"""
import numpy as np

from .. import functional as F
from ..tensor import Tensor


def zero_state(model, batch_size):
    """The initial state of a TextModel's recurrent layers for `batch_size` rows: a list of (layers, B, H) float32
    arrays, one for a GRU (h), two for an LSTM (h, c)."""
    count = 2 if model.cell == "lstm" else 1
    return [np.zeros((model.num_layers, batch_size, model.hidden_size), np.float32) for _ in range(count)]


class CharGraph:
    """`model` on placeholders: indices (B, T) int64 and the carried state -> logits (B*T, V), the mean
    cross-entropy against targets (B*T,), and the final state."""

    def __init__(self, model, batch_size, seq_len):
        self.model, self.batch_size, self.seq_len = model, batch_size, seq_len
        self.indices = Tensor.placeholder((batch_size, seq_len), dtype=np.int64, name="characters")
        self.targets = Tensor.placeholder((batch_size * seq_len,), dtype=np.int64, name="next_characters")
        self.state_in = [Tensor.placeholder(array.shape, name=f"state{i}")
                         for i, array in enumerate(zero_state(model, batch_size))]
        given = self.state_in[0] if len(self.state_in) == 1 else tuple(self.state_in)
        self.logits, final = model(self.indices, given)
        self.state_out = [final] if len(self.state_in) == 1 else list(final)
        self.loss = F.cross_entropy(self.logits, self.targets)

    def feed(self, inputs, state, targets=None):
        """Assign a chunk: inputs (B, T) codes, state as zero_state gives, targets (B, T) codes (or None)."""
        self.indices.assign(np.ascontiguousarray(inputs, dtype=np.int64))
        if targets is not None:
            self.targets.assign(np.ascontiguousarray(targets, dtype=np.int64).reshape(-1))
        for placeholder, array in zip(self.state_in, state):
            placeholder.assign(array)

    def final_state(self):
        """Copies of the final state of the chunk last fed (read before the parameters change)."""
        return [tensor.numpy() for tensor in self.state_out]

    def accuracy(self):
        """Fraction of the chunk's positions whose most likely next character is the target."""
        return float(np.mean(np.argmax(self.logits.value, axis=1) == self.targets.value))

    def evaluate(self, inputs, targets, state):
        """Forward only: (mean loss in nats, accuracy, final state) of one chunk."""
        self.feed(inputs, state, targets)
        loss = self.loss.item()
        return loss, self.accuracy(), self.final_state()
