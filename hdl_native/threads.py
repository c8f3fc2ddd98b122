"""Thread control: one knob for the OpenMP kernels and the BLAS library.

OpenMP regions and the BLAS library's own thread pool would otherwise both
start one thread per core and fight over the cores (oversubscription).
``set_num_threads(n)`` sets both to `n`; kernels never call a threaded BLAS
from inside a parallel region.
"""
import os

from threadpoolctl import threadpool_limits

from .cli_types import MAX_THREADS  # --threads' limit, which OMP_NUM_THREADS is held to as well

_blas_limiter = None
_num_threads = None


def _native_threads():
    try:
        from ._native import threads
    except ImportError:
        return None
    return threads


def openmp_enabled():
    """True when the installed kernels were compiled with OpenMP."""
    native = _native_threads()
    return bool(native and native.openmp_enabled())


def get_num_threads():
    """Threads the kernels use: set_num_threads(), else OMP_NUM_THREADS (at most MAX_THREADS), else the core count."""
    if _num_threads is not None:
        return _num_threads
    env = os.environ.get("OMP_NUM_THREADS", "")
    if env.strip().isdigit() and int(env) > 0:
        return min(int(env), MAX_THREADS)
    return os.cpu_count() or 1


# Elementwise and row-wise kernels on fewer elements than this run on one thread: starting
# the team would cost more than the work.
MIN_PARALLEL_ELEMENTS = 32768


def threads_for(n_elements, minimum=MIN_PARALLEL_ELEMENTS):
    """Threads for a kernel over n_elements: all of get_num_threads() from `minimum` on, else one."""
    return get_num_threads() if n_elements >= minimum else 1


def set_num_threads(n_threads):
    """Use `n_threads` threads in the OpenMP kernels and in BLAS calls."""
    global _blas_limiter, _num_threads
    n_threads = int(n_threads)
    if n_threads < 1:
        raise ValueError(f"set_num_threads: n_threads must be >= 1, got {n_threads}")
    native = _native_threads()
    if native is not None:
        native.set_max_threads(n_threads)
    if _blas_limiter is not None:
        _blas_limiter.restore_original_limits()
    _blas_limiter = threadpool_limits(limits=n_threads, user_api="blas")
    _num_threads = n_threads
