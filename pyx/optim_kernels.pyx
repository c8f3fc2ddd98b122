"""Fused optimiser updates over flat parameter buffers.

The optimisers keep every parameter of one dtype as a view into one flat
array (and likewise the gradients and moment buffers), so a whole model's
update is one pass over memory in one call, instead of several numpy
passes per parameter.
"""
from cython.parallel cimport prange
from libc.math cimport sqrt, sqrtf

ctypedef fused floating:
    float
    double

cdef enum:
    # Below this many elements one thread finishes before a team would start.
    PARALLEL_MIN_SIZE = 32768


cdef inline floating square_root(floating x) noexcept nogil:
    """sqrtf for float (vectorises; no round trip through double), sqrt for double."""
    if floating is float:
        return sqrtf(x)
    else:
        return sqrt(x)


def adam_update_flat(floating[::1] param,            # IN/OUT (P,)
                     const floating[::1] grad,       # IN (P,)
                     floating[::1] exp_avg,          # IN/OUT (P,)
                     floating[::1] exp_avg_sq,       # IN/OUT (P,)
                     double lr, double beta1, double beta2, double eps, long step, int n_threads):
    """One bias-corrected Adam step, in place, over P elements.

    m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
    param -= (lr / (1-b1^t)) * m / (sqrt(v) / sqrt(1-b2^t) + eps)
    (the same arithmetic as PyTorch's Adam).
    """
    cdef Py_ssize_t size = param.shape[0], i
    if grad.shape[0] != size or exp_avg.shape[0] != size or exp_avg_sq.shape[0] != size:
        raise ValueError(f"adam_update_flat: sizes differ: param {size}, grad {grad.shape[0]}, "
                         f"exp_avg {exp_avg.shape[0]}, exp_avg_sq {exp_avg_sq.shape[0]}")
    if step < 1:
        raise ValueError(f"adam_update_flat: step must be >= 1, got {step}")
    cdef floating b1 = <floating>beta1, b2 = <floating>beta2
    cdef floating one_minus_b1 = <floating>(1.0 - beta1), one_minus_b2 = <floating>(1.0 - beta2)
    cdef floating step_size = <floating>(lr / (1.0 - beta1 ** step))
    cdef floating inv_sqrt_bc2 = <floating>(1.0 / sqrt(1.0 - beta2 ** step))
    cdef floating eps_ = <floating>eps
    cdef floating g, m, v
    if n_threads < 1 or size < PARALLEL_MIN_SIZE:
        n_threads = 1
    with nogil:
        for i in prange(size, schedule="static", num_threads=n_threads):
            g = grad[i]
            m = b1 * exp_avg[i] + one_minus_b1 * g
            v = b2 * exp_avg_sq[i] + one_minus_b2 * g * g
            exp_avg[i] = m
            exp_avg_sq[i] = v
            param[i] = param[i] - step_size * m / (square_root(v) * inv_sqrt_bc2 + eps_)
