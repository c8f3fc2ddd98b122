"""Data-parallel training across processes (and machines) on MPI: who am I, how many are we, average the gradients.

Started by an MPI launcher (``mpiexec -n 2 python train.py``), every process runs the same program;
each one trains on its own part of every batch, and before each optimiser step the gradients are
averaged over all of them, so every process steps to the same parameters::

    from hdl_native import distributed
    world = distributed.get_world()
    world.broadcast_parameters(model)               # everyone starts from rank 0's parameters
    for indices in batches:                         # the same global batches on every rank
        mine = world.shard(indices)
        ...forward and backward on the images at `mine`...
        world.allreduce_gradients(optimizer, weight=len(mine) / len(indices))
        optimizer.step()

mpi4py (the ``mpi`` extra: ``pip install hdl_native[mpi]``) is imported only when the launcher started
more than one process (or ``get_world(require_mpi=True)`` asks): one process on its own gets a
World of size 1 whose operations do nothing, and never loads MPI.

Faults: a blocking collective waits for every rank, so a peer that died or hung would stall the others
for ever.  Open MPI's launcher kills the whole job when a process dies and names the lost rank;
``stop_all_on_error()`` turns an exception on one rank into an MPI abort of all (naming that rank);
and a watchdog thread aborts everything, naming the waiting rank and the operation, when one
collective has waited longer than HDL_MPI_TIMEOUT seconds (default 120) -- whatever the MPI library.
"""
import os
import sys
import threading
import time
import traceback
from contextlib import contextmanager

import numpy as np

# Variables by which MPI launchers tell a process how many processes they started:
# Open MPI, MPICH/Intel MPI (Hydra, PMI), MVAPICH.
LAUNCHER_SIZE_VARIABLES = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "MV2_COMM_WORLD_SIZE")
TIMEOUT_VARIABLE = "HDL_MPI_TIMEOUT"
DEFAULT_TIMEOUT = 120.0  # seconds: longer than any collective of a healthy run waits (a test, a checkpoint)


def launched_size():
    """How many processes the MPI launcher started, from its environment (1 without a launcher)."""
    for name in LAUNCHER_SIZE_VARIABLES:
        value = os.environ.get(name, "")
        if value.isdigit():
            return int(value)
    return 1


class World:
    """One process on its own: rank 0 of 1; every collective operation leaves its arguments as they are."""

    size, rank = 1, 0

    @property
    def is_root(self):
        """True on rank 0, the process that writes files and prints."""
        return self.rank == 0

    def shard(self, indices):
        """This rank's contiguous part of a global batch `indices` (n,): sizes differ by at most one, the
        first n mod size ranks taking one more; empty when n < size."""
        return np.array_split(np.asarray(indices), self.size)[self.rank]

    def broadcast_parameters(self, model):
        """Give every rank rank 0's parameter values (a Module or [(name, Tensor)] or [Tensor])."""

    def allreduce_gradients(self, params, weight=None):
        """Sum weight x gradient over the ranks, in place (weight None: 1/size, the average).

        params: an Optimizer (its flat gradient arrays, one Allreduce per dtype), a Module, or parameters.
        With each rank's `weight` = its share of the global batch, the result is the gradient of the mean
        loss over the whole batch, whatever the shard sizes.
        """

    def sum(self, values):
        """float64 (k,): the element-wise sum of `values` over the ranks."""
        return np.asarray(values, dtype=np.float64)

    def allgather(self, item):
        """[item of rank 0, item of rank 1, ...] on every rank (any picklable object)."""
        return [item]

    def gather(self, item):
        """The list of every rank's item on rank 0, None elsewhere."""
        return [item]

    def broadcast(self, item):
        """Rank 0's `item` on every rank (any picklable object)."""
        return item

    @contextmanager
    def stop_all_on_error(self, name="hdl-native"):
        """Nothing to stop alone."""
        yield


