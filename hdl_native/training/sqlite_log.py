"""Chapter 6's inspection log: training progress and parameter values in an SQLite file.

Tables (several runs share one file, told apart by ``startID``):

- ``runs``(startID, command, args, started): one row per run; args is JSON.
- ``training`` and ``validation``(startID, batchno, epoch, time, elapsed,
  cputime, corperc, avgloss, batchsize, lr, momentum): one row per training
  batch and per validation.  time is Unix time, elapsed the seconds since the
  run started, cputime the process CPU seconds, corperc percent correct,
  avgloss the mean loss.  For Adam, momentum holds beta1.
- ``data``(startID, batchno, name, idx, row, col, val, grad): every
  parameter during the first 32 batches and every 32nd batch after.
  Element mapping: Linear weight (G, F): idx = output unit, row = 0,
  col = input feature.  Conv weight (O, C, K, K): idx = output filter,
  row/col = kernel position, and val/grad are SUMMED over the C input
  channels (exact for c1, whose C is 1; this keeps c2/c3 at O*K*K rows).
  Biases (G,): idx = unit, row = col = 0.
- ``confusion``(startID, batchno, true, predicted, count): the non-zero
  cells of the confusion matrix at each test evaluation.

Rows are buffered and written with executemany in one transaction per
flush, so logging stays a small fraction of training time.
"""
import json
import sqlite3
import time

import numpy as np

PROGRESS_COLUMNS = "startID, batchno, epoch, time, elapsed, cputime, corperc, avgloss, batchsize, lr, momentum"
SCHEMA = f"""
CREATE TABLE IF NOT EXISTS runs (startID INTEGER PRIMARY KEY AUTOINCREMENT, command TEXT, args TEXT, started REAL);
CREATE TABLE IF NOT EXISTS training (startID INTEGER, batchno INTEGER, epoch INTEGER, time REAL, elapsed REAL,
    cputime REAL, corperc REAL, avgloss REAL, batchsize INTEGER, lr REAL, momentum REAL);
CREATE TABLE IF NOT EXISTS validation (startID INTEGER, batchno INTEGER, epoch INTEGER, time REAL, elapsed REAL,
    cputime REAL, corperc REAL, avgloss REAL, batchsize INTEGER, lr REAL, momentum REAL);
CREATE TABLE IF NOT EXISTS data (startID INTEGER, batchno INTEGER, name TEXT, idx INTEGER, row INTEGER,
    col INTEGER, val REAL, grad REAL);
CREATE TABLE IF NOT EXISTS confusion (startID INTEGER, batchno INTEGER, true INTEGER, predicted INTEGER,
    count INTEGER);
"""
DENSE_BATCHES = 32
SPARSE_EVERY = 32
ROWS_PER_STATEMENT = 100


def should_log_parameters(batchno):
    """Parameters are logged for batches 0..31 and then every 32nd batch."""
    return batchno < DENSE_BATCHES or batchno % SPARSE_EVERY == 0


def element_layout(shape):
    """(idx, row, col) int arrays for a parameter of `shape`, after reduce_parameter()."""
    if len(shape) == 4:
        out_channels, _, k_rows, k_cols = shape
        idx, row, col = np.meshgrid(np.arange(out_channels), np.arange(k_rows), np.arange(k_cols), indexing="ij")
        return idx.ravel(), row.ravel(), col.ravel()
    if len(shape) == 2:
        idx, col = np.meshgrid(np.arange(shape[0]), np.arange(shape[1]), indexing="ij")
        return idx.ravel(), np.zeros(idx.size, dtype=np.int64), col.ravel()
    size = int(np.prod(shape))
    zeros = np.zeros(size, dtype=np.int64)
    return np.arange(size), zeros, zeros


def reduce_parameter(array):
    """The logged values of one parameter array: conv weights summed over input channels, others flattened."""
    if array.ndim == 4:
        return array.sum(axis=1).ravel()
    return array.ravel()


