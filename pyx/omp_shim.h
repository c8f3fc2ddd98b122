/* OpenMP calls that compile with or without -fopenmp.
 * setup.py defines HDL_WITH_OPENMP when its probe passed; otherwise these
 * stubs make every kernel serial and openmp_enabled() report 0. */
#ifndef HDL_OMP_SHIM_H
#define HDL_OMP_SHIM_H
#if defined(_OPENMP) && defined(HDL_WITH_OPENMP)
#include <omp.h>
#define HDL_OPENMP_ENABLED 1
#else
#define HDL_OPENMP_ENABLED 0
static inline int omp_get_max_threads(void) { return 1; }
static inline void omp_set_num_threads(int n) { (void)n; }
static inline int omp_get_thread_num(void) { return 0; }
static inline int omp_get_num_threads(void) { return 1; }
#endif
#endif
