"""`hdl-native plot`: reading the SQLite training log and drawing it, with clear errors for bad input."""
import json
import sqlite3

import numpy as np
import pytest

from hdl_native.cli import main
from hdl_native.errors import HDLError
from hdl_native.inspect.logdb import LogDB, parse_param_spec
from hdl_native.inspect.plots import running_mean

PROGRESS = "(startID INTEGER, batchno INTEGER, epoch INTEGER, time REAL, elapsed REAL, cputime REAL, " \
           "corperc REAL, avgloss REAL, batchsize INTEGER, lr REAL, momentum REAL)"


def conv_value(run, batchno, idx, row, col):
    """The value the fake log stores for c2.weight[idx, row, col] (so tests can check what comes back)."""
    return run * 0.5 + idx * 0.1 + row * 0.01 + col * 0.001 - batchno * 1e-3


def fake_parameters(run, batchno):
    """{name: (values, grads)} in the logged shapes: c2.weight with 4 filters of 3x3, fc1.bias of 5."""
    idx, rows, cols = np.indices((4, 3, 3))
    return {"c2.weight": (conv_value(run, batchno, idx, rows, cols), 0.01 * rows),
            "fc1.bias": (np.full(5, 0.2 - 0.001 * batchno), np.zeros(5))}


def insert_snapshots(connection, run, batchno):
    """The trainer's layout: one row per parameter, values and grads as float32 BLOBs."""
    for name, (values, grads) in fake_parameters(run, batchno).items():
        connection.execute("INSERT INTO snapshots VALUES (?,?,?,?,?,?)", (
            run, batchno, name, ",".join(map(str, values.shape)), values.astype("<f4").tobytes(),
            grads.astype("<f4").tobytes()))


def insert_data_rows(connection, run, batchno):
    """The layout of logs written before the snapshots table: one row per element."""
    for name, (values, grads) in fake_parameters(run, batchno).items():
        for (idx, *position), value in np.ndenumerate(values):
            row, col = position if len(position) == 2 else (0, 0)
            connection.execute("INSERT INTO data VALUES (?,?,?,?,?,?,?,?)",
                               (run, batchno, name, idx, row, col, value, grads[(idx, *position)]))


def build_log(path, layouts=("snapshots", "snapshots"), n_batches=40):
    """A small log in the trainer's schema: runs 1 and 2, their parameters in the tables `layouts` names."""
    connection = sqlite3.connect(path)
    connection.executescript(f"""
        CREATE TABLE runs (startID INTEGER PRIMARY KEY AUTOINCREMENT, command TEXT, args TEXT, started REAL);
        CREATE TABLE training {PROGRESS};
        CREATE TABLE validation {PROGRESS};
        CREATE TABLE data (startID INTEGER, batchno INTEGER, name TEXT, idx INTEGER, row INTEGER, col INTEGER,
                           val REAL, grad REAL);
        CREATE TABLE snapshots (startID INTEGER, batchno INTEGER, name TEXT, shape TEXT, val BLOB, grad BLOB);
        CREATE TABLE confusion (startID INTEGER, batchno INTEGER, true INTEGER, predicted INTEGER, count INTEGER);
    """)
    insert = {"snapshots": insert_snapshots, "data": insert_data_rows}
    for run, layout in enumerate(layouts, start=1):
        connection.execute("INSERT INTO runs VALUES (?, 'letters', ?, 0)", (run, json.dumps({"dataset": "letters"})))
        for batchno in range(n_batches):
            row = (run, batchno, 0, 1e9 + batchno, 0.1 * batchno, 0.2 * batchno, min(100, 3 * batchno),
                   3.0 / (1 + batchno), 64, 0.001, 0.9)
            connection.execute("INSERT INTO training VALUES (?,?,?,?,?,?,?,?,?,?,?)", row)
            if batchno % 10 == 9:
                connection.execute("INSERT INTO validation VALUES (?,?,?,?,?,?,?,?,?,?,?)", row)
            if batchno < 8 or batchno % 8 == 0:
                insert[layout](connection, run, batchno)
        connection.executemany("INSERT INTO confusion VALUES (?,?,?,?,?)",
                               [(run, 39, t, t, 30) for t in range(26)] + [(run, 39, 4, 5, 7), (run, 20, 0, 1, 99)])
    connection.commit()
    connection.close()
    return path


