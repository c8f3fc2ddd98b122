"""Issue 12's training guards: no silent NaN, no silent overwrite, outputs checked before training, quiet Ctrl-C.

Each test reproduces one case of the issue on the tiny IDX sets test_training_cli builds.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from test_training_cli import REPO, last_json

from hdl_native import cli
from hdl_native.checkpoint import load_checkpoint, remove_stale_temp_files
from hdl_native.cli import main
from hdl_native.json_output import json_line
from hdl_native.models import MODELS
from hdl_native.optim import SGD
from hdl_native.training import session as session_module
from hdl_native.training.config import OptimizerChoice, RunConfig
from hdl_native.training.divergence import Diverged, check_gradients, check_state
from hdl_native.training.loop import Trainer
from hdl_native.training.session import Session

QUICK = ["--quiet", "--no-db", "--threads", "1"]


def strict_json(line):
    """json.loads that rejects the NaN/Infinity tokens strict parsers refuse."""
    def refuse(token):
        raise ValueError(f"non-standard JSON token {token}")
    return json.loads(line, parse_constant=refuse)


def all_finite(params):
    return all(np.isfinite(array).all() for array in params.values())


# ---------------------------------------------------------------- 1. no silent NaN
@pytest.mark.parametrize("command, flags, cause", [
    # The 1e6 and momentum 5 are refused by the parser now (test_cli_options); the largest
    # learning rates it allows still diverge.
    ("letters", ["--lr", "1000"], "learning rate 1000 is probably too large"),
    ("letters", ["--adam", "--alpha", "1000"], "learning rate 1000 is probably too large"),
    ("letters", ["--momentum", "0.99", "--lr", "1000"], "learning rate 1000 is probably too large"),
    ("digits", ["--lr", "1000"], "learning rate 1000 is probably too large"),
])
def test_a_diverging_run_stops_with_exit_3_and_saves_nothing_non_finite(tiny_data, tmp_path, capsys, monkeypatch,
                                                                        command, flags, cause):
    monkeypatch.chdir(tmp_path)
    code = main([command, *flags, "--data", str(tiny_data), *QUICK, "--json", "--epochs", "40",
                 "--max-batches", "60", "--out", "x.hdl"])
    captured = capsys.readouterr()
    assert code == 3, captured.err
    message = captured.err.strip()
    assert len(message.splitlines()) == 1 and "Traceback" not in message
    assert " became " in message and " at batch " in message and cause in message
    summary = strict_json(captured.out.strip().splitlines()[-1])  # --json's last line parses, marked as diverged
    assert summary["stopped_by"] == "diverged" and summary["diverged_at_batch"] >= 1
    assert "test_accuracy" not in summary  # the model was never tested
    assert "no state was saved" in message and not (tmp_path / "x.hdl").exists()


def test_the_state_file_keeps_the_last_finite_state(tiny_data, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = main(["letters", "--lr", "1000", "--data", str(tiny_data), *QUICK, "--epochs", "40",
                 "--checkpoint-every", "0", "--out", "x.hdl"])
    message = capsys.readouterr().err
    assert code == 3
    saved = load_checkpoint(tmp_path / "x.hdl")
    assert f"x.hdl keeps the state after batch {saved['batch_counter']}" in message
    assert f"at batch {saved['batch_counter'] + 1} " in message  # checkpoints every batch: the one before
    assert all_finite(saved["params"]) and all_finite(saved["optimizer"]["buffers"])


def test_resumed_state_is_left_as_it_was_when_the_resumed_run_diverges(tiny_data, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["letters", "--data", str(tiny_data), *QUICK, "--max-batches", "2", "--out", "s.hdl"]) == 0
    before = (tmp_path / "s.hdl").read_bytes()
    capsys.readouterr()
    assert main(["letters", "s.hdl", "--lr", "1000", "--data", str(tiny_data), *QUICK, "--epochs", "40"]) == 3
    assert "s.hdl keeps the resumed state of batch 2" in capsys.readouterr().err
    assert (tmp_path / "s.hdl").read_bytes() == before


def test_weights_whose_outputs_overflow_stop_the_run_with_exit_3_and_every_reader_says_so(tiny_data, tmp_path, capsys,
                                                                                       monkeypatch):
    """Two steps at lr 1000 leave finite weights near 1e8 whose forward pass overflows: the run tested them, printed
    "predicted 'a' (nan%)" and exited 0, and evaluate, calibrate, prune and ocr went on with NaN outputs."""
    monkeypatch.chdir(tmp_path)
    code = main(["letters", "--lr", "1000", "--data", str(tiny_data), *QUICK, "--json", "--max-batches", "2",
                 "--out", "x.hdl"])
    captured = capsys.readouterr()
    assert code == 3, captured.err
    message = captured.err.strip()
    assert len(message.splitlines()) == 1 and "Traceback" not in message
    summary = strict_json(captured.out.strip().splitlines()[-1])
    assert (summary["stopped_by"], summary["diverged_at_batch"], summary["batches"]) == ("diverged", 2, 2)
    assert "test_accuracy" not in summary
    assert "after batch 2, the network's outputs are not finite" in message, message
    assert "learning rate 1000 is probably too large" in message and "x.hdl keeps the state after batch 2" in message
    data = ["--data", str(tiny_data), "--threads", "1"]
    for argv in (["evaluate", "x.hdl", *data], ["calibrate", "x.hdl", "--out", "c.hdl", *data],
                 ["prune", "x.hdl", "--sparsity", "0.5", "--out", "p.hdl", *data]):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "x.hdl: the network's outputs are not finite" in err, (argv, err)
    assert not (tmp_path / "c.hdl").exists() and not (tmp_path / "p.hdl").exists()
    from hdl_native.errors import NonFiniteOutputs
    from hdl_native.ocr.model import load_letter_classifier

    with pytest.raises(NonFiniteOutputs, match="x.hdl: the network's outputs are not finite"):
        load_letter_classifier("x.hdl").probabilities(np.full((3, 28, 28), 255, np.uint8))


@pytest.mark.parametrize("flags", [["--lr", "1000", "--weight-decay", "10"], ["--adam", "--alpha", "0.5",
                                                                               "--weight-decay", "2"]])
def test_a_weight_decay_that_would_flip_or_zero_the_weights_is_refused_before_training(tiny_data, tmp_path, capsys,
                                                                                      monkeypatch, flags):
    """w *= 1 - lr L each step: with lr L >= 1 that is no decay (lr 1000, L 10 ran, and left NaN outputs)."""
    monkeypatch.chdir(tmp_path)
    assert main(["letters", *flags, "--data", str(tiny_data), *QUICK, "--max-batches", "2", "--out", "x.hdl"]) == 2
    message = capsys.readouterr().err.strip()
    assert len(message.splitlines()) == 1 and "would multiply the weights by 1 - " in message, message
    assert "--weight-decay" in message and not (tmp_path / "x.hdl").exists()


def tiny_trainer(lr, n_images=256):
    """A letters-CNN Trainer with plain SGD at `lr` on random images (seeded)."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n_images, 28, 28)).astype(np.uint8)
    labels = rng.integers(0, 26, n_images)
    config = RunConfig(progress=False, epochs=50, optimizer=OptimizerChoice("sgd", lr))
    model = MODELS["letters-cnn"](n_classes=26, seed=0)
    return Trainer(model, SGD(model, lr=lr), config, (images, labels))


