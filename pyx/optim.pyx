"""In-place optimiser updates over flat (raveled, contiguous) parameter arrays."""
from cython.parallel cimport prange
from cython cimport floating
from libc.math cimport sqrt, sqrtf


cdef inline floating sqrt_of(floating x) noexcept nogil:
    if floating is float:
        return sqrtf(x)
    else:
        return sqrt(x)


def adam_update(floating[::1] param,          # IN/OUT (n,)
                const floating[::1] grad,     # IN     (n,)
                floating[::1] exp_avg,        # IN/OUT (n,)
                floating[::1] exp_avg_sq,     # IN/OUT (n,)
                double lr, double beta1, double beta2, double eps,
                double bias_correction1, double bias_correction2, int n_threads):
    """m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; param -= (lr/bc1) m / (sqrt(v) / sqrt(bc2) + eps).

    The constants are formed in double (in float, 1 - 0.999 is off by 1.3e-5)
    and applied in the same order as optim_kernels' whole-model update, so the
    two paths of the Adam optimiser round alike.
    """
    cdef Py_ssize_t i
    cdef floating b1 = beta1, b2 = beta2, one_b1 = 1.0 - beta1, one_b2 = 1.0 - beta2
    cdef floating step_size = lr / bias_correction1, inv_sqrt_bc2 = 1.0 / sqrt(bias_correction2)
    cdef floating epsilon = eps
    cdef floating g, m, v
    for i in prange(param.shape[0], nogil=True, schedule='static', num_threads=n_threads):
        g = grad[i]
        m = b1 * exp_avg[i] + one_b1 * g
        v = b2 * exp_avg_sq[i] + one_b2 * g * g
        exp_avg[i] = m
        exp_avg_sq[i] = v
        param[i] = param[i] - step_size * m / (sqrt_of(v) * inv_sqrt_bc2 + epsilon)


def sgd_update(floating[::1] param,        # IN/OUT (n,)
               const floating[::1] grad,   # IN     (n,)
               floating[::1] velocity,     # IN/OUT (n,) or None when momentum is 0
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
