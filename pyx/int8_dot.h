/* The int8 GEMM of the int8 inference kernels: c (R, O) int32 = a (R, K) uint8 . W (O, K)^T int8,
 * exact (int32 accumulation), in six versions, the fastest this CPU runs picked at load time:
 *
 *   portable      plain C (target_clones: baseline x86-64, AVX2 and AVX-512, simd.h)
 *   avx2          vpmaddwd on int16 copies of both operands (exact, unlike vpmaddubsw, which
 *                 saturates), as a convolution; see hdl_conv_s16_avx2
 *   avx512vnni    vpdpbusd on 512-bit registers (AVX-512 VNNI: Ice Lake, Zen 4, ...)
 *   avxvnni       vpdpbusd on 256-bit registers, VEX-encoded (AVX-VNNI: Alder Lake, ...)
 *   avx512vnni256 the avxvnni loops with the EVEX instruction: the same code, so machines
 *                 with AVX-512 VNNI but no AVX-VNNI (Zen 4) can test it
 *   amx           tdpbusd on AMX tiles (Sapphire Rapids and later), the rest by avx512vnni: int8_amx.h
 *
 * Why uint8 x int8: vpdpbusd multiplies unsigned bytes by signed bytes and adds each group
 * of four products into an int32 lane, without saturation.  Activations are uint8 codes with
 * a zero point (q = x / scale + zero_point), weights symmetric int8 in [-127, 127].  The
 * zero point's term, zero_point * sum_k W[o, k], is a per-channel constant that the caller
 * folds into the requantisation offset, so the GEMM itself is a pure u8 x s8 product and
 * every version gives the same int32s (|products| < 2^15; the sums cannot wrap, as Int8Conv refuses
 * weights whose 255 * sum |W[o, k]| passes 2^31 - 1: int8/layers.py).
 *
 * Packed weights: w[(k4 * O + o) * 4 + j] = W[o, 4 k4 + j], K a multiple of 4 and O of 16
 * (the caller pads both with zero weights).  Each group of four k of one channel is one
 * int32 lane, as vpdpbusd wants; one a-row's four bytes are broadcast over all lanes.
 * Register tiles: 6 rows x 64 channels (24 zmm accumulators) for avx512vnni, 4 rows x 16
 * channels (8 ymm) for the 256-bit versions, which have only 16 ymm registers on AVX-VNNI,
 * 2 pixels x 16 channels for avx2.
 */
#ifndef HDL_INT8_DOT_H
#define HDL_INT8_DOT_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "fast_math.h"

enum { HDL_INT8_AUTO = 0, HDL_INT8_PORTABLE = 1, HDL_INT8_AVX512VNNI = 2, HDL_INT8_AVXVNNI = 3,
       HDL_INT8_AVX512VNNI256 = 4, HDL_INT8_AVX2 = 5, HDL_INT8_AMX = 6 };

typedef void (*hdl_gemm_u8s8_fn)(const uint8_t *a, ptrdiff_t lda, ptrdiff_t n_rows, ptrdiff_t n_k4,
                                 const int8_t *w, ptrdiff_t n_out, int32_t *c, ptrdiff_t ldc);
/* The AVX2 path's convolution on int16 operands (hdl_conv_s16_avx2). */
typedef void (*hdl_conv_s16_fn)(const int16_t *x, ptrdiff_t h, ptrdiff_t w, ptrdiff_t c, ptrdiff_t k, ptrdiff_t kw,
                                const int16_t *weight, ptrdiff_t n_out, int32_t *acc, ptrdiff_t ldc);

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

#if defined(HDL_X86_INTRINSICS) && (defined(__clang__) || __GNUC__ >= 11) /* gcc 11: the VNNI intrinsics */
#define HDL_HAVE_VNNI 1 /* and the AVX2 path */
#include <cpuid.h>
#include <immintrin.h>

/* AVX-VNNI: CPUID leaf 7, subleaf 1, EAX bit 4.  Asked of cpuid directly because clang 14's
 * __builtin_cpu_supports does not know "avxvnni"; the caller checks AVX2 as well, which covers the
 * operating system's saving of the ymm registers. */
static int hdl_cpu_has_avxvnni(void) {
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx))
        return 0;
    return (eax >> 4) & 1;
}

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

