"""int8 inference kernels: valid conv2d (and linear, as a conv over a 1x1 output) with uint8
activations, int8 weights and int32 accumulation, then max-pool, requantisation and a 256-entry
lookup table (the activation function) in one pass per image.

Layout: images are NHWC uint8 codes, so the patch of output pixel (oh, ow) is k rows of k*C
contiguous bytes, and patch position (kh, kw, c) is column (kh*k + kw)*C + c of the im2col
matrix (padded with zeros to KP, a multiple of 4).  A linear layer on an (H, W, C) input is the
conv with kernel H = W: its output is 1 x 1.

Shape legend: N batch, H x W input, C input channels, k kernel size, Ho = H-k+1, Wo = W-k+1,
P = Ho*Wo output pixels, p pool size (stride p, ceil mode: Hp = ceil(Ho/p), Wp = ceil(Wo/p)),
O output channels, OP = O rounded up to 16, KP = k*k*C rounded up to 4, K4 = KP/4.

The code of an output is floor(clip(acc * multiplier[o] + offset[o], 0, 255) + 0.5) in float32
(two roundings, no fused multiply-add, so a numpy reference in float32 gives the same bytes),
then table[code].  Max-pooling happens on the int32 accumulators before that: the
requantisation is non-decreasing (multiplier >= 0), so the result equals pooling the codes,
with a quarter of the values left to requantise (int8_epilogue.h).

The int8 GEMM (int8_dot.h) has a portable version and VNNI ones, picked at import by what
the CPU supports; set_path() forces one.  All give the same int32s.  Threads take whole
images (prange over the batch); each uses its own row of the caller's scratch.
"""
from cython.parallel cimport prange, threadid
from libc.stdint cimport int8_t, int32_t, uint8_t
from libc.string cimport memcpy

cdef extern from "int8_dot.h" nogil:
    ctypedef void (*hdl_gemm_u8s8_fn)(const uint8_t *a, Py_ssize_t lda, Py_ssize_t n_rows, Py_ssize_t n_k4,
                                      const int8_t *w, Py_ssize_t n_out, int32_t *c, Py_ssize_t ldc)
    int HDL_INT8_PORTABLE, HDL_INT8_AVX512VNNI, HDL_INT8_AVXVNNI, HDL_INT8_AVX512VNNI256, HDL_INT8_AVX2
    int hdl_int8_path_supported(int path)
    int hdl_int8_best_path()
    hdl_gemm_u8s8_fn hdl_int8_gemm_of(int path)

cdef extern from "int8_epilogue.h" nogil:
    void hdl_int8_pool_requantize(const int32_t *acc, Py_ssize_t ho, Py_ssize_t wo, Py_ssize_t ld, Py_ssize_t p,
                                  Py_ssize_t n_out, const float *multiplier, const float *offset,
                                  const uint8_t *table, uint8_t *out)
    void hdl_int8_dequantize(const int32_t *acc, Py_ssize_t n_rows, Py_ssize_t ld, Py_ssize_t n_out,
                             const float *multiplier, const float *offset, float *out)

PATHS = {"portable": HDL_INT8_PORTABLE, "avx512vnni": HDL_INT8_AVX512VNNI, "avxvnni": HDL_INT8_AVXVNNI,
         "avx512vnni256": HDL_INT8_AVX512VNNI256, "avx2": HDL_INT8_AVX2}
cdef int current_path = hdl_int8_best_path()


def path_supported(str name):
    """True when this CPU can run the GEMM path `name` (one of PATHS)."""
    return bool(hdl_int8_path_supported(PATHS[name]))


def best_path():
    """The path chosen at import: the fastest this CPU supports."""
    best = hdl_int8_best_path()
    return next(name for name, code in PATHS.items() if code == best)


def get_path():
    return next(name for name, code in PATHS.items() if code == current_path)


def set_path(str name):
    """Run the int8 GEMM on path `name` (the caller checks path_supported); returns the old name."""
    global current_path
    previous = get_path()
    current_path = PATHS[name]
    return previous


# Patch runs (k*C bytes) at least this long are copied with memcpy.
cdef Py_ssize_t MIN_MEMCPY_RUN = 32


cdef inline Py_ssize_t round_up(Py_ssize_t n, Py_ssize_t multiple) noexcept nogil:
    return (n + multiple - 1) // multiple * multiple


def conv_scratch_size(int h, int w, int c_in, int kernel_size, int c_out_padded):
    """Bytes of per-thread scratch the conv kernels need: im2col rows and int32 accumulators."""
    cdef Py_ssize_t n_pixels = (h - kernel_size + 1) * (w - kernel_size + 1)
    return round_up(round_up(n_pixels * round_up(kernel_size * kernel_size * c_in, 4), 64) + 4 * n_pixels * c_out_padded, 64)


cdef void im2col_nhwc(const uint8_t *x, Py_ssize_t h, Py_ssize_t w, Py_ssize_t c, Py_ssize_t k,
                      Py_ssize_t k_padded, uint8_t *cols) noexcept nogil:
    """cols (P, KP) <- the patches of x (H, W, C); the KP - k*k*C padding columns are zero.

    A patch is k runs of k*C contiguous bytes.  Long runs are copied with memcpy; short ones
    (the 1-channel first layer: 3 bytes) column by column, since a library call per 3 bytes
    cost more than the whole GEMM of that layer."""
    cdef Py_ssize_t ho = h - k + 1, wo = w - k + 1, oh, ow, kh, j, run = k * c
    cdef uint8_t *row
    for oh in range(ho):
        if run >= MIN_MEMCPY_RUN:
            for ow in range(wo):
                row = cols + (oh * wo + ow) * k_padded
                for kh in range(k):
                    memcpy(row + kh * run, x + ((oh + kh) * w + ow) * c, run)
        else:
            for kh in range(k):
                for j in range(run):
                    for ow in range(wo):
                        cols[(oh * wo + ow) * k_padded + kh * run + j] = x[((oh + kh) * w + ow) * c + j]
        for j in range(k * run, k_padded):
            for ow in range(wo):
                cols[(oh * wo + ow) * k_padded + j] = 0