class MPIWorld(World):
    """The processes an MPI launcher started (mpi4py's COMM_WORLD), with a watchdog on every collective."""

    def __init__(self, comm, timeout=DEFAULT_TIMEOUT):
        from mpi4py import MPI

        self.MPI, self.comm = MPI, comm
        self.size, self.rank = comm.Get_size(), comm.Get_rank()
        self.timeout = float(timeout)
        self._waiting = None  # (what, since) while this rank waits in a collective
        threading.Thread(target=self._watch, name="hdl-mpi-watchdog", daemon=True).start()

    # ------------------------------------------------------------- collectives
    def broadcast_parameters(self, model):
        for tensor in _tensors(model):
            with self._waiting_in("the parameter broadcast"):
                self.comm.Bcast(tensor.data, root=0)  # .data marks the parameter modified

    def allreduce_gradients(self, params, weight=None):
        weight = 1.0 / self.size if weight is None else float(weight)
        buffers = _flat_gradients(params)
        packed = buffers is None
        if packed:  # no flat arrays: one packed copy per dtype, reduced, then copied back
            buffers = _pack_gradients(params)
        for buffer in buffers:
            if weight != 1.0:
                buffer *= buffer.dtype.type(weight)
            with self._waiting_in("the gradient Allreduce"):
                self.comm.Allreduce(self.MPI.IN_PLACE, buffer, op=self.MPI.SUM)
        if packed:
            _unpack_gradients(params, buffers)

    def sum(self, values):
        values = np.array(values, dtype=np.float64)
        with self._waiting_in("a sum over the ranks"):
            self.comm.Allreduce(self.MPI.IN_PLACE, values, op=self.MPI.SUM)
        return values

    def allgather(self, item):
        with self._waiting_in("an allgather"):
            return self.comm.allgather(item)

    def gather(self, item):
        with self._waiting_in("a gather to rank 0"):
            return self.comm.gather(item, root=0)

    def broadcast(self, item):
        with self._waiting_in("a broadcast from rank 0"):
            return self.comm.bcast(item, root=0)

    # ------------------------------------------------------------- faults
    @contextmanager
    def stop_all_on_error(self, name="hdl-native"):
        """Abort every rank when this one raises: the others would otherwise wait for it for ever.

        An HDLError prints as the CLI prints it (one line, its exit code), anything else with its traceback.
        """
        from .errors import HDLError

        try:
            yield
        except BaseException as error:  # a second Ctrl-C or sys.exit must stop the peers too
            if isinstance(error, HDLError):
                message, code = f"{name}: error: {error}", getattr(error, "exit_code", 2)
            elif isinstance(error, KeyboardInterrupt):
                message, code = f"{name}: interrupted", 130
            elif isinstance(error, SystemExit):
                message, code = f"{name}: exited with {error.code}", error.code if isinstance(error.code, int) else 1
            else:
                message, code = "".join(traceback.format_exception(type(error), error, error.__traceback__)), 1
            self.abort(code, message)

    def abort(self, code, message):
        """Print `message` naming this rank, then take every rank of the job down with exit code `code`."""
        print(f"[rank {self.rank} of {self.size}] {message.rstrip()}\n"
              f"[rank {self.rank} of {self.size}] stopping all {self.size} ranks", file=sys.stderr, flush=True)
        self.comm.Abort(code)

    @contextmanager
    def _waiting_in(self, what):
        self._waiting = (what, time.monotonic())
        try:
            yield
        finally:
            self._waiting = None

    def _watch(self):
        """Abort the job when one collective has waited longer than the timeout (a peer died or hangs)."""
        while True:
            time.sleep(min(1.0, self.timeout / 4))
            waiting = self._waiting
            if waiting is not None and time.monotonic() - waiting[1] > self.timeout:
                self.abort(1, f"no answer from the other ranks for {self.timeout:g} s in {waiting[0]}: "
                              f"one of them has died or hangs (set {TIMEOUT_VARIABLE} to wait longer)")


_WORLD = None


def get_world(require_mpi=False):
    """This process's World: an MPIWorld when launched by MPI with more than one process (or `require_mpi`),
    else the World of one.  Made once per process.  Raises HDLError when MPI is wanted but mpi4py is absent."""
    global _WORLD
    if _WORLD is None or (require_mpi and not isinstance(_WORLD, MPIWorld)):
        _WORLD = _make_world(require_mpi)
    return _WORLD


