"""Per-channel kernels for batch normalisation over (N, C, L) arrays (L = H * W), threads over channels.

channel_sums gives, per channel c, sum(a) and sum(a * b) over N and L in double precision: the batch's mean and
variance (a = b = x) and the two sums the backward pass needs (a = grad, b = x).  channel_affine writes
out = p[c] a + q[c] b + r[c], the forward pass (p = 0 for b's term, or a = x with q = 0) and the backward pass
(grad_x = p grad + q x + r) in one loop each.
"""
from cython.parallel cimport prange
from cython cimport floating


def channel_sums(const floating[:, :, ::1] a,   # IN  (N, C, L)
                 const floating[:, :, ::1] b,   # IN  (N, C, L)
                 double[::1] sum_a,             # OUT (C,)
                 double[::1] sum_ab,            # OUT (C,)
                 int n_threads):
    """sum_a[c] = sum a[:, c, :], sum_ab[c] = sum a[:, c, :] * b[:, c, :] (double accumulators)."""
    cdef Py_ssize_t n_images = a.shape[0], channels = a.shape[1], length = a.shape[2]
    cdef Py_ssize_t c, i, j
    cdef double total, product
    for c in prange(channels, nogil=True, num_threads=n_threads, schedule="static"):
        total = 0.0
        product = 0.0
        for i in range(n_images):
            for j in range(length):
                total = total + a[i, c, j]
                product = product + a[i, c, j] * b[i, c, j]
        sum_a[c] = total
        sum_ab[c] = product


def channel_affine(const floating[:, :, ::1] a,   # IN  (N, C, L)
                   const floating[:, :, ::1] b,   # IN  (N, C, L)
                   const floating[::1] p,         # IN  (C,)
                   const floating[::1] q,         # IN  (C,)
                   const floating[::1] r,         # IN  (C,)
                   floating[:, :, ::1] out,       # OUT (N, C, L)
                   int n_threads):
    """out[:, c, :] = p[c] a[:, c, :] + q[c] b[:, c, :] + r[c]."""
    cdef Py_ssize_t n_images = a.shape[0], channels = a.shape[1], length = a.shape[2]
    cdef Py_ssize_t c, i, j
    cdef floating pc, qc, rc
    for c in prange(channels, nogil=True, num_threads=n_threads, schedule="static"):
        pc = p[c]
        qc = q[c]
        rc = r[c]
        for i in range(n_images):
            for j in range(length):
                out[i, c, j] = pc * a[i, c, j] + qc * b[i, c, j] + rc
