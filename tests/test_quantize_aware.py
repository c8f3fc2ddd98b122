"""Quantisation-aware fine-tuning (quantize/aware.py, `quantize --finetune-batches`): the model computes with the
quantised weights, the float32 copy learns from that gradient, and the state written is what it computed with."""
import json

import numpy as np
import pytest

from hdl_native.checkpoint import load_checkpoint, load_model, save_checkpoint
from hdl_native.cli import main
from hdl_native.data.datasets import LETTERS
from hdl_native.models import DigitsMLP, LettersCNN
from hdl_native.optim import SGD
from hdl_native.quantize.aware import QuantizedCopy, cosine_step, finetune_quantized, round_trip
from hdl_native.quantize.schemes import SCHEMES
from hdl_native.training.divergence import Diverged
from hdl_native.weights import named_weights
from tiny_sets import bar_images

SCHEME_ROWS = [("equal-population", False), ("linear", False), ("linear", True)]


@pytest.mark.parametrize("scheme, per_channel", SCHEME_ROWS)
@pytest.mark.parametrize("bits", [8, 4, 2])
def test_quantising_quantised_values_again_changes_nothing(scheme, per_channel, bits):
    """The fine-tune leaves the model holding round_trip(tuned); quantize_state quantises those values once more
    for the file, so that must be the identity, or the file would not hold what the fine-tune measured."""
    weight = np.random.default_rng(bits).standard_normal((12, 5, 3, 3)).astype(np.float32) ** 3
    once = round_trip(SCHEMES[scheme], weight, bits, per_channel)
    np.testing.assert_array_equal(round_trip(SCHEMES[scheme], once, bits, per_channel), once)
    assert not np.array_equal(once, weight)


def test_the_step_applies_the_gradient_found_at_the_quantised_weights_to_the_float_copy():
    model = DigitsMLP(seed=0)
    scheme = SCHEMES["equal-population"]
    original = {name: p.value.copy() for name, p in model.named_parameters()}
    copy = QuantizedCopy(model, scheme, 2, False)
    weights = dict(named_weights(model))
    for name, p in weights.items():  # the model computes with the quantised values ...
        np.testing.assert_array_equal(p.value, round_trip(scheme, original[name], 2, False))
        assert len(np.unique(p.value)) <= 4
    optimizer = SGD(model, lr=0.5)
    gradients = {name: np.random.default_rng(len(name)).standard_normal(p.shape).astype(np.float32)
                 for name, p in model.named_parameters()}
    for name, p in model.named_parameters():
        p.grad = gradients[name].copy()
    copy.step(optimizer)
    for name, p in model.named_parameters():
        expected = original[name] - np.float32(0.5) * gradients[name]
        if name in weights:  # ... the float copy takes the step from where it was, not from the quantised values
            np.testing.assert_allclose(copy.tuned[name], expected, rtol=1e-6, atol=1e-6)
            np.testing.assert_array_equal(p.value, round_trip(scheme, copy.tuned[name], 2, False))
        else:  # biases are ordinary float32 parameters
            np.testing.assert_allclose(p.value, expected, rtol=1e-6, atol=1e-6)


class Feed:
    """The part of TrainingFeed finetune_quantized uses: bar images, optionally poisoned with NaN."""

    def __init__(self, n=256, nan=False):
        self.images, self.labels = bar_images(n, 26, 0)
        self.nan = nan

    def batch(self, indices):
        from hdl_native.data import normalize

        images = normalize(self.images[indices])
        if self.nan:
            images[0, 0, 0, 0] = np.nan
        return images, self.labels[indices].astype(np.int64)


class StopAfter:
    """Truthy once `n` batches have been asked for (as StopOnSignal is after Ctrl-C)."""

    def __init__(self, feed, n):
        self.feed, self.n, self.requested = feed, n, None
        self.calls = 0
        original = feed.batch

        def counting(indices):
            self.calls += 1
            if self.calls >= self.n:
                self.requested = "SIGINT"
            return original(indices)
        feed.batch = counting

    def __bool__(self):
        return self.requested is not None