def _make_world(require_mpi):
    size = launched_size()
    if size <= 1 and not require_mpi:
        return World()
    try:
        from mpi4py import MPI
    except ImportError:
        from .errors import HDLError

        raise HDLError(f"started by an MPI launcher with {size} processes, but mpi4py is not installed "
                       "(pip install 'hdl_native[mpi]')") from None
    return MPIWorld(MPI.COMM_WORLD, timeout=_timeout_from_environment())


def _timeout_from_environment():
    value = os.environ.get(TIMEOUT_VARIABLE)
    if value is None:
        return DEFAULT_TIMEOUT
    try:
        timeout = float(value)
    except ValueError:
        timeout = float("nan")
    if not timeout > 0:
        from .errors import HDLError

        raise HDLError(f"{TIMEOUT_VARIABLE}={value!r} must be a number of seconds > 0")
    return timeout


def world_size():
    """How many processes train together (1 without MPI)."""
    return get_world().size


def rank():
    """This process's number among them, 0 .. world_size() - 1."""
    return get_world().rank


def broadcast_parameters(model):
    """Give every rank rank 0's parameter values (see World.broadcast_parameters)."""
    get_world().broadcast_parameters(model)


def allreduce_gradients(params, weight=None):
    """Average (or weight and sum) the gradients over the ranks, in place (see World.allreduce_gradients)."""
    get_world().allreduce_gradients(params, weight)


# ------------------------------------------------------------- where the gradients live
def _tensors(params):
    """The parameter Tensors of a Module, an Optimizer, [(name, Tensor)] or [Tensor], in a fixed order."""
    if hasattr(params, "named_params"):  # an Optimizer
        params = params.named_params
    elif hasattr(params, "named_parameters"):
        params = params.named_parameters()
    return [item[1] if isinstance(item, tuple) else item for item in params]


def _flat_gradients(params):
    """The 1-D arrays that hold exactly the gradients of `params` (an optimiser's flat groups), or None.

    An Optimizer re-homes its gradients into one flat array per dtype (hdl_native.flat_params) first, so the
    reduction is one Allreduce per dtype; for other inputs the flat arrays are found as the gradients' bases.
    """
    if hasattr(params, "current_flat_groups"):
        groups = params.current_flat_groups()
        return None if groups is None else [group.grad for group in groups]
    grads = [tensor.grad for tensor in _tensors(params)]
    if not grads or any(grad is None for grad in grads):
        return None
    by_base = {}
    for grad in grads:
        base = grad.base
        if base is None or base.ndim != 1 or not (base.flags.c_contiguous and grad.flags.c_contiguous):
            return None
        by_base.setdefault(id(base), []).append(grad)
    bases = []
    for members in by_base.values():
        base = members[0].base
        starts = {grad.__array_interface__["data"][0] for grad in members}
        if len(starts) != len(members) or sum(grad.size for grad in members) != base.size:
            return None  # a base holding more than these gradients, or two gradients sharing memory
        bases.append(base)
    return bases


def _pack_gradients(params):
    """One contiguous copy of the gradients per dtype, in parameter order (missing gradients count as 0)."""
    by_dtype = {}
    for tensor in _tensors(params):
        grad = tensor.grad if tensor.grad is not None else np.zeros(tensor.shape, tensor.dtype)
        by_dtype.setdefault(np.dtype(grad.dtype), []).append(grad.reshape(-1))
    return [np.concatenate(parts) for _, parts in sorted(by_dtype.items(), key=lambda item: item[0].str)]


def _unpack_gradients(params, buffers):
    """Copy the reduced packed `buffers` back into the gradients, the inverse of _pack_gradients."""
    offsets = {buffer.dtype: 0 for buffer in buffers}
    by_dtype = {buffer.dtype: buffer for buffer in buffers}
    for tensor in _tensors(params):
        dtype = np.dtype(tensor.grad.dtype if tensor.grad is not None else tensor.dtype)
        start, size = offsets[dtype], int(np.prod(tensor.shape))
        reduced = by_dtype[dtype][start:start + size].reshape(tensor.shape)
        if tensor.grad is None:
            tensor.grad = reduced.copy()
        else:
            tensor.grad[...] = reduced
        offsets[dtype] = start + size
