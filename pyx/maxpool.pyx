"""Max-pool 2d, kernel k = stride k, ceil mode, over (N, C, H, W) planes.

Shape legend: Ho = ceil(H/k), Wo = ceil(W/k); a partial window at the right
or bottom edge is pooled over the pixels it has (11 x 11 -> 6 x 6 for k=2).
The forward saves, per output, the flat index h*W + w of the maximum in its
input plane (argmax, int32); the backward scatters the gradient through it.
Threads take whole planes, so each writes its own slice.
"""
from cython.parallel cimport prange
from cython cimport floating


cdef void pool_plane(const floating *x, Py_ssize_t h, Py_ssize_t w, Py_ssize_t k,
                     floating *out, int *argmax) noexcept nogil:
    """One plane: out (Ho, Wo) and argmax (Ho, Wo) from x (H, W); NaN wins like numpy's argmax."""
    cdef Py_ssize_t ho = (h + k - 1) // k, wo = (w + k - 1) // k
    cdef Py_ssize_t oh, ow, hh, ww, best_index, index
    cdef floating best, value
    for oh in range(ho):
        for ow in range(wo):
            best_index = oh * k * w + ow * k
            best = x[best_index]
            for hh in range(oh * k, min(oh * k + k, h)):
                for ww in range(ow * k, min(ow * k + k, w)):
                    index = hh * w + ww
                    value = x[index]
                    if value > best or (value != value and best == best):
                        best = value
                        best_index = index
            out[oh * wo + ow] = best
            argmax[oh * wo + ow] = <int> best_index


def maxpool2d_forward(const floating[:, :, :, ::1] x,   # IN  (N, C, H, W)
                      floating[:, :, :, ::1] out,       # OUT (N, C, Ho, Wo)
                      int[:, :, :, ::1] argmax,         # OUT (N, C, Ho, Wo) flat index in the input plane
                      int kernel_size, int n_threads):
    """Window maxima and where they were."""
    cdef Py_ssize_t n_planes = x.shape[0] * x.shape[1], h = x.shape[2], w = x.shape[3]
    cdef Py_ssize_t out_size = out.shape[2] * out.shape[3], plane
    if n_planes == 0 or out_size == 0:
        return
    for plane in prange(n_planes, nogil=True, schedule='static', num_threads=n_threads):
        pool_plane(&x[0, 0, 0, 0] + plane * h * w, h, w, kernel_size,
                   &out[0, 0, 0, 0] + plane * out_size, &argmax[0, 0, 0, 0] + plane * out_size)


def maxpool2d_backward(const floating[:, :, :, ::1] grad_output,  # IN  (N, C, Ho, Wo)
                       const int[:, :, :, ::1] argmax,            # IN  (N, C, Ho, Wo)
                       floating[:, :, :, ::1] grad_input,         # OUT (N, C, H, W)
                       int n_threads):
    """grad_input[plane, argmax] += grad_output; returns how many indices were out of range (skipped)."""
    cdef Py_ssize_t n_planes = grad_input.shape[0] * grad_input.shape[1]
    cdef Py_ssize_t in_size = grad_input.shape[2] * grad_input.shape[3]
    cdef Py_ssize_t out_size = grad_output.shape[2] * grad_output.shape[3], plane, j, index
    cdef const floating *grad
    cdef const int *where
    cdef floating *dst
    cdef Py_ssize_t n_bad = 0
    if n_planes == 0 or in_size == 0:
        return 0
    for plane in prange(n_planes, nogil=True, schedule='static', num_threads=n_threads):
        dst = &grad_input[0, 0, 0, 0] + plane * in_size
        for j in range(in_size):
            dst[j] = 0
        if out_size == 0:
            continue
        grad = &grad_output[0, 0, 0, 0] + plane * out_size
        where = &argmax[0, 0, 0, 0] + plane * out_size
        for j in range(out_size):
            index = where[j]
            if 0 <= index < in_size:
                dst[index] += grad[j]
            else:
                n_bad += 1
    return n_bad