#include "int8_amx.h"

HDL_DEFINE_VNNI_TILE(hdl_tile_avx512vnni256, HDL_AVX512VNNI, __m256i, 8, _mm256_setzero_si256,
                     _mm256_loadu_si256, _mm256_storeu_si256, _mm256_set1_epi32, _mm256_dpbusd_epi32)
HDL_DEFINE_VNNI_GEMM(hdl_gemm_u8s8_avx512vnni256, hdl_tile_avx512vnni256, HDL_AVX512VNNI, 8, 4, 2)

HDL_DEFINE_VNNI_TILE(hdl_tile_avxvnni, "avx2,avxvnni", __m256i, 8, _mm256_setzero_si256,
                     _mm256_loadu_si256, _mm256_storeu_si256, _mm256_set1_epi32, _mm256_dpbusd_avx_epi32)
HDL_DEFINE_VNNI_GEMM(hdl_gemm_u8s8_avxvnni, hdl_tile_avxvnni, "avx2,avxvnni", 8, 4, 2)

/* The AVX2 path is "wide": it reads activations and weights already widened to int16 (each layer
 * keeps an int16 copy of its packed weights), because vpmaddwd, the one exact multiply-add on
 * bytes that AVX2 has (16 multiply-adds per instruction, one per cycle on Zen 2), leaves no room
 * for widening in the loop: with the bytes widened in the loop the GEMM ran at 39 billion
 * multiply-adds/s on a Zen 2 core, with them widened beforehand at 52, near the instruction's
 * 53.  (vpmaddubsw multiplies bytes directly but saturates: 255 * 127 * 2 > 32767.)
 *
 * And it is a convolution, not a GEMM: it reads each output pixel's patch where it lies in the
 * (H, W, C) image, as k runs of kw*C codes, so no im2col matrix is written.  kw is the width of
 * the kernel the weights were packed for: k, or more with zero weights in the extra columns,
 * so that kw*C is a multiple of 4 (a group of four k never straddles two runs; weight group
 * kh * kw*C/4 + j is the run kh's group j).  The 1-channel first layer's 3x3 kernel is packed as
 * 3x4, as many multiply-adds as its 9 weights padded to 12 for im2col.  The runs of the last
 * pixels then reach (kw - k)*C codes past the image, which the caller provides (as zeros).  A
 * matrix of patches (P, KP) is the image (P, 1, KP) under a 1x1 kernel, so layers whose kernel
 * would need more padding go through im2col and the same loops.
 *
 * Tile: ROWS pixels x 16 channels.  Per group of four k, the 16 channels' weights are four
 * registers of 4 channels x 4 int16; the pixel's four activations (8 bytes) are broadcast over
 * all lanes, and vpmaddwd gives each channel two int32 partial sums, kept apart until the end:
 * then one horizontal add per 8 channels, whose lane order [0 1 4 5 | 2 3 6 7] a 64-bit permute
 * undoes. */
__attribute__((target("avx2"), always_inline)) static inline void hdl_tile_avx2(
    const int16_t *const origin[2], const int rows, ptrdiff_t k, ptrdiff_t image_row, ptrdiff_t run4,
    const int16_t *w, ptrdiff_t n_out, int32_t *c, ptrdiff_t ldc) {
    __m256i acc[2][4];
    for (int i = 0; i < rows; i++)
        for (int v = 0; v < 4; v++)
            acc[i][v] = _mm256_setzero_si256();
    for (ptrdiff_t kh = 0; kh < k; kh++)
        for (ptrdiff_t j = 0; j < run4; j++) {
            const int16_t *wk = w + (kh * run4 + j) * n_out * 4;
            __m256i wv[4];
            for (int v = 0; v < 4; v++)
                wv[v] = _mm256_loadu_si256((const __m256i *) (wk + 16 * v));
            for (int i = 0; i < rows; i++) {
                int64_t four;
                memcpy(&four, origin[i] + kh * image_row + 4 * j, sizeof four);
                __m256i av = _mm256_set1_epi64x(four);
                for (int v = 0; v < 4; v++)
                    acc[i][v] = _mm256_add_epi32(acc[i][v], _mm256_madd_epi16(wv[v], av));
            }
        }
    for (int i = 0; i < rows; i++)
        for (int half = 0; half < 2; half++)
            _mm256_storeu_si256((__m256i *) (c + i * ldc + 8 * half),
                                _mm256_permute4x64_epi64(
                                    _mm256_hadd_epi32(acc[i][2 * half], acc[i][2 * half + 1]), 0xD8));
}

