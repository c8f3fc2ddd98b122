"""Read the trainer's SQLite inspection log (see training/sqlite_log.py for the schema); only SELECTs are run.

Parameter values come from the ``snapshots`` table (float32 BLOBs) or, in logs written before it
existed, from the ``data`` table (one row per element); the choice is made per run, so a file whose
old runs have ``data`` rows and new runs ``snapshots`` rows reads both.

Every defect a user can cause (missing file, not SQLite, a table or run or parameter
that is not there, a value that is not what the trainer writes) raises HDLError naming the file and
what is wrong.
"""
import json
import math
import re
import sqlite3
from pathlib import Path

import numpy as np

from ..errors import HDLError

PROGRESS_TABLES = ("training", "validation")
PROGRESS_FIELDS = ("batchno", "epoch", "time", "elapsed", "cputime", "corperc", "avgloss", "batchsize", "lr",
                   "momentum")
_PARAM_SPEC = re.compile(r"^(?P<name>[A-Za-z_][\w.]*?)(?:\.(?P<kind>weight|bias))?:(?P<idx>\d+)$")
_SHAPE = re.compile(r"\d+(,\d+)*")
# The confusion picture is 0.32 inch per class, and no dataset hdl-native trains on comes near this many
# classes: a larger index is damage, and would otherwise ask for an exabyte-sized matrix.
MAX_CLASSES = 1000
CONFUSION_FIELDS = ("batchno", "true", "predicted", "count")


class DamagedLogError(HDLError):
    """A table holds a value the trainer never writes (a damaged or hand-edited log)."""


