"""Linear layer y = x @ W^T + b and its gradients on GEMM.

Shape legend: N batch, F input features, G output features.  With several
threads each one runs a single-threaded GEMM on its own slice (rows of the
batch, or output features for the weight gradient), so the OpenMP threads
never share the cores with the BLAS's own threads.
"""
from cython.parallel cimport prange
from cython cimport floating

from blas cimport gemm


cdef inline Py_ssize_t slice_size(Py_ssize_t total, int n_threads) noexcept nogil:
    return (total + n_threads - 1) // n_threads


def linear_forward(const floating[:, ::1] x,        # IN  (N, F)
                   const floating[:, ::1] weight,   # IN  (G, F)
                   const floating[::1] bias,        # IN  (G,) or None
                   floating[:, ::1] out,            # OUT (N, G)
                   int n_threads):
    """out = x @ weight^T + bias; threads take slices of the batch."""
    cdef Py_ssize_t n = x.shape[0], f = x.shape[1], g = weight.shape[0], i, j, t, r0, rows
    cdef Py_ssize_t step = slice_size(n, n_threads)
    cdef floating beta = 0
    if n == 0 or g == 0:
        return
    if bias is not None:
        beta = 1
        for i in range(n):
            for j in range(g):
                out[i, j] = bias[j]
    for t in prange(n_threads, nogil=True, schedule='static', num_threads=n_threads):
        r0 = t * step
        rows = min(step, n - r0)
        if rows > 0:
            gemm(False, True, <int> rows, <int> g, <int> f, <floating> 1, &x[r0, 0], <int> f,
                 &weight[0, 0], <int> f, beta, &out[r0, 0], <int> g)


def linear_backward_input(const floating[:, ::1] grad_output,  # IN  (N, G)
                          const floating[:, ::1] weight,       # IN  (G, F)
                          floating[:, ::1] grad_input,         # OUT (N, F)
                          int n_threads):
    """grad_input = grad_output @ weight; threads take slices of the batch."""
    cdef Py_ssize_t n = grad_output.shape[0], g = grad_output.shape[1], f = weight.shape[1], t, r0, rows
    cdef Py_ssize_t step = slice_size(n, n_threads)
    if n == 0 or f == 0:
        return
    for t in prange(n_threads, nogil=True, schedule='static', num_threads=n_threads):
        r0 = t * step
        rows = min(step, n - r0)
        if rows > 0:
            gemm(False, False, <int> rows, <int> f, <int> g, <floating> 1, &grad_output[r0, 0], <int> g,
                 &weight[0, 0], <int> f, <floating> 0, &grad_input[r0, 0], <int> f)


def linear_backward_weight(const floating[:, ::1] grad_output,  # IN  (N, G)
                           const floating[:, ::1] x,            # IN  (N, F)
                           floating[:, ::1] grad_weight,        # OUT (G, F)
                           int n_threads):
    """grad_weight = grad_output^T @ x (zero for an empty batch); threads take slices of the G rows."""
    cdef Py_ssize_t n = grad_output.shape[0], g = grad_output.shape[1], f = x.shape[1], t, g0, rows
    cdef Py_ssize_t step = slice_size(g, n_threads)
    if g == 0 or f == 0:
        return
    if n == 0:
        grad_weight[...] = 0
        return
    for t in prange(n_threads, nogil=True, schedule='static', num_threads=n_threads):
        g0 = t * step
        rows = min(step, g - g0)
        if rows > 0:
            gemm(True, False, <int> rows, <int> f, <int> n, <floating> 1, &grad_output[0, g0], <int> g,
                 &x[0, 0], <int> f, <floating> 0, &grad_weight[g0, 0], <int> f)


def column_sums(const floating[:, ::1] a,   # IN  (N, G)
                floating[::1] out):         # OUT (G,)
    """out[j] = sum_i a[i, j] (the bias gradient), accumulated in double."""
    cdef Py_ssize_t n = a.shape[0], g = a.shape[1], i, j
    cdef double total
    for j in range(g):
        total = 0
        for i in range(n):
            total += a[i, j]
        out[j] = <floating> total
