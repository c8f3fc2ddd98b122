"""conv2d: valid cross-correlation, stride 1, batched NCHW, in tiles of im2col + GEMM
(or, for the forward pass of very short patches, direct loops: see direct_max_patch;
or, for float32 layers with many output channels, register-blocked loops that read
the input in place: see blocked_loops).

Shape legend: N batch, C input channels, O output channels, H x W input,
K kernel size, Ho = H-K+1, Wo = W-K+1, P = Ho*Wo output pixels per image,
CKK = C*K*K patch length, T images per tile.

A tile of T images is unrolled into cols (CKK, T*P): row (c*K + kh)*K + kw,
column i*P + oh*Wo + ow holds x[i, c, oh+kh, ow+kw].  A tile is sized by the
caller to stay in one core's cache while one GEMM consumes it.  prange hands
whole tiles to the threads, so each thread writes only its own images (weight
gradients go to per-thread buffers and are summed at the end); the BLAS must
run single-threaded meanwhile, which the Python wrapper arranges.
Scratch memory comes from the caller: one row of `scratch` per thread.
"""
from cython.parallel cimport parallel, prange, threadid
from cython cimport floating

from blas cimport gemm

cdef extern from "conv_direct.h" nogil:
    void hdl_conv_direct_forward_f32(const float *x, int c_in, int h, int w, int k, const float *weight,
                                     const float *bias, int c_out, float *out, float *full)
    void hdl_conv_direct_forward_f64(const double *x, int c_in, int h, int w, int k, const double *weight,
                                     const double *bias, int c_out, double *out, double *full)

cdef extern from "simd.h" nogil:
    int hdl_cpu_has_widest()

cdef extern from "conv_blocked.h" nogil:
    void hdl_conv_pack_weights_f32(const float *weight, int c_out, int c_in, int kk, float *packed)
    void hdl_conv_blocked_forward_f32(const float *x, int c_in, int h, int w, int k, const float *packed,
                                      const float *bias, int c_out, float *out)
    void hdl_conv_wide_forward_f32(const float *x, int c_in, int h, int w, int k, const float *packed,
                                   const float *bias, int c_out, float *out)
    void hdl_conv_blocked_weight_grad3_f32(const float *grad, Py_ssize_t grad_stride, const float *x, int c_in,
                                           int h, int w, int c_out, float *grad_w, float *grad_t)
    void hdl_conv_wide_weight_grad3_f32(const float *grad, Py_ssize_t grad_stride, const float *x, int c_in,
                                        int h, int w, int c_out, float *grad_w, float *grad_t)

# The forward pass of layers whose patches hold at most this many values
# (C*K*K) takes the direct loops of conv_direct.h: a GEMM with so short an
# inner dimension runs far below the BLAS's best (the 1-channel 3x3 first
# layer: 9).
cdef int direct_max_patch = 27
# float32 layers take conv_blocked.h's register-blocked loops instead of
# im2col + GEMM where those serve: the forward pass with a multiple of 16
# output channels (and patches too long for the direct loops), the weight
# gradient of 3x3 kernels with a multiple of 8 and enough input channels
# and pixels (blocked_weight_grad; BENCHMARKS.md, "Register-blocked
# convolution loops").  The input gradient stays on GEMM + col2im: as a
# direct convolution of the zero-padded grads it does 17% more work
# (measured no faster).
cdef bint blocked_loops = True
# On a CPU with AVX-512 the blocked loops run 16 lanes wide (32 output channels at once) where the output
# channels are a multiple of 32: hdl_conv_wide_forward_f32 and hdl_conv_wide_weight_grad3_f32, the same
# sums bit for bit.
cdef bint wide_supported = hdl_cpu_has_widest() != 0
cdef bint wide_loops = wide_supported


def set_paths(max_patch=None, blocked=None, wide=None):
    """Choose the loops: forward passes with patches of at most max_patch values on the direct loops
    (0: never); conv_blocked.h's loops where they serve, or not (blocked=False: im2col + GEMM); their
    16-lane form on CPUs with AVX-512, or not (wide=False: the 8-lane loops; wide=True on a CPU without
    them, as wide_loops_supported() tells, keeps the 8-lane ones); None keeps a setting.  Returns the old
    settings, for set_paths(**old).  For tests and tuning."""
    global direct_max_patch, blocked_loops, wide_loops
    previous = {"max_patch": direct_max_patch, "blocked": bool(blocked_loops), "wide": bool(wide_loops)}
    if max_patch is not None:
        direct_max_patch = max_patch
    if blocked is not None:
        blocked_loops = blocked
    if wide is not None:
        wide_loops = bool(wide) and wide_supported
    return previous