class LogDB:
    """An open, read-only inspection log.  Use as a context manager or call close()."""

    def __init__(self, path):
        self.path = Path(path)
        if not self.path.exists():
            raise HDLError(f"log database {self.path} does not exist")
        if not self.path.is_file():
            raise HDLError(f"log database {self.path} is not a file")
        try:
            # mode=rw never creates a file; read-only mode would fail on a WAL log that has no -shm file yet
            self.connection = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=rw", uri=True, timeout=10)
            self.tables = {row[0] for row in
                           self.connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        except sqlite3.DatabaseError as error:
            raise HDLError(f"{self.path} is not an SQLite database ({error})") from None
        if "training" not in self.tables:
            raise HDLError(f"{self.path} holds no 'training' table: not an hdl-native training log "
                           f"(tables: {', '.join(sorted(self.tables)) or 'none'})")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.connection.close()

    def query(self, sql, parameters=()):
        """All rows of a query; database errors become HDLError naming the file."""
        try:
            return self.connection.execute(sql, parameters).fetchall()
        except sqlite3.DatabaseError as error:
            raise HDLError(f"{self.path}: cannot read the log ({error})") from None

    def run_ids(self):
        """Sorted startIDs that logged training progress."""
        return [row[0] for row in self.query("SELECT DISTINCT startID FROM training ORDER BY startID")]

    def choose_run(self, run=None):
        """The startID to show: `run` if it exists, else the latest; HDLError when there is none."""
        ids = self.run_ids()
        if not ids:
            raise HDLError(f"{self.path}: the log holds no training runs yet")
        if run is None:
            return ids[-1]
        if run not in ids:
            raise HDLError(f"{self.path}: no run with startID {run}; runs present: {_ranges(ids)}")
        return run

    def run_info(self, run):
        """{'command', 'args' (dict), 'started'} from the runs table, or {} when it is absent."""
        if "runs" not in self.tables:
            return {}
        rows = self.query("SELECT command, args, started FROM runs WHERE startID = ?", (run,))
        if not rows:
            return {}
        command, args, started = rows[0]
        try:
            args = json.loads(args) if args else {}
        except ValueError:
            args = {}
        return {"command": command, "args": args if isinstance(args, dict) else {}, "started": started}

    def progress(self, table, run):
        """Columns of `training` or `validation` for one run, ordered by batch: {field: float64 array}."""
        if table not in PROGRESS_TABLES:
            raise ValueError(f"unknown progress table {table!r}")
        if table not in self.tables:
            return {field: np.zeros(0) for field in PROGRESS_FIELDS}
        rows = self.query(f"SELECT {', '.join(PROGRESS_FIELDS)} FROM {table} WHERE startID = ? ORDER BY batchno, time",
                          (run,))
        columns = self._numbers(table, PROGRESS_FIELDS, rows).reshape(-1, len(PROGRESS_FIELDS))
        return {field: columns[:, i] for i, field in enumerate(PROGRESS_FIELDS)}

    def _parameter_table(self, run):
        """'snapshots' (one float32 BLOB per parameter and batch) or, for logs written before it, 'data'
        (one row per element); HDLError when the file has neither."""
        if "snapshots" in self.tables and (
                "data" not in self.tables or self.query("SELECT 1 FROM snapshots WHERE startID = ? LIMIT 1", (run,))):
            return "snapshots"
        if "data" in self.tables:
            return "data"
        raise HDLError(f"{self.path} holds no 'snapshots' table (parameter values were not logged)")

    def _snapshot_rows(self, run, condition="", parameters=()):
        """(batchno, name, values float32 array in the logged shape, grads) of the snapshots rows that match."""
        rows = self.query(f"SELECT batchno, name, shape, val, grad FROM snapshots WHERE startID = ?{condition} "
                          "ORDER BY batchno, rowid", (run, *parameters))
        return [(batchno, name, self._blob_array(batchno, name, shape, "val", val),
                 self._blob_array(batchno, name, shape, "grad", grad))
                for batchno, name, shape, val, grad in rows]

    def _shape(self, batchno, name, shape):
        """The sizes a snapshots row's 'O,K,K'-style shape column gives; HDLError when it is something else."""
        if not isinstance(shape, str) or not _SHAPE.fullmatch(shape):
            raise DamagedLogError(f"{self.path}: table 'snapshots' gives {name!r} at batch {batchno} "
                                  f"the shape {shape!r}, not sizes like 16,3,3")
        return [int(size) for size in shape.split(",")]

    def _blob_array(self, batchno, name, shape, column, blob):
        """A snapshots BLOB (little-endian float32) as an array of its row's shape; HDLError when they disagree."""
        sizes = self._shape(batchno, name, shape)
        expected = 4 * math.prod(sizes)
        if not isinstance(blob, bytes) or len(blob) != expected:
            held = f"{len(blob)} bytes" if isinstance(blob, bytes) else "no BLOB"
            raise DamagedLogError(f"{self.path}: table 'snapshots': the {column} of {name!r} at batch {batchno} "
                                  f"holds {held}; shape {shape} needs {expected} bytes")
        return np.frombuffer(blob, dtype="<f4").reshape(sizes)

    def _numbers(self, table, fields, rows, dtype=np.float64):
        """rows (tuples of `fields` read from `table`) as a dtype array; HDLError naming the first cell that is
        not a number."""
        try:
            return np.array(rows, dtype=dtype)
        except (TypeError, ValueError):
            for row in rows:
                for field, value in zip(fields, row):
                    try:
                        dtype(value)
                    except (TypeError, ValueError):
                        raise DamagedLogError(f"{self.path}: table {table!r} holds {value!r} in column {field}, "
                                              "not a number") from None
            raise

    def parameter_names(self, run):
        """{name: number of idx values} of the parameters logged for a run."""
        table = self._parameter_table(run)
        first = f"(SELECT MIN(batchno) FROM {table} WHERE startID = ?)"
        if table == "snapshots":
            rows = self.query(f"SELECT name, shape, batchno FROM snapshots WHERE startID = ? AND batchno = {first}",
                              (run, run))
            return {name: self._shape(batchno, name, shape)[0] for name, shape, batchno in rows}
        rows = self.query(f"SELECT name, MAX(idx) + 1 FROM data WHERE startID = ? AND batchno = {first} GROUP BY name",
                          (run, run))
        return dict(rows)

    def parameter_history(self, run, name, idx):
        """One parameter element group over time: (batchnos (T,), rows (E,), cols (E,), values (T, E), grads (T, E)).

        E elements are the (row, col) positions logged under (name, idx), e.g. the 3x3 kernel of a conv filter.
        """
        if self._parameter_table(run) == "snapshots":
            history = self._snapshot_rows(run, " AND name = ?", (name,))
            if not history or idx >= len(history[0][2]):
                self._raise_unknown_parameter(run, name, idx)
            rows, cols = element_positions(history[0][2].shape)
            batchnos = self._numbers("snapshots", ("batchno",), [(batchno,) for batchno, *_ in history], np.int64)
            return (batchnos.ravel(), rows, cols,
                    np.array([values[idx].ravel() for _, _, values, _ in history], dtype=np.float64),
                    np.array([grads[idx].ravel() for _, _, _, grads in history], dtype=np.float64))
        rows = self.query("SELECT batchno, row, col, val, grad FROM data WHERE startID = ? AND name = ? AND idx = ?",
                          (run, name, idx))
        if not rows:
            self._raise_unknown_parameter(run, name, idx)
        table = self._numbers("data", ("batchno", "row", "col", "val", "grad"), rows)
        batchnos, batch_index = np.unique(table[:, 0], return_inverse=True)
        positions, position_index = np.unique(table[:, 1:3], axis=0, return_inverse=True)
        values = np.full((len(batchnos), len(positions)), np.nan)
        grads = np.full_like(values, np.nan)
        values[batch_index, position_index.ravel()] = table[:, 3]
        grads[batch_index, position_index.ravel()] = table[:, 4]
        return batchnos.astype(np.int64), positions[:, 0].astype(int), positions[:, 1].astype(int), values, grads

    def _raise_unknown_parameter(self, run, name, idx):
        """HDLError saying whether `name` or only `idx` is unknown, and what the run did log."""
        known = self.parameter_names(run)
        if name not in known:
            raise HDLError(f"{self.path}: run {run} logged no parameter {name!r}; logged: "
                           f"{', '.join(sorted(known)) or 'none'}")
        raise HDLError(f"{self.path}: parameter {name!r} has no index {idx} in run {run}; "
                       f"valid indices are 0..{known[name] - 1}")

    def logged_batches(self, run):
        """(first, last) batchno with logged parameters for a run; HDLError when there are none."""
        table = self._parameter_table(run)
        rows = self.query(f"SELECT MIN(batchno), MAX(batchno) FROM {table} WHERE startID = ?", (run,))
        if rows[0][0] is None:
            raise HDLError(f"{self.path}: run {run} logged no parameter values")
        first, last = self._numbers(table, ("batchno", "batchno"), rows, np.int64)[0]
        return int(first), int(last)

    def snapshot(self, run, batchno, weights_only=True):
        """float64 values of every logged element at one batch (only '*.weight' names when weights_only)."""
        condition = " AND batchno = ?" + (" AND name LIKE '%.weight'" if weights_only else "")
        if self._parameter_table(run) == "snapshots":
            arrays = [values.ravel() for _, _, values, _ in self._snapshot_rows(run, condition, (batchno,))]
            return np.concatenate(arrays).astype(np.float64) if arrays else np.zeros(0)
        rows = self.query(f"SELECT val FROM data WHERE startID = ?{condition}", (run, batchno))
        return self._numbers("data", ("val",), rows).reshape(-1)

    def confusion(self, run):
        """(batchno, matrix int64 (C, C)) of the run's last test evaluation, or None when none was logged.

        C covers every class index seen in any of the run's confusion rows.
        """
        if "confusion" not in self.tables:
            return None
        rows = self.query("SELECT batchno, true, predicted, count FROM confusion WHERE startID = ?", (run,))
        if not rows:
            return None
        table = self._numbers("confusion", CONFUSION_FIELDS, rows, np.int64)
        classes = table[:, 1:3]
        if classes.min() < 0 or classes.max() >= MAX_CLASSES:
            bad = classes.min() if classes.min() < 0 else classes.max()
            raise DamagedLogError(f"{self.path}: table 'confusion' holds the class index {bad}, "
                                  f"outside 0..{MAX_CLASSES - 1}")
        size = int(classes.max()) + 1
        last = table[table[:, 0] == table[:, 0].max()]
        matrix = np.zeros((size, size), dtype=np.int64)
        np.add.at(matrix, (last[:, 1], last[:, 2]), last[:, 3])
        return int(last[0, 0]), matrix


def element_positions(shape):
    """(rows (E,), cols (E,)) of the elements one idx holds in a logged parameter of `shape`, row-major.

    Logged conv weights (O, K, K) give the K x K kernel positions, linear weights (G, F) row 0 and
    columns 0..F-1, biases (G,) the single position (0, 0).
    """
    if len(shape) == 3:
        rows, cols = np.indices(shape[1:])
    elif len(shape) == 2:
        rows, cols = np.indices((1, shape[1]))
    else:
        rows, cols = np.indices((1, 1))
    return rows.ravel(), cols.ravel()


def parse_param_spec(spec):
    """'c2:20' -> ('c2.weight', 20); 'fc1.bias:3' -> ('fc1.bias', 3).  HDLError for anything else."""
    match = _PARAM_SPEC.match(spec.strip()) if isinstance(spec, str) else None
    if not match:
        raise HDLError(f"--param {spec!r} is not LAYER:INDEX, e.g. c2:20 (filter 20 of c2's weights) "
                       "or fc1.bias:3")
    return f"{match['name']}.{match['kind'] or 'weight'}", int(match["idx"])


def _ranges(ids):
    """'1-3, 7' for the sorted ids [1, 2, 3, 7]."""
    groups = [[ids[0], ids[0]]]
    for current in ids[1:]:
        if current == groups[-1][1] + 1:
            groups[-1][1] = current
        else:
            groups.append([current, current])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in groups)
