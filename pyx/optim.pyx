"""In-place SGD update over flat (raveled, contiguous) parameter arrays.

Adam's update is in optim_kernels.pyx (one vectorised loop for one parameter or a whole model)."""
from cython.parallel cimport prange
from cython cimport floating


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
