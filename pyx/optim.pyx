"""In-place optimiser updates (SGD, Adam) over flat parameter buffers.

The optimisers keep every parameter of one dtype as a view into one flat
array (and likewise the gradients and moment buffers), so a whole model's
update is one pass over memory in one call, instead of several numpy
passes per parameter.  Arrays are flat (P,), contiguous and of one dtype;
the Python wrapper checks that.  Adam's loop is C in adam_loop.h
(vectorised, AVX2 where the CPU has it), run on one contiguous slice per
OpenMP thread.
"""
from cython.parallel cimport prange
from cython cimport floating

cdef extern from "adam_loop.h" nogil:
    void hdl_adam_f32(float *param, const float *grad, float *exp_avg, float *exp_avg_sq, Py_ssize_t n,
                      float b1, float one_minus_b1, float b2, float one_minus_b2, float step_size,
                      float inv_sqrt_bc2, float eps)
    void hdl_adam_f64(double *param, const double *grad, double *exp_avg, double *exp_avg_sq, Py_ssize_t n,
                      double b1, double one_minus_b1, double b2, double one_minus_b2, double step_size,
                      double inv_sqrt_bc2, double eps)

cdef enum:
    # Adam's slices start on multiples of this many elements (64-byte lines for float32).
    SLICE_ALIGN = 16


def sgd_update(floating[::1] param,        # IN/OUT (P,)
               const floating[::1] grad,   # IN     (P,)
               floating[::1] velocity,     # IN/OUT (P,) or None when momentum is 0
               double lr, double momentum, int n_threads):
    """v = momentum v + g; param -= lr v (param -= lr g without velocity)."""
    cdef Py_ssize_t i
    cdef floating rate = lr, mu = momentum, v
    if velocity is None:
        for i in prange(param.shape[0], nogil=True, schedule='static', num_threads=n_threads):
            param[i] = param[i] - rate * grad[i]
        return
    for i in prange(param.shape[0], nogil=True, schedule='static', num_threads=n_threads):
        v = mu * velocity[i] + grad[i]
        velocity[i] = v
        param[i] = param[i] - rate * v


cdef inline void adam_slice(floating *param, const floating *grad, floating *exp_avg, floating *exp_avg_sq,
                            Py_ssize_t n, double b1, double b2, double step_size, double inv_sqrt_bc2,
                            double eps) noexcept nogil:
    if floating is float:
        hdl_adam_f32(param, grad, exp_avg, exp_avg_sq, n, <float>b1, <float>(1.0 - b1), <float>b2,
                     <float>(1.0 - b2), <float>step_size, <float>inv_sqrt_bc2, <float>eps)
    else:
        hdl_adam_f64(param, grad, exp_avg, exp_avg_sq, n, b1, 1.0 - b1, b2, 1.0 - b2, step_size, inv_sqrt_bc2, eps)


def adam_update(floating[::1] param,            # IN/OUT (P,)
                const floating[::1] grad,       # IN     (P,)
                floating[::1] exp_avg,          # IN/OUT (P,)
                floating[::1] exp_avg_sq,       # IN/OUT (P,)
                double lr, double beta1, double beta2, double eps, long step, int n_threads):
    """One bias-corrected Adam step (step >= 1), in place, over P elements.

    m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
    param -= (lr / (1-b1^t)) * m / (sqrt(v) / sqrt(1-b2^t) + eps)
    (the same arithmetic as PyTorch's Adam).
    """
    cdef Py_ssize_t size = param.shape[0], slice_size, start, stop
    cdef int part
    if size == 0:
        return
    cdef double step_size = lr / (1.0 - beta1 ** step)
    cdef double inv_sqrt_bc2 = 1.0 / (1.0 - beta2 ** step) ** 0.5
    # Ceiling divisions written with positive operands: cdivision truncates toward zero.
    slice_size = (size + n_threads - 1) // n_threads
    slice_size = (slice_size + SLICE_ALIGN - 1) // SLICE_ALIGN * SLICE_ALIGN
    for part in prange(n_threads, nogil=True, schedule="static", num_threads=n_threads):
        start = part * slice_size
        stop = start + slice_size
        if stop > size:
            stop = size
        if start < stop:
            adam_slice(&param[start], &grad[start], &exp_avg[start], &exp_avg_sq[start], stop - start,
                       beta1, beta2, step_size, inv_sqrt_bc2, eps)