@pytest.fixture(params=[("snapshots", "snapshots"), ("data", "snapshots")], ids=["snapshots", "old-data-run-1"])
def log_path(tmp_path, request):
    """Both runs as the trainer logs them now, or run 1 in the old per-element layout (one file can hold both)."""
    return build_log(tmp_path / "letters-vals.sqlite3", request.param)


def test_plot_writes_every_picture_for_the_latest_run(log_path, tmp_path, capsys):
    from PIL import Image

    out = tmp_path / "plots"
    assert main(["plot", str(log_path), "--out", str(out), "--param", "c2:3", "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    summary = json.loads(lines[-1])
    assert summary["run"] == 2
    names = sorted(p.split("/")[-1] for p in summary["files"])
    assert names == ["confusion.png", "curves-batch.png", "curves-time.png", "param-c2.weight-3.png",
                     "weights-squared.png"]
    for path in summary["files"]:
        assert path in lines  # the list of files is printed
        with Image.open(path) as picture:
            picture.verify()
            assert picture.format == "PNG"


def test_plot_chosen_run_and_bias_parameter(log_path, tmp_path, capsys):
    out = tmp_path / "run1"
    assert main(["plot", str(log_path), "--out", str(out), "--run", "1", "--param", "fc1.bias:4", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["run"] == 1
    assert (out / "param-fc1.bias-4.png").stat().st_size > 1000


def test_parameter_history_returns_the_logged_values(log_path):
    with LogDB(log_path) as log:
        batchnos, rows, cols, values, grads = log.parameter_history(1, "c2.weight", 2)
        assert batchnos.tolist() == list(range(8)) + [8, 16, 24, 32]
        assert list(zip(rows.tolist(), cols.tolist())) == [(r, c) for r in range(3) for c in range(3)]
        expected = np.array([[conv_value(1, b, 2, r, c) for r in range(3) for c in range(3)] for b in batchnos])
        np.testing.assert_allclose(values, expected, rtol=1e-6)  # float32 BLOBs
        np.testing.assert_allclose(grads[:, 3:6], 0.01)  # row 1
        assert log.logged_batches(2) == (0, 32)
        assert len(log.snapshot(2, 0)) == 4 * 9  # weights only
        assert len(log.snapshot(2, 0, weights_only=False)) == 4 * 9 + 5
        batchno, matrix = log.confusion(2)
        assert batchno == 39 and matrix.shape == (26, 26)
        assert matrix[4, 5] == 7 and matrix[0, 1] == 0 and matrix.trace() == 26 * 30


def test_param_spec_parsing():
    assert parse_param_spec("c2:20") == ("c2.weight", 20)
    assert parse_param_spec("fc1.bias:3") == ("fc1.bias", 3)
    assert parse_param_spec("c1.weight:0") == ("c1.weight", 0)
    for bad in ("c2", "c2:", ":3", "c2:x", "c2:-1", "c2:1:2", ""):
        with pytest.raises(HDLError, match="LAYER:INDEX"):
            parse_param_spec(bad)


@pytest.mark.parametrize("param, message", [("c2:x", "LAYER:INDEX"), ("c2:4", "valid indices are 0..3"),
                                            ("c9:1", "no parameter 'c9.weight'")])
def test_plot_bad_param_is_a_one_line_error(log_path, tmp_path, capsys, param, message):
    assert main(["plot", str(log_path), "--out", str(tmp_path / "p"), "--param", param]) == 2
    error = capsys.readouterr().err
    assert message in error and "Traceback" not in error


def test_plot_bad_databases_are_one_line_errors(log_path, tmp_path, capsys):
    not_sqlite = tmp_path / "notes.sqlite3"
    not_sqlite.write_text("this is not a database\n" * 50)
    other_sqlite = tmp_path / "other.sqlite3"
    sqlite3.connect(other_sqlite).execute("CREATE TABLE t (x)").connection.commit()
    cases = [(tmp_path / "missing.sqlite3", "does not exist"), (not_sqlite, "not an SQLite database"),
             (other_sqlite, "no 'training' table")]
    for path, message in cases:
        assert main(["plot", str(path), "--out", str(tmp_path / "p")]) == 2
        assert message in capsys.readouterr().err
    assert not (tmp_path / "missing.sqlite3").exists()  # reading never creates a database
    assert main(["plot", str(log_path), "--out", str(tmp_path / "p"), "--run", "7"]) == 2
    assert "no run with startID 7; runs present: 1-2" in capsys.readouterr().err
    assert main(["plot", str(log_path), "--out", str(not_sqlite)]) == 2  # a file where the pictures' folder goes
    assert capsys.readouterr().err.strip().endswith(f"cannot create output folder {not_sqlite}: it is a file; name a "
                                                    "folder")


@pytest.mark.parametrize("damage, message", [
    ("UPDATE snapshots SET val = x'0102'", "table 'snapshots': the val of 'c2.weight' at batch 0 holds 2 bytes"),
    ("UPDATE snapshots SET shape = 'garbage'", "table 'snapshots' gives 'c2.weight' at batch 0 the shape 'garbage'"),
    ("UPDATE confusion SET true = 999999999", "table 'confusion' holds the class index 999999999"),
    ("UPDATE training SET batchno = 'abc'", "table 'training' holds 'abc' in column batchno, not a number"),
], ids=["blob-size", "shape", "class-index", "text-batchno"])
def test_plot_damaged_log_is_a_one_line_error(tmp_path, capsys, damage, message):
    path = build_log(tmp_path / "damaged.sqlite3")
    connection = sqlite3.connect(path)
    connection.execute(damage)
    connection.commit()
    connection.close()
    for extra in ([], ["--param", "c2:1"]):
        assert main(["plot", str(path), "--out", str(tmp_path / "p"), *extra]) == 2
        error = capsys.readouterr().err
        assert error.count("\n") == 1 and f"{path}: {message}" in error


def test_running_mean():
    np.testing.assert_allclose(running_mean([1, 2, 3, 4], 2), [1, 1.5, 2.5, 3.5])
    np.testing.assert_allclose(running_mean([5.0], 10), [5.0])


def test_log_with_only_training_progress_draws_curves_and_says_what_is_missing(tmp_path, capsys):
    path = tmp_path / "bare.sqlite3"
    connection = sqlite3.connect(path)
    connection.execute(f"CREATE TABLE training {PROGRESS}")
    connection.executemany("INSERT INTO training VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                           [(5, b, 0, 1e9 + b, b, b, 50.0, 1.0, 64, 0.01, 0.9) for b in range(10)])
    connection.commit()
    connection.close()
    assert main(["plot", str(path), "--out", str(tmp_path / "p"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["run"] == 5
    assert sorted(p.split("/")[-1] for p in summary["files"]) == ["curves-batch.png", "curves-time.png"]
    assert any("squared-weight" in note for note in summary["notes"])
    assert any("confusion" in note for note in summary["notes"])
    assert main(["plot", str(path), "--out", str(tmp_path / "p"), "--param", "c2:1"]) == 2
    assert "no 'snapshots' table" in capsys.readouterr().err


def test_a_bad_input_leaves_no_new_folder_behind(log_path, tmp_path, capsys):
    assert main(["plot", str(tmp_path / "nonexist.sqlite3"), "--out", str(tmp_path / "newdir")]) == 2
    assert "does not exist" in capsys.readouterr().err and not (tmp_path / "newdir").exists()
    not_a_state = tmp_path / "notastate.txt"
    not_a_state.write_text("hello\n")
    assert main(["plot", "--prune-curve", str(not_a_state), "--out", str(tmp_path / "newdir" / "sub")]) == 2
    assert capsys.readouterr().err.count("\n") == 1 and not (tmp_path / "newdir").exists()
    assert main(["plot", str(log_path), "--out", str(tmp_path / "newdir"), "--run", "7"]) == 2
    assert not (tmp_path / "newdir").exists()


def test_a_failure_while_drawing_removes_the_folder_plot_made_but_never_one_that_was_there(tmp_path, capsys,
                                                                                             monkeypatch):
    from hdl_native.inspect import plots

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(plots, "plot_curves", interrupted)
    path = build_log(tmp_path / "log.sqlite3")
    assert main(["plot", str(path), "--out", str(tmp_path / "new" / "sub")]) == 130
    assert not (tmp_path / "new").exists()
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "keep.txt").write_text("mine\n")
    assert main(["plot", str(path), "--out", str(tmp_path / "mine")]) == 130
    assert (tmp_path / "mine" / "keep.txt").read_text() == "mine\n"
    capsys.readouterr()