cdef inline bint wide_for(Py_ssize_t c_out) noexcept nogil:
    """Whether a layer with c_out output channels takes the 16-lane loops (AVX-512, 32 channels a pass)."""
    return wide_loops and c_out % 32 == 0


def wide_loops_supported():
    """Whether this CPU and build run the 16-lane blocked loops (AVX-512)."""
    return bool(wide_supported)


def forward_scratch_size(Py_ssize_t c_in, Py_ssize_t c_out, Py_ssize_t kernel_size, Py_ssize_t n_pixels,
                         Py_ssize_t tile):
    """Elements of per-thread scratch conv2d_forward needs on im2col + GEMM: cols + GEMM product.
    The blocked loops need packed_weights_size in the first row instead (else GEMM runs)."""
    return (c_in * kernel_size * kernel_size + c_out) * tile * n_pixels


def packed_weights_size(Py_ssize_t c_in, Py_ssize_t c_out, Py_ssize_t kernel_size):
    """Elements of scratch (its first row) the blocked forward loops pack the weights into."""
    return c_out * c_in * kernel_size * kernel_size


def backward_scratch_size(Py_ssize_t c_in, Py_ssize_t c_out, Py_ssize_t kernel_size, Py_ssize_t n_pixels,
                          Py_ssize_t tile):
    """Elements of per-thread scratch conv2d_backward needs: weight- and bias-grad sums, one
    image's grads transposed (for blocked_weight_grad), gathered grads and columns."""
    cdef Py_ssize_t ckk = c_in * kernel_size * kernel_size
    return c_out * ckk + c_out + c_out * n_pixels + (ckk + c_out) * tile * n_pixels


cdef inline bint blocked_weight_grad(Py_ssize_t c_in, Py_ssize_t c_out, Py_ssize_t k,
                                     Py_ssize_t n_pixels) noexcept nogil:
    """Whether a float32 weight gradient takes conv_blocked.h's 3x3 loops instead of im2col + GEMM:
    with few input channels or pixels, transposing the grads and summing the lanes cost more than
    they save (measured on the LettersCNN's 1->32 layer at 26x26 pixels and 64->128 at 4x4)."""
    return blocked_loops and k == 3 and c_out % 8 == 0 and c_in >= 8 and n_pixels >= 100


cdef void im2col_tile(const floating *x, Py_ssize_t n_img, Py_ssize_t c_in, Py_ssize_t h,
                      Py_ssize_t w, Py_ssize_t k, floating *cols) noexcept nogil:
    """cols (C*K*K, n_img*P) <- the K x K patches of x (n_img, C, H, W)."""
    cdef Py_ssize_t ho = h - k + 1, wo = w - k + 1
    cdef Py_ssize_t c, kh, kw, i, oh, ow
    cdef floating *dst = cols
    cdef const floating *src
    for c in range(c_in):
        for kh in range(k):
            for kw in range(k):
                for i in range(n_img):
                    for oh in range(ho):
                        src = x + ((i * c_in + c) * h + oh + kh) * w + kw
                        for ow in range(wo):
                            dst[ow] = src[ow]
                        dst += wo


cdef void col2im_tile(const floating *cols, Py_ssize_t n_img, Py_ssize_t c_in, Py_ssize_t h,
                      Py_ssize_t w, Py_ssize_t k, floating *x) noexcept nogil:
    """x (n_img, C, H, W) <- sum of the patch columns of cols (C*K*K, n_img*P); x is overwritten."""
    cdef Py_ssize_t ho = h - k + 1, wo = w - k + 1
    cdef Py_ssize_t c, kh, kw, i, oh, ow, j
    cdef const floating *src = cols
    cdef floating *dst
    for j in range(n_img * c_in * h * w):
        x[j] = 0
    for c in range(c_in):
        for kh in range(k):
            for kw in range(k):
                for i in range(n_img):
                    for oh in range(ho):
                        dst = x + ((i * c_in + c) * h + oh + kh) * w + kw
                        for ow in range(wo):
                            dst[ow] += src[ow]
                        src += wo