class SqliteLog:
    """One run's writer: buffers rows, flushes them in one transaction each time flush() is called."""

    def __init__(self, path, command, args):
        self.path = str(path)
        self.connection = sqlite3.connect(self.path)
        # WAL with synchronous=NORMAL: commits skip fsync but the file can never be corrupted by a crash.
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.execute("PRAGMA synchronous=NORMAL")
        self.connection.executescript(SCHEMA)
        self.started = time.time()
        self.cpu_started = time.process_time()
        with self.connection:
            cursor = self.connection.execute(
                "INSERT INTO runs (command, args, started) VALUES (?, ?, ?)",
                (command, json.dumps(args, default=str, sort_keys=True), self.started))
        self.start_id = cursor.lastrowid
        self._training, self._validation, self._confusion = [], [], []
        self._data = []  # (batchno, name, values, grads) arrays, expanded to rows at flush time
        self._layouts = {}

    def _progress_row(self, batchno, epoch, corperc, avgloss, batchsize, lr, momentum):
        now = time.time()
        return (self.start_id, int(batchno), int(epoch), now, now - self.started,
                time.process_time() - self.cpu_started, float(corperc), float(avgloss), int(batchsize),
                float(lr), float(momentum))

    def log_training(self, batchno, epoch, corperc, avgloss, batchsize, lr, momentum):
        self._training.append(self._progress_row(batchno, epoch, corperc, avgloss, batchsize, lr, momentum))

    def log_validation(self, batchno, epoch, corperc, avgloss, batchsize, lr, momentum):
        self._validation.append(self._progress_row(batchno, epoch, corperc, avgloss, batchsize, lr, momentum))

    def log_parameters(self, batchno, named_parameters):
        """Snapshot every parameter's value and gradient (see the module docstring for the layout)."""
        for name, param in named_parameters:
            grad = param.grad if param.grad is not None else np.zeros_like(param.value)
            if name not in self._layouts:
                self._layouts[name] = tuple(column.tolist() for column in element_layout(param.shape))
            self._data.append((int(batchno), name, reduce_parameter(param.value), reduce_parameter(grad)))

    def log_confusion(self, batchno, confusion):
        true, predicted = np.nonzero(confusion)
        self._confusion.extend(
            (self.start_id, int(batchno), int(t), int(p), int(confusion[t, p])) for t, p in zip(true, predicted))

    def _data_rows(self):
        """All buffered data rows as one object array (n, 8), columns in the table's order."""
        total = sum(len(values) for _, _, values, _ in self._data)
        rows = np.empty((total, 8), dtype=object)
        rows[:, 0] = self.start_id
        start = 0
        for batchno, name, values, grads in self._data:
            block = rows[start:start + len(values)]
            idx, row, col = self._layouts[name]
            block[:, 1] = batchno
            block[:, 2] = name
            block[:, 3], block[:, 4], block[:, 5] = idx, row, col
            block[:, 6], block[:, 7] = values.tolist(), grads.tolist()
            start += len(values)
        return rows

    def _insert_data(self):
        """Insert the data rows ROWS_PER_STATEMENT at a time (about twice as fast as one row per statement)."""
        rows = self._data_rows()
        whole = len(rows) // ROWS_PER_STATEMENT * ROWS_PER_STATEMENT
        if whole:
            placeholders = ",".join(["(?, ?, ?, ?, ?, ?, ?, ?)"] * ROWS_PER_STATEMENT)
            self.connection.executemany(f"INSERT INTO data VALUES {placeholders}",
                                        rows[:whole].reshape(-1, 8 * ROWS_PER_STATEMENT).tolist())
        if whole < len(rows):
            self.connection.executemany("INSERT INTO data VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows[whole:].tolist())

    def flush(self):
        """Write everything buffered in one transaction."""
        with self.connection:
            if self._training:
                self.connection.executemany(f"INSERT INTO training ({PROGRESS_COLUMNS}) VALUES ({','.join('?' * 11)})",
                                            self._training)
            if self._validation:
                self.connection.executemany(f"INSERT INTO validation ({PROGRESS_COLUMNS}) VALUES ({','.join('?' * 11)})",
                                            self._validation)
            if self._data:
                self._insert_data()
            if self._confusion:
                self.connection.executemany("INSERT INTO confusion VALUES (?, ?, ?, ?, ?)", self._confusion)
        self._training, self._validation, self._data, self._confusion = [], [], [], []

    def close(self):
        self.flush()
        self.connection.close()
