"""The build as compiled: compiler, OpenMP version, SIMD clones and the one in use."""

cdef extern from "build_info.h":
    const char *hdl_compiler()
    int hdl_openmp_version()
    const char *HDL_SIMD_CLONES
    const char *HDL_SIMD_EXCEPTIONS
    const char *hdl_simd_path()


def compiler():
    """The compiler that built the kernels, e.g. 'gcc 12.2.0'."""
    return hdl_compiler().decode()


def openmp_version():
    """The _OPENMP date the kernels were compiled against (e.g. 201511), 0 in a serial build."""
    return hdl_openmp_version()


def simd_clones():
    """The targets the hot loops are compiled for, best first; empty when not multiversioned."""
    return HDL_SIMD_CLONES.decode().split()


def simd_exceptions():
    """Loops held to a narrower clone set because wider vectors measured slower there ('' when none)."""
    return HDL_SIMD_EXCEPTIONS.decode()


def simd_path():
    """The clone the load-time resolver picks on this CPU ('default' is plain x86-64)."""
    return hdl_simd_path().decode()
