"""The chapter 6 SQLite log: schema, element mapping of parameters, and several runs in one file."""
import sqlite3

import numpy as np

from hdl_native.models import LettersCNN
from hdl_native.training.sqlite_log import Progress, SqliteLog, should_log_parameters


def test_parameter_snapshots_are_dense_then_every_32nd():
    logged = [b for b in range(200) if should_log_parameters(b)]
    assert logged[:32] == list(range(32)) and logged[32:] == [32, 64, 96, 128, 160, 192]


def test_parameter_rows_locate_every_element(tmp_path):
    model = LettersCNN(n_classes=26, seed=0)
    for p in model.parameters():
        p.grad = np.full(p.shape, 0.5, dtype=np.float32)
    log = SqliteLog(tmp_path / "vals.sqlite3", "letters", {"lr": 0.01})
    log.log_parameters(7, model.named_parameters())
    log.log_training(Progress(7, 0, 50.0, 1.5, 64, 0.01, 0.9))
    log.close()

    db = sqlite3.connect(tmp_path / "vals.sqlite3")
    counts = dict(db.execute("SELECT name, count(*) FROM data GROUP BY name"))
    assert counts["c1.weight"] == 32 * 9 and counts["c3.weight"] == 128 * 9
    assert counts["fc1.weight"] == 64 * 512 and counts["fc3.bias"] == 26
    val, grad = db.execute("SELECT val, grad FROM data WHERE name='c2.weight' AND idx=20 AND row=2 AND col=1").fetchone()
    np.testing.assert_allclose(val, model.c2.weight.value[20, :, 2, 1].sum(), rtol=1e-5)
    np.testing.assert_allclose(grad, 0.5 * 32, rtol=1e-6)
    val, = db.execute("SELECT val FROM data WHERE name='fc2.weight' AND idx=100 AND col=3").fetchone()
    np.testing.assert_allclose(val, model.fc2.weight.value[100, 3], rtol=1e-6)
    val, = db.execute("SELECT val FROM data WHERE name='c1.weight' AND idx=5 AND row=0 AND col=2").fetchone()
    np.testing.assert_allclose(val, model.c1.weight.value[5, 0, 0, 2], rtol=1e-6)


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
    val, grad = db.execute("SELECT val, grad FROM data WHERE name='fc2.weight' AND idx=7 AND col=9").fetchone()
    np.testing.assert_allclose((val, grad), (before[0], 1.0), rtol=1e-6)
    val, = db.execute("SELECT val FROM data WHERE name='fc2.bias' AND idx=4").fetchone()
    np.testing.assert_allclose(val, before[1], rtol=1e-6)


def test_unwritable_log_is_a_clear_error(tmp_path):
    import pytest

    from hdl_native.errors import HDLError
    from hdl_native.training.config import RunConfig
    from hdl_native.training.start import open_log

    with pytest.raises(HDLError, match="missing-dir"):
        open_log(RunConfig(db=str(tmp_path / "missing-dir" / "x.sqlite3")))
