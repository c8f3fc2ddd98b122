"""Magnitude pruning (hdl_native.prune, `hdl-native prune`): exact sparsity, zeros that survive fine-tuning."""
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import hdl_native
from hdl_native.checkpoint import load_checkpoint
from hdl_native.cli import main
from hdl_native.errors import HDLError
from hdl_native.inspect.evaluation import evaluate_state
from hdl_native.models import LettersCNN
from hdl_native.optim import SGD, Adam
from hdl_native.prune import PRUNE_MASKS, apply_masks, magnitude_masks, masks_from_state, sparsity_curve
from hdl_native.training.config import RunConfig
from hdl_native.training.loop import Trainer
from hdl_native.weights import named_weights
from tiny_sets import bar_images

REPO = Path(hdl_native.__file__).resolve().parent.parent  # the installed package's parent, as the subprocess imports it

SPARSITIES = [0.0, 0.3, 0.7, 0.95]


@pytest.mark.parametrize("sparsity", SPARSITIES)
def test_global_pruning_zeroes_exactly_that_share_of_all_weights_below_one_threshold(sparsity):
    model = LettersCNN(n_classes=5, seed=1)
    masks = magnitude_masks(model, sparsity)
    weights = dict(named_weights(model))
    assert set(masks) == set(weights), "biases must not be pruned"
    total = sum(p.value.size for p in weights.values())
    assert sum(int((~keep).sum()) for keep in masks.values()) == round(sparsity * total)
    pruned = np.concatenate([np.abs(weights[n].value[~keep]) for n, keep in masks.items()])
    kept = np.concatenate([np.abs(weights[n].value[keep]) for n, keep in masks.items()])
    if len(pruned) and len(kept):
        assert pruned.max() <= kept.min()
    # global: layers of small weights lose more than their share (fc1's 512 inputs make its weights small)
    if 0 < sparsity < 0.9:
        shares = {n: (~keep).mean() for n, keep in masks.items()}
        assert max(shares.values()) - min(shares.values()) > 0.1


@pytest.mark.parametrize("sparsity", SPARSITIES)
def test_per_layer_pruning_zeroes_exactly_that_share_of_each_layer(sparsity):
    model = LettersCNN(n_classes=5, seed=1)
    for name, keep in magnitude_masks(model, sparsity, per_layer=True).items():
        assert int((~keep).sum()) == round(sparsity * keep.size), name


def test_ties_do_not_change_the_count():
    model = LettersCNN(n_classes=5, seed=1)
    for _, p in model.named_parameters():
        p.data[...] = 0.5  # every magnitude equal
    masks = magnitude_masks(model, 0.4)
    total = sum(keep.size for keep in masks.values())
    assert sum(int((~keep).sum()) for keep in masks.values()) == round(0.4 * total)


def toy_run(optimizer_class, **kwargs):
    images, labels = bar_images(96, 4, seed=5)
    model = LettersCNN(n_classes=4, dropout=0.5, seed=3)
    masks = magnitude_masks(model, 0.7)
    apply_masks(model, masks)
    before = {name: p.value.copy() for name, p in model.named_parameters()}
    optimizer = optimizer_class(model, **kwargs)
    optimizer.keep_zero(masks)
    Trainer(model, optimizer, RunConfig(batch_size=32, epochs=3, progress=False, l2=0.01),
            (images, labels)).run()
    return model, optimizer, masks, before


@pytest.mark.parametrize("optimizer_class, kwargs", [
    (Adam, {"lr": 0.01, "weight_decay": 0.1}),
    (SGD, {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.1}),
], ids=["adamw", "momentum"])
def test_fine_tuning_keeps_pruned_weights_exactly_zero(optimizer_class, kwargs):
    model, optimizer, masks, before = toy_run(optimizer_class, **kwargs)
    params = dict(model.named_parameters())
    for name, keep in masks.items():
        assert np.count_nonzero(params[name].value[~keep]) == 0, f"{name}: a pruned weight moved"
        assert not np.array_equal(params[name].value[keep], before[name][keep]), f"{name}: kept weights did not train"
        for key, buffer in optimizer.buffers().items():
            if key.endswith("/" + name):
                assert np.count_nonzero(buffer[~keep]) == 0, f"{key} holds state for pruned weights"


def test_stored_masks_that_do_not_fit_are_refused():
    model = LettersCNN(n_classes=5, seed=1)
    with pytest.raises(HDLError, match="prune mask of c1.weight"):
        masks_from_state({"c1.weight": np.ones((2, 2), dtype=np.uint8)}, model, "x.hdl")
    with pytest.raises(HDLError, match="do not name weights"):
        masks_from_state({"c1.bias": np.ones(32, dtype=np.uint8)}, model, "x.hdl")


