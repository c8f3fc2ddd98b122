"""Measuring helpers shared by the pytest benchmarks and report.py.

- `best_seconds_per_call`: the least mean time per call over several rounds
  (the least is the one least disturbed by other processes).
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


def best_seconds_per_call(fn, min_round_seconds=0.05, rounds=7):
    """Least mean seconds per call of `fn()` over `rounds` rounds of >= `min_round_seconds` each."""
    fn()  # warm up: first-call allocations, page faults, thread-team start
    calls = 1
    while True:  # calibrate the number of calls per round
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= min_round_seconds:
            break
        calls = max(calls * 2, int(calls * min_round_seconds / max(elapsed, 1e-9) * 1.2))
    best = elapsed / calls
    for _ in range(rounds - 1):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - start) / calls)
    return best


def gemm_peak_gflops(n_threads, size=GEMM_SIZE, rounds=5):
    """GFLOP/s of scipy's sgemm on (size x size) float32 matrices with `n_threads` BLAS threads."""
    from scipy.linalg.blas import sgemm
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    a = np.asfortranarray(rng.standard_normal((size, size), dtype=np.float32))
    b = np.asfortranarray(rng.standard_normal((size, size), dtype=np.float32))
    with threadpool_limits(limits=n_threads, user_api="blas"):
        seconds = best_seconds_per_call(lambda: sgemm(1.0, a, b), min_round_seconds=0.2, rounds=rounds)
    return 2.0 * size ** 3 / seconds / 1e9


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
