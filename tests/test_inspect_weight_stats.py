"""The per-layer weight table of `hdl-native evaluate`: sums of squares, small values and effective rank."""
import numpy as np
import pytest

from hdl_native.inspect.weight_stats import effective_rank, format_layer_weights, layer_weights
from hdl_native.models import DigitsMLP, LettersCNN


def test_effective_rank_counts_singular_values_above_the_tolerance():
    rng = np.random.default_rng(0)
    u, v = rng.standard_normal((6, 1)), rng.standard_normal((1, 9))
    assert effective_rank(u @ v) == 1
    assert effective_rank(u @ v + rng.standard_normal((6, 1)) @ rng.standard_normal((1, 9))) == 2
    assert effective_rank(np.eye(5)) == 5
    assert effective_rank(np.diag([1.0, 0.06, 0.04])) == 2       # 5% of the largest is the line
    assert effective_rank(np.diag([1.0, 0.06, 0.04]), tolerance=0.01) == 3
    assert effective_rank(np.zeros((3, 4))) == 0


def test_layer_table_of_a_model_with_known_weights():
    model = LettersCNN(seed=0)
    rng = np.random.default_rng(1)
    basis = rng.standard_normal((2, 9))
    model.c1.weight.data[...] = (rng.standard_normal((32, 2)) @ basis).reshape(32, 1, 3, 3)  # rank 2
    model.fc3.weight.data[...] = 0.0
    model.fc3.weight.data[0, :5] = [0.005, -0.009, 0.011, 0.5, -0.02]  # squares: 2 below 1e-4, 3 above
    stats = {layer.layer: layer for layer in layer_weights(model)}
    assert list(stats) == ["c1", "c2", "c3", "fc1", "fc2", "fc3"]          # biases are not in the table
    assert stats["c1"].effective_rank == 2 and stats["c1"].full_rank == 9 and stats["c1"].values == 288
    assert stats["c2"].effective_rank == 64 and stats["c2"].shape == (64, 32, 3, 3)
    assert stats["fc3"].small == 3328 - 3 and stats["fc3"].effective_rank == 1
    assert stats["fc3"].sum_of_squares == pytest.approx(0.005 ** 2 + 0.009 ** 2 + 0.011 ** 2 + 0.25 + 0.0004)
    assert stats["fc2"].sum_of_squares == pytest.approx(np.sum(np.square(model.fc2.weight.value, dtype=np.float64)))


def test_table_text_has_a_line_per_layer():
    text = format_layer_weights(layer_weights(DigitsMLP(seed=0)))
    lines = text.splitlines()
    assert len(lines) == 1 + 3 and "rank" in lines[0]
    assert lines[1].split()[:2] == ["fc1", str(784 * 128)] and lines[1].endswith("128 of 128")
    assert all(line == line.rstrip() for line in lines)
