"""Peak resident memory of a LettersCNN training process at batch 64 (its own process, so nothing
else the benchmark session loaded counts): `hdl-native bench --json` reports ru_maxrss."""
import json
import subprocess
import sys

from measure import BATCH_SIZE


def run_bench_process():
    result = subprocess.run([sys.executable, "-m", "hdl_native", "bench", "--model", "letters-cnn", "--batch-size",
                             str(BATCH_SIZE), "--threads", "1", "--steps", "5", "--warmup", "2", "--json"],
                            capture_output=True, text=True, timeout=600, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_letters_cnn_training_peak_rss(benchmark):
    benchmark.group = "peak memory"
    summary = benchmark.pedantic(run_bench_process, rounds=1, iterations=1)
    benchmark.extra_info.update({"peak_rss_mb": summary["peak_rss_mb"], "model": "letters-cnn",
                                 "batch_size": BATCH_SIZE, "kernels": summary["kernels"]})
