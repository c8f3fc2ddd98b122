/* What the int8 layers do with one image's int32 accumulators after the GEMM: max-pool, requantise
 * to a uint8 code and look the code up in the layer's table, in one pass.
 *
 * acc (Ho, Wo, ld) int32, ld >= O -> out (Hp, Wp, O) uint8, p x p windows, stride p, ceil mode:
 *   out = table[floor(clip(max(window) * multiplier[o] + offset[o], 0, 255) + 0.5)]
 * in float32 with two roundings.  Pooling before requantising is exact: the requantisation is
 * non-decreasing in acc (multiplier >= 0).  The loops run over channels in blocks of
 * HDL_EPILOGUE_BLOCK so the window maximum and the codes vectorise; only the table lookup is
 * a byte-by-byte gather.  Compiled for baseline x86-64 and AVX2 but never with FMA (which
 * -mavx2 does not enable; and setup.py builds this extension with -ffp-contract=off, for CPUs
 * such as aarch64 where FMA is in the baseline), so the multiply and the add round separately on
 * every CPU, as a numpy float32 reference does. */
#ifndef HDL_INT8_EPILOGUE_H
#define HDL_INT8_EPILOGUE_H
#include <stddef.h>
#include <stdint.h>
#include "simd.h"

#if defined(HDL_X86_INTRINSICS) && defined(__linux__)
#define HDL_NO_FMA_MULTIVERSION __attribute__((target_clones("avx2", "default")))
#else
#define HDL_NO_FMA_MULTIVERSION
#endif

#define HDL_EPILOGUE_BLOCK 64

/* Pooled pixel (ph, pw)'s window of the (Ho, Wo) accumulators: rows h0..h_end-1, columns w0..w_end-1, cut at
 * the edge (ceil mode); full_2x2 when it is a whole 2 x 2 window, which the SIMD versions unroll. */
typedef struct {
    ptrdiff_t h0, h_end, w0, w_end;
    int full_2x2;
} hdl_pool_window;

static inline hdl_pool_window hdl_window_at(ptrdiff_t ph, ptrdiff_t pw, ptrdiff_t p, ptrdiff_t ho, ptrdiff_t wo) {
    hdl_pool_window window = {ph * p, ph * p + p < ho ? ph * p + p : ho, pw * p, pw * p + p < wo ? pw * p + p : wo, 0};
    window.full_2x2 = p == 2 && window.h_end - window.h0 == 2 && window.w_end - window.w0 == 2;
    return window;
}

HDL_NO_FMA_MULTIVERSION
static void hdl_int8_pool_requantize_portable(const int32_t *restrict acc, ptrdiff_t ho, ptrdiff_t wo,
                                              ptrdiff_t ld, ptrdiff_t p, ptrdiff_t n_out,
                                              const float *restrict multiplier, const float *restrict offset,
                                              const uint8_t *restrict table, uint8_t *restrict out) {
    ptrdiff_t hp = (ho + p - 1) / p, wp = (wo + p - 1) / p;
    int32_t best[HDL_EPILOGUE_BLOCK];
    int32_t codes[HDL_EPILOGUE_BLOCK];
    for (ptrdiff_t ph = 0; ph < hp; ph++)
        for (ptrdiff_t pw = 0; pw < wp; pw++) {
            const hdl_pool_window window = hdl_window_at(ph, pw, p, ho, wo);
            uint8_t *restrict dst = out + (ph * wp + pw) * n_out;
            for (ptrdiff_t o0 = 0; o0 < n_out; o0 += HDL_EPILOGUE_BLOCK) {
                ptrdiff_t n = n_out - o0 < HDL_EPILOGUE_BLOCK ? n_out - o0 : HDL_EPILOGUE_BLOCK;
                const int32_t *first = acc + (ph * p * wo + pw * p) * ld + o0;
                for (ptrdiff_t o = 0; o < n; o++)
                    best[o] = first[o];
                for (ptrdiff_t hh = window.h0; hh < window.h_end; hh++)
                    for (ptrdiff_t ww = window.w0; ww < window.w_end; ww++) {
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

#ifdef HDL_X86_INTRINSICS
#include <immintrin.h>
#define HDL_HAVE_AVX2_EPILOGUE 1

/* bytes[i] = table[bytes[i]] for n bytes: 32 at a time as 16 vpshufb lookups, one per 16-byte
 * chunk c of the table.  An index outside chunk c gets its top bit set by (i ^ 16c) +sat 0x70,
 * and vpshufb gives 0 for it; inside, its low four bits pick the entry.  (Byte by byte, the
 * lookups took longer than all the rest of the epilogue.) */
__attribute__((target("avx2"))) static void hdl_int8_lookup_avx2(const uint8_t *restrict table,
                                                                 uint8_t *restrict bytes, ptrdiff_t n) {
    const __m256i bias = _mm256_set1_epi8(0x70);
    ptrdiff_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i codes = _mm256_loadu_si256((const __m256i *) (bytes + i)), result = _mm256_setzero_si256();
        for (int c = 0; c < 16; c++) {
            __m256i chunk = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *) (table + 16 * c)));
            __m256i index = _mm256_adds_epu8(_mm256_xor_si256(codes, _mm256_set1_epi8((char) (16 * c))), bias);
            result = _mm256_or_si256(result, _mm256_shuffle_epi8(chunk, index));
        }
        _mm256_storeu_si256((__m256i *) (bytes + i), result);
    }
    for (; i < n; i++)
        bytes[i] = table[bytes[i]];
}

