"""show_config() / `hdl-native --version --verbose`: the build as compiled and as loaded."""
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

import hdl_native
from hdl_native.build_config import build_config

# The features the resolver checks for each clone: gcc's clones are x86-64 psABI levels, clang's
# are named by one feature each (pyx/fast_math.h says why).
LEVEL_FLAGS = {
    "x86-64-v4": {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"},
    "x86-64-v3": {"avx2", "fma", "bmi1", "bmi2", "movbe", "f16c", "abm"},
    "avx512f": {"avx512f"},
    "fma": {"fma"},
}


def cpu_flags():
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.exists():
        pytest.skip("no /proc/cpuinfo to compare the SIMD path with")
    for line in cpuinfo.read_text().splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    pytest.skip("/proc/cpuinfo lists no flags")


@pytest.fixture(scope="module")
def native():
    config = build_config()["native"]
    if config is None:
        pytest.skip("native kernels not built")
    return config


def test_simd_path_is_the_best_clone_this_cpu_runs(native):
    if not native["simd_clones"]:
        assert native["simd_path"].startswith("baseline")
        return
    flags = cpu_flags()
    expected = next((level for level in native["simd_clones"]
                     if level == "default" or LEVEL_FLAGS[level] <= flags), None)
    assert native["simd_path"] == expected


def test_convolution_loops_run_16_lanes_wide_exactly_where_the_avx512_clone_runs(native):
    if os.environ.get("HDL_NATIVE_CONV_LANES", "").strip():
        pytest.skip("HDL_NATIVE_CONV_LANES chooses the width in this environment (tests/test_conv_lanes.py)")
    assert native["conv_lanes"] == (16 if native["simd_path"] in ("x86-64-v4", "avx512f") else 8)


def test_int8_runs_on_amx_tiles_exactly_where_linux_lists_them(native):
    """/proc/cpuinfo lists amx_tile and amx_int8 only when the kernel also saves the tiles' state, which is what
    the path needs besides the CPU; the path's own test of the int32s is in test_int8.py."""
    if os.environ.get("HDL_NATIVE_INT8_PATH", "").strip():
        pytest.skip("HDL_NATIVE_INT8_PATH chooses the int8 path in this environment")
    if not native["simd_clones"] or platform.machine() != "x86_64":
        pytest.skip("a build without the x86 SIMD paths")
    flags = cpu_flags()
    if "avx512_vnni" in flags and "avx512vnni" not in native["int8_paths"]:
        pytest.skip("a build without the VNNI and AMX paths (gcc before 11, clang before 14)")
    assert native["int8_path"] in native["int8_paths"]
    assert ("amx" in native["int8_paths"]) == ({"amx_tile", "amx_int8", "avx512_vnni"} <= flags)
    assert (native["int8_path"] == "amx") == ("amx" in native["int8_paths"])


def test_gcc_and_clang_builds_on_linux_x86_64_are_multiversioned(native):
    """Both compilers' builds carry the AVX2/FMA and AVX-512 clones (a clang build once had none:
    2.4 to 2.9 times slower in float32, 19 times in int8)."""
    compiler, _, version = native["compiler"].partition(" ")
    if not (sys.platform == "linux" and platform.machine() == "x86_64"):
        pytest.skip(f"target_clones are only used on Linux x86-64, not {sys.platform} {platform.machine()}")
    major = int(version.split(".")[0]) if version[:1].isdigit() else 0
    if compiler == "gcc" or (compiler == "clang" and major >= 14):
        assert native["simd_clones"][-1] == "default" and len(native["simd_clones"]) == 3
    else:
        pytest.skip(f"built by {native['compiler']}, which the kernels do not multiversion for")


def test_openmp_build_names_its_runtime(native):
    if not hdl_native.openmp_enabled():
        assert native["openmp_version"] is None
        return
    assert native["openmp_version"] is not None
    runtime = native["openmp_runtime"]
    assert runtime is not None and Path(runtime["file"]).is_file()


def test_blas_is_the_one_scipy_links():
    blas = build_config()["blas"]
    assert blas, "threadpoolctl found no BLAS after importing scipy.linalg.cython_blas"
    assert all(entry["threads"] >= 1 for entry in blas)


def test_version_verbose_prints_the_build(native):
    result = subprocess.run([sys.executable, "-m", "hdl_native", "--version", "--verbose"], capture_output=True,
                            text=True, timeout=120, cwd=Path(hdl_native.__file__).parent.parent)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"hdl-native {hdl_native.__version__}\n")
    assert f"SIMD path on this CPU: {native['simd_path']}" in result.stdout
    assert f"compiler: {native['compiler']}" in result.stdout
    assert "BLAS (scipy.linalg.cython_blas): " in result.stdout
