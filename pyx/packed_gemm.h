/* A float32 GEMM whose right operand is packed once and reused: the per-step product of a
 * recurrent layer, C (M, N) = A (M, K) @ B (K, N), where B is W_hh (transposed or not) and
 * stays the same for all T steps of a sequence; and the layer's products over all N*T rows.
 *
 * Why: a BLAS sgemm call repacks B into its own panel layout every time it is called, and a
 * GRU 256 calls it at every step with B = 256 x 768 floats (786 kB): the repacking alone was
 * 15-17% of a training step.  Here the caller packs B once per sequence (hdl_pack_panels),
 * and every step, on every thread, reads the packed copy.
 *
 * Packing layout: B's N columns are cut into panels of HDL_PACKED_NR = 32 columns.  A panel
 * holds its K rows one after the other, each of NR contiguous floats; the panels follow each
 * other, and the last one is padded with zero columns:
 *
 *     packed[p * K * NR + k * NR + j] = B[k, p * NR + j]   (0 when p * NR + j >= N)
 *
 * so a panel is one contiguous stream of K * NR floats (K = 256: 32 kB, L1-sized), read from
 * start to end by the micro-kernel.  32 columns are two 512-bit vectors or four 256-bit ones,
 * so every path reads the same layout.
 *
 * Micro-kernel: a register tile of `rows` rows of A x 2 vectors of B columns (2 x 16 = one
 * panel on AVX-512, 2 x 8 = half a panel on AVX2), all K.  Per k it loads the two B vectors
 * once and, for each row, broadcasts A[i, k] and does two fused multiply-adds into that row's
 * accumulators; the accumulators stay in registers for the whole K loop and are written
 * (or added to C) once at the end.  Tiles of MR rows: 8 on AVX-512 (16 of the 32 zmm
 * registers as accumulators), 6 on AVX2 (12 of the 16 ymm registers); the rows left over
 * take a tile of their own height.  A's rows may be strided (lda): a time step's rows of a
 * batch-first (N, T, H) array are T*H floats apart; and A may be a stored matrix read
 * transposed (a_step: A[i, k] = a[i * lda + k * a_step]), whose 8 values a tile broadcasts
 * per k are then adjacent.
 *
 * Measured on one Zen 4 core, A rows strided as in the layer: 32 x 768 x 256 (a thread's forward
 * step at batch 64 on 2 threads) 111 us against 173 us for the sgemm call (which repacks B),
 * 64 x 768 x 256 222 against 287 us, the backward's 32 x 256 x 768 110 against 176 us: about
 * 114 GFLOP/s, the core's FMA peak, which leaves the steps nothing to gain from K blocking or
 * prefetching (a panel of K = 768 is 96 kB, read from L2).  AVX2 reaches 95-110 GFLOP/s, the scalar path 37.
 *
 * The products over all N*T rows (N*T = 6,400 for batch 64 x 100 steps; recurrent.pyx's
 * packed_rows_gemm splits C's rows over threads, all reading one packed B):
 *   input projection  (N*T, G) = x (N*T, I) @ W_ih^T + b_ih   B packed from W_ih transposed,
 *                                                             the bias added in the store
 *   grad_x            (N*T, I) = grad_gates (N*T, G) @ W_ih
 *   grad_weight_ih    (G, I)   = grad_gates^T @ x             A read transposed (a_step = G)
 *   grad_weight_hh    (G, H)   = grad_gates^T @ h_prev        B packed row by row from h0 and
 *                                                             the outputs (hdl_pack_row)
 * A BLAS sgemm copies both operands into its own panels; here only B is packed and A is read
 * where it lies, transposed or not.  For K = N*T the K loop is cut in blocks of HDL_PACKED_KC
 * (C accumulating), and the caller runs the rows in blocks of a few register tiles, so the
 * block of A it re-reads for every panel stays in L2.  Measured on one Zen 4 core (G = 768,
 * H = I = 256) against the BLAS calls they replace: projection 23.9 against 24.8 ms, grad_x
 * 23.3 against 25.5, grad_weight_ih 23.8 against 29.3, grad_weight_hh 23.9 against 29.5
 * (three sgemm calls on shifted rows): 104-108 GFLOP/s.  A panel-major order over 6,400 rows
 * (every row of A for one panel before the next) ran the projection at 27 ms: A, 6.5 MB,
 * then streams from L3 once per panel.
 *
 * Three paths, chosen at load time by what the CPU supports (__builtin_cpu_supports) and
 * forced for tests by hdl_packed_gemm_of(path) (in Python: native_recurrent.use_packed_gemm_path):
 *   avx512   AVX-512F, 8 x 32 tiles
 *   avx2     AVX2 + FMA, 6 x 16 tiles
 *   scalar   plain C, one row at a time (baseline x86-64 or any other CPU)
 */
