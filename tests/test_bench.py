"""The bench command: runs both networks briefly and reports valid JSON; bad arguments fail cleanly.

Correctness only: no timing is asserted.
"""
import json
import subprocess
import sys
from pathlib import Path

import pytest

import hdl_native

REQUIRED_KEYS = {"model", "threads", "batch_size", "images_per_s", "ms_per_step", "openmp", "kernels",
                 "peak_rss_mb", "steps"}


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "hdl_native", *args], capture_output=True, text=True,
                          timeout=600, cwd=Path(hdl_native.__file__).parent.parent)


@pytest.mark.parametrize("model", ["letters-cnn", "digits-mlp"])
def test_bench_reports_json_with_the_figures(model):
    result = run_cli("bench", "--model", model, "--batch-size", "8", "--threads", "1", "--steps", "2",
                     "--warmup", "1", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert REQUIRED_KEYS <= set(summary)
    assert summary["model"] == model and summary["threads"] == 1 and summary["batch_size"] == 8
    assert summary["steps"] == 2
    assert summary["images_per_s"] > 0 and summary["ms_per_step"] > 0 and summary["peak_rss_mb"] > 0
    assert isinstance(summary["openmp"], bool) and summary["kernels"] in ("numpy", "native")
    assert "images/s" in result.stdout


@pytest.mark.parametrize("args, message", [
    (["--model", "resnet"], "--model"),
    (["--batch-size", "0"], "--batch-size"),
    (["--steps", "0"], "--steps"),
    (["--threads", "0"], "--threads"),
    (["--warmup", "-1"], "--warmup"),
    (["--seq-len", "50"], "--seq-len is the char models' sequence length; --model letters-cnn reads images"),
])
def test_bench_rejects_bad_arguments_in_one_line(args, message):
    result = run_cli("bench", *args)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("kernels", ["numpy", "native"])
def test_bench_int8_refuses_kernels_it_would_not_use(capsys, kernels):
    from hdl_native.cli import main

    assert main(["bench", "--inference", "--dtype", "int8", "--kernels", kernels, "--steps", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"hdl-native bench: error: --kernels {kernels} picks the float32 kernels; --dtype int8 "
                          "times the int8 kernels") and len(err.strip().splitlines()) == 1, err


def test_bench_rejects_non_numbers_through_argparse():
    result = run_cli("bench", "--steps", "many")
    assert result.returncode == 2 and "invalid int value" in result.stderr


@pytest.mark.parametrize("model", ["char-gru", "char-lstm"])
def test_bench_times_the_char_models_in_characters_per_second(model):
    result = run_cli("bench", "--model", model, "--batch-size", "2", "--seq-len", "5", "--threads", "1",
                     "--steps", "2", "--warmup", "1", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["model"] == model and summary["seq_len"] == 5 and summary["batch_size"] == 2
    assert summary["chars_per_s"] > 0 and "images_per_s" not in summary
    assert "chars/s" in result.stdout