def test_a_stop_request_ends_the_fine_tune_after_the_current_batch_with_quantised_weights():
    from hdl_native.data import Batcher

    model, feed = LettersCNN(seed=1), Feed()
    stop = StopAfter(feed, 3)
    done, _ = finetune_quantized(model, feed, Batcher(256, 64, seed=0), 50, 1e-3, SCHEMES["linear"], 4, True,
                                 stop=stop)
    assert done == 3
    for name, p in named_weights(model):
        np.testing.assert_array_equal(p.value, round_trip(SCHEMES["linear"], p.value, 4, True))


def test_a_non_finite_loss_raises_diverged_before_any_step():
    from hdl_native.data import Batcher

    model = LettersCNN(seed=1)
    before = {name: p.value.copy() for name, p in model.named_parameters()}
    with pytest.raises(Diverged, match="loss became nan at batch 1"):
        finetune_quantized(model, Feed(nan=True), Batcher(256, 64, seed=0), 5, 1e-3, SCHEMES["equal-population"],
                           4, False)
    for name, p in model.named_parameters():
        if name.endswith("bias"):
            np.testing.assert_array_equal(p.value, before[name])


def test_the_step_decays_to_zero_along_half_a_cosine():
    assert cosine_step(0.1, 0, 100) == pytest.approx(0.1)
    assert cosine_step(0.1, 50, 100) == pytest.approx(0.05)
    assert cosine_step(0.1, 100, 100) == pytest.approx(0.0, abs=1e-12)


def test_cli_fine_tunes_through_2_bit_weights_and_writes_what_it_measured(tiny_data, tmp_path, capsys):
    common = ["--data", str(tiny_data), "--quiet", "--threads", "1"]
    trained, plain, tuned = tmp_path / "t.hdl", tmp_path / "plain.hdl", tmp_path / "tuned.hdl"
    assert main(["letters", *common, "--no-db", "--adam", "--epochs", "4", "--holdout", "60", "--out",
                 str(trained)]) == 0
    assert main(["quantize", str(trained), "--bits", "2", "--out", str(plain)]) == 0
    capsys.readouterr()
    assert main(["quantize", str(trained), *common, "--bits", "2", "--finetune-batches", "60", "--out", str(tuned),
                 "--json"]) == 0
    printed = capsys.readouterr().out
    assert "60 training images of letters the run held out from training" in printed
    record = json.loads(printed.strip().splitlines()[-1])["finetune"]
    assert record["batches"] == 60 and record["lr"] == pytest.approx(3e-4)
    assert record["held_out_finetuned"] > record["held_out_quantized"] + 10, record
    assert load_checkpoint(tuned)["quantized"]["source"]["finetune"] == record

    # the file holds 2-bit equal-population bins, and reading it gives the accuracy the fine-tune measured
    model, meta = load_model(tuned)
    reference, _ = load_model(plain)
    for name, p in named_weights(model):
        values, counts = np.unique(p.value, return_counts=True)
        assert len(values) <= 4 and counts.max() - counts.min() <= 1, name
        assert not np.array_equal(p.value, dict(named_weights(reference))[name].value), name
    assert held_out_accuracy(model, meta, trained, tiny_data) == pytest.approx(record["held_out_finetuned"])


def held_out_accuracy(model, meta, trained, root):
    """Percent of the letters the run of the state `trained` held out that `model` reads right, normalised as
    `meta` records."""
    from hdl_native.commands.cmd_calibrate import run_config_of
    from hdl_native.data import load_dataset
    from hdl_native.training.evaluate import Evaluator
    from hdl_native.training.start import training_data

    settings = load_checkpoint(trained)["settings"]
    _, (images, labels) = training_data(run_config_of(settings), load_dataset("letters", "train", root),
                                        load_dataset("letters", "test", root))
    return Evaluator(model, normalization=meta.get("normalization")).evaluate(images, labels).accuracy