cdef void gather_channels_tile(const floating *grad, Py_ssize_t n_img, Py_ssize_t c_out,
                               Py_ssize_t p, floating *rows) noexcept nogil:
    """rows (O, n_img*P) <- grad (n_img, O, P): each channel's pixels of all images side by side."""
    cdef Py_ssize_t i, oc, j
    cdef const floating *src
    cdef floating *dst
    for i in range(n_img):
        for oc in range(c_out):
            src = grad + (i * c_out + oc) * p
            dst = rows + oc * n_img * p + i * p
            for j in range(p):
                dst[j] = src[j]


cdef void forward_tile(const floating *x, Py_ssize_t n_img, Py_ssize_t c_in, Py_ssize_t h,
                       Py_ssize_t w, Py_ssize_t k, const floating *weight, Py_ssize_t c_out,
                       const floating *bias, floating *out, floating *scratch) noexcept nogil:
    """out (n_img, O, Ho, Wo) <- conv of x (n_img, C, H, W) with weight (O, CKK) (+ bias unless NULL)."""
    cdef Py_ssize_t p = (h - k + 1) * (w - k + 1), width = n_img * p, ckk = c_in * k * k
    cdef floating *cols = scratch
    cdef floating *product = scratch + ckk * width
    cdef Py_ssize_t i, oc, j
    cdef floating shift
    cdef const floating *src
    cdef floating *dst
    im2col_tile(x, n_img, c_in, h, w, k, cols)
    gemm(False, False, <int> c_out, <int> width, <int> ckk, <floating> 1, weight, <int> ckk,
         cols, <int> width, <floating> 0, product, <int> width)
    for i in range(n_img):
        for oc in range(c_out):
            shift = bias[oc] if bias != NULL else 0
            src = product + oc * width + i * p
            dst = out + (i * c_out + oc) * p
            for j in range(p):
                dst[j] = src[j] + shift


cdef inline void direct_forward(const floating *x, Py_ssize_t c_in, Py_ssize_t h, Py_ssize_t w,
                                Py_ssize_t k, const floating *weight, const floating *bias,
                                Py_ssize_t c_out, floating *out, floating *full) noexcept nogil:
    """One image through conv_direct.h; `full` is Ho*W values of scratch."""
    if floating is float:
        hdl_conv_direct_forward_f32(x, <int> c_in, <int> h, <int> w, <int> k, weight, bias, <int> c_out,
                                    out, full)
    else:
        hdl_conv_direct_forward_f64(x, <int> c_in, <int> h, <int> w, <int> k, weight, bias, <int> c_out,
                                    out, full)


def conv2d_forward(const floating[:, :, :, ::1] x,         # IN  (N, C, H, W)
                   const floating[:, ::1] weight,          # IN  (O, C*K*K)
                   const floating[::1] bias,               # IN  (O,) or None
                   floating[:, :, :, ::1] out,             # OUT (N, O, Ho, Wo)
                   floating[:, ::1] scratch,               # scratch (threads, forward_scratch_size or more)
                   int kernel_size, int tile, int n_threads):
    """out = x (*) weight + bias, tiles of `tile` images spread over `n_threads` threads."""
    cdef Py_ssize_t n = x.shape[0], c_in = x.shape[1], h = x.shape[2], w = x.shape[3]
    cdef Py_ssize_t c_out = weight.shape[0], k = kernel_size
    cdef Py_ssize_t n_tiles = (n + tile - 1) // tile, t, n0, n_img
    cdef const floating *bias_ptr = NULL
    cdef floating *thread_scratch
    n_threads = min(n_threads, <int> scratch.shape[0])
    if n == 0:
        return
    if bias is not None:
        bias_ptr = &bias[0]
    if c_in * k * k <= direct_max_patch:
        with nogil, parallel(num_threads=n_threads):
            thread_scratch = &scratch[threadid(), 0]
            for t in prange(n, schedule='static'):
                direct_forward(&x[t, 0, 0, 0], c_in, h, w, k, &weight[0, 0], bias_ptr, c_out,
                               &out[t, 0, 0, 0], thread_scratch)
        return
    if floating is float:
        # Packing the weights costs about what 100 output pixels do: fewer in the whole batch (the
        # LettersCNN's third layer at batch 1: 16) and im2col + GEMM measured faster.
        if (blocked_loops and c_out % 16 == 0 and n * out.shape[2] * out.shape[3] >= 100
                and scratch.shape[1] >= packed_weights_size(c_in, c_out, k)):
            blocked_conv_forward(x, weight, bias_ptr, out, k, &scratch[0, 0], n_threads)
            return
    with nogil, parallel(num_threads=n_threads):
        thread_scratch = &scratch[threadid(), 0]
        for t in prange(n_tiles, schedule='static'):
            n0 = t * tile
            n_img = min(tile, n - n0)
            forward_tile(&x[n0, 0, 0, 0], n_img, c_in, h, w, k, &weight[0, 0], c_out,
                         bias_ptr, &out[n0, 0, 0, 0], thread_scratch)


