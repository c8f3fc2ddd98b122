"""Benchmark suite setup: helpers importable, thread counts as a parameter, machine facts recorded.

Run with:  python -m pytest benchmarks/ --benchmark-only
(The plain `pytest` run collects tests/ only: pyproject's testpaths.)
"""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import measure  # noqa: E402

THREAD_COUNTS = [1, 2]


@pytest.fixture(params=THREAD_COUNTS, ids=lambda n: f"{n}thread")
def threads(request):
    """Run the benchmark with the kernels and BLAS on this many threads, restoring the default after."""
    import hdl_native as hdl

    previous = hdl.get_num_threads()
    hdl.set_num_threads(request.param)
    yield request.param
    hdl.set_num_threads(previous)


@pytest.fixture(scope="session")
def gemm_peaks():
    """{threads: GFLOP/s} of scipy sgemm 2048^2, measured once per thread count when first asked."""
    class Peaks(dict):
        def __missing__(self, n_threads):
            self[n_threads] = measure.gemm_peak_gflops(n_threads)
            return self[n_threads]

    return Peaks()


@pytest.fixture(scope="session")
def step_results():
    """{(framework, model, threads): images/s} filled by the training-step benchmarks, for the ratios."""
    return {}


def pytest_benchmark_update_machine_info(config, machine_info):
    """Add the CPU model, BLAS core type, OPENBLAS_* variables and OpenMP status to the saved JSON."""
    machine_info["hdl_native"] = measure.machine_info()
