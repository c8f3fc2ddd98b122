"""The chapter 6 SQLite log: schema, parameter snapshots as float32 BLOBs, size, and several runs in one file."""
import sqlite3

import numpy as np

from hdl_native.inspect.logdb import LogDB
from hdl_native.models import LettersCNN
from hdl_native.training.sqlite_log import (DENSE_BATCHES, SPARSE_SNAPSHOTS, Progress, SqliteLog,
                                            should_log_parameters)


def test_parameter_snapshots_are_dense_then_evenly_spread_and_bounded():
    logged = [b for b in range(1800) if should_log_parameters(b, 1800)]  # the default letters run
    assert logged == list(range(8)) + list(range(160, 1800, 160)) + [1799]
    short = [b for b in range(120) if should_log_parameters(b, 120)]
    assert short == list(range(8)) + [32, 64, 96, 119]
    for total in (1, 7, 50, 513, 5400, 100_000):
        assert sum(should_log_parameters(b, total) for b in range(total)) <= DENSE_BATCHES + SPARSE_SNAPSHOTS


def stored(db, name, column="val", batchno=7):
    """One snapshots BLOB as a float32 array in its logged shape."""
    blob, shape = db.execute(f"SELECT {column}, shape FROM snapshots WHERE name = ? AND batchno = ?",
                             (name, batchno)).fetchone()
    return np.frombuffer(blob, dtype="<f4").reshape([int(n) for n in shape.split(",")])


def test_snapshots_are_float32_blobs_in_the_logged_shape(tmp_path):
    model = LettersCNN(n_classes=26, seed=0)
    for p in model.parameters():
        p.grad = np.full(p.shape, 0.5, dtype=np.float32)
    log = SqliteLog(tmp_path / "vals.sqlite3", "letters", {"lr": 0.01})
    log.log_parameters(7, model.named_parameters())
    log.log_training(Progress(7, 0, 50.0, 1.5, 64, 0.01, 0.9))
    log.close()

    db = sqlite3.connect(tmp_path / "vals.sqlite3")
    shapes = dict(db.execute("SELECT name, shape FROM snapshots"))
    assert shapes["c1.weight"] == "32,3,3" and shapes["c3.weight"] == "128,3,3"  # summed over input channels
    assert shapes["fc1.weight"] == "64,512" and shapes["fc3.bias"] == "26"
    np.testing.assert_allclose(stored(db, "c2.weight")[20, 2, 1], model.c2.weight.value[20, :, 2, 1].sum(), rtol=1e-5)
    np.testing.assert_allclose(stored(db, "c2.weight", "grad")[20, 2, 1], 0.5 * 32, rtol=1e-6)
    assert stored(db, "fc2.weight")[100, 3] == model.fc2.weight.value[100, 3]
    assert stored(db, "c1.weight")[5, 0, 2] == model.c1.weight.value[5, 0, 0, 2]


def test_reader_finds_each_element_where_the_old_data_rows_put_it(tmp_path):
    """idx = output unit or filter, (row, col) = kernel position for convs, (0, input) for linear weights."""
    model = LettersCNN(n_classes=26, seed=0)
    for p in model.parameters():
        p.grad = np.full(p.shape, 0.25, dtype=np.float32)
    path = tmp_path / "vals.sqlite3"
    log = SqliteLog(path, "letters", {})
    log.log_training(Progress(0, 0, 50.0, 1.5, 64, 0.01, 0.9))
    log.log_parameters(0, model.named_parameters())
    for p in model.parameters():
        p.data[...] += 1.0
    log.log_parameters(3, model.named_parameters())
    log.close()
    with LogDB(path) as db:
        batchnos, rows, cols, values, grads = db.parameter_history(log.start_id, "c2.weight", 20)
        assert batchnos.tolist() == [0, 3] and rows.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
        assert cols.tolist() == [0, 1, 2] * 3
        np.testing.assert_allclose(values[1] - values[0], 32.0, rtol=1e-5)  # +1 on each of 32 input channels
        np.testing.assert_allclose(values[1, 7], model.c2.weight.value[20, :, 2, 1].sum(), rtol=1e-5)
        np.testing.assert_allclose(grads, 0.25 * 32)
        batchnos, rows, cols, values, _ = db.parameter_history(log.start_id, "fc2.weight", 100)
        assert rows.tolist() == [0] * 64 and cols.tolist() == list(range(64))
        np.testing.assert_allclose(values[1], model.fc2.weight.value[100], rtol=1e-6)
        _, rows, cols, values, _ = db.parameter_history(log.start_id, "fc3.bias", 4)
        assert (rows.tolist(), cols.tolist()) == ([0], [0]) and values[1, 0] == model.fc3.bias.value[4]
        assert db.parameter_names(log.start_id)["c3.weight"] == 128
        assert db.logged_batches(log.start_id) == (0, 3)
        assert len(db.snapshot(log.start_id, 3)) == 32 * 9 + 64 * 9 + 128 * 9 + 64 * 512 + 128 * 64 + 26 * 128


