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

The int8 GEMM (int8_dot.h) has a portable version, an AVX2 one and VNNI ones, picked at import
by what the CPU supports; set_path() forces one.  All give the same int32s.  Threads take whole
images (prange over the batch); each uses its own row of the caller's scratch.  conv2d_u8 runs
one layer; network_u8 runs a whole network image by image in a single parallel region, since
on a busy machine every region start and end waits for all its threads to get a core.
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
    cdef Py_ssize_t cols = round_up(n_pixels * round_up(kernel_size * kernel_size * c_in, 4), 64)
    return round_up(cols + 4 * n_pixels * c_out_padded, 64)


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


cdef struct LayerPlan:
    # One layer's parameters (pointers into an Int8Conv's arrays) and its input geometry.
    const int8_t *weight
    const float *multiplier
    const float *offset
    const uint8_t *table
    Py_ssize_t n_k4, n_out_padded, n_out, h, w, c, k, p


cdef void run_layer(const LayerPlan *layer, const uint8_t *x, uint8_t *scratch, hdl_gemm_u8s8_fn gemm,
                    uint8_t *codes, float *reals) noexcept nogil:
    """One image through one layer: codes (Hp, Wp, O), or when codes is NULL reals (Ho, Wo, O)."""
    cdef Py_ssize_t ho = layer.h - layer.k + 1, wo = layer.w - layer.k + 1
    cdef int32_t *acc = image_accumulators(x, layer.h, layer.w, layer.c, layer.k, layer.weight, layer.n_k4,
                                           layer.n_out_padded, scratch, gemm)
    if codes != NULL:
        hdl_int8_pool_requantize(acc, ho, wo, layer.n_out_padded, layer.p, layer.n_out, layer.multiplier,
                                 layer.offset, layer.table, codes)
    else:
        hdl_int8_dequantize(acc, ho * wo, layer.n_out_padded, layer.n_out, layer.multiplier, layer.offset, reals)


cdef void quantize_row(const float *x, Py_ssize_t n, float inverse_scale, float zero_point,
                       uint8_t *out) noexcept nogil:
    """out = floor(clip(x * inverse_scale + zero_point, 0, 255) + 0.5) for n values."""
    cdef Py_ssize_t j
    cdef float v
    for j in range(n):
        v = x[j] * inverse_scale + zero_point
        v = 0.0 if v < 0.0 else (255.0 if v > 255.0 else v)
        out[j] = <uint8_t> <int> (v + <float> 0.5)


cdef void plan_layer(LayerPlan *plan, layer, Py_ssize_t h, Py_ssize_t w, Py_ssize_t c):
    """Fill `plan` from an Int8Conv (weight, multiplier, offset, table, kernel_size, pool_size) reading (h, w, c)."""
    cdef const int8_t[:, :, ::1] weight = layer.weight
    cdef const float[::1] multiplier = layer.multiplier
    cdef const float[::1] offset = layer.offset
    cdef const uint8_t[::1] table = layer.table
    plan.weight, plan.multiplier, plan.offset, plan.table = &weight[0, 0, 0], &multiplier[0], &offset[0], &table[0]
    plan.n_k4, plan.n_out_padded, plan.n_out = weight.shape[0], weight.shape[1], multiplier.shape[0]
    plan.h, plan.w, plan.c, plan.k, plan.p = h, w, c, layer.kernel_size, layer.pool_size


# Images go to threads one at a time (dynamic), not in fixed halves: on a shared machine a
# thread that loses its core then delays the batch by one image, not by its whole share.

