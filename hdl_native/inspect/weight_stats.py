"""What the weights of each layer look like: their size, how many are near zero, and how many directions they use.

Weight decay shows here first. On the letters CNN, --l2 0.02 (the tutorial's penalty) leaves every layer with about
the same sum of squares (the penalty is cheapest when the scale is shared evenly between layers) and collapses the
rank of each weight matrix: c1's 32 filters end up spanning 2 or 3 of their 9 dimensions. That loss of
rank, not the many small values, is what costs accuracy (BENCHMARKS.md, "Weight decay").
"""
from dataclasses import asdict, dataclass

import numpy as np

from ..weights import SMALL_SQUARE, named_weights

RANK_TOLERANCE = 0.05    # a direction counts when its singular value is above this fraction of the largest


@dataclass
class LayerWeights:
    """One layer's weight matrix, seen as (outputs, inputs x kernel) for convolutions."""

    layer: str
    shape: tuple
    values: int
    sum_of_squares: float
    small: int            # values whose square is below SMALL_SQUARE
    effective_rank: int   # singular values above RANK_TOLERANCE x the largest
    full_rank: int        # min(outputs, inputs x kernel)

    def as_json(self):
        return {**asdict(self), "shape": list(self.shape)}


def effective_rank(matrix, tolerance=RANK_TOLERANCE):
    """How many singular values of the 2-D `matrix` exceed `tolerance` x the largest (0 for an all-zero matrix)."""
    singular = np.linalg.svd(np.asarray(matrix, dtype=np.float64), compute_uv=False)
    if singular.size == 0 or singular[0] == 0.0:
        return 0
    return int(np.count_nonzero(singular > tolerance * singular[0]))


def layer_weights(model, small_square=SMALL_SQUARE, tolerance=RANK_TOLERANCE):
    """[LayerWeights] for every weight of `model` (named_weights), in order."""
    stats = []
    for name, parameter in named_weights(model):
        value = np.asarray(parameter.value, dtype=np.float64)
        matrix = value.reshape(value.shape[0], -1)
        stats.append(LayerWeights(
            layer=name.removesuffix(".weight"), shape=tuple(value.shape), values=int(value.size),
            sum_of_squares=float(np.sum(np.square(value))),
            small=int(np.count_nonzero(np.square(value) < small_square)),
            effective_rank=effective_rank(matrix, tolerance), full_rank=int(min(matrix.shape))))
    return stats


def format_layer_weights(stats):
    """The table `hdl-native evaluate` prints: one line a layer."""
    lines = [f"  weights      {'values':>7} {'sum of sq.':>10} {'sq. < 1e-4':>10} {'rank':>9}"]
    for s in stats:
        lines.append(f"    {s.layer:<9}{s.values:>8} {s.sum_of_squares:>10.2f} {s.small:>10} "
                     f"{s.effective_rank:>4} of {s.full_rank}")
    return "\n".join(lines)
