"""--mixup: each batch blended with itself shuffled, the loss the same blend of the two labels' losses.

The cross-entropy op itself is checked with every other op (tests/opinfo.py); here, that the blend is what the
docstring says, that the training graph's loss and its gradient are the cross-entropy against the blended target,
and that a run with the option resumes exactly and says when a resume drops it.
"""
import numpy as np

from hdl_native.checkpoint import load_checkpoint
from hdl_native.cli import main
from hdl_native.models import LettersCNN
from hdl_native.training.loop import TrainingGraph
from hdl_native.training.mixup import mix_batch


def test_the_blend_is_one_weight_and_one_order_for_images_and_labels():
    rng = np.random.default_rng(0)
    images = rng.random((8, 1, 28, 28)).astype(np.float32)
    labels = np.arange(8, dtype=np.int64)
    blended, other_labels, weight = mix_batch(images, labels, np.random.default_rng(5), 0.2)
    replay = np.random.default_rng(5)
    assert weight == replay.beta(0.2, 0.2)
    order = replay.permutation(8)
    np.testing.assert_array_equal(other_labels, labels[order])
    np.testing.assert_allclose(blended, weight * images + (1 - weight) * images[order], rtol=1e-6)
    assert blended.dtype == np.float32 and 0.0 <= weight <= 1.0


def test_the_graph_loss_and_its_gradient_are_those_of_the_blended_target():
    rng = np.random.default_rng(1)
    images = rng.random((6, 1, 28, 28)).astype(np.float32)
    labels, other_labels = rng.integers(0, 26, 6), rng.integers(0, 26, 6)
    model = LettersCNN()
    graph = TrainingGraph(model, mixup=True)
    graph.images.assign(images)
    graph.labels.assign(labels)
    graph.mixed_labels.assign(other_labels)
    graph.mix.assign(0.7)
    graph.loss.backward()
    logits = graph.logits.value.astype(np.float64)
    log_probs = logits - logits.max(axis=1, keepdims=True)
    log_probs -= np.log(np.exp(log_probs).sum(axis=1, keepdims=True))
    target = np.zeros_like(logits)
    target[np.arange(6), labels] += 0.7
    target[np.arange(6), other_labels] += 0.3
    want = -(target * log_probs).sum(axis=1).mean()
    assert abs(graph.loss.item() - want) < 1e-5 * max(1.0, want)
    # the last layer's bias gets the sum over the batch of d loss / d logits = (softmax - target) / N
    bias = dict(model.named_parameters())["fc3.bias"]
    np.testing.assert_allclose(bias.grad, ((np.exp(log_probs) - target) / 6).sum(axis=0), atol=2e-6)


def test_a_run_with_mixup_resumes_exactly_and_says_when_it_is_dropped(tiny_data, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    common = ["--data", str(tiny_data), "--quiet", "--no-db", "--threads", "1", "--mixup", "0.4", "--epochs", "3"]
    assert main(["letters", *common[:-4], "--epochs", "3", "--max-batches", "4", "--out", "plain.hdl"]) == 0
    assert main(["letters", *common, "--max-batches", "4", "--out", "straight.hdl"]) == 0
    assert main(["letters", *common, "--max-batches", "2", "--out", "halves.hdl"]) == 0
    assert main(["letters", "halves.hdl", *common, "--max-batches", "4"]) == 0
    plain, straight = load_checkpoint(tmp_path / "plain.hdl"), load_checkpoint(tmp_path / "straight.hdl")
    halves = load_checkpoint(tmp_path / "halves.hdl")
    assert halves["batch_counter"] == straight["batch_counter"] == 4 and straight["settings"]["mixup"] == 0.4
    for name, value in straight["params"].items():
        np.testing.assert_array_equal(halves["params"][name], value, err_msg=name)
    assert not np.array_equal(plain["params"]["fc3.weight"], straight["params"]["fc3.weight"])
    capsys.readouterr()
    assert main(["letters", "halves.hdl", *common[:-4], "--epochs", "3", "--max-batches", "5"]) == 0
    assert "--mixup 0.4 -> 0" in capsys.readouterr().err
