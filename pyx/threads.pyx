"""Thread control for the OpenMP kernels."""
from omp_shim cimport HDL_OPENMP_ENABLED, omp_get_max_threads, omp_set_num_threads


def openmp_enabled():
    """True when the kernels were compiled with OpenMP."""
    return bool(HDL_OPENMP_ENABLED)


def get_max_threads():
    """Threads an OpenMP parallel region will use (1 in a serial build)."""
    return omp_get_max_threads()


def set_max_threads(int n_threads):
    """Set the OpenMP thread count (>= 1, hdl_native.threads checks) used by every later parallel region."""
    omp_set_num_threads(n_threads)
