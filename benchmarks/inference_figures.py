"""Inference figures for BENCHMARKS.md (issue 15): ours in float32 and int8 beside PyTorch's float32
and quantize_dynamic, at batch 64 and 1, on 1 and 2 threads.

  python benchmarks/inference_figures.py --rounds 5 [--threads 1 2] [--model letters-cnn|letters-vgg]

Every configuration runs in its own process, one round after another (all configurations per
round), so a busy spell on a shared machine hits all of them alike.  The table gives, over the
rounds, the median of each run's median batch time (the latency) and the median of each run's
fastest batch (less swayed by other processes taking a core from a 2-thread run).
"""
import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENGINES = {
    "hdl float32": [sys.executable, "-m", "hdl_native", "bench", "--inference", "--dtype", "float32"],
    "hdl int8": [sys.executable, "-m", "hdl_native", "bench", "--inference", "--dtype", "int8"],
    "torch float32": [sys.executable, "benchmarks/torch_bench.py", "--inference", "--dtype", "float32"],
    "torch int8-dynamic": [sys.executable, "benchmarks/torch_bench.py", "--inference", "--dtype", "int8-dynamic"],
}
STEPS = {64: 40, 1: 400}


def run_once(command, model, batch_size, threads):
    """One run's JSON summary."""
    args = command + ["--model", model, "--batch-size", str(batch_size), "--threads", str(threads),
                      "--steps", str(STEPS[batch_size]), "--json"]
    result = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, timeout=900)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--model", choices=["letters-cnn", "letters-vgg"], default="letters-cnn",
                        help="the network: the LettersCNN, or the LettersVGG of the shipped reader")
    args = parser.parse_args(argv)
    configs = [(engine, batch, threads) for threads in args.threads for batch in (64, 1) for engine in ENGINES]
    runs = {config: [] for config in configs}
    for round_number in range(args.rounds):
        for engine, batch, threads in configs:
            summary = run_once(ENGINES[engine], args.model, batch, threads)
            runs[(engine, batch, threads)].append((summary["latency_ms"], summary["ms_per_step_min"]))
        print(f"round {round_number + 1}/{args.rounds} done", file=sys.stderr)
    print("| threads | batch | engine | latency ms (median) | images/s | fastest batch ms | int8 vs hdl float32 |")
    print("|---|---|---|---|---|---|---|")
    for engine, batch, threads in configs:
        latency, fastest = (statistics.median(figure) for figure in zip(*runs[(engine, batch, threads)]))
        own_float = statistics.median(run[0] for run in runs[("hdl float32", batch, threads)])
        speedup = f"{own_float / latency:.2f}x" if engine == "hdl int8" else ""
        print(f"| {threads} | {batch} | {engine} | {latency:.3f} | {batch * 1000 / latency:,.0f} | {fastest:.3f} "
              f"| {speedup} |")
    print(json.dumps({f"{e}|{b}|{t}": v for (e, b, t), v in runs.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
