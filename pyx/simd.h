/* Which SIMD code this build gets, decided in one place for every kernel header.
 *
 * HDL_X86_INTRINSICS: x86-64 and a compiler whose `target` attributes and intrinsics the hand-written
 * paths (int8_dot.h, int8_epilogue.h) are compiled with: gcc, or clang 14 or newer.
 *
 * HDL_MULTIVERSION and HDL_MULTIVERSION_AVX2: the vectorised loops compiled several times by
 * target_clones (baseline x86-64, AVX2 + FMA and, for the first, AVX-512), the best one this CPU runs
 * picked at load time, so one build runs on any x86-64 and uses the widest vectors the CPU has.  Only
 * on Linux (target_clones needs the dynamic linker's ifunc); elsewhere they are empty and the loops
 * are compiled once, for the baseline. */
#ifndef HDL_SIMD_H
#define HDL_SIMD_H

#if defined(__x86_64__) && ((defined(__GNUC__) && !defined(__clang__)) || (defined(__clang__) && __clang_major__ >= 14))
#define HDL_X86_INTRINSICS 1
#endif

/* HDL_CLONE_WIDEST and HDL_CLONE_WIDE: the two clones above the baseline, as
 * __builtin_cpu_supports names them. */
#if defined(HDL_X86_INTRINSICS) && defined(__linux__) && !defined(__clang__)
#define HDL_MULTIVERSION __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
/* At most AVX2 + FMA: for 2x2 max-pooling, which AVX-512 makes slower (row by row 2.0 against 0.88 ms;
 * a plane per call, on a Zen 4, 2.3 to 6.5 times slower: BENCHMARKS.md, twenty-sixth session), and the
 * Adam loop. */
#define HDL_MULTIVERSION_AVX2 __attribute__((target_clones("arch=x86-64-v3", "default")))
#define HDL_CLONE_WIDEST "x86-64-v4"
#define HDL_CLONE_WIDE "x86-64-v3"
#elif defined(HDL_X86_INTRINSICS) && defined(__linux__)
/* clang 14 compiles target_clones, but its resolver mistakes "arch=x86-64-v3" and "-v4" for CPU
 * names: it compares the CPU model, so no CPU gets the x86-64-v3 clone and one whose model it does
 * not know gets the AVX-512 clone.  So clang's clones are named by one feature each: "avx512f"
 * (which in clang brings AVX2 and FMA along) and "fma" (AVX + FMA: the float loops need no more). */
#define HDL_MULTIVERSION __attribute__((target_clones("avx512f", "fma", "default")))
#define HDL_MULTIVERSION_AVX2 __attribute__((target_clones("fma", "default")))
#define HDL_CLONE_WIDEST "avx512f"
#define HDL_CLONE_WIDE "fma"
#endif

/* HDL_TARGET_WIDEST: a function compiled for the widest clone's instructions alone, called only where
 * hdl_cpu_has_widest() says this CPU runs them (hand-dispatched loops whose wider form is written out, not
 * a compiler's choice: conv_blocked.h's 16-lane loops). */
#if defined(HDL_CLONE_WIDEST) && !defined(__clang__)
#define HDL_TARGET_WIDEST __attribute__((target("arch=x86-64-v4")))
#elif defined(HDL_CLONE_WIDEST)
#define HDL_TARGET_WIDEST __attribute__((target("avx512f")))
#endif

#ifdef HDL_CLONE_WIDEST
static inline int hdl_cpu_has_widest(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports(HDL_CLONE_WIDEST) != 0;
}
#else
static inline int hdl_cpu_has_widest(void) { return 0; }
#endif

#ifdef HDL_CLONE_WIDEST
#define HDL_SIMD_CLONES HDL_CLONE_WIDEST " " HDL_CLONE_WIDE " default"
#define HDL_SIMD_EXCEPTIONS "2x2 max-pool: " HDL_CLONE_WIDE " at most"
/* The clone the resolver picks: the first of HDL_SIMD_CLONES this CPU has. */
static inline const char *hdl_simd_path(void) {
    if (hdl_cpu_has_widest())
        return HDL_CLONE_WIDEST;
    if (__builtin_cpu_supports(HDL_CLONE_WIDE))
        return HDL_CLONE_WIDE;
    return "default";
}
#else
#define HDL_MULTIVERSION
#define HDL_MULTIVERSION_AVX2
#define HDL_SIMD_CLONES ""
#define HDL_SIMD_EXCEPTIONS ""
static inline const char *hdl_simd_path(void) { return "baseline (not multiversioned)"; }
#endif
#endif
