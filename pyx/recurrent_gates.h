/* Fused gate kernels of the GRU and LSTM layers, one batch row of H hidden units per call.
 *
 * Each body is written once, as a macro over the element type and its sigmoid/tanh, and
 * instantiated for float (hdl_expf from fast_math.h: branch-free, so the loops vectorise;
 * compiled for x86-64 and for AVX2 + FMA, picked at load time) and for double (libm).
 * Gate layouts are PyTorch's:
 *   GRU pre-activations (3H) r | z | n; saved gates (4H) r | z | n | hn, hn = W_hn h + b_hn.
 *   LSTM pre-activations and saved gates (4H) i | f | g | o (saved after their activations).
 * `recurrent` is W_hh h_prev without its bias, from the per-step GEMM. */
#ifndef HDL_RECURRENT_GATES_H
#define HDL_RECURRENT_GATES_H
#include <math.h>
#include "fast_math.h"

/* The arrays of one call never overlap; saying so lets the compiler vectorise the loops. */
#define HDL_RESTRICT __restrict__

HDL_INLINE float hdl_sigmoid_f32(float x) { return 1.0f / (1.0f + hdl_expf(-x)); }
HDL_INLINE float hdl_tanh_f32(float x) { return 2.0f / (1.0f + hdl_expf(-2.0f * x)) - 1.0f; }
HDL_INLINE double hdl_sigmoid_f64(double x) { return 1.0 / (1.0 + exp(-x)); }
HDL_INLINE double hdl_tanh_f64(double x) { return tanh(x); }

#define HDL_DEFINE_GATES(T, SUFFIX)                                                                     \
/* h_out = (1 - z) n + z h_prev with r, z = sigmoid, n = tanh(x_n + r hn); saves r, z, n, hn */          \
HDL_MULTIVERSION                                                                                        \
static void hdl_gru_gates_##SUFFIX(const T *HDL_RESTRICT projected, const T *HDL_RESTRICT recurrent, const T *HDL_RESTRICT bias_hh,             \
                                   const T *HDL_RESTRICT h_prev, T *HDL_RESTRICT h_out, T *HDL_RESTRICT gates, ptrdiff_t H) {                  \
    for (ptrdiff_t j = 0; j < H; j++) {                                                                 \
        T r = hdl_sigmoid_##SUFFIX(projected[j] + recurrent[j] + bias_hh[j]);                           \
        T z = hdl_sigmoid_##SUFFIX(projected[H + j] + recurrent[H + j] + bias_hh[H + j]);               \
        T hn = recurrent[2 * H + j] + bias_hh[2 * H + j];                                               \
        T n = hdl_tanh_##SUFFIX(projected[2 * H + j] + r * hn);                                         \
        gates[j] = r; gates[H + j] = z; gates[2 * H + j] = n; gates[3 * H + j] = hn;                    \
        h_out[j] = n + z * (h_prev[j] - n);                                                             \
    }                                                                                                   \
}                                                                                                       \
                                                                                                        \
/* grad_h = carry + grad_output: the gradients of the projected inputs (3H) and of the recurrent    \
 * pre-activations (3H) of this step; carry becomes grad_h z, the direct path to h_prev */              \
HDL_MULTIVERSION                                                                                        \
static void hdl_gru_gates_backward_##SUFFIX(const T *HDL_RESTRICT grad_output, const T *HDL_RESTRICT h_prev, const T *HDL_RESTRICT gates,       \
                                            T *HDL_RESTRICT grad_projected, T *HDL_RESTRICT grad_recurrent, T *HDL_RESTRICT carry, ptrdiff_t H) { \
    for (ptrdiff_t j = 0; j < H; j++) {                                                                 \
        T r = gates[j], z = gates[H + j], n = gates[2 * H + j], hn = gates[3 * H + j];                   \
        T grad_h = carry[j] + grad_output[j];                                                           \
        T grad_n = grad_h * (1 - z) * (1 - n * n);                                                      \
        T grad_r = grad_n * hn * r * (1 - r);                                                           \
        T grad_z = grad_h * (h_prev[j] - n) * z * (1 - z);                                              \
        grad_projected[j] = grad_r; grad_projected[H + j] = grad_z; grad_projected[2 * H + j] = grad_n; \
        grad_recurrent[j] = grad_r; grad_recurrent[H + j] = grad_z; grad_recurrent[2 * H + j] = grad_n * r; \
        carry[j] = grad_h * z;                                                                          \
    }                                                                                                   \
}                                                                                                       \
                                                                                                        \