def test_sparsity_curve_restores_the_model():
    model = LettersCNN(n_classes=5, seed=1)
    original = {name: p.value.copy() for name, p in model.named_parameters()}
    def percent_zero(pruned):
        values = np.concatenate([p.value.ravel() for _, p in named_weights(pruned)])
        return 100.0 * np.mean(values == 0)

    curve = sparsity_curve(model, percent_zero, [0.0, 0.5, 0.9])
    zero_share = [accuracy for _, accuracy in curve]
    assert [s for s, _ in curve] == [0.0, 0.5, 0.9]
    np.testing.assert_allclose(zero_share, [0.0, 50.0, 90.0], atol=0.01)
    for name, p in model.named_parameters():
        np.testing.assert_array_equal(p.value, original[name])


def test_cli_prunes_fine_tunes_and_a_resumed_fine_tune_keeps_the_mask(tiny_data, tmp_path, capsys):
    common = ["--data", str(tiny_data), "--quiet", "--threads", "1"]
    trained, pruned = tmp_path / "t.hdl", tmp_path / "p.hdl"
    assert main(["letters", *common, "--no-db", "--adam", "--epochs", "2", "--out", str(trained)]) == 0
    assert main(["prune", str(trained), *common, "--sparsity", "0.6", "--finetune-epochs", "1",
                 "--out", str(pruned), "--json"]) == 0
    state = load_checkpoint(pruned)
    masks = {name: mask.astype(bool) for name, mask in state[PRUNE_MASKS].items()}
    total = sum(mask.size for mask in masks.values())
    assert sum(int((~mask).sum()) for mask in masks.values()) == round(0.6 * total)
    assert state["batch_counter"] > 0 and state["optimizer"]["kind"] == "Adam"
    for name, keep in masks.items():
        assert np.count_nonzero(state["params"][name][~keep]) == 0, name
    capsys.readouterr()

    assert main(["letters", str(pruned), *common, "--no-db", "--adam", "--epochs", "3"]) == 0
    resumed = load_checkpoint(pruned)
    assert resumed["batch_counter"] > state["batch_counter"]
    for name, keep in masks.items():
        np.testing.assert_array_equal(resumed[PRUNE_MASKS][name].astype(bool), keep)
        assert np.count_nonzero(resumed["params"][name][~keep]) == 0, f"{name} after the resumed fine-tune"
        assert not np.array_equal(resumed["params"][name][keep], state["params"][name][keep])