cdef void blocked_conv_forward(const float[:, :, :, ::1] x, const float[:, ::1] weight, const float *bias,
                               float[:, :, :, ::1] out, Py_ssize_t k, float *packed, int n_threads) noexcept:
    """out = x (*) weight + bias through conv_blocked.h, images spread over the threads;
    packed: packed_weights_size values of scratch."""
    cdef Py_ssize_t n = x.shape[0], c_in = x.shape[1], h = x.shape[2], w = x.shape[3]
    cdef Py_ssize_t c_out = weight.shape[0], t
    cdef bint wide = wide_for(c_out)
    with nogil:
        hdl_conv_pack_weights_f32(&weight[0, 0], <int> c_out, <int> c_in, <int> (k * k), packed)
        for t in prange(n, schedule='static', num_threads=n_threads):
            if wide:
                hdl_conv_wide_forward_f32(&x[t, 0, 0, 0], <int> c_in, <int> h, <int> w, <int> k, packed, bias,
                                          <int> c_out, &out[t, 0, 0, 0])
            else:
                hdl_conv_blocked_forward_f32(&x[t, 0, 0, 0], <int> c_in, <int> h, <int> w, <int> k, packed, bias,
                                             <int> c_out, &out[t, 0, 0, 0])


cdef double sum_row(const floating *values, Py_ssize_t n) noexcept nogil:
    """Sum of n values: eight running partial sums (vectorisable), then added in double."""
    cdef floating partial[8]
    cdef Py_ssize_t j, lane
    cdef double total = 0
    for lane in range(8):
        partial[lane] = 0
    for j in range(0, n - n % 8, 8):
        for lane in range(8):
            partial[lane] += values[j + lane]
    for j in range(n - n % 8, n):
        total += values[j]
    for lane in range(8):
        total += partial[lane]
    return total


cdef void backward_tile(const floating *grad, const floating *x, const floating *weight,
                        Py_ssize_t n_img, Py_ssize_t c_out, Py_ssize_t c_in, Py_ssize_t h,
                        Py_ssize_t w, Py_ssize_t k, floating *grad_x, floating *grad_w,
                        floating *grad_b, floating *scratch) noexcept nogil:
    """One tile of images, each gradient only where its pointer is not NULL:
    grad_b (O,) += pixel sums of grad;  grad_w (O, CKK) += grad (O x n_img*P) @ im2col(x)^T
    (or, where blocked_weight_grad says so, conv_blocked.h's loops image by image);
    grad_x (n_img, C, H, W) = col2im(weight^T @ grad).  grad is gathered once for all three.
    scratch: O*P values for the blocked loops, then the gathered grads and the columns."""
    cdef Py_ssize_t p = (h - k + 1) * (w - k + 1), width = n_img * p, ckk = c_in * k * k, oc, i
    cdef floating *transposed = scratch
    cdef floating *rows = scratch + c_out * p
    cdef floating *cols = rows + c_out * width
    gather_channels_tile(grad, n_img, c_out, p, rows)
    if grad_b != NULL:
        for oc in range(c_out):
            grad_b[oc] += <floating> sum_row(rows + oc * width, width)
    if floating is float:
        if grad_w != NULL and blocked_weight_grad(c_in, c_out, k, p):
            for i in range(n_img):
                if wide_for(c_out):
                    hdl_conv_wide_weight_grad3_f32(rows + i * p, width, x + i * c_in * h * w, <int> c_in, <int> h,
                                                   <int> w, <int> c_out, grad_w, transposed)
                else:
                    hdl_conv_blocked_weight_grad3_f32(rows + i * p, width, x + i * c_in * h * w, <int> c_in,
                                                      <int> h, <int> w, <int> c_out, grad_w, transposed)
            grad_w = NULL
    if grad_w != NULL:
        im2col_tile(x, n_img, c_in, h, w, k, cols)
        gemm(False, True, <int> c_out, <int> ckk, <int> width, <floating> 1, rows, <int> width,
             cols, <int> width, <floating> 1, grad_w, <int> ckk)
    if grad_x != NULL:
        gemm(True, False, <int> ckk, <int> width, <int> c_out, <floating> 1, weight, <int> ckk,
             rows, <int> width, <floating> 0, cols, <int> width)
        col2im_tile(cols, n_img, c_in, h, w, k, grad_x)


