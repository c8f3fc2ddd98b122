/* Branch-free float32 erf and exp for the GELU kernels, written so the
 * compiler vectorises the loops (libm's erff/expf are scalar calls).
 *
 * hdl_erff: the rational minimax approximation Eigen and XLA use for float
 * erf, x P(x^2) / Q(x^2) on [-4, 4] (erf is +-1 in float32 beyond): largest
 * error 4.5e-7 absolute over the real line, against libm's 6e-8.
 * hdl_expf: Cephes' range reduction x = n ln2 + r (n rounded to nearest), its
 * polynomial in r, and 2^n built from the exponent bits; relative error < 2e-7.
 *
 * The loops are compiled three times (baseline x86-64, AVX2 + FMA,
 * AVX-512) and picked at load time where target_clones works (simd.h). */
#ifndef HDL_FAST_MATH_H
#define HDL_FAST_MATH_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <math.h>

#include "simd.h"

#if defined(__GNUC__)
#define HDL_INLINE static inline __attribute__((always_inline))
#else
#define HDL_INLINE static inline
#endif

HDL_INLINE float hdl_erff(float x) {
    x = x > 4.0f ? 4.0f : (x < -4.0f ? -4.0f : x);
    float x2 = x * x;
    float p = -2.72614225801306e-10f;
    p = p * x2 + 2.77068142495902e-08f;
    p = p * x2 - 2.10102402082508e-06f;
    p = p * x2 - 5.69250639462346e-05f;
    p = p * x2 - 7.34990630326855e-04f;
    p = p * x2 - 2.95459980854025e-03f;
    p = p * x2 - 1.60960333262415e-02f;
    float q = -1.45660718464996e-05f;
    q = q * x2 - 2.13374055278905e-04f;
    q = q * x2 - 1.68282697438203e-03f;
    q = q * x2 - 7.37332916720468e-03f;
    q = q * x2 - 1.42647390514189e-02f;
    return x * p / q;
}

HDL_INLINE float hdl_expf(float x) {
    x = x > 88.0f ? 88.0f : (x < -87.0f ? -87.0f : x);
    /* n = round(x / ln2) by the 1.5 * 2^23 trick: branch-free, so it vectorises */
    float fn = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    int32_t n = (int32_t) fn;
    float r = x - fn * 0.693359375f + fn * 2.12194440e-4f;
    float y = 1.9875691500e-4f;
    y = y * r + 1.3981999507e-3f;
    y = y * r + 8.3334519073e-3f;
    y = y * r + 4.1665795894e-2f;
    y = y * r + 1.6666665459e-1f;
    y = y * r + 5.0000001201e-1f;
    y = y * r * r + r + 1.0f;
    int32_t bits = (n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return y * scale;
}

/* out[i] = x Phi(x) = 0.5 x (1 + erf(x / sqrt 2)) */
HDL_MULTIVERSION
static void hdl_gelu_forward_f32(const float *x, float *out, ptrdiff_t n) {
    for (ptrdiff_t i = 0; i < n; i++)
        out[i] = 0.5f * x[i] * (1.0f + hdl_erff(x[i] * 0.70710678118654752f));
}

/* grad_input[i] = grad_output[i] (Phi(x) + x phi(x)).  x phi(x) is taken at x clamped to [-13, 13], where it is
 * about 1e-36 and x^2 / 2 stays under 87: hdl_expf never goes below e^-87 (1.6e-38), so beyond, x times that
 * floor grew with x (0.66 at x = 1e38, and +-inf at x = +-inf) instead of vanishing. */
HDL_MULTIVERSION
static void hdl_gelu_backward_f32(const float *x, const float *grad_output, float *grad_input, ptrdiff_t n) {
    for (ptrdiff_t i = 0; i < n; i++) {
        float v = x[i];
        float cdf = 0.5f * (1.0f + hdl_erff(v * 0.70710678118654752f));
        float tail = v > 13.0f ? 13.0f : (v < -13.0f ? -13.0f : v);
        float pdf = 0.39894228040143268f * hdl_expf(-0.5f * tail * tail);
        grad_input[i] = grad_output[i] * (cdf + tail * pdf);
    }
}
/* probs = softmax(x) over f >= 1 values of one row; returns log(sum(exp(x - max))) and sets *top to
 * max(x), so that log softmax(x)[j] = (x[j] - *top) - the return value.  The exponentials are taken
 * once, in a loop that vectorises; the sum is a separate loop (a float sum only vectorises by
 * reordering, which -O3 does not do). */
HDL_MULTIVERSION
static float hdl_softmax_row_f32(const float *x, ptrdiff_t f, float *probs, float *top) {
    float largest = x[0], total = 0.0f;
    for (ptrdiff_t j = 1; j < f; j++)
        largest = x[j] > largest ? x[j] : largest;
    for (ptrdiff_t j = 0; j < f; j++)
        probs[j] = hdl_expf(x[j] - largest);
    for (ptrdiff_t j = 0; j < f; j++)
        total += probs[j];
    float inverse = 1.0f / total;
    for (ptrdiff_t j = 0; j < f; j++)
        probs[j] *= inverse;
    *top = largest;
    return logf(total);
}
#endif