def test_the_check_comes_before_the_step_so_the_parameters_stay_finite():
    trainer = tiny_trainer(lr=1e6)
    with pytest.raises(Diverged) as stopped:
        trainer.run()
    assert stopped.value.batch == trainer.batch_counter + 1  # the batch that was not applied
    assert all_finite(trainer.model.state_dict())


def test_a_non_finite_gradient_stops_the_trainer_even_when_the_loss_is_finite():
    trainer = tiny_trainer(lr=0.01)

    class LossWithANanGradientAtBatch3:
        def __init__(self, loss):
            self.loss = loss

        def backward(self):
            self.loss.backward()
            if trainer.batch_counter == 2:
                trainer.optimizer.named_params[0][1].grad.flat[0] = np.nan

    trainer.graph.loss = LossWithANanGradientAtBatch3(trainer.graph.loss)
    with pytest.raises(Diverged, match="the gradient became nan at batch 3"):
        trainer.run()
    assert trainer.batch_counter == 2 and all_finite(trainer.model.state_dict())


@pytest.mark.parametrize("flat", [True, False])
def test_a_non_finite_gradient_is_caught(flat):
    """flat: the optimiser's flat gradient array; else one array per parameter (while one has no gradient)."""
    trainer = tiny_trainer(lr=0.01)
    optimizer = trainer.optimizer
    trainer.graph.images.assign(np.zeros((4, 1, 28, 28), np.float32))
    trainer.graph.labels.assign(np.zeros(4, np.int64))
    trainer.graph.loss.backward()
    if not flat:
        optimizer.named_params[1][1].grad = None
    check_gradients(optimizer, 7)  # finite: no exception
    assert (optimizer.flat_groups is not None) == flat
    optimizer.named_params[-1][1].grad.flat[0] = np.inf
    with pytest.raises(Diverged, match="the gradient became inf at batch 7"):
        check_gradients(optimizer, 7)
    optimizer.named_params[0][1].grad.flat[0] = np.nan
    with pytest.raises(Diverged, match="the gradient became nan at batch 7"):
        check_gradients(optimizer, 7)


