/* 2 x 2 max-pooling of one whole (h, w) plane, ceil mode, branch-free.
 *
 * For each window a b / c d: the larger of a, b against the larger of c, d,
 * the first one winning ties (numpy's argmax order).  Written as selects over
 * restrict pointers so gcc vectorises it: scalar code compiles to branches,
 * which real data mispredicts half the time (8x slower here).  A partial
 * window at the right or bottom edge (odd w or h) takes the pixels it has.
 * argmax gets the flat index in the input plane.  One call a plane: planes of
 * LettersCNN's second pool are 11 x 11, and calls row by row cost more than
 * the work.  A plain '>' cannot give numpy's NaN rule (the first NaN wins), so
 * a plane holding a NaN returns 1 with nothing written, for the caller's
 * scalar path; otherwise 0. */
#ifndef HDL_POOL_K2_H
#define HDL_POOL_K2_H
#include "fast_math.h"

HDL_MULTIVERSION_AVX2
static int hdl_pool_plane_k2_f32(const float *restrict x, int h, int w, float *restrict out,
                                 int *restrict argmax) {
    int any_nan = 0;
    for (int i = 0; i < h * w; i++)
        any_nan |= (x[i] != x[i]);
    if (any_nan)
        return 1;
    const int wo = (w + 1) / 2, n_full = w / 2;
    for (int oh = 0; oh < (h + 1) / 2; oh++) {
        const int base = 2 * oh * w;
        const float *restrict top = x + base;
        float *restrict o = out + oh * wo;
        int *restrict at = argmax + oh * wo;
        if (2 * oh + 1 < h) {  /* two rows */
            const float *restrict bottom = top + w;
            for (int i = 0; i < n_full; i++) {
                float a = top[2 * i], b = top[2 * i + 1], c = bottom[2 * i], d = bottom[2 * i + 1];
                float upper = b > a ? b : a;
                int upper_at = b > a ? 1 : 0;
                float lower = d > c ? d : c;
                int lower_at = d > c ? w + 1 : w;
                o[i] = lower > upper ? lower : upper;
                at[i] = base + 2 * i + (lower > upper ? lower_at : upper_at);
            }
            if (w & 1) {  /* the last column: a window of one pixel over another */
                float a = top[w - 1], c = bottom[w - 1];
                o[n_full] = c > a ? c : a;
                at[n_full] = base + w - 1 + (c > a ? w : 0);
            }
        } else {  /* the last row of an odd h: windows of one row */
            for (int i = 0; i < n_full; i++) {
                float a = top[2 * i], b = top[2 * i + 1];
                o[i] = b > a ? b : a;
                at[i] = base + 2 * i + (b > a ? 1 : 0);
            }
            if (w & 1) {
                o[n_full] = top[w - 1];
                at[n_full] = base + w - 1;
            }
        }
    }
    return 0;
}
#endif
