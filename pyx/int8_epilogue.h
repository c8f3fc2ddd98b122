/* What the int8 layers do with one image's int32 accumulators after the GEMM: max-pool, requantise
 * to a uint8 code and look the code up in the layer's table, in one pass.
 *
 * acc (Ho, Wo, ld) int32, ld >= O -> out (Hp, Wp, O) uint8, p x p windows, stride p, ceil mode:
 *   out = table[floor(clip(max(window) * multiplier[o] + offset[o], 0, 255) + 0.5)]
 * in float32 with two roundings.  Pooling before requantising is exact: the requantisation is
 * non-decreasing in acc (multiplier >= 0).  The loops run over channels in blocks of
 * HDL_EPILOGUE_BLOCK so the window maximum and the codes vectorise; only the table lookup is
 * a byte-by-byte gather.  Compiled for baseline x86-64 and AVX2 but never with FMA (which
 * -mavx2 does not enable), so the multiply and the add round separately on every CPU, as a
 * numpy float32 reference does. */
#ifndef HDL_INT8_EPILOGUE_H
#define HDL_INT8_EPILOGUE_H
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define HDL_NO_FMA_MULTIVERSION __attribute__((target_clones("avx2", "default")))
#else
#define HDL_NO_FMA_MULTIVERSION
#endif

#define HDL_EPILOGUE_BLOCK 64

HDL_NO_FMA_MULTIVERSION
static void hdl_int8_pool_requantize(const int32_t *restrict acc, ptrdiff_t ho, ptrdiff_t wo, ptrdiff_t ld,
                                     ptrdiff_t p, ptrdiff_t n_out, const float *restrict multiplier,
                                     const float *restrict offset, const uint8_t *restrict table,
                                     uint8_t *restrict out) {
    ptrdiff_t hp = (ho + p - 1) / p, wp = (wo + p - 1) / p;
    int32_t best[HDL_EPILOGUE_BLOCK];
    int32_t codes[HDL_EPILOGUE_BLOCK];
    for (ptrdiff_t ph = 0; ph < hp; ph++)
        for (ptrdiff_t pw = 0; pw < wp; pw++) {
            ptrdiff_t h_end = ph * p + p < ho ? ph * p + p : ho, w_end = pw * p + p < wo ? pw * p + p : wo;
            uint8_t *restrict dst = out + (ph * wp + pw) * n_out;
            for (ptrdiff_t o0 = 0; o0 < n_out; o0 += HDL_EPILOGUE_BLOCK) {
                ptrdiff_t n = n_out - o0 < HDL_EPILOGUE_BLOCK ? n_out - o0 : HDL_EPILOGUE_BLOCK;
                const int32_t *first = acc + (ph * p * wo + pw * p) * ld + o0;
                for (ptrdiff_t o = 0; o < n; o++)
                    best[o] = first[o];
                for (ptrdiff_t hh = ph * p; hh < h_end; hh++)
                    for (ptrdiff_t ww = pw * p; ww < w_end; ww++) {
                        const int32_t *src = acc + (hh * wo + ww) * ld + o0;
                        for (ptrdiff_t o = 0; o < n; o++)
                            best[o] = src[o] > best[o] ? src[o] : best[o];
                    }
                for (ptrdiff_t o = 0; o < n; o++) {
                    float v = (float) best[o] * multiplier[o0 + o] + offset[o0 + o];
                    v = v < 0.0f ? 0.0f : (v > 255.0f ? 255.0f : v);
                    codes[o] = (int32_t) (v + 0.5f);
                }
                for (ptrdiff_t o = 0; o < n; o++)
                    dst[o0 + o] = table[codes[o]];
            }
        }
}

/* out (rows, O) float32 = acc (rows, ld) * multiplier + offset: the last layer's real outputs. */
HDL_NO_FMA_MULTIVERSION
static void hdl_int8_dequantize(const int32_t *restrict acc, ptrdiff_t n_rows, ptrdiff_t ld, ptrdiff_t n_out,
                                const float *restrict multiplier, const float *restrict offset,
                                float *restrict out) {
    for (ptrdiff_t r = 0; r < n_rows; r++)
        for (ptrdiff_t o = 0; o < n_out; o++)
            out[r * n_out + o] = (float) acc[r * ld + o] * multiplier[o] + offset[o];
}
#endif
