"""The machine's float32 GEMM rate: scipy sgemm on 2048 x 2048 matrices (the BLAS our kernels call)."""
import numpy as np
from scipy.linalg.blas import sgemm
from threadpoolctl import threadpool_limits

from measure import GEMM_SIZE, record_environment, timed_seconds


def test_sgemm_peak(benchmark, threads):
    rng = np.random.default_rng(0)
    a = np.asfortranarray(rng.standard_normal((GEMM_SIZE, GEMM_SIZE), dtype=np.float32))
    b = np.asfortranarray(rng.standard_normal((GEMM_SIZE, GEMM_SIZE), dtype=np.float32))
    benchmark.group = "sgemm 2048^2 peak"
    record_environment(benchmark, threads)
    with threadpool_limits(limits=threads, user_api="blas"):
        benchmark.pedantic(sgemm, args=(1.0, a, b), rounds=5, iterations=1, warmup_rounds=1)
    seconds = timed_seconds(benchmark, "min")
    if seconds is not None:
        benchmark.extra_info["gflops"] = 2.0 * GEMM_SIZE ** 3 / seconds / 1e9