@pytest.mark.parametrize("argv, message", [
    (["--sparsity", "1.5"], "argument --sparsity: must be a finite number >= 0 and < 1, got 1.5"),
    (["--sparsity", "nan"], "argument --sparsity: must be a finite number >= 0 and < 1"),
    (["--sparsity", "0.5", "--finetune-epochs", "0"], "argument --finetune-epochs: must be an integer >= 1"),
    (["--sparsity", "0.5", "--lr", "0.1"], "--lr is the fine-tune's learning rate: give --finetune-epochs too"),
    (["--sparsity", "0.5", "--out", "{state}"], "is STATE itself; pass --force"),
    (["--sparsity", "0.5", "--out", "{existing}"], "already exists; pass --force"),
    (["--sparsity", "0.5", "--out", "{missing_dir}/p.hdl", "--state", "{nowhere}"], "does not exist"),
])
def test_cli_errors_are_one_line(argv, message, tmp_path, capsys):
    state = tmp_path / "s.hdl"
    state.write_bytes(b"x")  # the --out checks come before STATE is read
    existing = tmp_path / "e.hdl"
    existing.write_bytes(b"x")
    paths = {"state": state, "existing": existing, "missing_dir": tmp_path / "no" / "such",
             "nowhere": tmp_path / "nowhere.hdl"}
    argv = [a.format(**paths) for a in argv]
    source = str(state)
    if "--state" in argv:
        source = argv.pop(argv.index("--state") + 1)
        argv.remove("--state")
    if "--out" not in argv:
        argv += ["--out", str(tmp_path / "p.hdl")]
    try:
        code = main(["prune", source, *argv])
    except SystemExit as stopped:  # argparse's errors exit from the parser
        code = stopped.code
    assert code == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1, err


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_a_fine_tune_stopped_by_a_signal_says_how_to_go_on_with_its_own_settings(tiny_data, tmp_path, capsys):
    trained, pruned = tmp_path / "t.hdl", tmp_path / "p.hdl"
    options = ["--adam", "--alpha", "0.002", "--distort", "0.3", "--batch-size", "16", "--mut-on-learn",
               "--seed", "3"]
    assert main(["letters", "--data", str(tiny_data), "--quiet", "--no-db", "--threads", "1", *options,
                 "--epochs", "1", "--out", str(trained)]) == 0
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    process = subprocess.Popen(
        [sys.executable, "-m", "hdl_native", "prune", str(trained), "--sparsity", "0.5", "--finetune-epochs", "1000",
         "--data", str(tiny_data), "--quiet", "--threads", "1", "--out", str(pruned)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while "LettersCNN with" not in (process.stdout.readline() or "LettersCNN with"):  # the fine-tune's setup
        pass
    time.sleep(1.0)
    process.send_signal(signal.SIGINT)
    err = process.communicate(timeout=60)[1]
    assert process.returncode == 130, err
    hint = err.split("continue with: ", 1)[-1].split(")")[0]
    assert hint.startswith(f"hdl-native letters {pruned} --data {tiny_data} --adam --alpha 0.002 "), err
    assert all(words in hint for words in ("--epochs 1000", "--distort 0.3", "--batch-size 16", "--mut-on-learn")), hint
    capsys.readouterr()
    assert main([*shlex.split(hint)[1:], "--max-batches", "2", "--quiet", "--no-db", "--threads", "1"]) == 0
    assert "note: resuming" not in capsys.readouterr().err  # the hint repeats every setting the fine-tune had
    settings = load_checkpoint(pruned)["settings"]
    assert (settings["epochs"], settings["distort"], settings["batch_size"], settings["seed"]) == (1000, 0.3, 16, 3)


@pytest.mark.parametrize("key, value", [("touching", float("nan")), ("lead_in", 2.0), ("pairs", -1.0)])
def test_a_state_recording_a_bad_share_is_refused_before_anything_is_written(tmp_path, capsys, key, value):
    from hdl_native.checkpoint import save_checkpoint
    from hdl_native.data.datasets import LETTERS
    from hdl_native.models import LettersCNN

    state, out = tmp_path / "s.hdl", tmp_path / "p.hdl"
    save_checkpoint(state, LettersCNN(n_classes=26, seed=0), classes=LETTERS, dataset="letters",
                    settings={key: value})
    for command in (["prune", str(state), "--sparsity", "0.5", "--finetune-epochs", "1", "--out", str(out)],
                    ["quantize", str(state), "--bits", "4", "--finetune-batches", "1", "--out", str(out)]):
        code = main(command)
        err = capsys.readouterr().err
        assert code == 2 and f"s.hdl: its settings record {key}={value!r}, not a finite number from 0 to 1" in err, err
        assert len(err.strip().splitlines()) == 1 and not out.exists()


def test_plot_prune_curve_draws_both_curves_from_the_unpruned_accuracy(tiny_data, tmp_path, capsys):
    import json

    common = ["--data", str(tiny_data)]
    trained = tmp_path / "t.hdl"
    assert main(["letters", *common, "--quiet", "--no-db", "--adam", "--epochs", "2", "--threads", "1",
                 "--out", str(trained), "--json"]) == 0
    trained_accuracy = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["test_accuracy"]
    assert main(["plot", "--prune-curve", str(trained), *common, "--out", str(tmp_path / "plots"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (tmp_path / "plots" / "prune-curve.png").stat().st_size > 1000
    for kind in ("global", "per layer"):
        curve = summary["prune_curve"][kind]
        assert [s for s, _ in curve] == pytest.approx([i / 20 for i in range(20)])
        assert curve[0][1] == pytest.approx(trained_accuracy)


def test_plot_without_db_or_prune_curve_is_one_line(tmp_path, capsys):
    assert main(["plot", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "hdl-native plot: error: give the DB to draw, or --prune-curve STATE"


@pytest.mark.parametrize("argv, message", [
    (["--prune-curve", "t.hdl", "--run", "2"], "--run draws from the DB's training log; --prune-curve alone reads no "
                                               "log"),
    (["--prune-curve", "t.hdl", "--param", "c2:1"], "--param draws from the DB's training log"),
    (["log.sqlite3", "--data", "somewhere"], "--data is the data root of --prune-curve's test split"),
])
def test_plot_refuses_an_option_nothing_it_draws_uses(tmp_path, capsys, argv, message):
    assert main(["plot", *argv, "--out", str(tmp_path / "p")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"hdl-native plot: error: {message}") and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "p").exists()  # refused before anything is read or made


def test_ctrl_c_while_the_prune_curve_is_measured_leaves_no_folder(tiny_data, tmp_path, capsys, monkeypatch):
    from hdl_native.training.evaluate import Evaluator

    trained = tmp_path / "t.hdl"
    assert main(["letters", "--data", str(tiny_data), "--quiet", "--no-db", "--adam", "--max-batches", "2",
                 "--threads", "1", "--out", str(trained)]) == 0
    calls = []

    def interrupted_on_the_third(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    original = Evaluator.evaluate
    monkeypatch.setattr(Evaluator, "evaluate", interrupted_on_the_third)
    out = tmp_path / "plots" / "sub"
    assert main(["plot", "--prune-curve", str(trained), "--data", str(tiny_data), "--out", str(out)]) == 130
    assert len(calls) == 3 and not (tmp_path / "plots").exists()
    capsys.readouterr()


def test_the_fine_tune_trains_with_every_setting_of_the_recipe_and_reports_what_evaluate_reads(tiny_data, tmp_path,
                                                                                               capsys):
    common = ["--data", str(tiny_data), "--quiet", "--threads", "1"]
    recipe = ["--balance-classes", "--label-smoothing", "0.1", "--mixup", "0.2", "--weight-decay", "0.01",
              "--ema-decay", "0.5", "--distort", "0.3", "--distort-look", "0.1", "--distort-other", "0.2",
              "--dataset", "letters,nonletters", "--holdout", "52", "--holdout-seed", "4", "--l2", "0.001"]
    trained, pruned = tmp_path / "t.hdl", tmp_path / "p.hdl"
    assert main(["letters", *common, "--no-db", "--adam", *recipe, "--epochs", "1", "--out", str(trained)]) == 0
    capsys.readouterr()
    assert main(["prune", str(trained), *common, "--sparsity", "0.5", "--finetune-epochs", "1",
                 "--out", str(pruned), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    recorded, settings = load_checkpoint(trained)["settings"], load_checkpoint(pruned)["settings"]
    for key in ("balance_classes", "label_smoothing", "mixup", "weight_decay", "ema_decay", "distort", "distort_look",
                "distort_other", "dataset", "holdout", "holdout_seed", "l2", "optimizer", "batch_size"):
        assert settings[key] == recorded[key], key
    assert (settings["epochs"], settings["init"], settings["out"]) == (1, str(pruned), str(pruned))
    state = load_checkpoint(pruned)
    assert "weight_average" in state  # the fine-tune's own average, which it tested and its readers read
    assert summary["test_accuracy_finetuned"] == pytest.approx(evaluate_state(pruned, root=tiny_data).test_accuracy)
    masks = {name: mask.astype(bool) for name, mask in state[PRUNE_MASKS].items()}
    for name, keep in masks.items():
        assert np.count_nonzero(state["weight_average"]["averages"][name][~keep]) == 0, name
    assert summary["zero_weights_after_finetune"] == summary["zero_weights"]


def test_a_calibrated_reader_is_pruned_without_its_fitted_entries_and_keeps_its_offset(tiny_data, tmp_path, capsys):
    common = ["--data", str(tiny_data), "--quiet", "--threads", "1"]
    mixture = ["--dataset", "letters,nonletters", "--holdout", "60"]
    trained, calibrated = tmp_path / "t.hdl", tmp_path / "c.hdl"
    assert main(["letters", *common, "--no-db", "--adam", *mixture, "--epochs", "1", "--out", str(trained)]) == 0
    assert main(["calibrate", str(trained), "--data", str(tiny_data), "--threads", "1", "--other-offset", "0.5",
                 "--out", str(calibrated)]) == 0
    fitted = {"temperature", "shift_temperatures", "int8_ranges"}
    assert fitted | {"other_offset"} <= set(load_checkpoint(calibrated))
    capsys.readouterr()
    for extra in ([], ["--finetune-epochs", "1"]):
        out = tmp_path / f"p{len(extra)}.hdl"
        assert main(["prune", str(calibrated), *common, "--sparsity", "0.5", *extra, "--out", str(out), "--json"]) == 0
        captured = capsys.readouterr()
        state = load_checkpoint(out)
        assert not fitted & set(state), extra
        assert state["other_offset"] == 0.5 and state["pruned_from"] == str(calibrated), extra
        assert (f"temperatures and int8 activation ranges were fitted to the unpruned network; {out} has none: "
                f"`hdl-native calibrate {out} --out CALIBRATED.hdl`") in captured.err
        summary = json.loads(captured.out.strip().splitlines()[-1])
        read = evaluate_state(out, root=tiny_data).test_accuracy  # as `evaluate` reads OUT
        assert summary["test_accuracy_finetuned" if extra else "test_accuracy_pruned"] == pytest.approx(read)
    assert main(["letters", str(out), *common, "--no-db", "--adam", *mixture, "--epochs", "2"]) == 0
    resumed = load_checkpoint(out)  # resuming the fine-tune keeps what it carried
    assert resumed["other_offset"] == 0.5 and resumed["pruned_from"] == str(calibrated)
