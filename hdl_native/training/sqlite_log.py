"""Chapter 6's inspection log: training progress and parameter values in an SQLite file.

Tables (several runs share one file, told apart by ``startID``):

- ``runs``(startID, command, args, started): one row per run; args is JSON.
- ``training`` and ``validation``(startID, batchno, epoch, time, elapsed,
  cputime, corperc, avgloss, batchsize, lr, momentum): one row per training
  batch and per validation.  time is Unix time, elapsed the seconds since the
  run started, cputime the process CPU seconds, corperc percent correct,
  avgloss the mean loss.  For Adam, momentum holds beta1.
- ``snapshots``(startID, batchno, name, shape, val, grad): one row per
  parameter at each logged batch (should_log_parameters).  val and grad are
  little-endian float32 BLOBs of the parameter as logged, shape its dimensions
  as text ('64,512').  Conv weights (O, C, K, K) are logged SUMMED over the C
  input channels, as (O, K, K) (exact for c1, whose C is 1); linear weights
  (G, F) and biases (G,) as they are.  Read one with
  ``numpy.frombuffer(val, '<f4').reshape(shape)``; the shapes of a run:
  ``SELECT name, shape, length(val) / 4 FROM snapshots WHERE startID = 1 AND batchno = 0``.
- ``confusion``(startID, batchno, true, predicted, count): the non-zero
  cells of the confusion matrix at each test evaluation.

Logs written before the snapshots table had a ``data`` table instead, one row per
element (name, idx, row, col, val, grad); inspect/logdb.py still reads them.
A float32 BLOB takes 4 bytes an element where a ``data`` row took about 45, and
fewer snapshots are taken (see should_log_parameters): the default letters run
logs about 8 MB instead of 190 MB (BENCHMARKS.md, "SQLite log size").

Rows are buffered and each flush is written in one transaction by a writer
thread (so the inserts overlap with training).
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
SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (startID INTEGER PRIMARY KEY AUTOINCREMENT, command TEXT, args TEXT, started REAL);
CREATE TABLE IF NOT EXISTS training (startID INTEGER, batchno INTEGER, epoch INTEGER, time REAL, elapsed REAL,
    cputime REAL, corperc REAL, avgloss REAL, batchsize INTEGER, lr REAL, momentum REAL);
CREATE TABLE IF NOT EXISTS validation (startID INTEGER, batchno INTEGER, epoch INTEGER, time REAL, elapsed REAL,
    cputime REAL, corperc REAL, avgloss REAL, batchsize INTEGER, lr REAL, momentum REAL);
CREATE TABLE IF NOT EXISTS snapshots (startID INTEGER, batchno INTEGER, name TEXT, shape TEXT, val BLOB,
    grad BLOB);
CREATE TABLE IF NOT EXISTS confusion (startID INTEGER, batchno INTEGER, true INTEGER, predicted INTEGER,
    count INTEGER);
"""
DENSE_BATCHES = 8       # every batch at the start, where the parameters move fastest
SPARSE_SNAPSHOTS = 12   # then at most this many more, evenly over the planned run
STRIDE_UNIT = 32        # their spacing is a multiple of this, so the logged batch numbers stay round
LOGGED_DTYPE = np.dtype("<f4")


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


def parameter_stride(total_batches):
    """Batches between two snapshots after the dense start: the smallest multiple of STRIDE_UNIT
    that puts at most SPARSE_SNAPSHOTS - 1 of them in batches 1..total_batches - 1."""
    per_snapshot = -(-max(1, total_batches) // SPARSE_SNAPSHOTS)
    return STRIDE_UNIT * -(-per_snapshot // STRIDE_UNIT)


def should_log_parameters(batchno, total_batches):
    """Whether batch `batchno` of a run planned to `total_batches` logs its parameters.

    Batches 0..DENSE_BATCHES-1, every parameter_stride(total_batches)-th batch and the last
    planned one: at most DENSE_BATCHES + SPARSE_SNAPSHOTS snapshots however long the run is
    (20 for the default letters run, 1800 batches: 0..7, 160, 320, ..., 1760, 1799).
    """
    return (batchno < DENSE_BATCHES or batchno % parameter_stride(total_batches) == 0
            or batchno == total_batches - 1)


def reduce_parameter(array):
    """A float32 copy of one parameter as logged: conv weights (O, C, K, K) summed over C to (O, K, K),
    everything else as it is.

    Always a copy: the live arrays change in place at the next optimiser step.
    """
    reduced = array.sum(axis=1) if array.ndim == 4 else array
    return np.array(reduced, dtype=LOGGED_DTYPE, order="C")


def _lower_this_threads_priority():
    """Let the training threads have the cores first; the writer catches up in the gaps (Linux: per-thread nice)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    except (AttributeError, OSError):
        pass


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
        self._training, self._validation, self._snapshots, self._confusion = [], [], [], []
        self._error = None
        self._queue = queue.Queue(maxsize=8)  # bounded: a slow disk slows training instead of eating memory
        self._writer = threading.Thread(target=self._write_loop, name=f"sqlite-log-{self.start_id}", daemon=True)
        self._writer.start()

    def _connect(self):
        connection = sqlite3.connect(self.path)
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
            self._snapshots.append((int(batchno), name, reduce_parameter(param.value), reduce_parameter(grad)))

    def log_confusion(self, batchno, confusion):
        true, predicted = np.nonzero(confusion)
        self._confusion.extend(
            (self.start_id, int(batchno), int(t), int(p), int(confusion[t, p])) for t, p in zip(true, predicted))

    def flush(self):
        """Hand everything buffered to the writer thread (written there in one transaction)."""
        self._raise_writer_error()
        pending = (self._training, self._validation, self._snapshots, self._confusion)
        if any(pending):
            self._queue.put(pending)
        self._training, self._validation, self._snapshots, self._confusion = [], [], [], []

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

    def _write(self, connection, training, validation, snapshots, confusion):
        placeholders = f"VALUES ({','.join('?' * 11)})"
        with connection:
            connection.executemany(f"INSERT INTO training ({PROGRESS_COLUMNS}) {placeholders}", training)
            connection.executemany(f"INSERT INTO validation ({PROGRESS_COLUMNS}) {placeholders}", validation)
            connection.executemany("INSERT INTO snapshots VALUES (?, ?, ?, ?, ?, ?)", (
                (self.start_id, batchno, name, ",".join(map(str, values.shape)), values.tobytes(), grads.tobytes())
                for batchno, name, values, grads in snapshots))
            connection.executemany("INSERT INTO confusion VALUES (?, ?, ?, ?, ?)", confusion)
