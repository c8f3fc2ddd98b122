"""Matrix products on GEMM, split over threads by rows: matmul and the linear layer.

Shape legend: M x K times K x P -> M x P.  One function serves every product
of the graph (a @ b, x @ W^T, grad @ W, grad^T @ x ...): the transposes are
GEMM flags, never copies.  With several threads each one runs a
single-threaded GEMM on its own slice of the output rows, so the OpenMP
threads never share the cores with the BLAS's own threads.
"""
from cython.parallel cimport prange
from cython cimport floating

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
                floating[::1] out):         # OUT (G,)
    """out[j] = sum_i a[i, j] (the bias gradient), accumulated in double."""
    cdef Py_ssize_t n = a.shape[0], g = a.shape[1], i, j
    cdef double total
    for j in range(g):
        total = 0
        for i in range(n):
            total += a[i, j]
        out[j] = <floating> total
