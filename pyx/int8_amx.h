/* The int8 GEMM on AMX tiles (Intel Sapphire Rapids and later): c (R, O) int32 = a (R, K) uint8 .
 * W (O, K)^T int8, exact, with the packed weights of int8_dot.h as they are.
 *
 * An AMX core holds eight tile registers of up to 16 rows x 64 bytes, and `tdpbusd` multiplies a
 * tile of 16 rows x 64 uint8 (16 rows of a, 64 k) by a tile of 16 x 64 int8 (16 groups of four k,
 * 16 channels: exactly 16 rows of the packed weights, whose rows are 4 * O bytes apart) into 16 x 16
 * int32: 16,384 multiply-adds per instruction, where vpdpbusd does 64.  The tiles here: four of
 * accumulators (32 rows x 32 channels), two of a and two of weights, all 16 x 64 bytes, so one tile
 * configuration serves every call.  What does not fill whole tiles goes to the AVX-512 VNNI loops:
 * the last K % 64 of k (added onto the tiles' sums) and the last R % 16 rows (the whole product).
 * All int32 sums are exact, so the result is the other paths' to the bit.
 *
 * Linux hands out the tiles' 8 kB of register state only to a process that asks for it
 * (arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)), once; hdl_amx_ready() asks, and the path
 * counts as supported only when the CPU, the kernel and the request all say yes.  Every call loads
 * the configuration on its own thread (tile state is per thread) and releases the tiles at the end.
 */
#ifndef HDL_INT8_AMX_H
#define HDL_INT8_AMX_H
#if defined(HDL_HAVE_VNNI) && defined(__linux__)
#define HDL_HAVE_AMX 1
#include <sys/syscall.h>
#include <unistd.h>

#define HDL_ARCH_REQ_XCOMP_PERM 0x1023
#define HDL_XFEATURE_XTILEDATA 18

/* 1 when this CPU has AMX-TILE and AMX-INT8 (CPUID leaf 7 EDX bits 24, 25), the operating system
 * saves the tile state (XCR0 bits 17, 18) and grants this process its use; asked once. */
static int hdl_amx_ready(void) {
    static int ready = -1;
    unsigned int eax, ebx, ecx, edx, xcr0_low, xcr0_high;
    if (ready >= 0)
        return ready;
    ready = 0;
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) || !((edx >> 24) & 1) || !((edx >> 25) & 1))
        return ready;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !((ecx >> 27) & 1)) /* OSXSAVE: xgetbv may be used */
        return ready;
    __asm__ volatile("xgetbv" : "=a"(xcr0_low), "=d"(xcr0_high) : "c"(0));
    if (((xcr0_low >> 17) & 3) != 3)
        return ready;
    ready = syscall(SYS_arch_prctl, HDL_ARCH_REQ_XCOMP_PERM, HDL_XFEATURE_XTILEDATA) == 0;
    return ready;
}

/* The 64-byte operand of ldtilecfg: palette 1, then each tile's bytes per row and rows. */
typedef struct {
    uint8_t palette;
    uint8_t start_row;
    uint8_t reserved[14];
    uint16_t bytes_per_row[16];
    uint8_t rows[16];
} hdl_tile_config;

#define HDL_AMX_TARGET "amx-tile,amx-int8," HDL_AVX512VNNI

/* c[r, :] += a[r, :4 n_k4] . W over n_k4 groups of four k, for n_rows rows: the k that do not fill a tile. */
__attribute__((target(HDL_AVX512VNNI))) static void hdl_gemm_u8s8_add_avx512vnni(
    const uint8_t *a, ptrdiff_t lda, ptrdiff_t n_rows, ptrdiff_t n_k4, const int8_t *w, ptrdiff_t n_out,
    int32_t *c, ptrdiff_t ldc) {
    for (ptrdiff_t r = 0; r < n_rows; r++)
        for (ptrdiff_t o = 0; o < n_out; o += 16) {
            __m512i acc = _mm512_loadu_si512((const void *) (c + r * ldc + o));
            for (ptrdiff_t k4 = 0; k4 < n_k4; k4++)
                acc = _mm512_dpbusd_epi32(acc, _mm512_set1_epi32(hdl_load_4_bytes(a + r * lda + 4 * k4)),
                                          _mm512_loadu_si512((const void *) (w + (k4 * n_out + o) * 4)));
            _mm512_storeu_si512((void *) (c + r * ldc + o), acc);
        }
}