@pytest.mark.parametrize("optimizer", [OptimizerChoice("momentum", 0.01, 0.9), OptimizerChoice("adam", 0.001)])
def test_saving_refuses_non_finite_parameters_or_optimiser_buffers(tiny_data, tmp_path, optimizer):
    config = RunConfig(data_root=str(tiny_data), out=str(tmp_path / "x.hdl"), progress=False, threads=1,
                       optimizer=optimizer)
    session = Session(config)
    session.setup()
    trainer = Trainer(session.model, session.optimizer, config, session.train_data)
    trainer.train_batch(next(iter(trainer.batcher.epoch())), optimizer.lr)  # creates the optimiser's buffers
    session.save_state(trainer)
    before = (tmp_path / "x.hdl").read_bytes()
    buffer = next(iter(session.optimizer.buffers().values()))
    buffer.flat[0] = np.inf
    with pytest.raises(Diverged, match="the optimiser state became inf at batch 1"):
        session.save_state(trainer)
    buffer.flat[0] = 0.0
    weight = dict(session.model.named_parameters())["fc1.weight"]
    exploded = weight.value.copy()
    exploded[0, 0] = np.nan
    weight.assign(exploded)
    with pytest.raises(Diverged, match="the parameters became nan at batch 1"):
        session.save_state(trainer)
    assert (tmp_path / "x.hdl").read_bytes() == before
    weight.assign(np.zeros_like(exploded))
    check_state(session.model, session.optimizer, 1)  # finite again: no exception


def test_json_lines_are_strict_json():
    line = json_line({"loss": float("nan"), "values": [np.float32(np.inf), -np.inf, np.int64(3), 0.5],
                      "nested": ({"ok": True, "name": "x"},)})
    assert strict_json(line) == {"loss": None, "values": [None, None, 3, 0.5], "nested": [{"ok": True, "name": "x"}]}


