"""`hdl-native digits` and `hdl-native letters` end to end on tiny IDX files the tests build."""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from tiny_sets import bar_images

import hdl_native
from hdl_native.checkpoint import load_checkpoint, load_model
from hdl_native.cli import main
from hdl_native.data import write_idx
from hdl_native.data.distort import distort, distort_by_label

REPO = Path(hdl_native.__file__).resolve().parent.parent  # the installed package's parent, never a bare checkout


def last_json(text):
    return json.loads(text.strip().splitlines()[-1])


def test_digits_mlp_json_summary(tiny_data, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = main(["digits", "--data", str(tiny_data), "--epochs", "8", "--lr", "0.1", "--quiet", "--json",
                 "--threads", "1", "--plot", str(tmp_path / "plots")])
    out = capsys.readouterr().out
    assert code == 0
    summary = last_json(out)
    for key in ("test_accuracy", "epochs", "train_seconds", "images_per_s", "top2_accuracy"):
        assert key in summary
    assert summary["epochs"] == 8 and summary["test_accuracy"] > 90.0
    assert "true\\pred" in out and "predicted '" in out
    assert (tmp_path / "plots" / "digits-confusion.png").stat().st_size > 1000
    model, meta = load_model(tmp_path / "digits.hdl")
    assert meta["architecture"] == "digits-mlp" and meta["classes"] == [str(d) for d in range(10)]


def test_letters_writes_sqlite_tables_and_resumes_with_other_settings(tiny_data, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    base = ["letters", "--data", str(tiny_data), "--adam", "--quiet", "--json", "--threads", "1",
            "--validate-every", "3", "--db", "log.sqlite3", "--out", "s.hdl"]
    assert main(base + ["--max-batches", "4"]) == 0
    first = last_json(capsys.readouterr().out)
    assert first["batches"] == 4
    assert main(["letters", "s.hdl", "--data", str(tiny_data), "--adam", "--alpha", "0.0005", "--quiet", "--json",
                 "--threads", "1", "--db", "log.sqlite3", "--max-batches", "6", "--mut-on-learn"]) == 0
    captured = capsys.readouterr()
    second = last_json(captured.out)
    assert second["batches"] == 6 and "augmented_test_accuracy" in second
    assert ("note: resuming s.hdl with settings its run did not have: optimiser adam lr 0.001 -> adam lr 0.0005, "
            "--mut-on-learn off -> on (repeat its options to keep them)") in captured.err
    assert load_checkpoint(tmp_path / "s.hdl")["batch_counter"] == 6

    db = sqlite3.connect(tmp_path / "log.sqlite3")
    runs = db.execute("SELECT startID, command FROM runs ORDER BY startID").fetchall()
    assert [command for _, command in runs] == ["letters", "letters"]
    first_id, second_id = runs[0][0], runs[1][0]
    assert db.execute("SELECT count(*) FROM training WHERE startID=?", (first_id,)).fetchone()[0] == 4
    assert db.execute("SELECT min(batchno), max(batchno) FROM training WHERE startID=?",
                      (second_id,)).fetchone() == (4, 5)
    columns = [row[1] for row in db.execute("PRAGMA table_info(validation)")]
    assert columns == ["startID", "batchno", "epoch", "time", "elapsed", "cputime", "corperc", "avgloss",
                       "batchsize", "lr", "momentum"]
    assert db.execute("SELECT count(*) FROM validation WHERE startID=?", (first_id,)).fetchone()[0] == 1
    # c2.weight (64, 32, 3, 3) is logged summed over input channels: one float32 BLOB of 64 * 3 * 3 per logged batch.
    assert db.execute("SELECT shape, length(val) FROM snapshots WHERE startID=? AND batchno=0 AND name='c2.weight'",
                      (first_id,)).fetchone() == ("64,3,3", 4 * 64 * 9)
    assert db.execute("SELECT shape, length(grad) FROM snapshots WHERE startID=? AND batchno=2 AND name='fc1.weight'",
                      (first_id,)).fetchone() == ("64,512", 4 * 64 * 512)
    assert db.execute("SELECT sum(count) FROM confusion WHERE startID=?", (second_id,)).fetchone()[0] == 78


def test_bad_state_file_is_one_clear_line(tiny_data, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "junk.hdl").write_bytes(b"GIF89a not a state")
    assert main(["letters", "junk.hdl", "--data", str(tiny_data), "--no-db"]) == 2
    assert "junk.hdl is not an hdl_native state file" in capsys.readouterr().err
    main(["digits", "--data", str(tiny_data), "--max-batches", "1", "--quiet", "--out", "mlp.hdl"])
    capsys.readouterr()
    assert main(["letters", "mlp.hdl", "--data", str(tiny_data), "--no-db"]) == 2
    assert "holds a digits-mlp model" in capsys.readouterr().err


def test_digits_resumes_its_state_as_letters_does(tiny_data, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    common = ["--data", str(tiny_data), "--quiet", "--no-db", "--threads", "1", "--optimizer", "momentum",
              "--epochs", "3"]
    assert main(["digits", *common, "--max-batches", "2", "--out", "d.hdl"]) == 0
    first = load_checkpoint(tmp_path / "d.hdl")
    capsys.readouterr()
    assert main(["digits", "d.hdl", *common, "--max-batches", "5"]) == 0  # the words a stopped run's hint gives
    assert "note: resuming" not in capsys.readouterr().err
    resumed = load_checkpoint(tmp_path / "d.hdl")
    assert (first["batch_counter"], resumed["batch_counter"]) == (2, 5)
    assert resumed["architecture"] == "digits-mlp" and resumed["settings"]["optimizer"]["kind"] == "momentum"
    assert main(["digits", "d.hdl", *common, "--model", "cnn"]) == 2
    assert "d.hdl holds a digits-mlp model, this command trains a letters-cnn" in capsys.readouterr().err


def test_a_state_already_past_the_limit_says_so_trains_nothing_and_is_left_unchanged(tiny_data, tmp_path, capsys,
                                                                                    monkeypatch):
    """Resumed with --max-batches below its batch, the run trained nothing, rewrote the state and reported
    "(0 images/s)" without a word on why."""
    monkeypatch.chdir(tmp_path)
    common = ["--data", str(tiny_data), "--quiet", "--no-db", "--threads", "1"]
    assert main(["digits", *common, "--max-batches", "4", "--out", "d.hdl"]) == 0
    before = (tmp_path / "d.hdl").read_bytes()
    capsys.readouterr()
    assert main(["digits", "d.hdl", *common, "--max-batches", "2", "--json"]) == 0
    captured = capsys.readouterr()
    assert ("note: d.hdl is already at batch 4, past --max-batches 2: nothing to train; testing it as it is and "
            "leaving d.hdl unchanged") in captured.err
    assert "0 images/s" not in captured.out and "(none of it in this run)" in captured.out
    assert last_json(captured.out)["images_per_s"] is None and last_json(captured.out)["batches"] == 4
    assert (tmp_path / "d.hdl").read_bytes() == before

def test_digits_starts_from_an_init_state_of_its_own_network(tiny_data, tmp_path, capsys, monkeypatch):
    """digits --init cnn.hdl needed --model cnn too (it built the MLP and refused the state); it takes the state's
    network now, as letters does."""
    monkeypatch.chdir(tmp_path)
    common = ["--data", str(tiny_data), "--quiet", "--no-db", "--threads", "1", "--max-batches", "1"]
    assert main(["digits", *common, "--model", "cnn", "--out", "cnn.hdl"]) == 0
    assert main(["digits", *common, "--init", "cnn.hdl", "--out", "again.hdl"]) == 0, capsys.readouterr().err
    assert load_checkpoint(tmp_path / "again.hdl")["architecture"] == "letters-cnn"
    assert main(["digits", *common, "--init", "cnn.hdl", "--model", "mlp"]) == 2
    assert "cnn.hdl holds a letters-cnn model" in capsys.readouterr().err


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_saves_state_and_exits_130(tiny_data, tmp_path, sig):
    state = tmp_path / "run.hdl"
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    process = subprocess.Popen(
        [sys.executable, "-m", "hdl_native", "letters", "--data", str(tiny_data), "--no-db", "--quiet",
         "--threads", "1", "--epochs", "1000", "--checkpoint-every", "0", "--distort", "0.5", "--out", str(state),
         "--json", "--validate-every", "1"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not state.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    assert state.exists(), process.communicate()[1]
    process.send_signal(sig)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert f"state saved to {state}" in err and "Traceback" not in err
    assert f"hdl-native letters: stopped by {sig.name} after batch " in err  # named as every command's lines are
    assert (f"continue with: hdl-native letters {state} --data {tiny_data} --no-db --quiet --threads 1 --epochs 1000 "
            f"--checkpoint-every 0 --distort 0.5 --out {state} --json --validate-every 1)") in err  # to repeat
    summary = json.loads(out.strip().splitlines()[-1])  # --json's last line, though the run was stopped
    assert summary["stopped_by"] == sig.name and summary["state"] == str(state) and "test_accuracy" not in summary
    assert summary["batches"] >= 1 and summary["last_validation"]["batch"] >= 1
    saved = load_checkpoint(state)
    assert saved["batch_counter"] >= 1 and saved["optimizer"] is not None
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_resume_names_the_training_options_it_drops_and_is_quiet_when_they_are_repeated(
        tiny_data, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    common = ["--data", str(tiny_data), "--quiet", "--no-db", "--threads", "1", "--adam"]
    smoothed = ["--label-smoothing", "0.1", "--weight-decay", "0.05", "--epochs", "3"]
    assert main(["letters", *common, *smoothed, "--max-batches", "2", "--out", "a.hdl"]) == 0
    capsys.readouterr()
    assert main(["letters", "a.hdl", *common, *smoothed, "--max-batches", "3"]) == 0
    assert "note: resuming" not in capsys.readouterr().err
    assert main(["letters", "a.hdl", *common, "--epochs", "3", "--max-batches", "4"]) == 0
    err = capsys.readouterr().err
    assert ("note: resuming a.hdl with settings its run did not have: --weight-decay 0.05 -> 0, "
            "--label-smoothing 0.1 -> 0 (repeat its options to keep them)") in err
    assert load_checkpoint(tmp_path / "a.hdl")["settings"]["label_smoothing"] == 0.0  # the run took the command line's


def test_a_run_with_distort_look_resumes_exactly_and_says_when_it_is_dropped(tiny_data, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    common = ["--data", str(tiny_data), "--quiet", "--no-db", "--threads", "1", "--distort", "0.5",
              "--distort-look", "1", "--epochs", "3"]
    assert main(["letters", *common, "--max-batches", "4", "--out", "straight.hdl"]) == 0
    assert main(["letters", *common, "--max-batches", "2", "--out", "halves.hdl"]) == 0
    assert main(["letters", "halves.hdl", *common, "--max-batches", "4"]) == 0
    straight, halves = load_checkpoint(tmp_path / "straight.hdl"), load_checkpoint(tmp_path / "halves.hdl")
    assert halves["batch_counter"] == straight["batch_counter"] == 4
    for name, value in straight["params"].items():
        np.testing.assert_array_equal(halves["params"][name], value, err_msg=name)
    capsys.readouterr()
    assert main(["letters", "halves.hdl", *common[:-4], "--epochs", "3", "--max-batches", "5"]) == 0
    assert "--distort-look 1 -> " in capsys.readouterr().err


def test_distort_other_without_a_class_other_is_one_clear_line(tiny_data, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["letters", "--data", str(tiny_data), "--quiet", "--no-db", "--distort", "0.5",
                 "--distort-other", "1", "--max-batches", "1"]) == 2
    err = capsys.readouterr().err
    assert err == ("hdl-native letters: error: --distort-other 1: dataset 'letters' has no class 'other' (add "
                   "nonletters to the mixture, e.g. --dataset letters,nonletters)\n")
    assert not (tmp_path / "letters.hdl").exists()


def test_distort_other_reaches_the_training_feed(tiny_data, tmp_path, capsys, monkeypatch):
    import hdl_native.data.nonletters as nonletters
    import hdl_native.training.feed as feed

    for split in ("train", "test"):  # a few drawn marks beside the tiny digits: drawing thousands takes a minute
        monkeypatch.setitem(nonletters.MARK_COUNT, split, 20)
    drawn = []

    def spy(images, labels, rng, strengths, look=None):
        drawn.append(np.array(strengths))
        return distort_by_label(images, labels, rng, strengths, look)
    monkeypatch.setattr(feed, "distort_by_label", spy)
    monkeypatch.chdir(tmp_path)
    assert main(["letters", "--data", str(tiny_data), "--dataset", "letters,nonletters", "--quiet", "--no-db",
                 "--threads", "1", "--distort", "0.5", "--distort-other", "1", "--max-batches", "2"]) == 0
    assert len(drawn) == 2
    np.testing.assert_array_equal(drawn[0], [0.5] * 26 + [1.0])  # the 26 letters, then 'other'
    assert load_checkpoint(tmp_path / "letters.hdl")["settings"]["distort_other"] == 1.0


def test_distort_look_reaches_the_training_feed(tiny_data, tmp_path, capsys, monkeypatch):
    import hdl_native.training.feed as feed

    looks = []

    def spy(images, rng, strength, look=None):
        looks.append((strength, look))
        return distort(images, rng, strength, look)
    monkeypatch.setattr(feed, "distort", spy)
    monkeypatch.chdir(tmp_path)
    common = ["letters", "--data", str(tiny_data), "--quiet", "--no-db", "--threads", "1", "--max-batches", "2"]
    assert main([*common, "--distort", "0.5", "--distort-look", "1"]) == 0
    assert looks == [(0.5, 1.0)] * 2
    # out of range: test_cli_options
    assert load_checkpoint(tmp_path / "letters.hdl")["settings"]["distort_look"] == 1.0


def test_resume_with_another_batch_size_is_a_clear_error(tiny_data, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    common = ["--data", str(tiny_data), "--quiet", "--no-db", "--threads", "1"]
    assert main(["letters", *common, "--max-batches", "2", "--out", "a.hdl"]) == 0
    capsys.readouterr()
    assert main(["letters", "a.hdl", *common, "--batch-size", "32"]) == 2
    err = capsys.readouterr().err
    assert "cannot resume a.hdl" in err and "batch_size" in err and "--init" in err
    assert main(["letters", *common, "--max-batches", "3", "--batch-size", "32", "--init", "a.hdl"]) == 0


def test_letters_trains_on_synthetic_letters_with_holdout_and_export(tiny_data, tmp_path, capsys, monkeypatch):
    from hdl_native.data.idx import IMAGES_FILE, LABELS_FILE

    monkeypatch.chdir(tmp_path)
    images, labels = bar_images(130, 26, seed=5)
    (tmp_path / "synth").mkdir()
    write_idx(tmp_path / "synth" / IMAGES_FILE, images)
    write_idx(tmp_path / "synth" / LABELS_FILE, labels)
    common = ["letters", "--data", str(tiny_data), "--quiet", "--no-db", "--threads", "1", "--json"]
    assert main(common + ["--train-from", "synth", "--holdout", "30", "--max-batches", "2", "--export", "e.hdl"]) == 0
    out = capsys.readouterr().out
    assert "(100 training images)" in out.splitlines()[0]
    summary = last_json(out)
    exported = load_checkpoint(tmp_path / "e.hdl")
    assert exported["optimizer"] is None and exported["test_report"]["batches"] == summary["batches"] == 2
    assert exported["settings"]["train_from"] == "synth" and exported["settings"]["holdout"] == 30

    write_idx(tmp_path / "synth" / LABELS_FILE, labels[:-1])
    assert main(common + ["--train-from", "synth", "--force"]) == 2  # --force: replacing letters.hdl is not the point
    err = capsys.readouterr().err
    assert LABELS_FILE in err and "129 labels" in err and "130 images" in err


def test_a_state_file_with_the_older_settings_layout_resumes(tiny_data, tmp_path, capsys, monkeypatch):
    """State files written before RunConfig stored the raw command-line flags as their settings."""
    from hdl_native.checkpoint import encode

    monkeypatch.chdir(tmp_path)
    common = ["--data", str(tiny_data), "--quiet", "--no-db", "--threads", "1", "--json"]
    assert main(["letters", *common, "--max-batches", "2", "--out", "old.hdl"]) == 0
    state = load_checkpoint(tmp_path / "old.hdl")
    assert state.pop("format_version") == 2
    assert state["settings"]["command"] == "letters" and state["settings"]["optimizer"]["kind"] == "momentum"
    state["settings"] = {"state": None, "mut_on_learn": False, "max_minutes": None, "json": True, "no_db": True}
    (tmp_path / "old.hdl").write_bytes(encode(state))
    capsys.readouterr()
    assert main(["letters", "old.hdl", *common, "--max-batches", "3"]) == 0
    assert last_json(capsys.readouterr().out)["batches"] == 3