#ifndef HDL_PACKED_GEMM_H
#define HDL_PACKED_GEMM_H
#include <stddef.h>
#include <string.h>

#define HDL_PACKED_NR 32
/* The tallest register tile any path instantiates (the remainder tiles included). */
#define HDL_PACKED_MAX_ROWS 8
/* K is cut into blocks of this many rows (C accumulates over them): a panel's block is 96 kB,
 * read from L2.  The step GEMMs (K = H or 3H, 4H <= 768) take one block; the weight gradient
 * (K = N*T = 6,400) ran 10% slower unblocked, its panels streaming from L3. */
#define HDL_PACKED_KC 768

enum { HDL_PACKED_SCALAR = 1, HDL_PACKED_AVX2 = 2, HDL_PACKED_AVX512 = 3 };

/* C (m, n) = A (m, k) @ B (+ bias), or C += A @ B (+ bias) when accumulate; B packed by
 * hdl_pack_panels.  A[i, kk] is a[i * lda + kk * a_step]: a_step 1 for a row-major A (rows
 * maybe strided), a_step = its row stride and lda 1 for A given as the transpose of a stored
 * matrix.  bias (n floats, added to every row) may be NULL. */
typedef void (*hdl_sgemm_packed_fn)(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t lda,
                                    ptrdiff_t a_step, const float *packed, const float *bias, int accumulate,
                                    float *c, ptrdiff_t ldc);

/* Floats of the packed copy of a (k, n) matrix: whole panels.  The copy needs no particular
 * alignment: one 16 bytes off a cache line ran as fast (the kernel waits on its FMAs, not loads). */
static inline size_t hdl_packed_size(ptrdiff_t k, ptrdiff_t n) {
    return (size_t) k * (size_t) ((n + HDL_PACKED_NR - 1) / HDL_PACKED_NR * HDL_PACKED_NR);
}

/* One panel row: the first min(left, NR) of `src` into `dest`, the rest of its NR floats zero. */
static inline void hdl_pack_piece(float *dest, const float *src, ptrdiff_t left) {
    ptrdiff_t cols = left < HDL_PACKED_NR ? left : HDL_PACKED_NR;
    memcpy(dest, src, (size_t) cols * sizeof(float));
    memset(dest + cols, 0, (size_t) (HDL_PACKED_NR - cols) * sizeof(float));
}

/* One row of B (n floats) into row kk of a packing of k rows: its 32-column pieces go to the
 * panels, zero-padded in the last.  Lets a caller pack a B whose rows are scattered (h_prev of
 * the weight gradient: h0 or the previous step's output). */
static inline void hdl_pack_row(const float *row, ptrdiff_t kk, ptrdiff_t k, ptrdiff_t n, float *packed) {
    for (ptrdiff_t p0 = 0; p0 < n; p0 += HDL_PACKED_NR)
        hdl_pack_piece(packed + p0 * k + kk * HDL_PACKED_NR, row + p0, n - p0);
}

/* B (k, n), B[kk, j] = b[kk * ldb + j * b_step] -> packed (hdl_packed_size(k, n) floats), in
 * the layout above, panel by panel (written in order: twice as fast as row by row).  b_step 1:
 * a row-major B; otherwise B is a stored (n, k) matrix transposed (W_ih^T of the input
 * projection: ldb 1, b_step its row stride), read in blocks of 32 rows of B. */
