/* Register-blocked float32 convolution loops: the forward pass of ONE image with
 * 16 output channels in the vector lanes (here) and the 3x3 weight gradient
 * (hdl_conv_blocked_weight_grad3_f32, below), for the layers where im2col + GEMM runs far below the
 * CPU's peak: with 32 or 64 output channels the GEMM has only 32 or 64 rows,
 * so the BLAS spends much of its time packing the (C*K*K, pixels) columns
 * that im2col has just written nine times larger than the input (measured on
 * a Zen 2 core: 43 GFLOP/s for the LettersVGG's 32->32 layer at 26x26, where
 * PyTorch's direct kernel reaches 80).
 *
 * x (C, H, W); packed weights (O/16, C, K*K, 16): hdl_conv_pack_weights_f32
 * of weight (O, C, K, K); out (O, Ho, Wo), Ho = H-K+1, Wo = W-K+1.
 *
 * For each block of 16 output channels and each row of output, COLS output
 * pixels at a time keep 2*COLS accumulators of 8 lanes in registers; every
 * (input channel, tap) adds x[c, oh+kh, ow+p+kw] (one broadcast value) times
 * the 16 weights of that tap, so the input is read in place and nothing is
 * packed but the weights (O*C*K*K values, once per call).  With AVX2 the 12
 * accumulators, 2 weight vectors and a broadcast fit the 16 ymm registers. */
#ifndef HDL_CONV_BLOCKED_H
#define HDL_CONV_BLOCKED_H
#include <stddef.h>
#include <string.h>
#include "fast_math.h"

#define HDL_CONV_LANES 16
#define HDL_CONV_COLS 6

/* 8 floats, loadable from any float address (aligned(4)) and allowed to alias float arrays (may_alias,
 * as immintrin.h's __m256 is): the loops read float scratch they have just written through it. */
typedef float hdl_v8f __attribute__((vector_size(32), aligned(4), may_alias));

/* packed[((o / 16) * C + c) * KK + t][o % 16] = weight[o][c][t]; O a multiple of 16. */
static void hdl_conv_pack_weights_f32(const float *restrict weight, int c_out, int c_in, int kk,
                                      float *restrict packed) {
    for (int o = 0; o < c_out; o++)
        for (int c = 0; c < c_in; c++)
            for (int t = 0; t < kk; t++)
                packed[(((ptrdiff_t) (o / HDL_CONV_LANES) * c_in + c) * kk + t) * HDL_CONV_LANES
                       + o % HDL_CONV_LANES] = weight[((ptrdiff_t) o * c_in + c) * kk + t];
}

/* n_cols (a constant after inlining) output pixels from (oh, ow) on, 16 channels from block_weights,
 * starting from the 16 biases block_bias.  (The biases come by pointer, not as two vectors: clang
 * refuses 8-float vector arguments to a function compiled without AVX, as this helper is on its own.) */
HDL_INLINE void hdl_conv_blocked_cols(const float *restrict x, int c_in, int h, int w, int k,
                                      const float *restrict block_weights, const float *block_bias,
                                      float *restrict out_block, int ho, int wo, int oh, int ow,
                                      const int n_cols) {
    hdl_v8f lo[HDL_CONV_COLS], hi[HDL_CONV_COLS];
    for (int p = 0; p < n_cols; p++) {
        lo[p] = *(const hdl_v8f *) block_bias;
        hi[p] = *(const hdl_v8f *) (block_bias + 8);
    }
    const float *restrict wt = block_weights;
    for (int c = 0; c < c_in; c++) {
        const float *restrict row = x + ((ptrdiff_t) c * h + oh) * w + ow;
        for (int kh = 0; kh < k; kh++, row += w)
            for (int kw = 0; kw < k; kw++, wt += HDL_CONV_LANES) {
                hdl_v8f w_lo = *(const hdl_v8f *) wt, w_hi = *(const hdl_v8f *) (wt + 8);
                for (int p = 0; p < n_cols; p++) {
                    float value = row[p + kw];
                    lo[p] += value * w_lo;
                    hi[p] += value * w_hi;
                }
            }
    }
    ptrdiff_t plane = (ptrdiff_t) ho * wo;
    float *restrict dst = out_block + (ptrdiff_t) oh * wo + ow;
    for (int p = 0; p < n_cols; p++)
        for (int lane = 0; lane < 8; lane++) {
            dst[lane * plane + p] = lo[p][lane];
            dst[(lane + 8) * plane + p] = hi[p][lane];
        }
}

