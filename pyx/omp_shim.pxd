# OpenMP entry points through omp_shim.h: real ones in an OpenMP build,
# serial stubs otherwise, so no kernel needs a conditional cimport.
cdef extern from "omp_shim.h" nogil:
    int HDL_OPENMP_ENABLED
    int omp_get_max_threads()
    void omp_set_num_threads(int n)
    int omp_get_thread_num()
    int omp_get_num_threads()
