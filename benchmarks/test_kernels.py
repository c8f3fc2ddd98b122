"""Per-kernel time of a LettersCNN training step at batch 64, with GFLOP/s and the fraction of GEMM peak.

GEMM-shaped kernels (conv, linear) report GFLOP/s and `fraction_of_gemm_peak`
(against scipy sgemm 2048^2 at the same thread count); elementwise kernels
report giga-elements per second.
"""
import pytest

import hdl_native as hdl
from kernel_cases import letters_cnn_cases
from measure import BATCH_SIZE, record_environment, timed_seconds

CASES = letters_cnn_cases()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_kernel(benchmark, case, threads, gemm_peaks):
    run = case.prepare(hdl.get_ops(), BATCH_SIZE)
    benchmark.group = f"kernel {case.name}"
    record_environment(benchmark, threads)
    benchmark(run)
    flops, elements = case.flops(BATCH_SIZE), case.elements(BATCH_SIZE)
    benchmark.extra_info.update({"direction": case.direction, "flops": flops, "elements": elements})
    seconds = timed_seconds(benchmark)
    if seconds is None:
        return
    if flops:
        gflops = flops / seconds / 1e9
        benchmark.extra_info.update({"gflops": gflops, "gemm_peak_gflops": gemm_peaks[threads],
                                     "fraction_of_gemm_peak": gflops / gemm_peaks[threads]})
    if elements:
        benchmark.extra_info["gelements_per_s"] = elements / seconds / 1e9