def conv2d_backward(const floating[:, :, :, ::1] grad_output,  # IN  (N, O, Ho, Wo)
                    const floating[:, :, :, ::1] x,            # IN  (N, C, H, W), None if grad_weight is
                    const floating[:, ::1] weight,             # IN  (O, C*K*K), None if grad_input is
                    floating[:, :, :, ::1] grad_input,         # OUT (N, C, H, W) or None
                    floating[:, ::1] grad_weight,              # OUT (O, C*K*K) or None
                    floating[::1] grad_bias,                   # OUT (O,) or None
                    floating[:, ::1] scratch,                  # scratch (threads, backward_scratch_size)
                    int c_in, int h, int w, int tile, int n_threads):
    """All three conv gradients in one pass over tiles of `tile` images on `n_threads` threads.

    Each thread sums its weight and bias gradients in its own scratch row; the
    rows are added up at the end.  Pass None for a gradient that is not needed;
    grad_weight needs x and grad_input needs weight (the wrapper sees to it).
    """
    cdef Py_ssize_t n = grad_output.shape[0], c_out = grad_output.shape[1]
    cdef Py_ssize_t k = h - grad_output.shape[2] + 1, ckk = c_in * k * k
    cdef Py_ssize_t size_w = c_out * ckk, size = size_w + c_out
    cdef Py_ssize_t n_tiles = (n + tile - 1) // tile, t, n0, n_img, r, j
    cdef Py_ssize_t n_rows = scratch.shape[0]
    cdef bint want_x = grad_input is not None, want_w = grad_weight is not None
    cdef bint want_b = grad_bias is not None
    cdef floating *thread_scratch
    cdef floating *total
    n_threads = min(n_threads, <int> n_rows)
    for r in range(n_rows):
        for j in range(size):
            scratch[r, j] = 0
    if n > 0:
        with nogil, parallel(num_threads=n_threads):
            thread_scratch = &scratch[threadid(), 0]
            for t in prange(n_tiles, schedule='static'):
                n0 = t * tile
                n_img = min(tile, n - n0)
                backward_tile(&grad_output[n0, 0, 0, 0], &x[n0, 0, 0, 0] if want_w else NULL,
                              &weight[0, 0] if want_x else NULL, n_img, c_out,
                              c_in, h, w, k, &grad_input[n0, 0, 0, 0] if want_x else NULL,
                              thread_scratch if want_w else NULL,
                              thread_scratch + size_w if want_b else NULL, thread_scratch + size)
    if want_w:
        total = &grad_weight[0, 0]
        for j in range(size_w):
            total[j] = scratch[0, j]
        for r in range(1, n_rows):
            for j in range(size_w):
                total[j] += scratch[r, j]
    if want_b:
        for j in range(c_out):
            grad_bias[j] = scratch[0, size_w + j]
        for r in range(1, n_rows):
            for j in range(c_out):
                grad_bias[j] += scratch[r, size_w + j]


def conv2d_backward_bias(const floating[:, :, ::1] grad_output,  # IN  (N, O, P)
                         floating[::1] grad_bias,                # OUT (O,)
                         int n_threads):
    """grad_bias[o] = sum of grad_output[:, o, :]; each image's row summed in float, rows in double."""
    cdef Py_ssize_t n = grad_output.shape[0], c_out = grad_output.shape[1], p = grad_output.shape[2]
    cdef Py_ssize_t oc, i
    cdef double total
    if n == 0 or p == 0:
        for oc in range(c_out):
            grad_bias[oc] = 0
        return
    for oc in prange(c_out, nogil=True, schedule='static', num_threads=n_threads):
        total = 0
        for i in range(n):
            total = total + sum_row(&grad_output[i, oc, 0], p)
        grad_bias[oc] = <floating> total
