"""Max-pool 2d, kernel k = stride k, ceil mode, over (N, C, H, W) planes.

Shape legend: Ho = ceil(H/k), Wo = ceil(W/k); a partial window at the right
or bottom edge is pooled over the pixels it has (11 x 11 -> 6 x 6 for k=2).
The forward saves, per output, the flat index h*W + w of the maximum in its
input plane (argmax, int32); the backward scatters the gradient through it.
Threads take whole planes, so each writes its own slice.
"""
from cython.parallel cimport prange
from cython cimport floating

cdef extern from "pool_k2.h" nogil:
    bint hdl_pool_plane_k2_f32(const float *x, int h, int w, float *out, int *argmax)


cdef inline bint beats(floating value, floating best) noexcept nogil:
    """value replaces the running maximum: larger, or the first NaN (as numpy's argmax)."""
    return (value > best) | ((value != value) & (best == best))


cdef void pool_window(const floating *x, Py_ssize_t w, Py_ssize_t h0, Py_ssize_t h_end,
                      Py_ssize_t w0, Py_ssize_t w_end, floating *out, int *argmax) noexcept nogil:
    """Maximum of x[h0:h_end, w0:w_end] (row stride w) and its flat index; first one wins ties."""
    cdef Py_ssize_t hh, ww, index, best_index = h0 * w + w0
    cdef floating best = x[best_index], value
    cdef bint take
    for hh in range(h0, h_end):
        for ww in range(w0, w_end):
            index = hh * w + ww
            value = x[index]
            take = beats(value, best)
            best = value if take else best
            best_index = index if take else best_index
    out[0] = best
    argmax[0] = <int> best_index


cdef void pool_plane(const floating *x, Py_ssize_t h, Py_ssize_t w, Py_ssize_t k,
                     floating *out, int *argmax) noexcept nogil:
    """One plane: out (Ho, Wo) and argmax (Ho, Wo) from x (H, W).

    Maxima are chosen with selects, not branches: on real data the comparison
    is a coin flip, and mispredicted branches cost more than the arithmetic.
    float32 with k = 2 (the tutorial's pools) runs the vectorised whole-plane
    loop of pool_k2.h on every NaN-free plane; the rest goes window by window.
    """
    cdef Py_ssize_t ho = (h + k - 1) // k, wo = (w + k - 1) // k
    cdef Py_ssize_t oh, ow
    if floating is float:
        if k == 2 and not hdl_pool_plane_k2_f32(x, <int> h, <int> w, out, argmax):
            return
    for oh in range(ho):
        for ow in range(wo):
            pool_window(x, w, oh * k, min(oh * k + k, h), ow * k, min(ow * k + k, w),
                        out + oh * wo + ow, argmax + oh * wo + ow)


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