/* The same on AVX2, written out: 8 channels per vector, 2 x 2 windows unrolled; the codes go to
 * `out` as bytes, then the table lookups run over the whole image, 32 bytes at a time.  gcc
 * vectorised the plain loops above only partly (the window maximum went through the stack),
 * and the first layer of the LettersCNN spent as long here as in its GEMM.  No FMA (the target
 * has none), so multiply and add round separately, as in the plain loops. */
__attribute__((target("avx2"))) static void hdl_int8_pool_requantize_avx2(
    const int32_t *restrict acc, ptrdiff_t ho, ptrdiff_t wo, ptrdiff_t ld, ptrdiff_t p, ptrdiff_t n_out,
    const float *restrict multiplier, const float *restrict offset, const uint8_t *restrict table,
    uint8_t *restrict out) {
    ptrdiff_t hp = (ho + p - 1) / p, wp = (wo + p - 1) / p, n_vectors = n_out / 8;
    const __m256 zero = _mm256_setzero_ps(), top = _mm256_set1_ps(255.0f), half = _mm256_set1_ps(0.5f);
    for (ptrdiff_t ph = 0; ph < hp; ph++)
        for (ptrdiff_t pw = 0; pw < wp; pw++) {
            const hdl_pool_window window = hdl_window_at(ph, pw, p, ho, wo);
            uint8_t *restrict dst = out + (ph * wp + pw) * n_out;
            for (ptrdiff_t vector = 0; vector < n_vectors; vector++) {
                ptrdiff_t o0 = 8 * vector;
                const int32_t *corner = acc + (ph * p * wo + pw * p) * ld + o0;
                __m256i best = _mm256_loadu_si256((const __m256i *) corner);
                if (window.full_2x2) {
                    __m256i below = _mm256_max_epi32(_mm256_loadu_si256((const __m256i *) (corner + wo * ld)),
                                                     _mm256_loadu_si256((const __m256i *) (corner + wo * ld + ld)));
                    best = _mm256_max_epi32(_mm256_max_epi32(best, _mm256_loadu_si256((const __m256i *) (corner + ld))),
                                            below);
                } else {
                    for (ptrdiff_t hh = window.h0; hh < window.h_end; hh++)
                        for (ptrdiff_t ww = window.w0; ww < window.w_end; ww++)
                            best = _mm256_max_epi32(
                                best, _mm256_loadu_si256((const __m256i *) (acc + (hh * wo + ww) * ld + o0)));
                }
                __m256 v = _mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(best), _mm256_loadu_ps(multiplier + o0)),
                                         _mm256_loadu_ps(offset + o0));
                v = _mm256_min_ps(_mm256_max_ps(v, zero), top);
                __m256i codes = _mm256_cvttps_epi32(_mm256_add_ps(v, half));  /* 0 .. 255 */
                __m128i words = _mm_packus_epi32(_mm256_castsi256_si128(codes), _mm256_extracti128_si256(codes, 1));
                _mm_storel_epi64((__m128i *) (dst + o0), _mm_packus_epi16(words, words));
            }
            for (ptrdiff_t o = 8 * n_vectors; o < n_out; o++) {
                int32_t most = acc[(ph * p * wo + pw * p) * ld + o];
                for (ptrdiff_t hh = window.h0; hh < window.h_end; hh++)
                    for (ptrdiff_t ww = window.w0; ww < window.w_end; ww++) {
                        int32_t value = acc[(hh * wo + ww) * ld + o];
                        most = value > most ? value : most;
                    }
                float v = (float) most * multiplier[o] + offset[o];
                v = v < 0.0f ? 0.0f : (v > 255.0f ? 255.0f : v);
                dst[o] = (uint8_t) (int32_t) (v + 0.5f);
            }
        }
    hdl_int8_lookup_avx2(table, out, hp * wp * n_out);
}

/* The lookup with AVX-512 VBMI (Ice Lake, Zen 4 and later): vpermi2b picks 64 bytes at once from a
 * 128-byte table by their low seven bits, so two of them look a code up in each half of the 256-entry
 * table and its top bit chooses between the two: 4 instructions per 64 codes instead of about 80 per 32. */
