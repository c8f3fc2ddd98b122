"""The reference networks and their training steps in PyTorch, for comparison only.

The engine never imports torch; these mirror hdl_native.models exactly (same
layers, ceil-mode pooling, exact GELU, log-softmax + NLL loss, Adam) so the
benchmarks race like against like.  Weights are copied from our models so
both start from the same point.
"""
import numpy as np


def torch_or_none():
    """The torch module, or None when it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    return torch


def build_letters_cnn(torch, n_classes=26):
    """conv3x3 1->32, pool2 ceil, GELU, conv 32->64, pool2 ceil (11->6), GELU, conv 64->128,
    pool2 ceil, GELU, flatten 512, fc 512->64, GELU, fc 64->128, GELU, fc 128->n_classes."""
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.MaxPool2d(2, ceil_mode=True), nn.GELU(),
        nn.Conv2d(32, 64, 3), nn.MaxPool2d(2, ceil_mode=True), nn.GELU(),
        nn.Conv2d(64, 128, 3), nn.MaxPool2d(2, ceil_mode=True), nn.GELU(),
        nn.Flatten(),
        nn.Linear(512, 64), nn.GELU(),
        nn.Linear(64, 128), nn.GELU(),
        nn.Linear(128, n_classes),
    )


def build_letters_vgg(torch, n_classes=26):
    """conv3x3 1->32, GELU, conv 32->32, pool2 (24->12), GELU, conv 32->64, GELU, conv 64->64, pool2 (8->4),
    GELU, flatten 1024, fc 1024->128, GELU, fc 128->n_classes (the shipped reader's network)."""
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.GELU(), nn.Conv2d(32, 32, 3), nn.MaxPool2d(2, ceil_mode=True), nn.GELU(),
        nn.Conv2d(32, 64, 3), nn.GELU(), nn.Conv2d(64, 64, 3), nn.MaxPool2d(2, ceil_mode=True), nn.GELU(),
        nn.Flatten(),
        nn.Linear(1024, 128), nn.GELU(),
        nn.Linear(128, n_classes),
    )


def build_digits_mlp(torch, n_classes=10):
    """flatten 784, fc 784->128, ReLU, fc 128->64, ReLU, fc 64->n_classes."""
    nn = torch.nn
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(784, 128), nn.ReLU(),
        nn.Linear(128, 64), nn.ReLU(),
        nn.Linear(64, n_classes),
    )


TORCH_BUILDERS = {"letters-cnn": build_letters_cnn, "letters-vgg": build_letters_vgg, "digits-mlp": build_digits_mlp}
# Our parameter names in the order of the torch Sequential's parameters.
OUR_PARAMETER_ORDER = {
    "letters-cnn": ["c1", "c2", "c3", "fc1", "fc2", "fc3"],
    "letters-vgg": ["c1", "c2", "c3", "c4", "fc1", "fc2"],
    "digits-mlp": ["fc1", "fc2", "fc3"],
}


def copy_weights(torch, our_model, torch_model, model_name):
    """Load our model's weights into the torch model (same layout: (out, in[, k, k]))."""
    state = our_model.state_dict()
    ours = [state[f"{layer}.{kind}"] for layer in OUR_PARAMETER_ORDER[model_name] for kind in ("weight", "bias")]
    with torch.no_grad():
        for param, array in zip(torch_model.parameters(), ours):
            if tuple(param.shape) != array.shape:
                raise ValueError(f"torch parameter {tuple(param.shape)} != ours {array.shape}")
            param.copy_(torch.from_numpy(np.ascontiguousarray(array)))


class TorchTrainingStep:
    """PyTorch's version of hdl_native.bench.TrainingStep: feed, zero_grad, forward, NLL, backward, Adam."""

    def __init__(self, model_name, batch_size, seed=0, lr=1e-3):
        import torch

        from hdl_native.bench import random_batches
        from hdl_native.models import MODELS

        self.torch = torch
        ours = MODELS[model_name](seed=seed)
        self.model = TORCH_BUILDERS[model_name](torch, ours.n_classes)
        copy_weights(torch, ours, self.model, model_name)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=lr)
        self.batches = [(torch.from_numpy(x), torch.from_numpy(y))
                        for x, y in random_batches(batch_size, ours.n_classes, seed)]
        self.step_count = 0

    def step(self):
        functional = self.torch.nn.functional
        images, labels = self.batches[self.step_count % len(self.batches)]
        self.step_count += 1
        self.optimizer.zero_grad()
        loss = functional.nll_loss(functional.log_softmax(self.model(images), dim=1), labels)
        loss.backward()
        self.optimizer.step()
        self.last_loss = loss


class TorchCharRNN:
    """hdl_native.models.CharRNN in PyTorch: Embedding(V, H) -> nn.GRU / nn.LSTM (batch_first) -> Linear(H, V);
    the parameter names match ours one to one (embedding.weight, rnn.weight_ih_l0, ..., head.bias)."""

    def __init__(self, torch, ours):
        nn = torch.nn
        cell = {"gru": nn.GRU, "lstm": nn.LSTM}[ours.cell]
        self.modules = nn.ModuleDict({
            "embedding": nn.Embedding(ours.vocab_size, ours.hidden_size),
            "rnn": cell(ours.hidden_size, ours.hidden_size, num_layers=ours.rnn.num_layers, batch_first=True),
            "head": nn.Linear(ours.hidden_size, ours.vocab_size),
        })
        state = ours.state_dict()
        with torch.no_grad():
            for name, param in self.modules.named_parameters():
                param.copy_(torch.from_numpy(np.ascontiguousarray(state[name])))

    def logits(self, indices):
        hidden, _ = self.modules["rnn"](self.modules["embedding"](indices))
        return self.modules["head"](hidden.reshape(-1, hidden.shape[-1]))


class TorchCharTrainingStep:
    """PyTorch's version of hdl_native.bench.CharTrainingStep: same weights, same random characters,
    cross-entropy over all positions, Adam."""

    def __init__(self, model_name, batch_size, seq_len=100, seed=0, lr=1e-3):
        import torch

        from hdl_native.bench import CharTrainingStep

        ours = CharTrainingStep(model_name, batch_size, seq_len, seed=seed, lr=lr)
        self.torch = torch
        self.model = TorchCharRNN(torch, ours.model)
        self.optimizer = torch.optim.Adam(self.model.modules.parameters(), lr=lr)
        self.batches = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in ours.batches]
        self.step_count = 0

    def step(self):
        indices, targets = self.batches[self.step_count % len(self.batches)]
        self.step_count += 1
        self.optimizer.zero_grad()
        loss = self.torch.nn.functional.cross_entropy(self.model.logits(indices), targets)
        loss.backward()
        self.optimizer.step()
        self.last_loss = loss
