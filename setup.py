"""Build the Cython kernels in pyx/ as hdl_native._native.<name>.

Every pyx/*.pyx becomes one extension, compiled with -O3 and, when the
compiler can do it, OpenMP.  A tiny probe program decides: if it does not
compile and link with -fopenmp, the build warns loudly and the kernels are
built serial (prange then runs on one thread).  hdl_native.openmp_enabled()
reports which build is installed.

HDL_NATIVE_DEBUG=1 at build time turns Cython's bounds and wraparound
checks on, for hunting out-of-range indexing in a kernel.
HDL_NATIVE_BUILD_JOBS=N compiles N extensions at once (pip cannot pass -j); by default
as many as the machine has cores, up to DEFAULT_MAX_JOBS.
"""
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
PYX_DIR = "pyx"
DEFAULT_MAX_JOBS = 4  # compiles at once by default: each -O3 compile of a kernel takes a few hundred MB

OPENMP_PROBE = r"""
#include <omp.h>
int main(void) {
    int n = 0;
    #pragma omp parallel reduction(+:n)
    n += 1;
    return n > 0 ? 0 : 1;
}
"""


def compiler_does_openmp(compiler_cmd):
    """True when `compiler_cmd` compiles and links the OpenMP probe."""
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "probe.c")
        with open(src, "w") as f:
            f.write(OPENMP_PROBE)
        cmd = list(compiler_cmd) + ["-fopenmp", src, "-o", os.path.join(tmp, "probe")]
        try:
            result = subprocess.run(cmd, capture_output=True, timeout=120)
        except (OSError, subprocess.SubprocessError):
            return False
        return result.returncode == 0


def default_jobs():
    """How many extensions to compile at once when nothing says: the cores this process may run on, at most
    DEFAULT_MAX_JOBS."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return min(cores, DEFAULT_MAX_JOBS)


class BuildExtWithOpenMPProbe(build_ext):
    """build_ext that adds -fopenmp only when the compiler passes the probe."""

    def finalize_options(self):
        super().finalize_options()
        jobs = os.environ.get("HDL_NATIVE_BUILD_JOBS", "")
        if self.parallel is None:  # not given as -j (pip cannot): the environment's count, else the cores
            self.parallel = int(jobs) if jobs.isdigit() else default_jobs()

    def build_extensions(self):
        compiler_cmd = self.compiler.compiler_so[:1] if hasattr(self.compiler, "compiler_so") else ["cc"]
        if os.environ.get("HDL_NATIVE_NO_OPENMP"):
            openmp = False
        else:
            openmp = shutil.which(compiler_cmd[0]) is not None and compiler_does_openmp(compiler_cmd)
        if not openmp:
            banner = "!" * 78
            sys.stderr.write(
                f"\n{banner}\n"
                "hdl_native: the C compiler cannot build OpenMP code (probe with -fopenmp failed).\n"
                "The kernels are being built SERIAL: they run on one core only.\n"
                "Install a compiler with OpenMP (gcc, or clang with libomp) and reinstall for\n"
                "multi-core speed. hdl_native.openmp_enabled() will report False.\n"
                f"{banner}\n\n"
            )
        for ext in self.extensions:
            if openmp:
                ext.extra_compile_args.append("-fopenmp")
                ext.extra_link_args.append("-fopenmp")
                ext.define_macros.append(("HDL_WITH_OPENMP", "1"))
        super().build_extensions()


# Flags for one extension only.  The int8 kernels' float epilogue (acc * multiplier + offset, then
# rounding to a code) must round the product and the sum separately, as the numpy reference and every
# CPU do; where FMA is in the baseline instruction set (aarch64, or -march=native builds) gcc would
# otherwise fuse them and an output could land one code away.
EXTRA_COMPILE_ARGS = {"int8": ["-ffp-contract=off"]}


def extensions():
    from Cython.Build import cythonize

    debug = bool(os.environ.get("HDL_NATIVE_DEBUG"))
    exts = []
    for pyx in sorted((HERE / PYX_DIR).glob("*.pyx")):
        exts.append(
            Extension(
                f"hdl_native._native.{pyx.stem}",
                sources=[f"{PYX_DIR}/{pyx.name}"],
                include_dirs=[numpy.get_include(), PYX_DIR],
                # -fno-trapping-math lets gcc if-convert (and so vectorise) the
                # clamps in the float kernels; nothing here relies on FP traps.
                extra_compile_args=["-O3", "-fno-math-errno", "-fno-trapping-math"]
                + EXTRA_COMPILE_ARGS.get(pyx.stem, []),
                define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
            )
        )
    return cythonize(
        exts,
        include_path=[PYX_DIR],
        compiler_directives={
            "language_level": 3,
            "boundscheck": debug,
            "wraparound": debug,
            "initializedcheck": debug,
            "cdivision": True,
            "nonecheck": False,
            "embedsignature": True,
        },
    )


setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExtWithOpenMPProbe})
