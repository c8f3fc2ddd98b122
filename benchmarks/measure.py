"""Measuring helpers shared by the pytest benchmarks and report.py.

- `best_seconds_per_call`: the least time of a single call over many calls
  (the one no other process disturbed).
- `gemm_peak_gflops`: the machine's float32 GEMM rate through scipy's BLAS
  (the library the native kernels call), the yardstick for kernel efficiency.
- `machine_info`: CPU model and cores (lscpu), the BLAS libraries and their
  core type (threadpoolctl), OPENBLAS_* variables, OpenMP status.
"""
import os
import platform
import subprocess
import time

import numpy as np

GEMM_SIZE = 2048
BATCH_SIZE = 64


def best_seconds_per_call(fn, min_seconds=0.3, min_calls=5, max_calls=2000):
    """Least wall time of a single call of `fn()`, over calls adding up to about `min_seconds`.

    The least single call is the one no other process interrupted: on a busy
    machine a mean over many calls would also count the time slices other
    processes took (and a multi-threaded kernel waits at its barrier for a
    thread that was descheduled).
    """
    fn()  # warm up: first-call allocations, page faults, thread-team start
    clock = time.perf_counter
    best, spent, calls = float("inf"), 0.0, 0
    while calls < max_calls and (spent < min_seconds or calls < min_calls):
        start = clock()
        fn()
        elapsed = clock() - start
        best, spent, calls = min(best, elapsed), spent + elapsed, calls + 1
    return best


def sgemm_gflops(n_threads, size=GEMM_SIZE, min_calls=5, min_seconds=1.5):
    """GFLOP/s of scipy's sgemm on (size x size) float32 matrices with `n_threads` BLAS threads
    (the fastest single call)."""
    from scipy.linalg.blas import sgemm
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    a = np.asfortranarray(rng.standard_normal((size, size), dtype=np.float32))
    b = np.asfortranarray(rng.standard_normal((size, size), dtype=np.float32))
    with threadpool_limits(limits=n_threads, user_api="blas"):
        seconds = best_seconds_per_call(lambda: sgemm(1.0, a, b), min_seconds=min_seconds, min_calls=min_calls)
    return 2.0 * size ** 3 / seconds / 1e9


def gemm_peak_gflops(n_threads):
    """The GEMM peak: the better of sgemm 2048^2 (the reference size) and 1024^2.

    A 2048^2 call takes ~0.2 s, so on a busy machine every call shares the
    cores with someone; a 1024^2 call (~25 ms, within a few percent of the
    2048^2 rate on a quiet machine) often runs alone.  Taking the better keeps
    the efficiency fractions honest (never inflated by a slowed peak).
    """
    return max(sgemm_gflops(n_threads, GEMM_SIZE), sgemm_gflops(n_threads, GEMM_SIZE // 2, min_calls=20))


def lscpu_fields():
    """{'model': CPU model name, 'cores': online CPUs, 'flags': ...} from lscpu (empty where unavailable)."""
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        text = ""
    fields = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    flags = fields.get("Flags", "").split()
    simd = [f for f in ("avx512f", "avx2", "fma", "avx") if f in flags]
    return {"model": fields.get("Model name", platform.processor() or "unknown"),
            "cores": int(fields.get("CPU(s)", os.cpu_count() or 0)),
            "simd": " ".join(simd) or "none reported"}


def blas_info():
    """[(library, version, core type, threads)] of the BLAS libraries loaded by numpy and scipy."""
    import scipy.linalg  # noqa: F401  (loads scipy's own OpenBLAS)
    from threadpoolctl import threadpool_info

    return [(os.path.basename(i["filepath"]), i.get("version"), i.get("architecture"), i.get("num_threads"))
            for i in threadpool_info() if i.get("user_api") == "blas"]


def machine_info():
    import hdl_native as hdl

    info = lscpu_fields()
    info.update({
        "python": platform.python_version(),
        "numpy": np.__version__,
        "kernels": hdl.get_ops().name,
        "openmp": hdl.openmp_enabled(),
        "blas": blas_info(),
        "openblas_env": {k: v for k, v in os.environ.items() if k.startswith("OPENBLAS")},
    })
    return info


def record_environment(benchmark, n_threads, batch_size=BATCH_SIZE):
    """Thread count, OpenMP status, kernel backend and batch size into the benchmark's extra_info."""
    import hdl_native as hdl

    benchmark.extra_info.update({"threads": n_threads, "openmp": hdl.openmp_enabled(),
                                 "kernels": hdl.get_ops().name, "batch_size": batch_size})


def timed_seconds(benchmark, statistic="median"):
    """The benchmark's `statistic` in seconds, or None when timing is off (--benchmark-disable runs
    each benchmark once as a plain test)."""
    stats = getattr(benchmark, "stats", None)
    return None if stats is None else getattr(stats.stats, statistic)
