"""A full training step (feed, zero_grad, forward, backward, Adam) of both networks at batch 64,
ours and, when torch is installed, PyTorch's identical network, at 1 and 2 threads.

The torch benchmark of a configuration records `ratio_ours_over_torch` when
ours ran first in the same session (the default order).  In-process torch
and our OpenMP runtimes share the process; report.py runs every
configuration in its own process instead, for the headline figures.
"""
import pytest

from hdl_native.bench import TrainingStep
from measure import BATCH_SIZE, record_environment, timed_seconds
from torch_nets import TorchTrainingStep, torch_or_none

MODELS = ["letters-cnn", "digits-mlp"]


def rounds_for(model):
    return 10 if model == "letters-cnn" else 200


@pytest.mark.parametrize("model", MODELS)
def test_step_hdl_native(benchmark, model, threads, step_results):
    bench = TrainingStep(model, BATCH_SIZE)
    benchmark.group = f"training step {model}"
    record_environment(benchmark, threads)
    benchmark.pedantic(bench.step, rounds=rounds_for(model), iterations=1, warmup_rounds=3)
    benchmark.extra_info.update({"model": model, "framework": "hdl_native"})
    seconds = timed_seconds(benchmark)
    if seconds is not None:
        benchmark.extra_info["images_per_s"] = step_results[("hdl_native", model, threads)] = BATCH_SIZE / seconds


@pytest.mark.parametrize("model", MODELS)
def test_step_torch(benchmark, model, threads, step_results):
    torch = torch_or_none()
    if torch is None:
        pytest.skip("torch is not installed: pip install '.[compare]' (torch==2.13.0) to race PyTorch")
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        bench = TorchTrainingStep(model, BATCH_SIZE)
        benchmark.group = f"training step {model}"
        record_environment(benchmark, threads)
        benchmark.pedantic(bench.step, rounds=rounds_for(model), iterations=1, warmup_rounds=3)
    finally:
        torch.set_num_threads(previous)
    benchmark.extra_info.update({"model": model, "framework": "torch", "torch": torch.__version__})
    seconds = timed_seconds(benchmark)
    if seconds is None:
        return
    images_per_s = benchmark.extra_info["images_per_s"] = BATCH_SIZE / seconds
    ours = step_results.get(("hdl_native", model, threads))
    if ours is not None:
        benchmark.extra_info["ratio_ours_over_torch"] = ours / images_per_s