/* out = x (*) weight + bias (bias may be NULL) for one image; c_out a multiple of 16. */
HDL_MULTIVERSION
static void hdl_conv_blocked_forward_f32(const float *restrict x, int c_in, int h, int w, int k,
                                         const float *restrict packed, const float *bias, int c_out,
                                         float *restrict out) {
    int ho = h - k + 1, wo = w - k + 1;
    ptrdiff_t block_size = (ptrdiff_t) c_in * k * k * HDL_CONV_LANES;
    for (int block = 0; block < c_out / HDL_CONV_LANES; block++) {
        const float *restrict block_weights = packed + block * block_size;
        float *restrict out_block = out + (ptrdiff_t) block * HDL_CONV_LANES * ho * wo;
        float block_bias[HDL_CONV_LANES] = {0};
        if (bias)
            memcpy(block_bias, bias + block * HDL_CONV_LANES, sizeof block_bias);
#define HDL_CONV_COLS_AT(N) hdl_conv_blocked_cols(x, c_in, h, w, k, block_weights, block_bias, out_block, \
                                                  ho, wo, oh, ow, N)
        /* Each row in runs of 6 pixels, the last 7 or 8 as 4 + 3 or 4 + 4: runs of 1 or 2 keep too few
         * accumulators busy (the LettersVGG's 8-pixel rows took 16% longer as 6 + 2). */
        for (int oh = 0; oh < ho; oh++)
            for (int ow = 0, run; ow < wo; ow += run) {
                int left = wo - ow;
                run = left == 7 || left == 8 ? 4 : (left < HDL_CONV_COLS ? left : HDL_CONV_COLS);
                switch (run) { /* each count its own unrolled copy */
                case 6: HDL_CONV_COLS_AT(6); break;
                case 5: HDL_CONV_COLS_AT(5); break;
                case 4: HDL_CONV_COLS_AT(4); break;
                case 3: HDL_CONV_COLS_AT(3); break;
                case 2: HDL_CONV_COLS_AT(2); break;
                default: HDL_CONV_COLS_AT(1); break;
                }
            }
#undef HDL_CONV_COLS_AT
    }
}

/* The same forward pass with 16 lanes per vector, for CPUs with AVX-512 (hdl_cpu_has_widest): two blocks of 16
 * output channels at a time (32 channels, so c_out a multiple of 32), up to HDL_CONV_WIDE_COLS pixels of a row,
 * 2 * 12 accumulators of the 32 zmm registers.  The compiler keeps the 8-lane loops above 8 lanes wide whatever
 * the clone (their vectors are declared 32 bytes), so on a core with two 512-bit FMA units they leave half of it
 * idle (BENCHMARKS.md, "16-lane convolution loops").  Each output sums the same products in the same order as
 * hdl_conv_blocked_forward_f32, so the two agree bit for bit; the packed weights are the same. */
#ifdef HDL_TARGET_WIDEST
typedef float hdl_v16f __attribute__((vector_size(64), aligned(4), may_alias));
#define HDL_CONV_WIDE_COLS 12

HDL_TARGET_WIDEST HDL_INLINE void hdl_conv_wide_cols(const float *restrict x, int c_in, int h, int w, int k,
                                                     const float *restrict weights0, const float *restrict weights1,
                                                     const float *bias, float *restrict out0, float *restrict out1,
                                                     int ho, int wo, int oh, int ow, const int n_cols) {
    hdl_v16f first[HDL_CONV_WIDE_COLS], second[HDL_CONV_WIDE_COLS];
    for (int p = 0; p < n_cols; p++) {
        first[p] = *(const hdl_v16f *) bias;
        second[p] = *(const hdl_v16f *) (bias + HDL_CONV_LANES);
    }
    for (int c = 0; c < c_in; c++) {
        const float *restrict row = x + ((ptrdiff_t) c * h + oh) * w + ow;
        for (int kh = 0; kh < k; kh++, row += w)
            for (int kw = 0; kw < k; kw++, weights0 += HDL_CONV_LANES, weights1 += HDL_CONV_LANES) {
                hdl_v16f w0 = *(const hdl_v16f *) weights0, w1 = *(const hdl_v16f *) weights1;
                for (int p = 0; p < n_cols; p++) {
                    float value = row[p + kw];
                    first[p] += value * w0;
                    second[p] += value * w1;
                }
            }
    }
    ptrdiff_t plane = (ptrdiff_t) ho * wo;
    float *restrict dst0 = out0 + (ptrdiff_t) oh * wo + ow, *restrict dst1 = out1 + (ptrdiff_t) oh * wo + ow;
    for (int p = 0; p < n_cols; p++)
        for (int lane = 0; lane < HDL_CONV_LANES; lane++) {
            dst0[lane * plane + p] = first[p][lane];
            dst1[lane * plane + p] = second[p][lane];
        }
}

