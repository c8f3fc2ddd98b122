"""A recurrent splice-junction classifier: 60 bases -> EI, IE or N.

The junction lies between bases 30 and 31, so what decides the class sits in the middle of the sequence:
one recurrent stack reads the first READ bases forwards, a second one the last READ bases backwards (the
reversed indices are just another input), and the class scores are a linear map of both final hidden
states, head_forwards(h_fwd) + head_backwards(h_bwd).  With READ = 34 each direction passes the junction
and reads 4 bases beyond it, so it carries what it saw there over a few steps rather than 30, and sees
less of the far flanks to overfit on.  READ and the default sizes were chosen on the validation families
only (BENCHMARKS.md lists the candidates); reading all 60 bases reached 88% validation accuracy.
"""
import numpy as np

from .. import functional as F
from ..calibration import scaled_probabilities
from ..models import RECURRENT_CELLS
from ..nn import Embedding, Linear, Module
from ..optim import Adam, clip_grad_norm
from ..tensor import Tensor
from .data import BASES, CLASSES

READ = 34


class SpliceRNN(Module):
    """the first READ bases (N, READ) and the last READ reversed (N, READ) -> class logits (N, 3)."""

    def __init__(self, cell="gru", hidden=48, layers=1, seed=0):
        rng = np.random.default_rng(seed)
        self.embedding = Embedding(len(BASES), hidden, rng=rng)
        self.forwards = RECURRENT_CELLS[cell](hidden, hidden, num_layers=layers, rng=rng)
        self.backwards = RECURRENT_CELLS[cell](hidden, hidden, num_layers=layers, rng=rng)
        self.head_forwards = Linear(hidden, len(CLASSES), rng=rng)
        self.head_backwards = Linear(hidden, len(CLASSES), rng=rng)
        self.layers = layers

    def final_hidden(self, rnn, indices):
        _, state = rnn(indices, embedding=self.embedding)
        h_n = state if isinstance(state, Tensor) else state[0]
        return h_n[self.layers - 1]

    def forward(self, indices, reversed_indices):
        return (self.head_forwards(self.final_hidden(self.forwards, indices))
                + self.head_backwards(self.final_hidden(self.backwards, reversed_indices)))


class SpliceGraph:
    """The classifier on placeholders for batches of exactly `batch_size` sequences (fixed: see CharRNN)."""

    def __init__(self, model, batch_size):
        self.sequences = Tensor.placeholder((batch_size, READ), dtype=np.int64, name="bases")
        self.reversed = Tensor.placeholder((batch_size, READ), dtype=np.int64, name="reversed_bases")
        self.labels = Tensor.placeholder((batch_size,), dtype=np.int64, name="classes")
        self.logits = model(self.sequences, self.reversed)
        self.loss = F.cross_entropy(self.logits, self.labels)

    def feed(self, sequences, labels):
        """sequences: (B, 60) base indices; labels: (B,) class indices."""
        self.sequences.assign(np.ascontiguousarray(sequences[:, :READ]))
        self.reversed.assign(np.ascontiguousarray(sequences[:, ::-1][:, :READ]))
        self.labels.assign(np.ascontiguousarray(labels))


def probabilities(model, sequences):
    """(N, 3) class probabilities (softmax of the logits) for (N, 60) sequences (one graph at N)."""
    graph = SpliceGraph(model, len(sequences))
    graph.feed(sequences, np.zeros(len(sequences), np.int64))
    return scaled_probabilities(graph.logits.value, 1.0)


def predict(model, sequences):
    """(N,) predicted class indices for (N, 60) sequences."""
    return np.argmax(probabilities(model, sequences), axis=1)


def predict_ensemble(models, sequences):
    """(N,) class indices of the mean of the models' probabilities."""
    return np.argmax(np.mean([probabilities(model, sequences) for model in models], axis=0), axis=1)


def confusion_matrix(labels, predictions, n_classes=len(CLASSES)):
    """(n_classes, n_classes) counts, rows the true class, columns the predicted one."""
    return np.bincount(labels * n_classes + predictions, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def train_classifier(model, train, validation, epochs, batch_size=32, lr=2e-3, seed=0, report=None):
    """Adam on shuffled batches of `train` (sequences, labels) for `epochs`; after each epoch the validation
    accuracy is measured and the parameters of the best epoch are kept (loaded back at the end).

    report(epoch, train_loss, validation_accuracy) is called after each epoch.  Returns the best validation
    accuracy (a fraction) and its epoch.
    """
    (sequences, labels), rng = train, np.random.default_rng(seed + 1)
    graph, optimizer = SpliceGraph(model, batch_size), Adam(model, lr=lr)
    best, best_epoch, best_params = -1.0, 0, None
    for epoch in range(1, epochs + 1):
        order, losses = rng.permutation(len(labels)), []
        for start in range(0, len(order) - batch_size + 1, batch_size):
            batch = order[start:start + batch_size]
            graph.feed(sequences[batch], labels[batch])
            optimizer.zero_grad()
            graph.loss.backward()
            losses.append(graph.loss.item())
            clip_grad_norm(model, 5.0)
            optimizer.step()
        accuracy = float(np.mean(predict(model, validation[0]) == validation[1]))
        if report:
            report(epoch, float(np.mean(losses)), accuracy)
        if accuracy > best:
            best, best_epoch, best_params = accuracy, epoch, model.state_dict()
    model.load_state_dict(best_params)
    return best, best_epoch
