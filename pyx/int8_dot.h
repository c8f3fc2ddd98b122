/* The int8 GEMM of the int8 inference kernels: c (R, O) int32 = a (R, K) uint8 . W (O, K)^T int8,
 * exact (int32 accumulation), in four versions picked at load time:
 *
 *   portable      plain C (compiled for baseline x86-64 and AVX2, chosen by target_clones)
 *   avx2          vpmaddwd on bytes widened to 16 bits (exact, unlike vpmaddubsw, which saturates)
 *   avx512vnni    vpdpbusd on 512-bit registers (AVX-512 VNNI: Ice Lake, Zen 4, ...)
 *   avxvnni       vpdpbusd on 256-bit registers, VEX-encoded (AVX-VNNI: Alder Lake, ...)
 *   avx512vnni256 the avxvnni loops with the EVEX instruction: the same code, so machines
 *                 with AVX-512 VNNI but no AVX-VNNI (Zen 4) can test it
 *
 * Why uint8 x int8: vpdpbusd multiplies unsigned bytes by signed bytes and adds each group
 * of four products into an int32 lane, without saturation.  Activations are uint8 codes with
 * a zero point (q = x / scale + zero_point), weights symmetric int8 in [-127, 127].  The
 * zero point's term, zero_point * sum_k W[o, k], is a per-channel constant that the caller
 * folds into the requantisation offset, so the GEMM itself is a pure u8 x s8 product and
 * every version gives the same int32s (|products| < 2^15, sums far below 2^31).
 *
 * Packed weights: w[(k4 * O + o) * 4 + j] = W[o, 4 k4 + j], K a multiple of 4 and O of 16
 * (the caller pads both with zero weights).  Each group of four k of one channel is one
 * int32 lane, as vpdpbusd wants; one a-row's four bytes are broadcast over all lanes.
 * Register tiles: 6 rows x 64 channels (24 zmm accumulators) for avx512vnni, 4 rows x 16
 * channels (8 ymm) for the 256-bit versions, which have only 16 ymm registers on AVX-VNNI,
 * 4 rows x 8 channels for avx2.
 */
#ifndef HDL_INT8_DOT_H
#define HDL_INT8_DOT_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "fast_math.h"

enum { HDL_INT8_AUTO = 0, HDL_INT8_PORTABLE = 1, HDL_INT8_AVX512VNNI = 2, HDL_INT8_AVXVNNI = 3,
       HDL_INT8_AVX512VNNI256 = 4, HDL_INT8_AVX2 = 5 };

typedef void (*hdl_gemm_u8s8_fn)(const uint8_t *a, ptrdiff_t lda, ptrdiff_t n_rows, ptrdiff_t n_k4,
                                 const int8_t *w, ptrdiff_t n_out, int32_t *c, ptrdiff_t ldc);

/* Rows one at a time, channels innermost: the compiler vectorises over o. */
HDL_MULTIVERSION
static void hdl_gemm_u8s8_portable(const uint8_t *a, ptrdiff_t lda, ptrdiff_t n_rows, ptrdiff_t n_k4,
                                   const int8_t *w, ptrdiff_t n_out, int32_t *c, ptrdiff_t ldc) {
    for (ptrdiff_t r = 0; r < n_rows; r++) {
        int32_t *restrict cr = c + r * ldc;
        const uint8_t *ar = a + r * lda;
        for (ptrdiff_t o = 0; o < n_out; o++)
            cr[o] = 0;
        for (ptrdiff_t k4 = 0; k4 < n_k4; k4++) {
            int32_t a0 = ar[4 * k4], a1 = ar[4 * k4 + 1], a2 = ar[4 * k4 + 2], a3 = ar[4 * k4 + 3];
            const int8_t *restrict wk = w + k4 * n_out * 4;
            for (ptrdiff_t o = 0; o < n_out; o++)
                cr[o] += a0 * wk[4 * o] + a1 * wk[4 * o + 1] + a2 * wk[4 * o + 2] + a3 * wk[4 * o + 3];
        }
    }
}

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && __GNUC__ >= 11
#define HDL_HAVE_VNNI 1 /* and the AVX2 path */
#include <immintrin.h>