/* out = x (*) weight + bias (bias may be NULL) for one image; c_out a multiple of 32; only where
 * hdl_cpu_has_widest(). */
HDL_TARGET_WIDEST
static void hdl_conv_wide_forward_f32(const float *restrict x, int c_in, int h, int w, int k,
                                      const float *restrict packed, const float *bias, int c_out,
                                      float *restrict out) {
    int ho = h - k + 1, wo = w - k + 1;
    ptrdiff_t block_size = (ptrdiff_t) c_in * k * k * HDL_CONV_LANES, out_block = (ptrdiff_t) HDL_CONV_LANES * ho * wo;
    int n_runs = (wo + HDL_CONV_WIDE_COLS - 1) / HDL_CONV_WIDE_COLS;
    for (int block = 0; block < c_out / HDL_CONV_LANES; block += 2) {
        const float *restrict weights0 = packed + block * block_size;
        float *restrict out0 = out + block * out_block;
        float pair_bias[2 * HDL_CONV_LANES] = {0};
        if (bias)
            memcpy(pair_bias, bias + block * HDL_CONV_LANES, sizeof pair_bias);
#define HDL_CONV_WIDE_AT(N) hdl_conv_wide_cols(x, c_in, h, w, k, weights0, weights0 + block_size, pair_bias, \
                                               out0, out0 + out_block, ho, wo, oh, ow, N)
        /* Each row in n_runs runs as even as can be (26 pixels: 9 + 9 + 8), each length its own unrolled copy. */
        for (int oh = 0; oh < ho; oh++)
            for (int ow = 0, run, r = 0; ow < wo; ow += run, r++) {
                run = (wo - ow + n_runs - r - 1) / (n_runs - r);
                switch (run) {
                case 12: HDL_CONV_WIDE_AT(12); break;
                case 11: HDL_CONV_WIDE_AT(11); break;
                case 10: HDL_CONV_WIDE_AT(10); break;
                case 9: HDL_CONV_WIDE_AT(9); break;
                case 8: HDL_CONV_WIDE_AT(8); break;
                case 7: HDL_CONV_WIDE_AT(7); break;
                case 6: HDL_CONV_WIDE_AT(6); break;
                case 5: HDL_CONV_WIDE_AT(5); break;
                case 4: HDL_CONV_WIDE_AT(4); break;
                case 3: HDL_CONV_WIDE_AT(3); break;
                case 2: HDL_CONV_WIDE_AT(2); break;
                default: HDL_CONV_WIDE_AT(1); break;
                }
            }
#undef HDL_CONV_WIDE_AT
    }
}
#else
/* No AVX-512 clone in this build (not x86-64 Linux): never called, as hdl_cpu_has_widest() is 0. */
static void hdl_conv_wide_forward_f32(const float *restrict x, int c_in, int h, int w, int k,
                                      const float *restrict packed, const float *bias, int c_out,
                                      float *restrict out) {
    hdl_conv_blocked_forward_f32(x, c_in, h, w, k, packed, bias, c_out, out);
}
#endif

/* grad_t (n_pixels, c_out) <- grad (c_out, n_pixels) with rows grad_stride apart: the weight-gradient loops
 * load the channels of one pixel as one vector. */
HDL_INLINE void hdl_conv_transpose_grad(const float *restrict grad, ptrdiff_t grad_stride, int c_out,
                                        ptrdiff_t n_pixels, float *restrict grad_t) {
    for (int o = 0; o < c_out; o++)
        for (ptrdiff_t j = 0; j < n_pixels; j++)
            grad_t[j * c_out + o] = grad[o * grad_stride + j];
}

/* The weight gradient of a 3x3 convolution over ONE image, 8 output channels in the lanes:
 * grad_w (O, C, 9) += sum over output pixels (oh, ow) of grad[o, oh, ow] * x[c, oh+kh, ow+kw].
 * As in the forward pass, im2col would write the input nine times over for a GEMM with only O
 * rows; here each (input channel, 8 output channels) keeps its nine taps' sums in registers
 * while one pass over the pixels broadcasts each input value into them.
 *
 * grad: (O, Ho*Wo) with rows grad_stride apart; x (C, H, W); grad_w (O, C*9), added to;
 * grad_t: scratch of Ho*Wo*O values (grad transposed, so 8 channels of a pixel are one load).
 * O a multiple of 8. */