cdef int32_t *image_accumulators(const uint8_t *x, Py_ssize_t h, Py_ssize_t w, Py_ssize_t c, Py_ssize_t k,
                                 const int8_t *weight, Py_ssize_t n_k4, Py_ssize_t n_out_padded, uint8_t *scratch,
                                 hdl_gemm_u8s8_fn gemm) noexcept nogil:
    """The conv of one image x (H, W, C) in int32: a pointer to (Ho, Wo, OP) accumulators inside `scratch`."""
    cdef Py_ssize_t n_pixels = (h - k + 1) * (w - k + 1)
    cdef int32_t *acc = <int32_t *> (scratch + round_up(n_pixels * 4 * n_k4, 64))
    im2col_nhwc(x, h, w, c, k, 4 * n_k4, scratch)
    gemm(scratch, 4 * n_k4, n_pixels, n_k4, weight, n_out_padded, acc, n_out_padded)
    return acc


def conv2d_u8(const uint8_t[:, :, :, ::1] x,         # IN  (N, H, W, C) codes
              const int8_t[:, :, ::1] weight,        # IN  (K4, OP, 4) packed
              const float[::1] multiplier,           # IN  (O,)
              const float[::1] offset,               # IN  (O,)
              const uint8_t[::1] table,              # IN  (256,) requantised code -> output code
              uint8_t[:, :, :, ::1] codes,           # OUT (N, Hp, Wp, O) codes, or None
              float[:, :, :, ::1] reals,             # OUT (N, Ho, Wo, O) float32, or None
              uint8_t[:, ::1] scratch,               # (n_threads, conv_scratch_size(...))
              int kernel_size, int pool_size, int n_threads):
    """codes = table[requantised(max-pool(conv(x, weight)))], or, when `codes` is None (the last
    layer: no pool, no table), reals = conv(x, weight) * multiplier + offset in float32."""
    cdef Py_ssize_t n = x.shape[0], h = x.shape[1], w = x.shape[2], c = x.shape[3], i
    cdef Py_ssize_t ho = h - kernel_size + 1, wo = w - kernel_size + 1
    cdef Py_ssize_t n_k4 = weight.shape[0], n_out_padded = weight.shape[1], n_out = multiplier.shape[0]
    cdef uint8_t *codes_out = NULL if codes is None else &codes[0, 0, 0, 0]
    cdef float *reals_out = NULL if reals is None else &reals[0, 0, 0, 0]
    cdef Py_ssize_t image_codes = ((ho + pool_size - 1) // pool_size) * ((wo + pool_size - 1) // pool_size) * n_out
    cdef hdl_gemm_u8s8_fn gemm = hdl_int8_gemm_of(current_path)
    cdef int32_t *acc
    if n == 0:
        return
    for i in prange(n, nogil=True, schedule='static', num_threads=n_threads):
        acc = image_accumulators(&x[i, 0, 0, 0], h, w, c, kernel_size, &weight[0, 0, 0], n_k4, n_out_padded,
                                 &scratch[threadid(), 0], gemm)
        if codes_out != NULL:
            hdl_int8_pool_requantize(acc, ho, wo, n_out_padded, pool_size, n_out, &multiplier[0], &offset[0],
                                     &table[0], codes_out + i * image_codes)
        else:
            hdl_int8_dequantize(acc, ho * wo, n_out_padded, n_out, &multiplier[0], &offset[0],
                                reals_out + i * ho * wo * n_out)


def quantize_u8(const float[:, ::1] x,     # IN  (N, F)
                float inverse_scale, float zero_point,
                uint8_t[:, ::1] out,        # OUT (N, F)
                int n_threads):
    """out = floor(clip(x * inverse_scale + zero_point, 0, 255) + 0.5): float32 values to uint8 codes."""
    cdef Py_ssize_t n = x.shape[0], f = x.shape[1], i, j
    cdef float v
    for i in prange(n, nogil=True, schedule='static', num_threads=n_threads):
        for j in range(f):
            v = x[i, j] * inverse_scale + zero_point
            v = 0.0 if v < 0.0 else (255.0 if v > 255.0 else v)
            out[i, j] = <uint8_t> <int> (v + <float> 0.5)


def gemm_u8s8(const uint8_t[:, ::1] a,      # IN  (R, KP)
              const int8_t[:, :, ::1] weight,  # IN  (K4, OP, 4) packed
              int32_t[:, ::1] c):               # OUT (R, OP)
    """c = a . W^T exactly, on the current path: the bare dot products, for tests."""
    cdef hdl_gemm_u8s8_fn gemm = hdl_int8_gemm_of(current_path)
    if a.shape[0] == 0:
        return
    with nogil:
        gemm(&a[0, 0], a.shape[1], a.shape[0], weight.shape[0], &weight[0, 0, 0], weight.shape[1], &c[0, 0],
             c.shape[1])
