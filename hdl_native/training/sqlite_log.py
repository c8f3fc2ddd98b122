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

Rows are buffered and each flush is written in one transaction by a writer
thread (so the inserts overlap with training); parameter snapshots go
through prepared multi-row INSERTs that bind only val and grad.
"""
import json
import os
import queue
import sqlite3
import threading
import time
from dataclasses import dataclass

import numpy as np

from ..errors import HDLError

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
ROWS_PER_STATEMENT = 200


@dataclass
class Progress:
    """What one row of the training or validation table says; the log adds the run's id and the clocks."""

    batchno: int
    epoch: int
    corperc: float   # percent correct
    avgloss: float   # mean loss
    batchsize: int   # images the row is about
    lr: float
    momentum: float  # beta1 for Adam


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


def _lower_this_threads_priority():
    """Let the training threads have the cores first; the writer catches up in the gaps (Linux: per-thread nice)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    except (AttributeError, OSError):
        pass


def reduce_parameter(array):
    """A copy of one parameter's logged values: conv weights summed over input channels, others flattened.

    Always a copy: the live arrays change in place at the next optimiser step.
    """
    if array.ndim == 4:
        return array.sum(axis=1).ravel()
    return array.ravel().copy()


class SqliteLog:
    """One run's log.  The training thread buffers rows; flush() hands them to a writer thread,
    which inserts each flush in one transaction, so the SQLite work overlaps with training.

    Call close() at the end: it waits until everything is written.  A failure in the
    writer is raised as HDLError at the next flush() or close().
    """

    def __init__(self, path, command, args):
        self.path = str(path)
        connection = self._connect()
        try:
            connection.executescript(SCHEMA)
            self.started = time.time()
            with connection:
                cursor = connection.execute(
                    "INSERT INTO runs (command, args, started) VALUES (?, ?, ?)",
                    (command, json.dumps(args, default=str, sort_keys=True), self.started))
            self.start_id = cursor.lastrowid
        finally:
            connection.close()
        self.cpu_started = time.process_time()
        self._training, self._validation, self._data, self._confusion = [], [], [], []
        self._layouts = {}
        self._statements_of = {}
        self._error = None
        self._queue = queue.Queue(maxsize=8)  # bounded: a slow disk slows training instead of eating memory
        self._writer = threading.Thread(target=self._write_loop, name=f"sqlite-log-{self.start_id}", daemon=True)
        self._writer.start()

    def _connect(self):
        # Parameter snapshots reuse a few hundred prepared INSERT statements (see _statements).
        connection = sqlite3.connect(self.path, cached_statements=2048)
        # Big pages make the bulk inserts about a third cheaper; only takes effect when the file is new.
        connection.execute("PRAGMA page_size=65536")
        # WAL with synchronous=NORMAL: commits skip fsync but a crash can never corrupt the file.
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        return connection

    # ------------------------------------------------------------- buffering (training thread)
    def _progress_row(self, progress):
        now = time.time()
        return (self.start_id, int(progress.batchno), int(progress.epoch), now, now - self.started,
                time.process_time() - self.cpu_started, float(progress.corperc), float(progress.avgloss),
                int(progress.batchsize), float(progress.lr), float(progress.momentum))

    def log_training(self, progress):
        """Buffer one row of the training table from a Progress."""
        self._training.append(self._progress_row(progress))

    def log_validation(self, progress):
        """Buffer one row of the validation table from a Progress."""
        self._validation.append(self._progress_row(progress))

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

    def flush(self):
        """Hand everything buffered to the writer thread (written there in one transaction)."""
        self._raise_writer_error()
        pending = (self._training, self._validation, self._data, self._confusion)
        if any(pending):
            self._queue.put(pending)
        self._training, self._validation, self._data, self._confusion = [], [], [], []

    def close(self):
        """Flush, wait until the writer has written everything, and stop it."""
        if self._writer.is_alive():
            self.flush()
            self._queue.put(None)
            self._writer.join()
        self._raise_writer_error()

    def _raise_writer_error(self):
        if self._error is not None:
            error, self._error = self._error, None
            raise HDLError(f"writing the SQLite log {self.path} failed: {error}") from None

    # ------------------------------------------------------------- writing (writer thread)
    def _write_loop(self):
        _lower_this_threads_priority()
        connection = None
        try:
            connection = self._connect()
            while (pending := self._queue.get()) is not None:
                if self._error is None:
                    try:
                        self._write(connection, *pending)
                    except (sqlite3.Error, OSError) as error:
                        self._error = error
        except (sqlite3.Error, OSError) as error:
            self._error = error
        finally:
            if connection is not None:
                connection.close()

    def _write(self, connection, training, validation, data, confusion):
        values = f"VALUES ({','.join('?' * 11)})"
        with connection:
            connection.executemany(f"INSERT INTO training ({PROGRESS_COLUMNS}) {values}", training)
            connection.executemany(f"INSERT INTO validation ({PROGRESS_COLUMNS}) {values}", validation)
            for batchno, name, values_array, grads in data:
                pairs = np.empty(2 * len(values_array), dtype=np.float64)
                pairs[0::2], pairs[1::2] = values_array, grads
                pairs = pairs.tolist()
                for first, stop, statement in self._statements(name):
                    connection.execute(statement, [batchno] + pairs[2 * first:2 * stop])
            connection.executemany("INSERT INTO confusion VALUES (?, ?, ?, ?, ?)", confusion)

    def _statements(self, name):
        """The INSERT statements for one parameter, ROWS_PER_STATEMENT rows each, built once per run.

        startID, name, idx, row and col are literals (they never change for an
        element), ?1 is the batch number and the rest are (val, grad) pairs, so a
        snapshot binds 2 values per row instead of 8 and reuses prepared statements.
        """
        if name not in self._statements_of:
            idx, row, col = self._layouts[name]
            quoted = "'" + name.replace("'", "''") + "'"
            statements = []
            for first in range(0, len(idx), ROWS_PER_STATEMENT):
                stop = min(first + ROWS_PER_STATEMENT, len(idx))
                rows = ",".join(
                    f"({self.start_id},?1,{quoted},{idx[k]},{row[k]},{col[k]},?{2 * (k - first) + 2},?{2 * (k - first) + 3})"
                    for k in range(first, stop))
                statements.append((first, stop, f"INSERT INTO data VALUES {rows}"))
            self._statements_of[name] = statements
        return self._statements_of[name]
