/* The whole 2 x 2 windows of one output row of max-pooling, branch-free.
 *
 * For each window a b / c d: the larger of a, b against the larger of c, d,
 * the first one winning ties (numpy's argmax order).  Written as selects over
 * restrict pointers so gcc vectorises it: scalar code compiles to branches,
 * which real data mispredicts half the time (8x slower here).  A plain '>'
 * cannot give numpy's NaN rule (the first NaN wins), so the caller first asks
 * hdl_rows_have_nan_f32 and sends rows with a NaN down its scalar path.
 * argmax gets the flat index in the input plane: base + 2 i + offset. */
#ifndef HDL_POOL_K2_H
#define HDL_POOL_K2_H
#include "fast_math.h"

HDL_MULTIVERSION_AVX2
static int hdl_rows_have_nan_f32(const float *restrict x, int n) {
    int any = 0;
    for (int i = 0; i < n; i++)
        any |= (x[i] != x[i]);
    return any;
}

HDL_MULTIVERSION_AVX2
static void hdl_pool_row_k2_f32(const float *restrict top, const float *restrict bottom, int w, int base,
                                int n_windows, float *restrict out, int *restrict argmax) {
    for (int i = 0; i < n_windows; i++) {
        float a = top[2 * i], b = top[2 * i + 1], c = bottom[2 * i], d = bottom[2 * i + 1];
        float upper = b > a ? b : a;
        int upper_at = b > a ? 1 : 0;
        float lower = d > c ? d : c;
        int lower_at = d > c ? w + 1 : w;
        out[i] = lower > upper ? lower : upper;
        argmax[i] = base + 2 * i + (lower > upper ? lower_at : upper_at);
    }
}
#endif
