/* The Adam update loop, compiled twice (baseline x86-64 and x86-64-v3: AVX2 +
 * FMA) and picked at load time where the compiler supports target_clones (simd.h), so
 * the division and square root run 8 floats wide on CPUs that have AVX while
 * the build still runs on any x86-64.
 *
 * m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
 * param -= step_size * m / (sqrt(v) * inv_sqrt_bc2 + eps)
 * with step_size = lr / (1 - b1^t) and inv_sqrt_bc2 = 1 / sqrt(1 - b2^t).
 * The caller computes 1 - b1 and 1 - b2 in double: in float, 1 - (float)0.999
 * is off by 1.3e-5 relative, which shows in v. */
#ifndef HDL_ADAM_LOOP_H
#define HDL_ADAM_LOOP_H
#include <math.h>
#include <stddef.h>
#include "simd.h"

/* One loop body for both precisions: T is the element type, SQRT its square root. */
#define HDL_ADAM_LOOP(NAME, T, SQRT)                                                                   \
    HDL_MULTIVERSION_AVX2                                                                              \
    static void NAME(T *restrict param, const T *restrict grad, T *restrict exp_avg,                   \
                     T *restrict exp_avg_sq, ptrdiff_t n, T b1, T one_minus_b1, T b2, T one_minus_b2,  \
                     T step_size, T inv_sqrt_bc2, T eps) {                                             \
        for (ptrdiff_t i = 0; i < n; i++) {                                                            \
            T g = grad[i];                                                                             \
            T m = b1 * exp_avg[i] + one_minus_b1 * g;                                                  \
            T v = b2 * exp_avg_sq[i] + one_minus_b2 * g * g;                                           \
            exp_avg[i] = m;                                                                            \
            exp_avg_sq[i] = v;                                                                         \
            param[i] -= step_size * m / (SQRT(v) * inv_sqrt_bc2 + eps);                                \
        }                                                                                              \
    }

HDL_ADAM_LOOP(hdl_adam_f32, float, sqrtf)
HDL_ADAM_LOOP(hdl_adam_f64, double, sqrt)
#endif