def test_a_finished_runs_json_summary_is_strict(tiny_data, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["digits", "--data", str(tiny_data), *QUICK, "--json", "--max-batches", "2"]) == 0
    summary = strict_json(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["batches"] == 2


# ---------------------------------------------------------------- 2. no silent overwrite
@pytest.mark.parametrize("command", ["letters", "digits"])
def test_an_existing_state_the_run_does_not_continue_is_not_replaced(tiny_data, tmp_path, capsys, monkeypatch,
                                                                     command):
    monkeypatch.chdir(tmp_path)
    assert main([command, "--data", str(tiny_data), *QUICK, "--max-batches", "2"]) == 0
    trained = (tmp_path / f"{command}.hdl").read_bytes()
    capsys.readouterr()
    # A data root that does not exist shows that the refusal comes before any data is read.
    assert main([command, "--data", str(tmp_path / "nowhere"), *QUICK, "--max-batches", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"hdl-native {command}: error: {command}.hdl already exists and this run does not continue it; "
                   "pass --force to replace it, or --out to write elsewhere")
    assert (tmp_path / f"{command}.hdl").read_bytes() == trained
    assert main([command, "--data", str(tiny_data), *QUICK, "--max-batches", "1", "--force", "--json"]) == 0
    assert last_json(capsys.readouterr().out)["batches"] == 1
    assert load_checkpoint(tmp_path / f"{command}.hdl")["batch_counter"] == 1


def test_an_existing_export_file_is_not_replaced(tiny_data, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "model.hdl").write_bytes(b"a trained model")
    nowhere = ["--data", str(tmp_path / "nowhere"), *QUICK]
    assert main(["letters", *nowhere, "--export", "model.hdl"]) == 2
    assert "--export model.hdl already exists; pass --force" in capsys.readouterr().err
    assert main(["letters", *nowhere, "--out", "s.hdl", "--export", "s.hdl"]) == 2
    assert "--export s.hdl is the state file itself" in capsys.readouterr().err
    assert (tmp_path / "model.hdl").read_bytes() == b"a trained model"


@pytest.mark.parametrize("command", [["letters"], ["digits"], ["textgen", "train", "--corpus", "nowhere.txt"]],
                         ids=["letters", "digits", "textgen"])
def test_the_sqlite_log_is_refused_as_the_state_or_export_file(tmp_path, capsys, monkeypatch, command):
    monkeypatch.chdir(tmp_path)
    # Data (or a corpus) that does not exist shows that the refusal comes before any is read.
    args = [*command, "--quiet", "--threads", "1", "--out", "s.hdl"]
    args += [] if command[0] == "textgen" else ["--data", "nowhere"]
    assert main([*args, "--db", str(tmp_path / "s.hdl")]) == 2  # compared resolved, as --export is
    assert capsys.readouterr().err.strip().endswith(
        f"error: --db {tmp_path / 's.hdl'} is the state file s.hdl; give the SQLite log another name")
    if command[0] != "textgen":  # which has no --export
        assert main([*args, "--export", "e.hdl", "--db", "e.hdl"]) == 2
        assert capsys.readouterr().err.strip().endswith(
            "error: --db e.hdl is the --export file e.hdl; give the SQLite log another name")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- 3. unwritable outputs found first
@pytest.mark.parametrize("flag, name, what", [("--out", "x.hdl", "state file"), ("--export", "e.hdl", "--export file"),
                                              ("--db", "log.sqlite3", "SQLite log")])
def test_an_unwritable_output_is_reported_before_training(tmp_path, capsys, flag, name, what):
    (tmp_path / "file").write_text("not a directory")
    target = tmp_path / "file" / name
    args = ["letters", "--data", str(tmp_path / "nowhere"), "--quiet", flag, str(target)]
    if flag != "--out":
        args += ["--out", str(tmp_path / "s.hdl")]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith(f"error: cannot write the {what} {target}: {tmp_path / 'file'} is not a directory")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


@pytest.mark.parametrize("plot, flags, problem", [
    ("in.jpg", ["--no-db"], "--plot in.jpg is a file, not a folder"),
    ("./pp", ["--no-db", "--out", "pp"], "--plot pp is the state file pp, a file"),
    ("e.hdl", ["--no-db", "--export", "e.hdl"], "--plot e.hdl is the --export file e.hdl, a file"),
    ("l.sqlite3", ["--db", "l.sqlite3"], "--plot l.sqlite3 is the SQLite log l.sqlite3, a file"),
], ids=["existing-file", "state", "export", "db"])
def test_a_plot_folder_that_is_a_file_is_reported_before_training(tmp_path, capsys, monkeypatch, plot, flags, problem):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.jpg").write_bytes(b"a picture")
    args = ["letters", "--data", "nowhere", "--quiet", "--threads", "1", "--out", "s.hdl"]
    assert main([*args, *flags, "--plot", plot]) == 2
    assert capsys.readouterr().err.strip() == f"hdl-native letters: error: {problem}; give " + (
        "a folder for the PNG pictures" if plot == "in.jpg" else "--plot a folder of its own")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jpg"]


def test_a_directory_as_the_state_file_is_reported_as_such(tmp_path, capsys):
    assert main(["letters", "--data", str(tmp_path / "nowhere"), *QUICK, "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip().endswith(f"cannot write the state file {tmp_path}: it is a directory")


def test_the_sqlite_log_needs_an_existing_directory(tmp_path, capsys):
    target = tmp_path / "missing" / "log.sqlite3"
    assert main(["letters", "--data", str(tmp_path / "nowhere"), "--quiet", "--db", str(target),
                 "--out", str(tmp_path / "s.hdl")]) == 2
    assert f"cannot write the SQLite log {target}: {tmp_path / 'missing'} does not exist" in capsys.readouterr().err


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a POSIX user that permissions apply to")
def test_a_read_only_directory_is_reported_before_training(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        assert main(["letters", "--data", str(tmp_path / "nowhere"), *QUICK, "--out", str(locked / "x.hdl")]) == 2
        assert (f"cannot write the state file {locked / 'x.hdl'}: {locked} is not writable (Permission denied)"
                in capsys.readouterr().err)
    finally:
        locked.chmod(0o700)


# ---------------------------------------------------------------- 4. quiet Ctrl-C, no stale temp files
@pytest.mark.parametrize("where", ["build_parser", "load_dataset"])
def test_ctrl_c_during_start_up_is_one_line_and_exit_130(tiny_data, tmp_path, capsys, monkeypatch, where):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli if where == "build_parser" else session_module, where, interrupted)
    assert main(["letters", "--data", str(tiny_data), *QUICK]) == 130
    err = capsys.readouterr().err  # one line, without the blank line before it that a terminal gets
    assert err == ("hdl-native: interrupted\n" if where == "build_parser" else "hdl-native letters: interrupted\n")


def test_a_save_killed_mid_write_leaves_a_temp_file_the_next_run_removes(tiny_data, tmp_path, capsys, monkeypatch):
    """os._exit in place of the final rename stands for kill -9 between writing and renaming."""
    folder = tmp_path / "run"
    folder.mkdir()
    script = ("import os, sys\n"
              "from hdl_native.checkpoint import save_checkpoint\nfrom hdl_native.models import MODELS\n"
              "os.replace = lambda *args: os._exit(9)\n"
              "save_checkpoint(sys.argv[1], MODELS['digits-mlp'](n_classes=10))\n")
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    assert subprocess.run([sys.executable, "-c", script, str(folder / "letters.hdl")], env=env).returncode == 9
    left = [p.name for p in folder.iterdir()]
    assert len(left) == 1 and left[0].startswith(".letters.hdl.") and left[0].endswith(".tmp")
    (folder / ".letters.hdl.notes.tmp").write_text("not ours: not 8 random characters")
    (folder / ".other.hdl.abcdefgh.tmp").write_text("another state's")
    monkeypatch.chdir(folder)
    assert main(["letters", "--data", str(tiny_data), *QUICK, "--max-batches", "1"]) == 0
    assert f"note: removed {left[0]}, left by an interrupted save" in capsys.readouterr().err
    assert sorted(p.name for p in folder.iterdir()) == [".letters.hdl.notes.tmp", ".other.hdl.abcdefgh.tmp",
                                                        "letters.hdl"]
    assert remove_stale_temp_files(tmp_path / "missing" / "x.hdl") == []


def test_the_exit_codes_are_in_the_help(capsys):
    with pytest.raises(SystemExit):
        main(["letters", "--help"])
    help_text = capsys.readouterr().out
    assert "--force" in help_text and "3    the loss, a gradient or a parameter became nan or inf" in help_text


def test_a_mistyped_network_name_is_named_as_one(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["letters", "--model", "letters-vgg-wid", "--data", str(tmp_path / "nowhere"), "--quiet"]) == 2
    assert capsys.readouterr().err.strip() == (
        "hdl-native letters: error: --model letters-vgg-wid: no such network (letters-cnn, letters-vgg, "
        "letters-vgg-bn, letters-vgg-wide, letters-vgg-cases) and no such state file")
    assert main(["letters", "--model", "mine.hdl", "--data", str(tmp_path / "nowhere"), "--quiet"]) == 2
    assert capsys.readouterr().err.strip() == "hdl-native letters: error: state file mine.hdl does not exist"


# ---------------------------------------------------------------- no option silently left unused
@pytest.mark.parametrize("argv, message", [
    (["letters", "--adam", "--lr", "0.5"], "--lr is SGD's step; --adam trains with Adam: give --alpha"),
    (["letters", "--adam", "--momentum", "0.5"], "--momentum is SGD's; --adam trains with Adam"),
    (["letters", "--alpha", "0.01"], "--alpha is Adam's step; give --adam too, or --lr for SGD"),
    (["letters", "--finetune", "crops", "--lr", "0.1"], "--lr is SGD's step; --finetune trains with Adam"),
    (["letters", "--finetune", "crops", "--momentum", "0.5"], "--momentum is SGD's; --finetune trains with Adam"),
    (["letters", "--finetune", "crops", "--lr-schedule", "constant"], "--lr-schedule constant: --finetune always "
                                                                       "lowers its step on a cosine"),
    (["digits", "--adam", "--optimizer", "sgd"], "--adam means --optimizer adam, but --optimizer sgd was given"),
    (["digits", "--optimizer", "sgd", "--momentum", "0.5"], "--momentum applies to --optimizer momentum, not to "
                                                             "plain SGD"),
    (["digits", "--momentum", "0.5"], "--momentum applies to --optimizer momentum, not to plain SGD"),
    (["digits", "--optimizer", "adam", "--momentum", "0.5"], "--momentum applies to --optimizer momentum, not to Adam"),
    (["letters", "--l2-warmup", "5"], "--l2-warmup ramps in the --l2 penalty: give --l2 FACTOR too"),
])
def test_a_step_option_the_chosen_optimiser_would_not_use_is_refused(tmp_path, capsys, monkeypatch, argv, message):
    """Options that would change nothing are refused (--l2-warmup without --l2 ramped in a penalty of 0)."""
    monkeypatch.chdir(tmp_path)
    assert main([*argv, "--data", str(tmp_path / "nowhere"), *QUICK]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"hdl-native {argv[0]}: error: {message}") and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize("command", ["letters", "digits"])
def test_a_log_named_and_refused_at_once_is_one_line(tmp_path, capsys, monkeypatch, command):
    """`--db x.sqlite3 --no-db` wrote no log, without a word."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stopped:
        main([command, "--db", "x.sqlite3", "--no-db", "--data", str(tmp_path / "nowhere")])
    assert stopped.value.code == 2
    assert capsys.readouterr().err == f"hdl-native {command}: error: argument --no-db: not allowed with argument --db\n"


@pytest.mark.parametrize("argv, expected", [
    (["letters"], OptimizerChoice("momentum", 0.01, 0.9)),
    (["letters", "--momentum", "0"], OptimizerChoice("sgd", 0.01, 0.0)),
    (["letters", "--lr", "0.05", "--momentum", "0.5"], OptimizerChoice("momentum", 0.05, 0.5)),
    (["letters", "--adam"], OptimizerChoice("adam", 0.001)),
    (["letters", "--adam", "--alpha", "0.002"], OptimizerChoice("adam", 0.002)),
    (["digits"], OptimizerChoice("sgd", 0.01)),
    (["digits", "--adam", "--optimizer", "adam", "--lr", "0.002"], OptimizerChoice("adam", 0.002)),
    (["digits", "--optimizer", "momentum"], OptimizerChoice("momentum", 0.01, 0.9)),
    (["digits", "--optimizer", "momentum", "--momentum", "0.5"], OptimizerChoice("momentum", 0.01, 0.5)),
])
def test_the_step_options_given_are_the_ones_trained_with(tmp_path, monkeypatch, argv, expected):
    monkeypatch.chdir(tmp_path)
    configs = recorded_configs(monkeypatch, argv[0])
    assert main([*argv, *QUICK]) == 0
    assert [config.optimizer for config in configs] == [expected]


def recorded_configs(monkeypatch, command):
    """[RunConfig] the command's Session is given, in place of training (a list filled as the command runs)."""
    configs = []

    class RecordingSession:
        def __init__(self, config):
            configs.append(config)

        def run(self):
            return 0

    monkeypatch.setattr(f"hdl_native.commands.cmd_{command}.Session", RecordingSession)
    return configs


@pytest.mark.parametrize("dataset", ["nonletters", "notdigits", "letters", "letters,mnist", "nonletters,notdigits"])
def test_digits_refuses_a_dataset_that_is_not_a_digit_set(tmp_path, capsys, monkeypatch, dataset):
    """A set of the class 'other' alone trained a one-class model that reported 100%; letters belong to `letters`."""
    monkeypatch.chdir(tmp_path)
    assert main(["digits", "--dataset", dataset, "--data", str(tmp_path / "nowhere"), *QUICK]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"hdl-native digits: error: --dataset {dataset} is not a digit set: digits trains on "
                          "mnist, emnist-digits or digits") and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize("dataset", ["mnist", "emnist-digits", "digits", "mnist:2,emnist-digits",
                                     "digits,notdigits:0.5", "digits,nonletters"])
def test_digits_takes_the_digit_sets_and_their_mixtures_with_other(tmp_path, monkeypatch, dataset):
    monkeypatch.chdir(tmp_path)
    configs = recorded_configs(monkeypatch, "digits")
    assert main(["digits", "--dataset", dataset, *QUICK]) == 0
    assert [config.dataset for config in configs] == [dataset]


def test_a_state_of_other_classes_names_the_dataset_it_was_trained_on(tiny_data, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["letters", "--data", str(tiny_data), *QUICK, "--max-batches", "1", "--out", "s.hdl"]) == 0
    capsys.readouterr()
    assert main(["letters", "--init", "s.hdl", "--dataset", "mnist", "--data", str(tiny_data), *QUICK,
                 "--max-batches", "1", "--out", "t.hdl"]) == 2
    assert capsys.readouterr().err.strip() == (
        "hdl-native letters: error: s.hdl was trained for 26 classes, dataset mnist has 10 "
        "(it was trained on --dataset letters)")
