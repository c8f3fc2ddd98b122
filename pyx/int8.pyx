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

The int8 GEMM (int8_dot.h) has a portable version, an AVX2 one, VNNI ones and one on AMX tiles
(int8_amx.h), picked at import by what the CPU supports; set_path() forces one.  All give the
same int32s.  The AVX2 one is "wide": it reads int16 copies of the codes and of the weights
(each layer's weight_wide), since AVX2 multiplies bytes exactly only after widening them, and it
reads the patches where they lie in the image when weight_wide is packed for that
(wide_kernel_width > 0), without im2col.

Threads take whole images (prange over the batch); each uses its own row of the caller's
scratch.  conv2d_u8 runs one layer; network_u8 runs a whole network image by image in a single
parallel region, since on a busy machine every region start and end waits for all its threads
to get a core.
"""
from cython.parallel cimport prange, threadid
from libc.stdint cimport int8_t, int16_t, int32_t, uint8_t

import numpy as np

cdef extern from "int8_dot.h" nogil:
    ctypedef void (*hdl_gemm_u8s8_fn)(const uint8_t *a, Py_ssize_t lda, Py_ssize_t n_rows, Py_ssize_t n_k4,
                                      const int8_t *w, Py_ssize_t n_out, int32_t *c, Py_ssize_t ldc)
    ctypedef void (*hdl_conv_s16_fn)(const int16_t *x, Py_ssize_t h, Py_ssize_t w, Py_ssize_t c, Py_ssize_t k,
                                     Py_ssize_t kw, const int16_t *weight, Py_ssize_t n_out, int32_t *acc,
                                     Py_ssize_t ldc)
    int HDL_INT8_PORTABLE, HDL_INT8_AVX512VNNI, HDL_INT8_AVXVNNI, HDL_INT8_AVX512VNNI256, HDL_INT8_AVX2, HDL_INT8_AMX
    int hdl_int8_path_supported(int path)
    int hdl_int8_best_path()
    hdl_gemm_u8s8_fn hdl_int8_gemm_of(int path)
    hdl_conv_s16_fn hdl_int8_wide_conv_of(int path)

cdef extern from "int8_im2col.h" nogil:
    void hdl_im2col_u8(const uint8_t *x, Py_ssize_t h, Py_ssize_t w, Py_ssize_t c, Py_ssize_t k, Py_ssize_t k_padded,
                       uint8_t *cols)
    void hdl_im2col_s16(const uint8_t *x, Py_ssize_t h, Py_ssize_t w, Py_ssize_t c, Py_ssize_t k, Py_ssize_t k_padded,
                        int16_t *cols)
    void hdl_widen_u8(const uint8_t *x, Py_ssize_t n, int16_t *out)

cdef extern from "int8_epilogue.h" nogil:
    ctypedef void (*hdl_int8_pool_requantize_fn)(const int32_t *acc, Py_ssize_t ho, Py_ssize_t wo, Py_ssize_t ld,
                                                 Py_ssize_t p, Py_ssize_t n_out, const float *multiplier,
                                                 const float *offset, const uint8_t *table, uint8_t *out)
    int HDL_EPILOGUE_PORTABLE, HDL_EPILOGUE_AVX2, HDL_EPILOGUE_VBMI
    hdl_int8_pool_requantize_fn hdl_int8_pool_requantize_of(int level)
    void hdl_int8_dequantize(const int32_t *acc, Py_ssize_t n_rows, Py_ssize_t ld, Py_ssize_t n_out,
                             const float *multiplier, const float *offset, float *out)

PATHS = {"portable": HDL_INT8_PORTABLE, "avx512vnni": HDL_INT8_AVX512VNNI, "avxvnni": HDL_INT8_AVXVNNI,
         "avx512vnni256": HDL_INT8_AVX512VNNI256, "avx2": HDL_INT8_AVX2, "amx": HDL_INT8_AMX}
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


cdef inline Py_ssize_t round_up(Py_ssize_t n, Py_ssize_t multiple) noexcept nogil:
    return (n + multiple - 1) // multiple * multiple


cdef struct PathKernels:
    # The kernels of the current path: its convolution on int16 operands, `wide`, when it has one,
    # else its GEMM on bytes, `narrow`; and the epilogue of epilogue_level (forcing "portable" also tests the
    # plain epilogue).
    hdl_gemm_u8s8_fn narrow
    hdl_conv_s16_fn wide
    hdl_int8_pool_requantize_fn pool_requantize


cdef int epilogue_level(int path) noexcept:
    """The epilogue of a path: portable with portable, AVX-512 VBMI's table lookup (where the CPU has it) with
    the AVX-512 paths, AVX2's with the 256-bit ones (so each version runs, and is tested, on some path)."""
    if path == HDL_INT8_PORTABLE:
        return HDL_EPILOGUE_PORTABLE
    if path == HDL_INT8_AVX512VNNI or path == HDL_INT8_AMX:
        return HDL_EPILOGUE_VBMI
    return HDL_EPILOGUE_AVX2


cdef PathKernels current_kernels() noexcept:
    cdef PathKernels kernels
    kernels.narrow = hdl_int8_gemm_of(current_path)
    kernels.wide = hdl_int8_wide_conv_of(current_path)
    kernels.pool_requantize = hdl_int8_pool_requantize_of(epilogue_level(current_path))
    return kernels


cdef inline Py_ssize_t codes_size(Py_ssize_t h, Py_ssize_t w, Py_ssize_t c, Py_ssize_t k) noexcept nogil:
    """Bytes of the first part of a conv's scratch: im2col rows, or the widened image and the up to 3*C
    zero codes that a kernel packed wider than k reads past it, all as int16."""
    cdef Py_ssize_t n_pixels = (h - k + 1) * (w - k + 1)
    return round_up(2 * max(n_pixels * round_up(k * k * c, 4), h * w * c + 3 * c), 64)


def conv_scratch_size(Py_ssize_t h, Py_ssize_t w, Py_ssize_t c_in, Py_ssize_t kernel_size,
                      Py_ssize_t c_out_padded):
    """Bytes of per-thread scratch the conv kernels need: im2col rows or the widened image and int32 accumulators."""
    cdef Py_ssize_t n_pixels = (h - kernel_size + 1) * (w - kernel_size + 1)
    cdef Py_ssize_t cols = codes_size(h, w, c_in, kernel_size)
    return round_up(cols + 4 * n_pixels * c_out_padded, 64)


cdef struct LayerPlan:
    # One layer's parameters (pointers into an Int8Conv's arrays) and its input geometry.
    const int8_t *weight
    const int16_t *weight_wide
    const float *multiplier
    const float *offset
    const uint8_t *table
    Py_ssize_t n_k4, n_out_padded, n_out, h, w, c, k, p
    Py_ssize_t kernel_width  # of weight_wide's kernel: patches read in place, or 0: im2col


cdef int32_t *image_accumulators(const LayerPlan *layer, const uint8_t *x, uint8_t *scratch,
                                 const PathKernels *kernels) noexcept nogil:
    """The conv of one image x (H, W, C) in int32: a pointer to (Ho, Wo, OP) accumulators inside `scratch`."""
    cdef Py_ssize_t n_pixels = (layer.h - layer.k + 1) * (layer.w - layer.k + 1), k_padded = 4 * layer.n_k4
    cdef Py_ssize_t n_codes = layer.h * layer.w * layer.c, j
    cdef int32_t *acc = <int32_t *> (scratch + codes_size(layer.h, layer.w, layer.c, layer.k))
    if kernels.wide != NULL and layer.kernel_width > 0:  # patches read in place
        hdl_widen_u8(x, n_codes, <int16_t *> scratch)
        for j in range(n_codes, n_codes + (layer.kernel_width - layer.k) * layer.c):
            (<int16_t *> scratch)[j] = 0
        kernels.wide(<int16_t *> scratch, layer.h, layer.w, layer.c, layer.k, layer.kernel_width, layer.weight_wide,
                     layer.n_out_padded, acc, layer.n_out_padded)
    elif kernels.wide != NULL:  # the matrix of patches, as a (P, 1, KP) image under a 1x1 kernel
        hdl_im2col_s16(x, layer.h, layer.w, layer.c, layer.k, k_padded, <int16_t *> scratch)
        kernels.wide(<int16_t *> scratch, n_pixels, 1, k_padded, 1, 1, layer.weight_wide, layer.n_out_padded, acc,
                     layer.n_out_padded)
    else:
        hdl_im2col_u8(x, layer.h, layer.w, layer.c, layer.k, k_padded, scratch)
        kernels.narrow(scratch, k_padded, n_pixels, layer.n_k4, layer.weight, layer.n_out_padded, acc,
                       layer.n_out_padded)
    return acc


cdef void run_layer(const LayerPlan *layer, const uint8_t *x, uint8_t *scratch, const PathKernels *kernels,
                    uint8_t *codes, float *reals) noexcept nogil:
    """One image through one layer: codes (Hp, Wp, O), or when codes is NULL reals (Ho, Wo, O)."""
    cdef Py_ssize_t ho = layer.h - layer.k + 1, wo = layer.w - layer.k + 1
    cdef int32_t *acc = image_accumulators(layer, x, scratch, kernels)
    if codes != NULL:
        kernels.pool_requantize(acc, ho, wo, layer.n_out_padded, layer.p, layer.n_out, layer.multiplier,
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
    """Fill `plan` from an Int8Conv (weight, weight_wide, multiplier, offset, table, kernel_size, pool_size)
    reading (h, w, c)."""
    cdef const int8_t[:, :, ::1] weight = layer.weight
    cdef const int16_t[:, :, ::1] weight_wide = layer.weight_wide
    cdef const float[::1] multiplier = layer.multiplier
    cdef const float[::1] offset = layer.offset
    cdef const uint8_t[::1] table = layer.table
    plan.weight, plan.multiplier, plan.offset, plan.table = &weight[0, 0, 0], &multiplier[0], &offset[0], &table[0]
    plan.weight_wide = &weight_wide[0, 0, 0]
    plan.n_k4, plan.n_out_padded, plan.n_out = weight.shape[0], weight.shape[1], multiplier.shape[0]
    plan.h, plan.w, plan.c, plan.k, plan.p = h, w, c, layer.kernel_size, layer.pool_size
    plan.kernel_width = layer.wide_kernel_width


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
    cdef PathKernels kernels = current_kernels()
    if n == 0:
        return
    for i in prange(n, nogil=True, schedule='dynamic', chunksize=1, num_threads=n_threads):
        run_layer(&plan, &x[i, 0, 0, 0], &scratch[threadid(), 0], &kernels,
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
    cdef PathKernels kernels = current_kernels()
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
            run_layer(&plans[index], source, base, &kernels, target, NULL)
            source = target
        run_layer(&plans[n_layers - 1], source, base, &kernels, NULL, &out[i, 0])
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
    """c = a . W^T exactly, on the current path (a wide path gets int16 copies): the bare dot products, for tests."""
    cdef PathKernels kernels = current_kernels()
    cdef const int16_t[:, ::1] a_wide = np.asarray(a, dtype=np.int16)
    cdef const int16_t[:, :, ::1] weight_wide = np.asarray(weight, dtype=np.int16)
    if a.shape[0] == 0:
        return
    with nogil:
        if kernels.wide != NULL:  # the rows as a (R, 1, KP) image under a 1x1 kernel
            kernels.wide(&a_wide[0, 0], a.shape[0], 1, a.shape[1], 1, 1, &weight_wide[0, 0, 0], weight.shape[1],
                         &c[0, 0], c.shape[1])
        else:
            kernels.narrow(&a[0, 0], a.shape[1], a.shape[0], weight.shape[0], &weight[0, 0, 0], weight.shape[1],
                           &c[0, 0], c.shape[1])