def test_a_default_letters_run_logs_under_10_mb(tmp_path):
    """1800 batches (30 epochs of 60) with a validation every 120 batches, as `hdl-native letters` does."""
    total = 1800
    model = LettersCNN(n_classes=26, seed=0)
    path = tmp_path / "letters-vals.sqlite3"
    log = SqliteLog(path, "letters", {})
    for batchno in range(total):
        log.log_training(Progress(batchno, batchno // 60, 50.0, 1.0, 64, 0.01, 0.9))
        if should_log_parameters(batchno, total):
            log.log_parameters(batchno, model.named_parameters())
        if batchno % 120 == 119:
            log.log_validation(Progress(batchno, batchno // 60, 50.0, 1.0, 1000, 0.01, 0.9))
            log.flush()
    log.close()
    assert path.stat().st_size < 10e6


def test_runs_share_a_file_with_distinct_start_ids(tmp_path):
    path = tmp_path / "shared.sqlite3"
    ids = []
    for run in range(2):
        log = SqliteLog(path, "digits", {"run": run})
        for batch in range(3):
            log.log_training(Progress(batch, 0, 10.0 * batch, 2.0, 64, 0.01, 0.0))
        log.log_validation(Progress(3, 0, 42.0, 1.0, 1000, 0.01, 0.0))
        log.log_confusion(3, np.array([[3, 1], [0, 2]]))
        log.close()
        ids.append(log.start_id)
    assert ids[0] != ids[1]
    db = sqlite3.connect(path)
    assert db.execute("SELECT count(*) FROM training WHERE startID=?", (ids[1],)).fetchone()[0] == 3
    assert db.execute("SELECT corperc FROM validation WHERE startID=?", (ids[0],)).fetchone()[0] == 42.0
    assert sorted(db.execute("SELECT true, predicted, count FROM confusion WHERE startID=?", (ids[0],))) == [
        (0, 0, 3), (0, 1, 1), (1, 1, 2)]


def test_snapshots_keep_the_values_of_their_batch(tmp_path):
    """The optimiser changes parameters in place after a snapshot; the log must keep the old values."""
    model = LettersCNN(n_classes=3, seed=0)
    for p in model.parameters():
        p.grad = np.ones(p.shape, dtype=np.float32)
    before = model.fc2.weight.value[7, 9], model.fc2.bias.value[4]
    log = SqliteLog(tmp_path / "v.sqlite3", "letters", {})
    log.log_parameters(0, model.named_parameters())
    for p in model.parameters():
        p.data[...] += 1.0
        p.grad[...] = 5.0
    log.close()
    db = sqlite3.connect(tmp_path / "v.sqlite3")
    assert stored(db, "fc2.weight", batchno=0)[7, 9] == before[0]
    assert stored(db, "fc2.weight", "grad", batchno=0)[7, 9] == 1.0
    assert stored(db, "fc2.bias", batchno=0)[4] == before[1]


def test_unwritable_log_is_a_clear_error(tmp_path):
    import pytest

    from hdl_native.errors import HDLError
    from hdl_native.training.config import RunConfig
    from hdl_native.training.start import open_log

    with pytest.raises(HDLError, match="missing-dir"):
        open_log(RunConfig(db=str(tmp_path / "missing-dir" / "x.sqlite3")))