/* acc (Ho, Wo, ldc) int32 = the valid k x k conv of x (H, W, C) int16 with weights (K4, O, 4)
 * int16 packed for a k x kw kernel, kw*C a multiple of 4, O a multiple of 16: pixels in pairs
 * (8 accumulators, 4 weight registers, 1 broadcast: 13 of the 16 ymm registers). */
__attribute__((target("avx2"))) static void hdl_conv_s16_avx2(const int16_t *x, ptrdiff_t h, ptrdiff_t w,
                                                              ptrdiff_t c, ptrdiff_t k, ptrdiff_t kw,
                                                              const int16_t *weight, ptrdiff_t n_out, int32_t *acc,
                                                              ptrdiff_t ldc) {
    ptrdiff_t wo = w - k + 1, n_pixels = (h - k + 1) * wo, run4 = kw * c / 4;
    for (ptrdiff_t o0 = 0; o0 < n_out; o0 += 16)
        for (ptrdiff_t r = 0; r < n_pixels; r += 2) {
            const int rows = r + 1 < n_pixels ? 2 : 1;
            const int16_t *origin[2];
            for (int i = 0; i < rows; i++)
                origin[i] = x + ((r + i) / wo * w + (r + i) % wo) * c;
            if (rows == 2)
                hdl_tile_avx2(origin, 2, k, w * c, run4, weight + 4 * o0, n_out, acc + r * ldc + o0, ldc);
            else
                hdl_tile_avx2(origin, 1, k, w * c, run4, weight + 4 * o0, n_out, acc + r * ldc + o0, ldc);
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
        return hdl_cpu_has_avxvnni() && __builtin_cpu_supports("avx2");
    if (path == HDL_INT8_AVX2)
        return __builtin_cpu_supports("avx2");
#endif
#ifdef HDL_HAVE_AMX
    if (path == HDL_INT8_AMX)
        return hdl_int8_path_supported(HDL_INT8_AVX512VNNI) && hdl_amx_ready();
#endif
    return 0;
}

/* The fastest supported path, for HDL_INT8_AUTO. */
static int hdl_int8_best_path(void) {
    if (hdl_int8_path_supported(HDL_INT8_AMX))
        return HDL_INT8_AMX;
    if (hdl_int8_path_supported(HDL_INT8_AVX512VNNI))
        return HDL_INT8_AVX512VNNI;
    if (hdl_int8_path_supported(HDL_INT8_AVXVNNI))
        return HDL_INT8_AVXVNNI;
    if (hdl_int8_path_supported(HDL_INT8_AVX2))
        return HDL_INT8_AVX2;
    return HDL_INT8_PORTABLE;
}

/* The byte GEMM of a supported path (the caller checks with hdl_int8_path_supported); for the wide
 * AVX2 path, which convolves with hdl_int8_wide_conv_of's, the portable one (unused). */
static hdl_gemm_u8s8_fn hdl_int8_gemm_of(int path) {
#ifdef HDL_HAVE_VNNI
    if (path == HDL_INT8_AVX512VNNI)
        return hdl_gemm_u8s8_avx512vnni;
    if (path == HDL_INT8_AVX512VNNI256)
        return hdl_gemm_u8s8_avx512vnni256;
    if (path == HDL_INT8_AVXVNNI)
        return hdl_gemm_u8s8_avxvnni;
#endif
#ifdef HDL_HAVE_AMX
    if (path == HDL_INT8_AMX)
        return hdl_gemm_u8s8_amx;
#endif
    (void) path;
    return hdl_gemm_u8s8_portable;
}

/* The wide (int16) convolution of `path`, or NULL when the path reads bytes (hdl_int8_gemm_of). */
static hdl_conv_s16_fn hdl_int8_wide_conv_of(int path) {
#ifdef HDL_HAVE_VNNI
    if (path == HDL_INT8_AVX2)
        return hdl_conv_s16_avx2;
#endif
    (void) path;
    return NULL;
}
#endif
