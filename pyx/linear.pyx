"""Linear layer y = x @ W^T + b and its gradients, as single GEMM calls.

Shape legend: N batch, F input features, G output features.  These run
outside any OpenMP region, so the BLAS may use its own threads (limited by
hdl_native.set_num_threads through threadpoolctl).
"""
from cython cimport floating

from blas cimport gemm


def linear_forward(const floating[:, ::1] x,        # IN  (N, F)
                   const floating[:, ::1] weight,   # IN  (G, F)
                   const floating[::1] bias,        # IN  (G,) or None
                   floating[:, ::1] out):           # OUT (N, G)
    """out = x @ weight^T + bias."""
    cdef Py_ssize_t n = x.shape[0], f = x.shape[1], g = weight.shape[0], i, j
    cdef floating beta = 0
    if n == 0 or g == 0:
        return
    if bias is not None:
        beta = 1
        for i in range(n):
            for j in range(g):
                out[i, j] = bias[j]
    with nogil:
        gemm(False, True, <int> n, <int> g, <int> f, <floating> 1, &x[0, 0], <int> f,
             &weight[0, 0], <int> f, beta, &out[0, 0], <int> g)


def linear_backward_input(const floating[:, ::1] grad_output,  # IN  (N, G)
                          const floating[:, ::1] weight,       # IN  (G, F)
                          floating[:, ::1] grad_input):        # OUT (N, F)
    """grad_input = grad_output @ weight."""
    cdef Py_ssize_t n = grad_output.shape[0], g = grad_output.shape[1], f = weight.shape[1]
    if n == 0 or f == 0:
        return
    with nogil:
        gemm(False, False, <int> n, <int> f, <int> g, <floating> 1, &grad_output[0, 0], <int> g,
             &weight[0, 0], <int> f, <floating> 0, &grad_input[0, 0], <int> f)


def linear_backward_weight(const floating[:, ::1] grad_output,  # IN  (N, G)
                           const floating[:, ::1] x,            # IN  (N, F)
                           floating[:, ::1] grad_weight):       # OUT (G, F)
    """grad_weight = grad_output^T @ x (zero for an empty batch)."""
    cdef Py_ssize_t n = grad_output.shape[0], g = grad_output.shape[1], f = x.shape[1]
    if g == 0 or f == 0:
        return
    with nogil:
        gemm(True, False, <int> g, <int> f, <int> n, <floating> 1, &grad_output[0, 0] if n else NULL,
             <int> g, &x[0, 0] if n else NULL, <int> f, <floating> 0, &grad_weight[0, 0], <int> f)


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