#define HDL_VBMI "avx512f,avx512bw,avx512vbmi"
__attribute__((target(HDL_VBMI))) static void hdl_int8_lookup_vbmi(const uint8_t *restrict table,
                                                                   uint8_t *restrict bytes, ptrdiff_t n) {
    const __m512i t0 = _mm512_loadu_si512((const void *) table), t1 = _mm512_loadu_si512((const void *) (table + 64));
    const __m512i t2 = _mm512_loadu_si512((const void *) (table + 128));
    const __m512i t3 = _mm512_loadu_si512((const void *) (table + 192));
    ptrdiff_t i = 0;
    for (; i + 64 <= n; i += 64) {
        __m512i codes = _mm512_loadu_si512((const void *) (bytes + i));
        __m512i low = _mm512_permutex2var_epi8(t0, codes, t1), high = _mm512_permutex2var_epi8(t2, codes, t3);
        _mm512_storeu_si512((void *) (bytes + i), _mm512_mask_blend_epi8(_mm512_movepi8_mask(codes), low, high));
    }
    for (; i < n; i++)
        bytes[i] = table[bytes[i]];
}

/* The AVX2 loops on 16 channels a vector, the last (n_out % 16) masked, and the VBMI lookup: for CPUs with
 * AVX-512 VBMI, which all have the rest of AVX-512 this needs.  The multiply and the add are separate
 * instructions here too (and the extension is built with -ffp-contract=off), so the codes are the AVX2
 * loops' to the bit.  Once the GEMM ran on AMX tiles, this epilogue was the largest part of int8 inference. */
__attribute__((target(HDL_VBMI))) static void hdl_int8_pool_requantize_vbmi(
    const int32_t *restrict acc, ptrdiff_t ho, ptrdiff_t wo, ptrdiff_t ld, ptrdiff_t p, ptrdiff_t n_out,
    const float *restrict multiplier, const float *restrict offset, const uint8_t *restrict table,
    uint8_t *restrict out) {
    ptrdiff_t hp = (ho + p - 1) / p, wp = (wo + p - 1) / p;
    const __m512 zero = _mm512_setzero_ps(), top = _mm512_set1_ps(255.0f), half = _mm512_set1_ps(0.5f);
    for (ptrdiff_t ph = 0; ph < hp; ph++)
        for (ptrdiff_t pw = 0; pw < wp; pw++) {
            const hdl_pool_window window = hdl_window_at(ph, pw, p, ho, wo);
            uint8_t *restrict dst = out + (ph * wp + pw) * n_out;
            for (ptrdiff_t o0 = 0; o0 < n_out; o0 += 16) {
                const __mmask16 lanes = n_out - o0 >= 16 ? 0xFFFF : (__mmask16) ((1u << (n_out - o0)) - 1);
                const int32_t *corner = acc + (ph * p * wo + pw * p) * ld + o0;
                __m512i best = _mm512_maskz_loadu_epi32(lanes, corner);
                if (window.full_2x2) {
                    __m512i below = _mm512_max_epi32(_mm512_maskz_loadu_epi32(lanes, corner + wo * ld),
                                                     _mm512_maskz_loadu_epi32(lanes, corner + wo * ld + ld));
                    best = _mm512_max_epi32(_mm512_max_epi32(best, _mm512_maskz_loadu_epi32(lanes, corner + ld)),
                                            below);
                } else if (p > 1) {
                    for (ptrdiff_t hh = window.h0; hh < window.h_end; hh++)
                        for (ptrdiff_t ww = window.w0; ww < window.w_end; ww++)
                            best = _mm512_max_epi32(
                                best, _mm512_maskz_loadu_epi32(lanes, acc + (hh * wo + ww) * ld + o0));
                }
                __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(best), _mm512_maskz_loadu_ps(lanes, multiplier + o0));
                v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(lanes, offset + o0));
                v = _mm512_min_ps(_mm512_max_ps(v, zero), top);
                _mm512_mask_cvtepi32_storeu_epi8(dst + o0, lanes, _mm512_cvttps_epi32(_mm512_add_ps(v, half)));
            }
        }
    hdl_int8_lookup_vbmi(table, out, hp * wp * n_out);
}
#endif

typedef void (*hdl_int8_pool_requantize_fn)(const int32_t *acc, ptrdiff_t ho, ptrdiff_t wo, ptrdiff_t ld,
                                            ptrdiff_t p, ptrdiff_t n_out, const float *multiplier,
                                            const float *offset, const uint8_t *table, uint8_t *out);

enum { HDL_EPILOGUE_PORTABLE = 0, HDL_EPILOGUE_AVX2 = 1, HDL_EPILOGUE_VBMI = 2 };

/* The version `level` names (the caller checks the CPU has AVX2), the VBMI one only where the CPU has it
 * (else the AVX2 one): all give the same bytes. */
static hdl_int8_pool_requantize_fn hdl_int8_pool_requantize_of(int level) {
#ifdef HDL_HAVE_AVX2_EPILOGUE
    if (level == HDL_EPILOGUE_VBMI) {
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("avx512bw"))
            return hdl_int8_pool_requantize_vbmi;
    }
    if (level >= HDL_EPILOGUE_AVX2)
        return hdl_int8_pool_requantize_avx2;
#endif
    (void) level;
    return hdl_int8_pool_requantize_portable;
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