HDL_MULTIVERSION
static void hdl_conv_blocked_weight_grad3_f32(const float *restrict grad, ptrdiff_t grad_stride,
                                              const float *restrict x, int c_in, int h, int w, int c_out,
                                              float *restrict grad_w, float *restrict grad_t) {
    int ho = h - 2, wo = w - 2;
    hdl_conv_transpose_grad(grad, grad_stride, c_out, (ptrdiff_t) ho * wo, grad_t);
    for (int c = 0; c < c_in; c++) {
        const float *restrict plane = x + (ptrdiff_t) c * h * w;
        for (int block = 0; block < c_out / 8; block++) {
            hdl_v8f sums[9] = {{0}};
            const float *restrict g = grad_t + block * 8;
            for (int oh = 0; oh < ho; oh++) {
                const float *restrict r0 = plane + (ptrdiff_t) oh * w, *restrict r1 = r0 + w, *restrict r2 = r1 + w;
                for (int ow = 0; ow < wo; ow++, g += c_out) {
                    hdl_v8f lanes = *(const hdl_v8f *) g;
                    sums[0] += r0[ow] * lanes;
                    sums[1] += r0[ow + 1] * lanes;
                    sums[2] += r0[ow + 2] * lanes;
                    sums[3] += r1[ow] * lanes;
                    sums[4] += r1[ow + 1] * lanes;
                    sums[5] += r1[ow + 2] * lanes;
                    sums[6] += r2[ow] * lanes;
                    sums[7] += r2[ow + 1] * lanes;
                    sums[8] += r2[ow + 2] * lanes;
                }
            }
            for (int lane = 0; lane < 8; lane++) {
                float *restrict dst = grad_w + ((ptrdiff_t) (block * 8 + lane) * c_in + c) * 9;
                for (int tap = 0; tap < 9; tap++)
                    dst[tap] += sums[tap][lane];
            }
        }
    }
}

/* The 3x3 weight gradient with 16 lanes per vector, for CPUs with AVX-512 (hdl_cpu_has_widest): 32 output channels
 * per pass (two vectors of nine taps' sums, 18 of the 32 zmm registers), so that each broadcast input value feeds
 * two multiply-adds, as in the 8-lane loops.  Same arguments, the same sums in the same order (bit for bit);
 * c_out a multiple of 32. */
#ifdef HDL_TARGET_WIDEST
HDL_TARGET_WIDEST
static void hdl_conv_wide_weight_grad3_f32(const float *restrict grad, ptrdiff_t grad_stride,
                                           const float *restrict x, int c_in, int h, int w, int c_out,
                                           float *restrict grad_w, float *restrict grad_t) {
    int ho = h - 2, wo = w - 2;
    hdl_conv_transpose_grad(grad, grad_stride, c_out, (ptrdiff_t) ho * wo, grad_t);
    for (int c = 0; c < c_in; c++) {
        const float *restrict plane = x + (ptrdiff_t) c * h * w;
        for (int block = 0; block < c_out / 32; block++) {
            hdl_v16f first[9] = {{0}}, second[9] = {{0}};
            const float *restrict g = grad_t + block * 32;
            for (int oh = 0; oh < ho; oh++) {
                const float *restrict r0 = plane + (ptrdiff_t) oh * w, *restrict r1 = r0 + w, *restrict r2 = r1 + w;
                for (int ow = 0; ow < wo; ow++, g += c_out) {
                    hdl_v16f lanes0 = *(const hdl_v16f *) g, lanes1 = *(const hdl_v16f *) (g + 16);
                    const float taps[9] = {r0[ow], r0[ow + 1], r0[ow + 2], r1[ow], r1[ow + 1], r1[ow + 2],
                                           r2[ow], r2[ow + 1], r2[ow + 2]};
                    for (int tap = 0; tap < 9; tap++) {
                        first[tap] += taps[tap] * lanes0;
                        second[tap] += taps[tap] * lanes1;
                    }
                }
            }
            for (int lane = 0; lane < 16; lane++) {
                float *restrict dst0 = grad_w + ((ptrdiff_t) (block * 32 + lane) * c_in + c) * 9;
                float *restrict dst1 = grad_w + ((ptrdiff_t) (block * 32 + 16 + lane) * c_in + c) * 9;
                for (int tap = 0; tap < 9; tap++) {
                    dst0[tap] += first[tap][lane];
                    dst1[tap] += second[tap][lane];
                }
            }
        }
    }
}
#else
static void hdl_conv_wide_weight_grad3_f32(const float *restrict grad, ptrdiff_t grad_stride,
                                           const float *restrict x, int c_in, int h, int w, int c_out,
                                           float *restrict grad_w, float *restrict grad_t) {
    hdl_conv_blocked_weight_grad3_f32(grad, grad_stride, x, c_in, h, w, c_out, grad_w, grad_t);
}
#endif
#endif