static void hdl_pack_panels(const float *b, ptrdiff_t ldb, ptrdiff_t b_step, ptrdiff_t k, ptrdiff_t n,
                            float *packed) {
    for (ptrdiff_t p0 = 0; p0 < n; p0 += HDL_PACKED_NR) {
        ptrdiff_t cols = n - p0 < HDL_PACKED_NR ? n - p0 : HDL_PACKED_NR;
        float *panel = packed + p0 * k;
        if (b_step == 1) {
            for (ptrdiff_t kk = 0; kk < k; kk++)
                hdl_pack_piece(panel + kk * HDL_PACKED_NR, b + kk * ldb + p0, n - p0);
            continue;
        }
        for (ptrdiff_t k0 = 0; k0 < k; k0 += HDL_PACKED_NR)
            for (ptrdiff_t j = 0; j < HDL_PACKED_NR; j++)
                for (ptrdiff_t kk = k0; kk < k && kk < k0 + HDL_PACKED_NR; kk++)
                    panel[kk * HDL_PACKED_NR + j] = j < cols ? b[kk * ldb + (p0 + j) * b_step] : 0.0f;
    }
}

/* Writes `cols` columns of one row of results: c = acc (+ bias), or c += acc (+ bias) when
 * accumulate; bias may be NULL. */
static inline void hdl_packed_store_row(float *c, const float *acc, const float *bias, ptrdiff_t cols,
                                        int accumulate) {
    for (ptrdiff_t j = 0; j < cols; j++)
        c[j] = (accumulate ? c[j] : 0.0f) + acc[j] + (bias ? bias[j] : 0.0f);
}

/* The portable path: one row of A against one panel at a time, NR accumulators. */
static void hdl_sgemm_packed_scalar(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t lda,
                                    ptrdiff_t a_step, const float *packed, const float *bias, int accumulate,
                                    float *c, ptrdiff_t ldc) {
    for (ptrdiff_t p0 = 0; p0 < n; p0 += HDL_PACKED_NR) {
        const float *panel = packed + p0 * k;
        ptrdiff_t cols = n - p0 < HDL_PACKED_NR ? n - p0 : HDL_PACKED_NR;
        for (ptrdiff_t i = 0; i < m; i++) {
            float acc[HDL_PACKED_NR] = {0};
            const float *ai = a + i * lda;
            for (ptrdiff_t kk = 0; kk < k; kk++)
                for (int j = 0; j < HDL_PACKED_NR; j++)
                    acc[j] += ai[kk * a_step] * panel[kk * HDL_PACKED_NR + j];
            hdl_packed_store_row(c + i * ldc + p0, acc, bias ? bias + p0 : NULL, cols, accumulate);
        }
    }
}

#if defined(__GNUC__) && defined(__x86_64__)
#define HDL_HAVE_PACKED_SIMD 1
#include <immintrin.h>

/* One register tile: ROWS rows x 2 vectors of LANES columns, all K.  `b` points at the tile's
 * first column inside a panel (rows NR floats apart), `bias` (or NULL) at its first bias;
 * `cols` (<= 2 LANES) are written.  Always inlined with a constant ROWS (and a_step 1 in the
 * row-major case), so the accumulator array lives in registers. */
