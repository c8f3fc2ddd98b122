"""The reference networks written again in PyTorch's functional API, over a dict of named weights.

test_torch_oracle.py copies an hdl_native model's parameters into a dict
under the same names ("c1.weight", "fc3.bias", ...) and runs these twins on
it, so a mismatch in any layer shows up in the gradient of the weight it
names.  The engine never imports torch; only the tests do.
"""
import functools

import numpy as np

from hdl_native import functional as F
from hdl_native.nn import Parameter
from hdl_native.tensor import Tensor

IMAGE_SHAPE = (1, 28, 28)


def letters_cnn_logits(torch, weights, images):
    """LettersCNN.logits: three (conv3x3, pool2 ceil, GELU) stages, flatten 512, fc 64, GELU, fc 128, GELU, fc.

    images: (N, 1, 28, 28) -> (N, n_classes).
    """
    functional = torch.nn.functional
    x = images
    for conv in ("c1", "c2", "c3"):
        x = functional.conv2d(x, weights[f"{conv}.weight"], weights[f"{conv}.bias"])
        x = functional.gelu(functional.max_pool2d(x, 2, ceil_mode=True))
    x = x.flatten(1)
    for fc in ("fc1", "fc2"):
        x = functional.gelu(functional.linear(x, weights[f"{fc}.weight"], weights[f"{fc}.bias"]))
    return functional.linear(x, weights["fc3.weight"], weights["fc3.bias"])


def digits_mlp_logits(torch, weights, images):
    """DigitsMLP.logits: flatten 784, fc 128, ReLU, fc 64, ReLU, fc.  images: (N, 1, 28, 28) -> (N, n_classes)."""
    functional = torch.nn.functional
    x = images.flatten(1)
    for fc in ("fc1", "fc2"):
        x = functional.relu(functional.linear(x, weights[f"{fc}.weight"], weights[f"{fc}.bias"]))
    return functional.linear(x, weights["fc3.weight"], weights["fc3.bias"])


def letters_vgg_logits(torch, weights, images):
    """LettersVGG.logits (and LettersVGGWide's, the same with wider weights): two blocks of (conv3x3, GELU,
    conv3x3, pool2, GELU), flatten, fc, GELU, fc.  images: (N, 1, 28, 28) -> (N, n_classes).
    """
    functional = torch.nn.functional
    x = images
    for first, second in (("c1", "c2"), ("c3", "c4")):
        x = functional.gelu(functional.conv2d(x, weights[f"{first}.weight"], weights[f"{first}.bias"]))
        x = functional.conv2d(x, weights[f"{second}.weight"], weights[f"{second}.bias"])
        x = functional.gelu(functional.max_pool2d(x, 2))
    x = functional.gelu(functional.linear(x.flatten(1), weights["fc1.weight"], weights["fc1.bias"]))
    return functional.linear(x, weights["fc2.weight"], weights["fc2.bias"])


TORCH_LOGITS = {"LettersCNN": letters_cnn_logits, "DigitsMLP": digits_mlp_logits,
                "LettersVGG": letters_vgg_logits, "LettersVGGWide": letters_vgg_logits}


def in_float64(model):
    """Rebind every parameter of `model` to a float64 copy (same names); returns the model."""
    for name, param in list(model.named_parameters()):
        *path, attribute = name.split(".")
        owner = functools.reduce(getattr, path, model)
        setattr(owner, attribute, Parameter(param.value.astype(np.float64), attribute))
    return model


def torch_weights(torch, model):
    """{name: float64 leaf tensor asking for gradients} holding copies of `model`'s parameters."""
    return {name: torch.tensor(param.numpy(), dtype=torch.float64, requires_grad=True)
            for name, param in model.named_parameters()}


class TrainingGraph:
    """The training loss of `model` built once on float64 placeholders, as the training loop does:
    cross-entropy of the logits against int64 labels."""

    def __init__(self, model):
        self.images = Tensor.placeholder((None,) + IMAGE_SHAPE, dtype=np.float64, name="images")
        self.labels = Tensor.placeholder((None,), dtype=np.int64, name="labels")
        self.log_probs = model(self.images)
        self.loss = F.cross_entropy(model.logits(self.images), self.labels)

    def feed(self, images, labels):
        self.images.assign(images)
        self.labels.assign(labels)


def random_batches(n_batches, batch_size, n_classes, seed):
    """[(images float64 (B, 1, 28, 28), labels int64 (B,))] of standard-normal images and uniform labels."""
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((batch_size,) + IMAGE_SHAPE), rng.integers(0, n_classes, batch_size))
            for _ in range(n_batches)]
