"""Keep the BLAS single-threaded while OpenMP threads call it.

The conv kernels call GEMM from inside their OpenMP threads (one tile of
images per thread).  A BLAS that also started its own threads there would
put 2 x n threads on n cores, so around those kernels the BLAS libraries are
limited to one thread and restored afterwards.  threadpoolctl finds the
libraries once; each switch is one cheap ctypes call, skipped when the BLAS
already runs one thread.
"""
from contextlib import contextmanager

from threadpoolctl import ThreadpoolController

_controllers = None


def _blas_controllers():
    global _controllers
    if _controllers is None:
        _controllers = ThreadpoolController().select(user_api="blas").lib_controllers
    return _controllers


@contextmanager
def single_threaded_blas():
    """Within the block every BLAS library runs on one thread."""
    changed = []
    for lib in _blas_controllers():
        n = lib.get_num_threads()
        if n is not None and n > 1:
            lib.set_num_threads(1)
            changed.append((lib, n))
    try:
        yield
    finally:
        for lib, n in changed:
            lib.set_num_threads(n)