#define HDL_DEFINE_PACKED_TILE(NAME, TARGET, VEC, LANES, ZERO, LOAD, STORE, SET1, FMADD, ADD)                \
    __attribute__((target(TARGET), always_inline)) static inline void NAME(                               \
        const float *a, ptrdiff_t lda, ptrdiff_t a_step, const int rows, ptrdiff_t k, const float *b,       \
        const float *bias, float *c, ptrdiff_t ldc, ptrdiff_t cols, int accumulate) {                      \
        VEC acc[HDL_PACKED_MAX_ROWS][2];                                                                   \
        for (int i = 0; i < rows; i++)                                                                     \
            acc[i][0] = acc[i][1] = ZERO();                                                                \
        _Pragma("GCC unroll 4") for (ptrdiff_t kk = 0; kk < k; kk++) {                                     \
            VEC b0 = LOAD(b + kk * HDL_PACKED_NR), b1 = LOAD(b + kk * HDL_PACKED_NR + LANES);              \
            for (int i = 0; i < rows; i++) {                                                               \
                VEC ai = SET1(a[i * lda + kk * a_step]);                                                   \
                acc[i][0] = FMADD(ai, b0, acc[i][0]);                                                      \
                acc[i][1] = FMADD(ai, b1, acc[i][1]);                                                      \
            }                                                                                              \
        }                                                                                                  \
        for (int i = 0; i < rows; i++) {                                                                   \
            float *ci = c + i * ldc;                                                                       \
            if (cols == 2 * LANES) {                                                                       \
                if (accumulate) {                                                                          \
                    acc[i][0] = ADD(acc[i][0], LOAD(ci));                                                  \
                    acc[i][1] = ADD(acc[i][1], LOAD(ci + LANES));                                          \
                }                                                                                          \
                if (bias) {                                                                                \
                    acc[i][0] = ADD(acc[i][0], LOAD(bias));                                                \
                    acc[i][1] = ADD(acc[i][1], LOAD(bias + LANES));                                        \
                }                                                                                          \
                STORE(ci, acc[i][0]);                                                                      \
                STORE(ci + LANES, acc[i][1]);                                                              \
            } else { /* the last panel's zero-padded columns are computed but not written */             \
                float row[2 * LANES];                                                                      \
                STORE(row, acc[i][0]);                                                                     \
                STORE(row + LANES, acc[i][1]);                                                             \
                hdl_packed_store_row(ci, row, bias, cols, accumulate);                                     \
            }                                                                                              \
        }                                                                                                  \
    }

/* The whole product: K block by K block (one for K <= HDL_PACKED_KC), panel by panel, the
 * panel's column blocks of 2 LANES, then tiles of MR rows down A (the panel's block stays in
 * L1 or L2 while every row tile reads it), the rows left over in one shorter tile.
 * NAME##_blocks is inlined twice, once with a_step = 1 (A row-major, the step GEMMs) so its A
 * loads need no multiply, once with any a_step (A transposed). */
#define HDL_DEFINE_PACKED_GEMM(NAME, TILE, TARGET, LANES, MR)                                             \
    __attribute__((target(TARGET), always_inline)) static inline void NAME##_blocks(                      \
        ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t lda, ptrdiff_t a_step,            \
        const float *packed, const float *bias, int accumulate, float *c, ptrdiff_t ldc) {                 \
        for (ptrdiff_t k0 = 0; k0 == 0 || k0 < k; k0 += HDL_PACKED_KC) { /* K = 0: C = 0 (+ bias) */      \
            ptrdiff_t kc = k - k0 < HDL_PACKED_KC ? k - k0 : HDL_PACKED_KC;                                \
            int acc_k = accumulate || k0 > 0; /* the later K blocks add to the first's sums */             \
            const float *bias_k = k0 == 0 ? bias : NULL;                                                   \
            const float *a_k = a + k0 * a_step;                                                            \
            for (ptrdiff_t j0 = 0; j0 < n; j0 += 2 * LANES) {                                              \
                const float *b = packed + (j0 / HDL_PACKED_NR) * HDL_PACKED_NR * k + k0 * HDL_PACKED_NR    \
                                 + j0 % HDL_PACKED_NR;                                                     \
                const float *bj = bias_k ? bias_k + j0 : NULL;                                             \
                ptrdiff_t cols = n - j0 < 2 * LANES ? n - j0 : 2 * LANES;                                  \
                ptrdiff_t i = 0;                                                                           \
                for (; i + MR <= m; i += MR)                                                               \
                    TILE(a_k + i * lda, lda, a_step, MR, kc, b, bj, c + i * ldc + j0, ldc, cols, acc_k);   \
                const float *ai = a_k + i * lda;                                                           \
                float *ci = c + i * ldc + j0;                                                              \
                switch (m - i) {                                                                           \
                case 0: break;                                                                             \
                case 1: TILE(ai, lda, a_step, 1, kc, b, bj, ci, ldc, cols, acc_k); break;                  \
                case 2: TILE(ai, lda, a_step, 2, kc, b, bj, ci, ldc, cols, acc_k); break;                  \
                case 3: TILE(ai, lda, a_step, 3, kc, b, bj, ci, ldc, cols, acc_k); break;                  \
                case 4: TILE(ai, lda, a_step, 4, kc, b, bj, ci, ldc, cols, acc_k); break;                  \
                case 5: TILE(ai, lda, a_step, 5, kc, b, bj, ci, ldc, cols, acc_k); break;                  \
                case 6: TILE(ai, lda, a_step, 6, kc, b, bj, ci, ldc, cols, acc_k); break;                  \
                default: TILE(ai, lda, a_step, 7, kc, b, bj, ci, ldc, cols, acc_k); break;                 \
                }                                                                                          \
            }                                                                                              \
        }                                                                                                  \
    }                                                                                                      \
    __attribute__((target(TARGET))) static void NAME(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a, \
                                                     ptrdiff_t lda, ptrdiff_t a_step, const float *packed,  \
                                                     const float *bias, int accumulate, float *c,           \
                                                     ptrdiff_t ldc) {                                       \
        if (a_step == 1)                                                                                   \
            NAME##_blocks(m, n, k, a, lda, 1, packed, bias, accumulate, c, ldc);                           \
        else                                                                                               \
            NAME##_blocks(m, n, k, a, lda, a_step, packed, bias, accumulate, c, ldc);                      \
    }