/* c_out = f c_prev + i g, h_out = o tanh(c_out); saves i, f, g, o */                                    \
HDL_MULTIVERSION                                                                                        \
static void hdl_lstm_gates_##SUFFIX(const T *HDL_RESTRICT projected, const T *HDL_RESTRICT recurrent, const T *HDL_RESTRICT bias_hh,            \
                                    const T *HDL_RESTRICT c_prev, T *HDL_RESTRICT h_out, T *HDL_RESTRICT c_out, T *HDL_RESTRICT gates, ptrdiff_t H) {       \
    for (ptrdiff_t j = 0; j < H; j++) {                                                                 \
        T i = hdl_sigmoid_##SUFFIX(projected[j] + recurrent[j] + bias_hh[j]);                           \
        T f = hdl_sigmoid_##SUFFIX(projected[H + j] + recurrent[H + j] + bias_hh[H + j]);               \
        T g = hdl_tanh_##SUFFIX(projected[2 * H + j] + recurrent[2 * H + j] + bias_hh[2 * H + j]);      \
        T o = hdl_sigmoid_##SUFFIX(projected[3 * H + j] + recurrent[3 * H + j] + bias_hh[3 * H + j]);   \
        T c = f * c_prev[j] + i * g;                                                                    \
        gates[j] = i; gates[H + j] = f; gates[2 * H + j] = g; gates[3 * H + j] = o;                      \
        c_out[j] = c;                                                                                   \
        h_out[j] = o * hdl_tanh_##SUFFIX(c);                                                            \
    }                                                                                                   \
}                                                                                                       \
                                                                                                        \
/* grad_h = carry + grad_output, grad_c += grad_h o tanh'(c): the gradient of the 4H pre-activations; \
 * grad_c becomes grad_c f, the gradient of c_prev */                                                   \
HDL_MULTIVERSION                                                                                        \
static void hdl_lstm_gates_backward_##SUFFIX(const T *HDL_RESTRICT grad_output, const T *HDL_RESTRICT carry, const T *HDL_RESTRICT c_prev,      \
                                             const T *HDL_RESTRICT c, const T *HDL_RESTRICT gates, T *HDL_RESTRICT grad_gates, T *HDL_RESTRICT grad_c,      \
                                             ptrdiff_t H) {                                             \
    for (ptrdiff_t j = 0; j < H; j++) {                                                                 \
        T i = gates[j], f = gates[H + j], g = gates[2 * H + j], o = gates[3 * H + j];                    \
        T grad_h = carry[j] + grad_output[j];                                                           \
        T tc = hdl_tanh_##SUFFIX(c[j]);                                                                 \
        T dc = grad_c[j] + grad_h * o * (1 - tc * tc);                                                  \
        grad_gates[j] = dc * g * i * (1 - i);                                                           \
        grad_gates[H + j] = dc * c_prev[j] * f * (1 - f);                                               \
        grad_gates[2 * H + j] = dc * i * (1 - g * g);                                                   \
        grad_gates[3 * H + j] = grad_h * tc * o * (1 - o);                                              \
        grad_c[j] = dc * f;                                                                             \
    }                                                                                                   \
}

HDL_DEFINE_GATES(float, f32)
HDL_DEFINE_GATES(double, f64)
#endif
