"""Which parameters of a model are weights (what weight decay acts on), and when a value counts as small.

Training decays the weights and counts small values; inspection draws and tabulates them.  Both read
the rule from here, so the two can never disagree about which parameters are meant.
"""
import numpy as np

SMALL_SQUARE = 1e-4  # a value whose square is below this counts as small (the tutorial's threshold)


NOT_WEIGHTS = ("bias", "gamma", "beta")  # biases, and a batch normalisation's scale and shift (nn.BatchNorm2d)


def is_weight(name):
    """True for a parameter name that weight decay and pruning act on: anything but a bias (`c1.bias`, a recurrent
    layer's `bias_ih_l0`) or a normalisation's gamma and beta (as PyTorch users commonly leave them out of
    decay)."""
    leaf = name.rsplit(".", 1)[-1]
    return not (leaf.startswith(NOT_WEIGHTS) or leaf.endswith(NOT_WEIGHTS))


def named_weights(model):
    """(name, parameter) for every parameter of `model` but the biases and normalisations' gamma and beta: the
    ones weight decay acts on."""
    return [(name, p) for name, p in model.named_parameters() if is_weight(name)]


def count_small_parameters(model, threshold=SMALL_SQUARE):
    """How many parameter values (weights and biases) have a squared value below `threshold`."""
    return int(sum(np.count_nonzero(np.square(p.value) < threshold) for p in model.parameters()))