HDL_DEFINE_PACKED_TILE(hdl_packed_tile_avx512, "avx512f", __m512, 16, _mm512_setzero_ps, _mm512_loadu_ps,
                       _mm512_storeu_ps, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_add_ps)
HDL_DEFINE_PACKED_GEMM(hdl_sgemm_packed_avx512, hdl_packed_tile_avx512, "avx512f", 16, 8)

HDL_DEFINE_PACKED_TILE(hdl_packed_tile_avx2, "avx2,fma", __m256, 8, _mm256_setzero_ps, _mm256_loadu_ps,
                       _mm256_storeu_ps, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_add_ps)
HDL_DEFINE_PACKED_GEMM(hdl_sgemm_packed_avx2, hdl_packed_tile_avx2, "avx2,fma", 8, 6)
#endif

/* 1 when this CPU (and build) can run `path`. */
static int hdl_packed_path_supported(int path) {
    if (path == HDL_PACKED_SCALAR)
        return 1;
#ifdef HDL_HAVE_PACKED_SIMD
    __builtin_cpu_init();
    if (path == HDL_PACKED_AVX512)
        return __builtin_cpu_supports("avx512f");
    if (path == HDL_PACKED_AVX2)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    return 0;
}

/* The rows of one register tile (MR) of a path. */
static int hdl_packed_tile_rows(int path) {
    return path == HDL_PACKED_AVX512 ? 8 : path == HDL_PACKED_AVX2 ? 6 : 1;
}

/* The fastest supported path. */
static int hdl_packed_best_path(void) {
    if (hdl_packed_path_supported(HDL_PACKED_AVX512))
        return HDL_PACKED_AVX512;
    if (hdl_packed_path_supported(HDL_PACKED_AVX2))
        return HDL_PACKED_AVX2;
    return HDL_PACKED_SCALAR;
}

/* The GEMM of a supported path (the caller checks with hdl_packed_path_supported). */
static hdl_sgemm_packed_fn hdl_packed_gemm_of(int path) {
#ifdef HDL_HAVE_PACKED_SIMD
    if (path == HDL_PACKED_AVX512)
        return hdl_sgemm_packed_avx512;
    if (path == HDL_PACKED_AVX2)
        return hdl_sgemm_packed_avx2;
#endif
    (void) path;
    return hdl_sgemm_packed_scalar;
}
#endif
