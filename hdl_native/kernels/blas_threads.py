"""Keep the BLAS behind scipy.linalg.cython_blas on one thread.

The kernels thread with OpenMP and call GEMM from inside their threads (one
tile of images, or one slice of rows, per thread).  If that BLAS started
threads of its own they would fight the OpenMP threads for the cores, and
both pools spin while they wait, which on a busy machine turned a 40 ms step
into hundreds of ms.  So before a kernel that calls GEMM, the BLAS library
scipy ships (the one cython_blas uses; numpy's own BLAS is left alone) is set
to one thread, and left there: checking costs one cheap call, switching
back and forth twice that per kernel.
"""
import os

from threadpoolctl import ThreadpoolController

_scipy_blas = None


def _scipy_blas_controllers():
    """threadpoolctl controllers of scipy's BLAS (all BLAS libraries if it cannot be told apart)."""
    global _scipy_blas
    if _scipy_blas is None:
        import scipy.linalg.cython_blas  # noqa: F401  (loads the library before we look for it)

        libs = ThreadpoolController().select(user_api="blas").lib_controllers
        scipy_libs = [lib for lib in libs
                      if os.path.basename(os.path.dirname(lib.filepath or "")).startswith("scipy")]
        _scipy_blas = scipy_libs or libs
    return _scipy_blas


def pin_single_threaded_blas():
    """Make sure scipy's BLAS runs on one thread (OpenMP does the threading)."""
    for lib in _scipy_blas_controllers():
        if lib.get_num_threads() != 1:
            lib.set_num_threads(1)
