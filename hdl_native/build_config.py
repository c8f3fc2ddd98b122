"""What this installation is: the build, the runtimes it loaded, the threads.

``show_config()`` prints it (so does ``hdl-native --version --verbose``);
``build_config()`` returns the same as a dict, for tests and bug reports.
The compiler, OpenMP version and SIMD clones come from the compiled
``_native.build_info`` itself, the loaded OpenMP and BLAS libraries from
threadpoolctl, so the report describes what runs, not what was meant.
"""
import os
import platform
import sys
from pathlib import Path

from ._version import __version__

VENDORED_LIBS_DIR = "hdl_native.libs"  # where auditwheel copies libgomp into a wheel


def _native_build_info():
    try:
        from ._native import build_info
    except ImportError:
        return None
    return build_info


def _loaded_libraries(user_api):
    from threadpoolctl import threadpool_info

    return [lib for lib in threadpool_info() if lib["user_api"] == user_api]


def openmp_runtime():
    """{'file', 'vendored'} of the OpenMP runtime the kernels loaded, or None (serial build or no kernels)."""
    from .threads import openmp_enabled

    if not openmp_enabled():  # also loads the kernels, and with them their runtime
        return None
    vendored_dir = Path(__file__).resolve().parent.parent / VENDORED_LIBS_DIR
    libraries = [Path(lib["filepath"]).resolve() for lib in _loaded_libraries("openmp")]
    if not libraries:
        return None
    ours = [path for path in libraries if path.parent == vendored_dir]
    path = (ours or libraries)[0]
    return {"file": str(path), "vendored": bool(ours)}


def scipy_blas():
    """[{'library', 'version', 'kernel', 'threads', 'file'}] for the BLAS behind scipy.linalg.cython_blas.

    scipy's wheels bring their own OpenBLAS (scipy.libs/); numpy's may be
    loaded too, so only libraries inside scipy's install are kept when any is.
    """
    import scipy
    import scipy.linalg.cython_blas  # noqa: F401  (loads the BLAS our GEMMs call)

    scipy_home = Path(scipy.__file__).resolve().parent
    libraries = _loaded_libraries("blas")
    from_scipy = [lib for lib in libraries
                  if Path(lib["filepath"]).resolve().parent in (scipy_home.parent / "scipy.libs", scipy_home)]
    return [{"library": lib["internal_api"], "version": lib.get("version"), "kernel": lib.get("architecture"),
             "threads": lib["num_threads"], "file": lib["filepath"]} for lib in (from_scipy or libraries)]


def thread_settings():
    """Threads the kernels use, the cores this process may run on, and the environment that sets them."""
    from .threads import get_num_threads, openmp_enabled

    names = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_CORETYPE")
    return {
        "kernel_threads": get_num_threads() if openmp_enabled() else 1,  # a serial build runs one
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "environment": {name: os.environ[name] for name in names if name in os.environ},
    }


def _conv_lanes():
    """The float32 lanes the blocked convolution loops run here: 16 on AVX-512 unless HDL_NATIVE_CONV_LANES=8."""
    from .kernels.conv_lanes import conv_lanes

    return conv_lanes()


def _int8_paths():
    """(the int8 GEMM path in use, every path this CPU runs): HDL_NATIVE_INT8_PATH or the fastest."""
    from .int8.kernels import current_path, supported_paths

    return current_path(), supported_paths()


def build_config():
    """The whole report as a dict (see show_config for what each part means)."""
    info = _native_build_info()
    native = None
    if info is not None:
        openmp_version = info.openmp_version()
        int8_path, int8_paths = _int8_paths()
        native = {
            "compiler": info.compiler(),
            "openmp_version": openmp_version or None,
            "openmp_runtime": openmp_runtime(),
            "simd_clones": info.simd_clones(),
            "simd_path": info.simd_path(),
            "simd_exceptions": info.simd_exceptions(),
            "conv_lanes": _conv_lanes(),
            "int8_path": int8_path,
            "int8_paths": int8_paths,
        }
    return {
        "hdl_native": __version__,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": f"{platform.system()} {platform.machine()}, {platform.libc_ver()[0]} {platform.libc_ver()[1]}",
        "install": str(Path(__file__).resolve().parent),
        "native": native,
        "blas": scipy_blas(),
        "threads": thread_settings(),
    }


def _native_lines(native):
    if native is None:
        return ["native kernels: NOT BUILT (the numpy reference kernels run)"]
    runtime = native["openmp_runtime"]
    if native["openmp_version"] is None:
        openmp = "no: serial build (kernels run on one core)"
    elif runtime is None:
        openmp = f"{native['openmp_version']}, runtime not found among loaded libraries"
    else:
        where = "vendored in the wheel" if runtime["vendored"] else "from the system"
        openmp = f"{native['openmp_version']}, {Path(runtime['file']).name} ({where}: {runtime['file']})"
    clones = ", ".join(native["simd_clones"]) or "none (one baseline build)"
    return [
        f"compiler: {native['compiler']}",
        f"OpenMP: {openmp}",
        f"SIMD clones built: {clones}",
        f"SIMD path on this CPU: {native['simd_path']}"
        + (f" ({native['simd_exceptions']})" if native["simd_exceptions"] else ""),
        f"convolution loops: {native['conv_lanes']} float32 lanes" + _lanes_chosen_by(os.environ),
        f"int8 GEMM path: {native['int8_path']} (this CPU runs: {', '.join(native['int8_paths'])})",
    ]


def _lanes_chosen_by(environ):
    """' (HDL_NATIVE_CONV_LANES=value)' where that variable chose the convolution loops' width, else ''."""
    from .kernels.conv_lanes import VARIABLE

    return f" ({VARIABLE}={environ[VARIABLE]})" if environ.get(VARIABLE, "").strip() else ""


def show_config(file=None):
    """Print the build and runtime configuration (the same as `hdl-native --version --verbose`)."""
    config = build_config()
    lines = [f"hdl_native {config['hdl_native']} ({config['install']})",
             f"python: {config['python']} on {config['platform']}"]
    lines += _native_lines(config["native"])
    for blas in config["blas"] or [None]:
        if blas is None:
            lines.append("BLAS (scipy.linalg.cython_blas): not identified by threadpoolctl")
            continue
        lines.append(f"BLAS (scipy.linalg.cython_blas): {blas['library']} {blas['version']}, "
                     f"kernel {blas['kernel']}, {blas['threads']} threads ({blas['file']})")
    threads = config["threads"]
    environment = ", ".join(f"{k}={v}" for k, v in threads["environment"].items()) or "none set"
    lines.append(f"threads: kernels {threads['kernel_threads']}, usable cores {threads['usable_cores']}, "
                 f"environment: {environment}")
    print("\n".join(lines), file=file or sys.stdout)