static inline int32_t hdl_load_4_bytes(const uint8_t *p) {
    int32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* One register tile: ROWS rows x NV vectors of LANES channels, all K.  Instantiated with
 * constant ROWS and NV, so the accumulator arrays live in registers. */
#define HDL_DEFINE_VNNI_TILE(NAME, TARGET, VEC, LANES, ZERO, LOAD, STORE, SET1, DPBUSD)                     \
    __attribute__((target(TARGET), always_inline)) static inline void NAME(                                \
        const uint8_t *a, ptrdiff_t lda, const int rows, const int nv, ptrdiff_t n_k4, const int8_t *w,     \
        ptrdiff_t n_out, int32_t *c, ptrdiff_t ldc) {                                                     \
        VEC acc[6][4];                                                                                     \
        for (int i = 0; i < rows; i++)                                                                     \
            for (int v = 0; v < nv; v++)                                                                   \
                acc[i][v] = ZERO();                                                                        \
        for (ptrdiff_t k4 = 0; k4 < n_k4; k4++) {                                                          \
            const int8_t *wk = w + k4 * n_out * 4;                                                         \
            VEC wv[4];                                                                                     \
            for (int v = 0; v < nv; v++)                                                                   \
                wv[v] = LOAD((const void *) (wk + 4 * LANES * v));                                         \
            for (int i = 0; i < rows; i++) {                                                               \
                VEC av = SET1(hdl_load_4_bytes(a + i * lda + 4 * k4));                                     \
                for (int v = 0; v < nv; v++)                                                               \
                    acc[i][v] = DPBUSD(acc[i][v], av, wv[v]);                                              \
            }                                                                                              \
        }                                                                                                  \
        for (int i = 0; i < rows; i++)                                                                     \
            for (int v = 0; v < nv; v++)                                                                   \
                STORE((void *) (c + i * ldc + LANES * v), acc[i][v]);                                      \
    }

/* The whole product: channel blocks of up to MAX_NV vectors, rows in tiles of ROWS, then one by one. */
#define HDL_DEFINE_VNNI_GEMM(NAME, TILE, TARGET, LANES, ROWS, MAX_NV)                                      \
    __attribute__((target(TARGET))) static void NAME(const uint8_t *a, ptrdiff_t lda, ptrdiff_t n_rows,    \
                                                     ptrdiff_t n_k4, const int8_t *w, ptrdiff_t n_out,     \
                                                     int32_t *c, ptrdiff_t ldc) {                          \
        for (ptrdiff_t o0 = 0; o0 < n_out; o0 += LANES * MAX_NV) {                                         \
            int nv = (int) ((n_out - o0) / LANES);                                                         \
            nv = nv > MAX_NV ? MAX_NV : nv;                                                                \
            const int8_t *wo = w + 4 * o0;                                                                 \
            ptrdiff_t r = 0;                                                                               \
            for (; r + ROWS <= n_rows; r += ROWS) {                                                        \
                const uint8_t *ar = a + r * lda;                                                           \
                int32_t *cr = c + r * ldc + o0;                                                            \
                switch (nv) {                                                                              \
                case 4: TILE(ar, lda, ROWS, 4, n_k4, wo, n_out, cr, ldc); break;                           \
                case 3: TILE(ar, lda, ROWS, 3, n_k4, wo, n_out, cr, ldc); break;                           \
                case 2: TILE(ar, lda, ROWS, 2, n_k4, wo, n_out, cr, ldc); break;                           \
                default: TILE(ar, lda, ROWS, 1, n_k4, wo, n_out, cr, ldc); break;                          \
                }                                                                                          \
            }                                                                                              \
            for (; r < n_rows; r++) {                                                                      \
                const uint8_t *ar = a + r * lda;                                                           \
                int32_t *cr = c + r * ldc + o0;                                                            \
                switch (nv) {                                                                              \
                case 4: TILE(ar, lda, 1, 4, n_k4, wo, n_out, cr, ldc); break;                              \
                case 3: TILE(ar, lda, 1, 3, n_k4, wo, n_out, cr, ldc); break;                              \
                case 2: TILE(ar, lda, 1, 2, n_k4, wo, n_out, cr, ldc); break;                              \
                default: TILE(ar, lda, 1, 1, n_k4, wo, n_out, cr, ldc); break;                             \
                }                                                                                          \
            }                                                                                              \
        }                                                                                                  \
    }

#define HDL_AVX512VNNI "avx512f,avx512bw,avx512vl,avx512vnni"
HDL_DEFINE_VNNI_TILE(hdl_tile_avx512vnni, HDL_AVX512VNNI, __m512i, 16, _mm512_setzero_si512,
                     _mm512_loadu_si512, _mm512_storeu_si512, _mm512_set1_epi32, _mm512_dpbusd_epi32)
HDL_DEFINE_VNNI_GEMM(hdl_gemm_u8s8_avx512vnni, hdl_tile_avx512vnni, HDL_AVX512VNNI, 16, 6, 4)

HDL_DEFINE_VNNI_TILE(hdl_tile_avx512vnni256, HDL_AVX512VNNI, __m256i, 8, _mm256_setzero_si256,
                     _mm256_loadu_si256, _mm256_storeu_si256, _mm256_set1_epi32, _mm256_dpbusd_epi32)
HDL_DEFINE_VNNI_GEMM(hdl_gemm_u8s8_avx512vnni256, hdl_tile_avx512vnni256, HDL_AVX512VNNI, 8, 4, 2)

HDL_DEFINE_VNNI_TILE(hdl_tile_avxvnni, "avx2,avxvnni", __m256i, 8, _mm256_setzero_si256,
                     _mm256_loadu_si256, _mm256_storeu_si256, _mm256_set1_epi32, _mm256_dpbusd_avx_epi32)
HDL_DEFINE_VNNI_GEMM(hdl_gemm_u8s8_avxvnni, hdl_tile_avxvnni, "avx2,avxvnni", 8, 4, 2)

/* AVX2 tile: ROWS rows x 8 channels.  Per group of four k, the 8 channels' 32 weight bytes widen
 * to int16 (two registers of 4 channels) and vpmaddwd with the row's four activations (widened,
 * repeated) gives each channel two int32 partial sums, kept apart until the end: then one
 * horizontal add per 8 channels, whose lane order [0 1 4 5 | 2 3 6 7] a 64-bit permute undoes. */
__attribute__((target("avx2"), always_inline)) static inline void hdl_tile_avx2(
    const uint8_t *a, ptrdiff_t lda, const int rows, ptrdiff_t n_k4, const int8_t *w, ptrdiff_t n_out,
    int32_t *c, ptrdiff_t ldc) {
    __m256i low[4], high[4];
    for (int i = 0; i < rows; i++)
        low[i] = high[i] = _mm256_setzero_si256();
    for (ptrdiff_t k4 = 0; k4 < n_k4; k4++) {
        const int8_t *wk = w + k4 * n_out * 4;
        __m256i w_low = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *) wk));
        __m256i w_high = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *) (wk + 16)));
        for (int i = 0; i < rows; i++) {
            __m128i four = _mm_cvtepu8_epi16(_mm_cvtsi32_si128(hdl_load_4_bytes(a + i * lda + 4 * k4)));
            __m256i av = _mm256_broadcastq_epi64(four);
            low[i] = _mm256_add_epi32(low[i], _mm256_madd_epi16(w_low, av));
            high[i] = _mm256_add_epi32(high[i], _mm256_madd_epi16(w_high, av));
        }
    }
    for (int i = 0; i < rows; i++)
        _mm256_storeu_si256((__m256i *) (c + i * ldc),
                            _mm256_permute4x64_epi64(_mm256_hadd_epi32(low[i], high[i]), 0xD8));
}

