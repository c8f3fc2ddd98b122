"""Magnitude pruning: set the weights of smallest magnitude to zero, over the whole model or layer by layer.

Only weights are pruned (hdl_native.weights.is_weight: not the biases).  A pruning is a set of masks,
{weight name: bool array of the weight's shape, True where the value is kept}; a state file stores
them as uint8 arrays under PRUNE_MASKS, and training from such a state hands them to the optimiser
(Optimizer.keep_zero), so a fine-tune, resumed or not, keeps the pruned weights at exactly zero.

Exactly round(sparsity x n) values are pruned, n being all weights (global) or each layer's (per
layer); ties in magnitude are broken by position, so the count never depends on them.
"""
import numpy as np

from .errors import HDLError
from .weights import named_weights

PRUNE_MASKS = "prune_masks"  # the state-file entry holding the masks


def magnitude_masks(model, sparsity, per_layer=False):
    """{weight name: bool mask} that prunes the `sparsity` fraction (0..1) of smallest |w|.

    Global by default: one threshold over all weights, so layers of small weights lose more;
    per_layer: each layer loses the same fraction.
    """
    if not 0.0 <= sparsity <= 1.0:
        raise ValueError(f"sparsity must be from 0 to 1, got {sparsity}")
    weights = [(name, np.abs(p.value).ravel()) for name, p in named_weights(model)]
    if per_layer:
        return {name: keep_largest(magnitudes, sparsity).reshape(shape_of(model, name))
                for name, magnitudes in weights}
    keep = keep_largest(np.concatenate([magnitudes for _, magnitudes in weights]), sparsity)
    bounds = np.cumsum([0] + [len(magnitudes) for _, magnitudes in weights])
    return {name: keep[start:stop].reshape(shape_of(model, name))
            for (name, _), start, stop in zip(weights, bounds[:-1], bounds[1:])}


def keep_largest(magnitudes, sparsity):
    """bool (n,): False for the round(sparsity x n) smallest of `magnitudes` (ties: the earlier first)."""
    keep = np.ones(len(magnitudes), dtype=bool)
    keep[np.argsort(magnitudes, kind="stable")[:int(round(sparsity * len(magnitudes)))]] = False
    return keep


def shape_of(model, name):
    return dict(model.named_parameters())[name].shape


def apply_masks(model, masks):
    """Zero `model`'s pruned values in place."""
    params = dict(model.named_parameters())
    for name, keep in masks.items():
        params[name].data[~keep] = 0


def weight_sparsity(model):
    """(zero weights, all weights) of `model`, biases left out."""
    values = [p.value for _, p in named_weights(model)]
    return int(sum(np.count_nonzero(v == 0) for v in values)), int(sum(v.size for v in values))


def masks_for_state(masks):
    """The masks as a state file stores them: {name: uint8 array, 1 = kept}."""
    return {name: keep.astype(np.uint8) for name, keep in masks.items()}


def masks_from_state(stored, model, path):
    """The bool masks a state file stores for `model`; HDLError naming `path` when they do not fit."""
    weights = dict(named_weights(model))
    if not isinstance(stored, dict) or not set(stored) <= set(weights):
        raise HDLError(f"{path}: its {PRUNE_MASKS} do not name weights of the {type(model).__name__}")
    masks = {}
    for name, array in stored.items():
        array = np.asarray(array)
        if array.shape != weights[name].shape or not np.isin(array, (0, 1)).all():
            raise HDLError(f"{path}: the prune mask of {name} is not a 0/1 array of shape {weights[name].shape}")
        masks[name] = array.astype(bool)
    return masks


def sparsity_curve(model, accuracy_of, sparsities, per_layer=False):
    """[(sparsity, accuracy)] of `model` pruned to each of `sparsities` without fine-tuning.

    accuracy_of: callable(model) -> percent.  Each pruning starts from the model's own values, which
    are restored at the end.
    """
    original = {name: p.value.copy() for name, p in model.named_parameters()}
    curve = []
    for sparsity in sparsities:
        apply_masks(model, magnitude_masks(model, sparsity, per_layer))
        try:
            curve.append((float(sparsity), float(accuracy_of(model))))
        finally:
            model.load_state_dict(original)
    return curve
