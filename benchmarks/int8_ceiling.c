/* What int8 can gain over float32 on an AVX2 CPU without VNNI: the throughput of the multiply-add
 * instructions each uses, and the AVX2 int8 convolution (pyx/int8_dot.h) on the LettersCNN's layer
 * shapes, in multiply-adds per second on one core.
 *
 *   gcc -O3 -Ipyx benchmarks/int8_ceiling.c -o /tmp/int8_ceiling && /tmp/int8_ceiling
 *
 * Each instruction runs in 10 independent chains (more than its latency times its throughput), so
 * the loop measures throughput.  vfmadd231ps does 8 float32 multiply-adds, vpmaddwd 16 int16 ones
 * (the AVX2 int8 path's instruction: it widens bytes to int16 because vpmaddubsw, 32 per
 * instruction, saturates its int16 pair sums). */
#include "int8_dot.h"
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

#define N_INSTRUCTIONS 400000000L
#define TEN(OP) a0 = OP(a0, b); a1 = OP(a1, b); a2 = OP(a2, b); a3 = OP(a3, b); a4 = OP(a4, b); \
                a5 = OP(a5, b); a6 = OP(a6, b); a7 = OP(a7, b); a8 = OP(a8, b); a9 = OP(a9, b);
#define THROUGHPUT(TYPE, OP, SET1, NAME, PER_INSTRUCTION)                                                 \
    {                                                                                                    \
        TYPE a0 = SET1(1), a1 = SET1(2), a2 = SET1(3), a3 = SET1(4), a4 = SET1(5), a5 = SET1(6),          \
             a6 = SET1(7), a7 = SET1(8), a8 = SET1(9), a9 = SET1(10), b = SET1(1);                        \
        double start = now();                                                                            \
        for (long n = 0; n < N_INSTRUCTIONS / 10; n++) { TEN(OP) }                                       \
        double seconds = now() - start;                                                                  \
        volatile TYPE sink = OP(OP(OP(a0, a1), OP(a2, a3)), OP(OP(a4, a5), OP(OP(a6, a7), OP(a8, a9)))); \
        (void) sink;                                                                                     \
        printf("%-12s %5.2f G instructions/s  %5.1f G multiply-adds/s\n", NAME,                          \
               N_INSTRUCTIONS / seconds / 1e9, PER_INSTRUCTION * N_INSTRUCTIONS / seconds / 1e9);        \
    }
#define FMA(x, y) _mm256_fmadd_ps(x, y, y)

__attribute__((target("avx2,fma"))) static void instruction_throughputs(void) {
    THROUGHPUT(__m256, FMA, _mm256_set1_ps, "vfmadd231ps", 8)
    THROUGHPUT(__m256i, _mm256_madd_epi16, _mm256_set1_epi16, "vpmaddwd", 16)
    THROUGHPUT(__m256i, _mm256_maddubs_epi16, _mm256_set1_epi16, "vpmaddubsw", 32)
}

/* One layer: the best of 5 timings of enough images for 3e9 multiply-adds. */
static void convolution(const char *name, int h, int w, int c, int k, int kw, int n_out) {
    int ho = h - k + 1, wo = w - k + 1, depth = k * kw * c;
    int16_t *x = aligned_alloc(64, 2 * (h * w * c + 64)), *weight = aligned_alloc(64, 2 * depth * n_out);
    int32_t *acc = aligned_alloc(64, 4 * ho * wo * n_out);
    for (int i = 0; i < h * w * c + 64; i++)
        x[i] = rand() & 255;
    for (int i = 0; i < depth * n_out; i++)
        weight[i] = rand() % 255 - 127;
    double per_image = (double) ho * wo * depth * n_out, best = 1e30;
    int images = (int) (3e9 / per_image) + 1;
    for (int round = 0; round < 5; round++) {
        double start = now();
        for (int i = 0; i < images; i++)
            hdl_conv_s16_avx2(x, h, w, c, k, kw, weight, n_out, acc, n_out);
        double seconds = now() - start;
        best = seconds < best ? seconds : best;
    }
    printf("%-28s %5.1f G multiply-adds/s  %6.2f us per image\n", name, per_image * images / best / 1e9,
           best / images * 1e6);
    free(x), free(weight), free(acc);
}

int main(void) {
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
        printf("this CPU has no AVX2 and FMA: nothing to measure\n");
        return 0;
    }
    instruction_throughputs();
    convolution("c1 28x28x1, 3x3 (as 3x4) -> 32", 28, 28, 1, 3, 4, 32);
    convolution("c2 13x13x32, 3x3 -> 64", 13, 13, 32, 3, 3, 64);
    convolution("c3 6x6x64, 3x3 -> 128", 6, 6, 64, 3, 3, 128);
    convolution("fc1 2x2x128, 2x2 -> 64", 2, 2, 128, 2, 2, 64);
    return 0;
}
