/* What the compiler put into this build, read back at run time by
 * hdl_native.show_config(): the compiler, the OpenMP version it compiled
 * against (0 when serial), and the SIMD clone of the hot loops that the
 * load-time resolver picks on this CPU. */
#ifndef HDL_BUILD_INFO_H
#define HDL_BUILD_INFO_H
#include "simd.h"

#if defined(__clang__)
#define HDL_COMPILER "clang " __clang_version__
#elif defined(__GNUC__)
#define HDL_COMPILER "gcc " __VERSION__
#else
#define HDL_COMPILER "unknown"
#endif

static const char *hdl_compiler(void) { return HDL_COMPILER; }

static int hdl_openmp_version(void) {
#ifdef _OPENMP
    return _OPENMP;
#else
    return 0;
#endif
}
#endif