__attribute__((target("avx2"))) static void hdl_gemm_u8s8_avx2(const uint8_t *a, ptrdiff_t lda, ptrdiff_t n_rows,
                                                               ptrdiff_t n_k4, const int8_t *w, ptrdiff_t n_out,
                                                               int32_t *c, ptrdiff_t ldc) {
    for (ptrdiff_t o0 = 0; o0 < n_out; o0 += 8) {
        ptrdiff_t r = 0;
        for (; r + 4 <= n_rows; r += 4)
            hdl_tile_avx2(a + r * lda, lda, 4, n_k4, w + 4 * o0, n_out, c + r * ldc + o0, ldc);
        for (; r < n_rows; r++)
            hdl_tile_avx2(a + r * lda, lda, 1, n_k4, w + 4 * o0, n_out, c + r * ldc + o0, ldc);
    }
}
#endif

/* 1 when this CPU (and build) can run `path`. */
static int hdl_int8_path_supported(int path) {
    if (path == HDL_INT8_PORTABLE)
        return 1;
#ifdef HDL_HAVE_VNNI
    __builtin_cpu_init();
    if (path == HDL_INT8_AVX512VNNI || path == HDL_INT8_AVX512VNNI256)
        return __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw")
               && __builtin_cpu_supports("avx512vl");
    if (path == HDL_INT8_AVXVNNI)
        return __builtin_cpu_supports("avxvnni") && __builtin_cpu_supports("avx2");
    if (path == HDL_INT8_AVX2)
        return __builtin_cpu_supports("avx2");
#endif
    return 0;
}

/* The fastest supported path, for HDL_INT8_AUTO. */
static int hdl_int8_best_path(void) {
    if (hdl_int8_path_supported(HDL_INT8_AVX512VNNI))
        return HDL_INT8_AVX512VNNI;
    if (hdl_int8_path_supported(HDL_INT8_AVXVNNI))
        return HDL_INT8_AVXVNNI;
    if (hdl_int8_path_supported(HDL_INT8_AVX2))
        return HDL_INT8_AVX2;
    return HDL_INT8_PORTABLE;
}

/* The GEMM of a supported path (the caller checks with hdl_int8_path_supported). */
static hdl_gemm_u8s8_fn hdl_int8_gemm_of(int path) {
#ifdef HDL_HAVE_VNNI
    if (path == HDL_INT8_AVX512VNNI)
        return hdl_gemm_u8s8_avx512vnni;
    if (path == HDL_INT8_AVX512VNNI256)
        return hdl_gemm_u8s8_avx512vnni256;
    if (path == HDL_INT8_AVXVNNI)
        return hdl_gemm_u8s8_avxvnni;
    if (path == HDL_INT8_AVX2)
        return hdl_gemm_u8s8_avx2;
#endif
    (void) path;
    return hdl_gemm_u8s8_portable;
}
#endif
