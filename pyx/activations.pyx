"""Fused elementwise kernels: exact GELU, log-softmax and softmax cross-entropy.

GELU works on flat (contiguous, raveled) arrays and splits them over threads
in equal slices; the row-wise kernels (N, F) give each thread whole rows.
float64 GELU calls libm's erf/exp per element; float32 GELU runs the loops of
fast_math.h, which the compiler vectorises (erf to 4.5e-7 absolute, libm's
erff is scalar and was 20-50x slower here: it dominated the training step).
"""
from cython.parallel cimport prange
from cython cimport floating
from libc.math cimport erf, erff, exp, expf, log, logf

cdef extern from "fast_math.h" nogil:
    void hdl_gelu_forward_f32(const float *x, float *out, Py_ssize_t n)
    void hdl_gelu_backward_f32(const float *x, const float *grad_output, float *grad_input, Py_ssize_t n)
    float hdl_softmax_row_f32(const float *x, Py_ssize_t f, float *probs, float *top)

cdef double SQRT_HALF = 0.7071067811865476
cdef double INV_SQRT_2PI = 0.3989422804014327


cdef inline floating erf_of(floating x) noexcept nogil:
    if floating is float:
        return erff(x)
    else:
        return erf(x)


cdef inline floating exp_of(floating x) noexcept nogil:
    if floating is float:
        return expf(x)
    else:
        return exp(x)


cdef inline floating log_of(floating x) noexcept nogil:
    if floating is float:
        return logf(x)
    else:
        return log(x)


cdef inline void gelu_forward_span(const floating *x, floating *out, Py_ssize_t n) noexcept nogil:
    """out = x Phi(x) = 0.5 x (1 + erf(x / sqrt 2)) over n values."""
    cdef Py_ssize_t i
    cdef floating half = 0.5, one = 1, scale = SQRT_HALF
    if floating is float:
        hdl_gelu_forward_f32(x, out, n)
    else:
        for i in range(n):
            out[i] = half * x[i] * (one + erf_of(x[i] * scale))


cdef inline void gelu_backward_span(const floating *x, const floating *grad_output, floating *grad_input,
                                    Py_ssize_t n) noexcept nogil:
    """grad_input = grad_output (Phi(x) + x phi(x)) over n values."""
    cdef Py_ssize_t i
    cdef floating half = 0.5, one = 1, scale = SQRT_HALF, norm = INV_SQRT_2PI, v
    if floating is float:
        hdl_gelu_backward_f32(x, grad_output, grad_input, n)
    else:
        for i in range(n):
            v = x[i]
            grad_input[i] = grad_output[i] * (half * (one + erf_of(v * scale)) + v * norm * exp_of(-half * v * v))


cdef void gelu_in_slices(const floating *x, const floating *grad_output, floating *out, Py_ssize_t n,
                         int n_threads) noexcept nogil:
    """GELU forward (grad_output NULL) or backward over n values, one equal slice per thread."""
    cdef Py_ssize_t chunk = (n + n_threads - 1) // n_threads, start
    cdef int t
    for t in prange(n_threads, schedule='static', num_threads=n_threads):
        start = t * chunk
        if start < n:
            if grad_output == NULL:
                gelu_forward_span(x + start, out + start, min(chunk, n - start))
            else:
                gelu_backward_span(x + start, grad_output + start, out + start, min(chunk, n - start))


def gelu_forward(const floating[::1] x,   # IN  (n,)
                 floating[::1] out,       # OUT (n,)
                 int n_threads):
    """out = x Phi(x); float32 runs the vectorised fast_math.h loop."""
    if x.shape[0]:
        gelu_in_slices(&x[0], NULL, &out[0], x.shape[0], n_threads)


def gelu_backward(const floating[::1] x,             # IN  (n,)
                  const floating[::1] grad_output,   # IN  (n,)
                  floating[::1] grad_input,          # OUT (n,)
                  int n_threads):
    """grad_input = grad_output (Phi(x) + x phi(x)); float32 runs the vectorised fast_math.h loop."""
    if x.shape[0]:
        gelu_in_slices(&x[0], &grad_output[0], &grad_input[0], x.shape[0], n_threads)


