/* The im2col of the int8 kernels: the patches of one image of codes x (H, W, C) uint8, NHWC, as
 * the rows of cols (P, KP), bytes (hdl_im2col_u8: the portable and VNNI paths) or widened to int16
 * (hdl_im2col_s16: the AVX2 convolution, for the layers whose patches it cannot read in place).
 * Patch position (kh, kw, c) is column (kh*k + kw)*C + c; the KP - k*k*C padding columns are zero.
 * A patch is k runs of k*C contiguous codes, written pixel by pixel.
 *
 * Written in C, not Cython: Cython's loops kept their counters on the stack, and the 1-channel
 * first layer (runs of 3 codes) spent as long here as in its GEMM.  Runs of 3 get their own
 * loop with the length constant, which the compiler unrolls. */
#ifndef HDL_INT8_IM2COL_H
#define HDL_INT8_IM2COL_H
#include <stddef.h>
#include <stdint.h>

#define HDL_DEFINE_IM2COL_RUNS(NAME, CODE)                                                                 \
    __attribute__((always_inline)) static inline void NAME(const uint8_t *restrict x, ptrdiff_t w,         \
                                                           ptrdiff_t c, ptrdiff_t k, ptrdiff_t k_padded,   \
                                                           ptrdiff_t ho, ptrdiff_t wo, const ptrdiff_t run,  \
                                                           CODE *restrict cols) {                          \
        for (ptrdiff_t oh = 0; oh < ho; oh++)                                                              \
            for (ptrdiff_t ow = 0; ow < wo; ow++) {                                                        \
                CODE *restrict row = cols + (oh * wo + ow) * k_padded;                                     \
                for (ptrdiff_t kh = 0; kh < k; kh++) {                                                     \
                    const uint8_t *restrict source = x + ((oh + kh) * w + ow) * c;                         \
                    for (ptrdiff_t j = 0; j < run; j++)                                                    \
                        row[kh * run + j] = source[j];                                                     \
                }                                                                                          \
                for (ptrdiff_t j = k * run; j < k_padded; j++)                                             \
                    row[j] = 0;                                                                            \
            }                                                                                              \
    }

#define HDL_DEFINE_IM2COL(NAME, RUNS, CODE)                                                                \
    HDL_DEFINE_IM2COL_RUNS(RUNS, CODE)                                                                     \
    static void NAME(const uint8_t *restrict x, ptrdiff_t h, ptrdiff_t w, ptrdiff_t c, ptrdiff_t k,        \
                     ptrdiff_t k_padded, CODE *restrict cols) {                                            \
        ptrdiff_t ho = h - k + 1, wo = w - k + 1;                                                          \
        if (k * c == 3)                                                                                    \
            RUNS(x, w, c, k, k_padded, ho, wo, 3, cols);                                                   \
        else                                                                                               \
            RUNS(x, w, c, k, k_padded, ho, wo, k * c, cols);                                               \
    }

HDL_DEFINE_IM2COL(hdl_im2col_u8, hdl_im2col_runs_u8, uint8_t)
HDL_DEFINE_IM2COL(hdl_im2col_s16, hdl_im2col_runs_s16, int16_t)

/* out (n,) int16 = x (n,) uint8: an image for the AVX2 convolution, which reads patches in place. */
static void hdl_widen_u8(const uint8_t *restrict x, ptrdiff_t n, int16_t *restrict out) {
    for (ptrdiff_t i = 0; i < n; i++)
        out[i] = x[i];
}
#endif
