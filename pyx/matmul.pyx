"""Matrix products on GEMM, split over threads by rows: matmul and the linear layer.

Shape legend: M x K times K x P -> M x P.  One function serves every product
of the graph (a @ b, x @ W^T, grad @ W, grad^T @ x ...): the transposes are
GEMM flags, never copies.  With several threads each one runs a
single-threaded GEMM on its own slice of the output rows, so the OpenMP
threads never share the cores with the BLAS's own threads.
"""
from cython.parallel cimport prange
from cython cimport floating

import numpy as np

from blas cimport gemm


def matmul(bint trans_a, bint trans_b,
           const floating[:, ::1] a,   # IN  (M, K), or (K, M) when trans_a
           const floating[:, ::1] b,   # IN  (K, P), or (P, K) when trans_b
           const floating[::1] bias,   # IN  (P,) added to every row, or None
           floating[:, ::1] out,       # OUT (M, P)
           int n_threads):
    """out = op(a) @ op(b) (+ bias), op(x) = x^T when trans_x; threads take slices of the M rows."""
    cdef Py_ssize_t m = out.shape[0], p = out.shape[1], k = a.shape[0] if trans_a else a.shape[1]
    cdef Py_ssize_t lda = a.shape[1], step = (m + n_threads - 1) // n_threads, i, j, t, r0, rows
    cdef floating beta = 0
    if m == 0 or p == 0:
        return
    if bias is not None:
        beta = 1
        for i in range(m):
            for j in range(p):
                out[i, j] = bias[j]
    for t in prange(n_threads, nogil=True, schedule='static', num_threads=n_threads):
        r0 = t * step
        rows = min(step, m - r0)
        if rows > 0:
            gemm(trans_a, trans_b, <int> rows, <int> p, <int> k, <floating> 1,
                 &a[0, r0] if trans_a else &a[r0, 0], <int> lda, &b[0, 0], <int> b.shape[1],
                 beta, &out[r0, 0], <int> p)


def column_sums(const floating[:, ::1] a,   # IN  (N, G)
                floating[::1] out,          # OUT (G,)
                int n_threads):
    """out[j] = sum_i a[i, j] (a bias gradient), accumulated in double: each thread sums a slice of
    the rows, reading them in order, and the threads' partial sums are added at the end."""
    cdef Py_ssize_t n = a.shape[0], g = a.shape[1], step = (n + n_threads - 1) // n_threads, i, j, t
    cdef double[:, ::1] partial = np.zeros((n_threads, g), dtype=np.float64)
    cdef double total
    for t in prange(n_threads, nogil=True, schedule='static', num_threads=n_threads):
        for i in range(t * step, min(n, (t + 1) * step)):
            for j in range(g):
                partial[t, j] += a[i, j]
    for j in range(g):
        total = 0
        for t in range(n_threads):
            total += partial[t, j]
        out[j] = <floating> total