def test_cli_fine_tune_needs_a_dataset_and_says_so_in_one_line(tmp_path, capsys):
    state, out = tmp_path / "s.hdl", tmp_path / "q.hdl"
    save_checkpoint(state, LettersCNN(seed=0), classes=LETTERS)
    assert main(["quantize", str(state), "--bits", "4", "--finetune-batches", "5", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "s.hdl names no dataset it was trained on" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_cli_fine_tune_refuses_a_missing_dataset_before_writing(tmp_path, capsys):
    state, out = tmp_path / "s.hdl", tmp_path / "q.hdl"
    save_checkpoint(state, LettersCNN(seed=0), classes=LETTERS, dataset="letters")
    code = main(["quantize", str(state), "--bits", "4", "--finetune-batches", "5", "--data", str(tmp_path / "none"),
                 "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "letters" in err, err
    assert not out.exists()


@pytest.mark.parametrize("option, message", [
    (["--finetune-batches", "0"], "argument --finetune-batches: must be an integer >= 1"),
    (["--finetune-batches", "5", "--lr", "-1"], "argument --lr: must be a finite number > 0"),
    (["--lr", "0.1"], "--lr is the fine-tune's first step: give --finetune-batches too, or drop --lr"),
    (["--data", "elsewhere"], "--data is where the fine-tune finds its images: give --finetune-batches too"),
])
def test_bad_fine_tune_options_are_one_line_errors(tmp_path, capsys, option, message):
    state = tmp_path / "s.hdl"
    save_checkpoint(state, LettersCNN(seed=0), classes=LETTERS, dataset="letters")
    try:
        code = main(["quantize", str(state), "--bits", "4", *option, "--out", str(tmp_path / "q.hdl")])
    except SystemExit as stopped:
        code = stopped.code
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err


def test_held_out_figures_read_the_images_with_the_states_normalisation(tiny_data, tmp_path, capsys):
    from hdl_native.checkpoint import save_entries

    common = ["--data", str(tiny_data), "--quiet", "--threads", "1"]
    trained, tuned = tmp_path / "t.hdl", tmp_path / "tuned.hdl"
    assert main(["letters", *common, "--no-db", "--adam", "--epochs", "2", "--holdout", "60", "--out",
                 str(trained)]) == 0
    state = load_checkpoint(trained)
    save_entries(trained, {**state, "normalization": {"mean": 0.5, "std": 0.1}})  # another normalisation
    capsys.readouterr()
    assert main(["quantize", str(trained), *common, "--bits", "4", "--finetune-batches", "1", "--out", str(tuned),
                 "--json"]) == 0
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["finetune"]
    model, meta = load_model(trained)
    assert meta["normalization"] == {"mean": 0.5, "std": 0.1}
    assert record["held_out_float32"] == pytest.approx(held_out_accuracy(model, meta, trained, tiny_data))


def test_cli_fine_tune_words_its_own_caveat_and_notes_a_fine_tune_that_made_it_worse(tiny_data, tmp_path, capsys):
    """Without held-out images it printed calibrate's caveat about the temperature; with --lr 1000 it wrote
    weights thousands of times their size, and saved them without a word."""
    common = ["--data", str(tiny_data), "--quiet", "--threads", "1"]
    trained = tmp_path / "t.hdl"
    assert main(["letters", *common, "--no-db", "--adam", "--epochs", "4", "--out", str(trained)]) == 0
    capsys.readouterr()
    assert main(["quantize", str(trained), *common, "--bits", "8", "--finetune-batches", "20", "--lr", "1000",
                 "--out", str(tmp_path / "q.hdl")]) == 0
    captured = capsys.readouterr()
    assert "the accuracies read on them are higher than new writers' letters would give" in captured.out
    assert "temperature" not in captured.out
    assert "note: the fine-tune lowered the accuracy of the quantised weights" in captured.err
    assert "try a smaller --lr than 1000" in captured.err
