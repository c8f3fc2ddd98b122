"""--label-smoothing: the trainer's loss is the label-smoothed cross-entropy, and the run records the setting.

The op's values and gradients are checked with every other op (tests/opinfo.py: a float64 reference, finite
differences; tests/test_torch_oracle.py: PyTorch's label_smoothing); here, that the option reaches them.
"""
import numpy as np

from hdl_native.checkpoint import load_checkpoint
from hdl_native.cli import main
from hdl_native.models import LettersCNN
from hdl_native.training.loop import TrainingGraph


def smoothed_cross_entropy(logits, labels, smoothing):
    """float64 reference: mean over the batch of -sum(target x log softmax)."""
    logits = logits.astype(np.float64)
    log_probs = logits - logits.max(axis=1, keepdims=True)
    log_probs -= np.log(np.exp(log_probs).sum(axis=1, keepdims=True))
    target = np.full(logits.shape, smoothing / logits.shape[1])
    target[np.arange(len(labels)), labels] += 1.0 - smoothing
    return -(target * log_probs).sum(axis=1).mean()


def test_the_training_graph_minimises_the_smoothed_loss():
    rng = np.random.default_rng(0)
    images = rng.random((6, 1, 28, 28)).astype(np.float32)
    labels = rng.integers(0, 26, 6)
    for smoothing in (0.0, 0.2):
        graph = TrainingGraph(LettersCNN(), label_smoothing=smoothing)
        graph.images.assign(images)
        graph.labels.assign(labels)
        want = smoothed_cross_entropy(graph.logits.value, labels, smoothing)
        assert abs(graph.loss.item() - want) < 1e-5 * max(1.0, want)


def test_the_option_is_recorded_and_changes_training(tiny_data, tmp_path):
    common = ["letters", "--data", str(tiny_data), "--quiet", "--no-db", "--threads", "1", "--max-batches", "3",
              "--seed", "0"]
    plain, smoothed = tmp_path / "plain.hdl", tmp_path / "smoothed.hdl"
    assert main([*common, "--out", str(plain)]) == 0
    assert main([*common, "--label-smoothing", "0.2", "--out", str(smoothed)]) == 0
    plain_state, smoothed_state = load_checkpoint(plain), load_checkpoint(smoothed)
    assert plain_state["settings"]["label_smoothing"] == 0.0
    assert smoothed_state["settings"]["label_smoothing"] == 0.2
    name = "fc3.weight"
    assert not np.array_equal(plain_state["params"][name], smoothed_state["params"][name])