/* Tiles 0-3: sums of rows r..r+15 / r+16..r+31 (0, 1 / 2, 3) by channels o..o+15 / o+16..o+31 (0, 2 / 1, 3);
 * 4, 5: the two row blocks of a; 6, 7: the two channel blocks of the weights. */
__attribute__((target(HDL_AMX_TARGET))) static void hdl_gemm_u8s8_amx(const uint8_t *a, ptrdiff_t lda,
                                                                      ptrdiff_t n_rows, ptrdiff_t n_k4,
                                                                      const int8_t *w, ptrdiff_t n_out, int32_t *c,
                                                                      ptrdiff_t ldc) {
    const ptrdiff_t n_k64 = n_k4 / 16, tiled_rows = n_rows / 16 * 16, w_stride = 4 * n_out;
    if (n_k64 == 0 || tiled_rows == 0) {
        hdl_gemm_u8s8_avx512vnni(a, lda, n_rows, n_k4, w, n_out, c, ldc);
        return;
    }
    hdl_tile_config config;
    memset(&config, 0, sizeof config);
    config.palette = 1;
    for (int t = 0; t < 8; t++) {
        config.bytes_per_row[t] = 64;
        config.rows[t] = 16;
    }
    _tile_loadconfig(&config);
    for (ptrdiff_t r = 0; r < tiled_rows; r += 32) {
        const int two_rows = r + 32 <= tiled_rows;
        for (ptrdiff_t o = 0; o < n_out; o += 32) {
            const int two_channels = o + 32 <= n_out;
            _tile_zero(0);
            _tile_zero(1);
            _tile_zero(2);
            _tile_zero(3);
            for (ptrdiff_t kk = 0; kk < n_k64; kk++) {
                const int8_t *wk = w + (16 * kk * n_out + o) * 4;
                _tile_loadd(4, a + r * lda + 64 * kk, lda);
                _tile_loadd(6, wk, w_stride);
                _tile_dpbusd(0, 4, 6);
                if (two_channels) {
                    _tile_loadd(7, wk + 64, w_stride);
                    _tile_dpbusd(2, 4, 7);
                }
                if (two_rows) {
                    _tile_loadd(5, a + (r + 16) * lda + 64 * kk, lda);
                    _tile_dpbusd(1, 5, 6);
                    if (two_channels)
                        _tile_dpbusd(3, 5, 7);
                }
            }
            _tile_stored(0, c + r * ldc + o, 4 * ldc);
            if (two_channels)
                _tile_stored(2, c + r * ldc + o + 16, 4 * ldc);
            if (two_rows) {
                _tile_stored(1, c + (r + 16) * ldc + o, 4 * ldc);
                if (two_channels)
                    _tile_stored(3, c + (r + 16) * ldc + o + 16, 4 * ldc);
            }
        }
    }
    _tile_release();
    if (n_k4 > 16 * n_k64)
        hdl_gemm_u8s8_add_avx512vnni(a + 64 * n_k64, lda, tiled_rows, n_k4 - 16 * n_k64, w + 64 * n_k64 * n_out,
                                     n_out, c, ldc);
    if (tiled_rows < n_rows)
        hdl_gemm_u8s8_avx512vnni(a + tiled_rows * lda, lda, n_rows - tiled_rows, n_k4, w, n_out,
                                 c + tiled_rows * ldc, ldc);
}
#endif
#endif