cdef void log_softmax_row(const floating *x, Py_ssize_t f, floating *out) noexcept nogil:
    """out = (x - max) - log(sum(exp(x - max))) for one row of f values (f >= 1).

    The subtraction of the max comes first: folding it into one shift, x - (max + log(sum)),
    rounds max + log(sum) at the scale of max and loses log(sum)'s low bits (an error of
    4e-4 at logits near 1e4 in float32, against 1e-6 this way).
    """
    cdef Py_ssize_t j
    cdef floating top = x[0], total = 0, log_total
    for j in range(1, f):
        if x[j] > top:
            top = x[j]
    for j in range(f):
        total = total + exp_of(x[j] - top)
    log_total = log_of(total)
    for j in range(f):
        out[j] = (x[j] - top) - log_total


def log_softmax_forward(const floating[:, ::1] x,   # IN  (N, F)
                        floating[:, ::1] out,       # OUT (N, F)
                        int n_threads):
    """Row-wise, numerically stable log-softmax."""
    cdef Py_ssize_t n = x.shape[0], f = x.shape[1], i
    if f == 0:
        return
    for i in prange(n, nogil=True, schedule='static', num_threads=n_threads):
        log_softmax_row(&x[i, 0], f, &out[i, 0])


def log_softmax_backward(const floating[:, ::1] output,        # IN  (N, F) log_softmax(x)
                         const floating[:, ::1] grad_output,   # IN  (N, F)
                         floating[:, ::1] grad_input,          # OUT (N, F)
                         int n_threads):
    """grad_input = grad - softmax * rowsum(grad)."""
    cdef Py_ssize_t n = output.shape[0], f = output.shape[1], i, j
    cdef floating total
    for i in prange(n, nogil=True, schedule='static', num_threads=n_threads):
        total = 0
        for j in range(f):
            total = total + grad_output[i, j]
        for j in range(f):
            grad_input[i, j] = grad_output[i, j] - exp_of(output[i, j]) * total


cdef double row_loss(const floating *x, Py_ssize_t f, long long label, floating *probs) noexcept nogil:
    """probs = softmax(x) over one row of f >= 1 values; returns -log softmax(x)[label] (label in [0, f)).
    float32 takes each exponential once (fast_math.h, vectorised); float64 goes through log_softmax_row."""
    cdef float top, log_total
    cdef Py_ssize_t j
    cdef double loss
    if floating is float:
        log_total = hdl_softmax_row_f32(x, f, probs, &top)
        return log_total - (x[label] - top)
    else:
        log_softmax_row(x, f, probs)
        loss = -probs[label]
        for j in range(f):
            probs[j] = exp_of(probs[j])
        return loss


def cross_entropy_forward(const floating[:, ::1] logits,   # IN  (N, F)
                          const long long[::1] labels,     # IN  (N,) in [0, F)
                          floating[:, ::1] probs,          # OUT (N, F) softmax, saved for backward
                          int n_threads):
    """Returns (sum over rows of -log softmax(logits)[label], rows whose label was out of range: their
    probs are left unset and they add nothing to the sum).  Threads take whole rows."""
    cdef Py_ssize_t n = logits.shape[0], f = logits.shape[1], i
    cdef double total = 0
    cdef Py_ssize_t n_bad = 0
    if f == 0:
        return 0.0, n
    for i in prange(n, nogil=True, schedule='static', num_threads=n_threads):
        if 0 <= labels[i] < f:
            total += row_loss(&logits[i, 0], f, labels[i], &probs[i, 0])
        else:
            n_bad += 1
    return total, n_bad


def cross_entropy_backward(const floating[:, ::1] probs,   # IN  (N, F)
                           const long long[::1] labels,    # IN  (N,)
                           double scale,                   # IN  grad_output / N (the mean over N rows)
                           floating[:, ::1] grad_logits):  # OUT (N, F)
    """grad_logits = (probs - onehot(labels)) * scale; returns how many labels were out of range (skipped)."""
    cdef Py_ssize_t n = probs.shape[0], f = probs.shape[1], i, j
    cdef Py_ssize_t n_bad = 0
    cdef floating s = <floating> scale
    with nogil:
        for i in range(n):
            for j in range(f):
                grad_logits[i, j] = probs[i, j] * s
            if 0 <= labels[i] < f:
                grad_logits[i, labels[i]] -= s
            else:
                n_bad += 1
    return n_bad
