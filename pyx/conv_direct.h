/* Direct forward convolution of ONE image for layers with very short
 * patches (C_in*K*K small, like the first 1-channel layer): there im2col +
 * GEMM is a GEMM with an inner dimension of 9, far from the BLAS's best
 * (measured: 0.97 against 1.22 ms for conv1 at batch 64).  The backward pass
 * of such layers stays on im2col + GEMM, which measured faster (1.46 against
 * 2.5 ms for direct loops).
 *
 * x (C, H, W), weight (O, C, K, K), out (O, Ho, Wo), Ho = H-K+1, Wo = W-K+1.
 * The loops work on "full-width" planes of Ho rows of W values: output pixel
 * (oh, ow) sits at oh*W + ow, so each kernel tap (kh, kw) is ONE contiguous
 * run, full[j] += weight * x[j + kh*W + kw] over j < Ho*W - (K-1), which the
 * compiler vectorises; 3x3 kernels do all nine taps in one pass.  The K-1
 * extra columns of each row are scratch (`full`, Ho*W values, from the
 * caller) and never reach the result. */
#ifndef HDL_CONV_DIRECT_H
#define HDL_CONV_DIRECT_H
#include <stddef.h>
#include "fast_math.h"

#define HDL_DEFINE_CONV_DIRECT(SUFFIX, T)                                                             \
    /* out = x (*) weight + bias (bias may be NULL) */                                                \
    HDL_MULTIVERSION                                                                                  \
    static void hdl_conv_direct_forward_##SUFFIX(const T *restrict x, int c_in, int h, int w, int k,  \
                                                 const T *restrict weight, const T *bias, int c_out,   \
                                                 T *restrict out, T *restrict full) {                 \
        int ho = h - k + 1, wo = w - k + 1;                                                           \
        ptrdiff_t span = (ptrdiff_t) ho * w - (k - 1);                                                \
        for (int o = 0; o < c_out; o++) {                                                             \
            T shift = bias ? bias[o] : (T) 0;                                                         \
            for (ptrdiff_t j = 0; j < span; j++)                                                      \
                full[j] = shift;                                                                      \
            for (int c = 0; c < c_in; c++) {                                                          \
                const T *restrict wc = weight + ((ptrdiff_t) o * c_in + c) * k * k;                   \
                const T *restrict r0 = x + (ptrdiff_t) c * h * w;                                     \
                if (k == 3) { /* all nine taps in one pass: one store per output, not nine */         \
                    const T *restrict r1 = r0 + w, *restrict r2 = r0 + 2 * w;                         \
                    const T w0 = wc[0], w1 = wc[1], w2 = wc[2], w3 = wc[3], w4 = wc[4], w5 = wc[5],   \
                            w6 = wc[6], w7 = wc[7], w8 = wc[8];                                       \
                    /* 32 bytes of outputs at a time, written as vectors: clang 14 turns the loads    \
                     * of r[j + 1] and r[j + 2] into values carried between iterations of the plain   \
                     * loop, which it then cannot vectorise (6x slower); gcc vectorises either. */    \
                    typedef T vec __attribute__((vector_size(32), aligned(sizeof(T)), may_alias));    \
                    const ptrdiff_t lanes = 32 / sizeof(T);                                           \
                    ptrdiff_t j = 0;                                                                  \
                    for (; j + lanes <= span; j += lanes)                                             \
                        *(vec *) (full + j) += w0 * *(const vec *) (r0 + j)                           \
                                             + w1 * *(const vec *) (r0 + j + 1)                       \
                                             + w2 * *(const vec *) (r0 + j + 2)                       \
                                             + w3 * *(const vec *) (r1 + j)                           \
                                             + w4 * *(const vec *) (r1 + j + 1)                       \
                                             + w5 * *(const vec *) (r1 + j + 2)                       \
                                             + w6 * *(const vec *) (r2 + j)                           \
                                             + w7 * *(const vec *) (r2 + j + 1)                       \
                                             + w8 * *(const vec *) (r2 + j + 2);                      \
                    for (; j < span; j++)                                                             \
                        full[j] += w0 * r0[j] + w1 * r0[j + 1] + w2 * r0[j + 2]                       \
                                 + w3 * r1[j] + w4 * r1[j + 1] + w5 * r1[j + 2]                       \
                                 + w6 * r2[j] + w7 * r2[j + 1] + w8 * r2[j + 2];                      \
                    continue;                                                                         \
                }                                                                                     \
                for (int kh = 0; kh < k; kh++)                                                        \
                    for (int kw = 0; kw < k; kw++) {                                                  \
                        T wv = wc[kh * k + kw];                                                       \
                        const T *restrict src = r0 + (ptrdiff_t) kh * w + kw;                         \
                        for (ptrdiff_t j = 0; j < span; j++)                                          \
                            full[j] += wv * src[j];                                                   \
                    }                                                                                 \
            }                                                                                         \
            for (int oh = 0; oh < ho; oh++)                                                           \
                for (int ow = 0; ow < wo; ow++)                                                       \
                    out[((ptrdiff_t) o * ho + oh) * wo + ow] = full[(ptrdiff_t) oh * w + ow];          \
        }                                                                                             \
    }                                                                                                 \


HDL_DEFINE_CONV_DIRECT(f32, float)
HDL_DEFINE_CONV_DIRECT(f64, double)
#endif