def conv2d_u8(const uint8_t[:, :, :, ::1] x,         # IN  (N, H, W, C) codes
              layer,                                 # IN  Int8Conv
              uint8_t[:, :, :, ::1] codes,           # OUT (N, Hp, Wp, O) codes, or None
              float[:, :, :, ::1] reals,             # OUT (N, Ho, Wo, O) float32, or None
              uint8_t[:, ::1] scratch,               # (n_threads, conv_scratch_size(...))
              int n_threads):
    """codes = table[requantised(max-pool(conv(x, weight)))], or, when `codes` is None (the last
    layer: no pool, no table), reals = conv(x, weight) * multiplier + offset in float32."""
    cdef Py_ssize_t n = x.shape[0], i
    cdef LayerPlan plan
    plan_layer(&plan, layer, x.shape[1], x.shape[2], x.shape[3])
    cdef Py_ssize_t ho = plan.h - plan.k + 1, wo = plan.w - plan.k + 1
    cdef Py_ssize_t image_codes = ((ho + plan.p - 1) // plan.p) * ((wo + plan.p - 1) // plan.p) * plan.n_out
    cdef uint8_t *codes_out = NULL if codes is None else &codes[0, 0, 0, 0]
    cdef float *reals_out = NULL if reals is None else &reals[0, 0, 0, 0]
    cdef hdl_gemm_u8s8_fn gemm = hdl_int8_gemm_of(current_path)
    if n == 0:
        return
    for i in prange(n, nogil=True, schedule='dynamic', chunksize=1, num_threads=n_threads):
        run_layer(&plan, &x[i, 0, 0, 0], &scratch[threadid(), 0], gemm,
                  codes_out + i * image_codes if codes_out != NULL else NULL,
                  reals_out + i * ho * wo * plan.n_out if codes_out == NULL else NULL)


def network_scratch_size(int h, int w, int c, list layers):
    """Bytes of per-thread scratch network_u8 needs for (H, W, C) images."""
    conv_bytes, input_bytes, codes_bytes = network_layout(h, w, c, layers)
    return conv_bytes + input_bytes + 2 * codes_bytes


cdef network_layout(Py_ssize_t h, Py_ssize_t w, Py_ssize_t c, list layers):
    """Bytes of each part of network_u8's per-thread scratch: the largest conv scratch, the
    quantised image, and each of the two buffers of codes that the layers pass along."""
    cdef Py_ssize_t conv_bytes = 0, codes_bytes = 0, input_bytes = round_up(h * w * c, 64)
    for index, layer in enumerate(layers):
        conv_bytes = max(conv_bytes, conv_scratch_size(h, w, c, layer.kernel_size, layer.weight.shape[1]))
        h = (h - layer.kernel_size + layer.pool_size) // layer.pool_size
        w = (w - layer.kernel_size + layer.pool_size) // layer.pool_size
        c = layer.multiplier.shape[0]
        if index < len(layers) - 1:
            codes_bytes = max(codes_bytes, round_up(h * w * c, 64))
    return conv_bytes, input_bytes, codes_bytes


# The most layers network_u8 takes (their plans live on the stack).
cdef enum:
    MAX_NETWORK_LAYERS = 16
MAX_LAYERS = MAX_NETWORK_LAYERS


def network_u8(const float[:, ::1] x,   # IN  (N, H*W*C) float32 in NHWC order
               float inverse_scale, float zero_point, int h, int w, int c,
               list layers,              # IN  [Int8Conv], each reading the previous one's output
               float[:, ::1] out,        # OUT (N, O) the last layer's real outputs (its output is 1 x 1)
               uint8_t[:, ::1] scratch,  # (n_threads, network_scratch_size(...))
               int n_threads):
    """The whole network, image by image, in one parallel region: quantise the input
    (as quantize_u8), then every layer as conv2d_u8.  The caller checks that the layers chain.
    Returns False, computing nothing, for more than MAX_LAYERS layers or too little scratch."""
    cdef Py_ssize_t n = x.shape[0], n_layers = len(layers), i, index
    cdef Py_ssize_t conv_bytes, input_bytes, codes_bytes
    cdef LayerPlan plans[MAX_NETWORK_LAYERS]
    cdef hdl_gemm_u8s8_fn gemm = hdl_int8_gemm_of(current_path)
    cdef uint8_t *base
    cdef uint8_t *source
    cdef uint8_t *target
    conv_bytes, input_bytes, codes_bytes = network_layout(h, w, c, layers)
    if (n_layers < 1 or n_layers > MAX_NETWORK_LAYERS or scratch.shape[0] < n_threads
            or scratch.shape[1] < conv_bytes + input_bytes + 2 * codes_bytes):
        return False
    for index, layer in enumerate(layers):
        plan_layer(&plans[index], layer, h, w, c)
        h = (h - layer.kernel_size + layer.pool_size) // layer.pool_size
        w = (w - layer.kernel_size + layer.pool_size) // layer.pool_size
        c = layer.multiplier.shape[0]
    for i in prange(n, nogil=True, schedule='dynamic', chunksize=1, num_threads=n_threads):
        base = &scratch[threadid(), 0]
        source = base + conv_bytes
        quantize_row(&x[i, 0], x.shape[1], inverse_scale, zero_point, source)
        for index in range(n_layers - 1):
            target = base + conv_bytes + input_bytes + (index % 2) * codes_bytes
            run_layer(&plans[index], source, base, gemm, target, NULL)
            source = target
        run_layer(&plans[n_layers - 1], source, base, gemm, NULL, &out[i, 0])
    return True


def quantize_u8(const float[:, ::1] x,     # IN  (N, F)
                float inverse_scale, float zero_point,
                uint8_t[:, ::1] out,        # OUT (N, F)
                int n_threads):
    """out = floor(clip(x * inverse_scale + zero_point, 0, 255) + 0.5): float32 values to uint8 codes."""
    cdef Py_ssize_t i
    for i in prange(x.shape[0], nogil=True, schedule='static', num_threads=n_threads):
        quantize_row(&x[i, 0], x.shape[1], inverse_scale, zero_point, &out[i, 0])


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
