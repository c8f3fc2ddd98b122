"""Race hdl_native against PyTorch on this machine and print the figures as a markdown report.

    python benchmarks/report.py                 # everything, about 5 minutes on 2 cores
    python benchmarks/report.py --rounds 1      # quicker, noisier
    python benchmarks/report.py --json out.json # also save every measurement

Every training-step configuration (model x threads x framework) runs in its
own process (`hdl-native bench --json`, `benchmarks/torch_bench.py --json`),
so no two OpenMP runtimes share a process, and the rounds interleave ours and
PyTorch's runs so a burst of load from elsewhere hits both; each
configuration's best round is reported, its images/s taken from the median
step time (a step slowed by another process does not move the median).  The kernel table runs each kernel of
a LettersCNN step at batch 64 (benchmarks/kernel_cases.py) in a worker
process per thread count, beside scipy's sgemm 2048^2 as the GEMM peak.
"""
import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
try:
    import hdl_native  # noqa: F401
except ImportError:  # running from a source checkout with the kernels built in place
    sys.path.insert(0, str(HERE.parent))
    import hdl_native  # noqa: F401

import measure  # noqa: E402

BATCH_SIZE = 64
MODELS = ["letters-cnn", "digits-mlp"]
STEPS = {"letters-cnn": 40, "digits-mlp": 500}
TARGETS = {  # ours / PyTorch images/s, per (model, threads)
    ("letters-cnn", 1): 1.5, ("letters-cnn", 2): 1.5, ("digits-mlp", 1): 1.0,
}
TARGET_SPEEDUP = 1.7
TARGET_CONV_FRACTION = 0.40
TARGET_RSS_MB = 400.0


# ---------------------------------------------------------------- workers
def worker_env(n_threads):
    env = dict(os.environ)
    package_parent = str(Path(hdl_native.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join([package_parent] + [p for p in [env.get("PYTHONPATH")] if p])
    env["OMP_NUM_THREADS"] = str(n_threads)
    return env


def run_json(command, n_threads):
    """Run `command` in its own process and return the JSON object on its last stdout line."""
    result = subprocess.run(command, capture_output=True, text=True, timeout=1800, env=worker_env(n_threads))
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def step_command(framework, model, n_threads, steps):
    common = ["--model", model, "--batch-size", str(BATCH_SIZE), "--threads", str(n_threads),
              "--steps", str(steps), "--warmup", str(max(3, steps // 10)), "--json"]
    if framework == "hdl_native":
        return [sys.executable, "-m", "hdl_native", "bench"] + common
    return [sys.executable, str(HERE / "torch_bench.py")] + common


def kernels_worker(n_threads):
    """Print one JSON object: the GEMM peak and each LettersCNN kernel's best seconds per call."""
    import hdl_native as hdl
    from kernel_cases import letters_cnn_cases

    hdl.set_num_threads(n_threads)
    ops = hdl.get_ops()
    peak_before = measure.gemm_peak_gflops(n_threads)
    rows = []
    for case in letters_cnn_cases():
        seconds = measure.best_seconds_per_call(case.prepare(ops, BATCH_SIZE))
        rows.append({"name": case.name, "direction": case.direction, "group": case.group, "seconds": seconds,
                     "flops": case.flops(BATCH_SIZE), "elements": case.elements(BATCH_SIZE)})
    print(json.dumps({"threads": n_threads, "kernels": ops.name, "openmp": hdl.openmp_enabled(),
                      "gemm_peak_gflops": max(peak_before, measure.gemm_peak_gflops(n_threads)), "cases": rows}))


# ---------------------------------------------------------------- measuring
def load_average():
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def measure_steps(thread_counts, rounds, with_torch, steps, log):
    """{(framework, model, threads): [summary per round]}, rounds interleaving the frameworks."""
    frameworks = ["hdl_native"] + (["torch"] if with_torch else [])
    results = {}
    for round_index in range(rounds):
        for model in MODELS:
            for n_threads in thread_counts:
                for framework in frameworks:
                    summary = run_json(step_command(framework, model, n_threads, steps[model]), n_threads)
                    results.setdefault((framework, model, n_threads), []).append(summary)
                    log(f"round {round_index + 1}/{rounds} {framework:10s} {model:11s} {n_threads} thread(s): "
                        f"{summary[RATE]:10,.0f} images/s  (load {load_average():.2f})")
    return results


# How a run's steps become one figure: the median step (the headline), or the fastest step
# (what the code does when no other process interrupts it).
STATISTICS = {"median": ("images_per_s_median", "ms_per_step_median"),
              "fastest": ("images_per_s_best", "ms_per_step_min")}
RATE = STATISTICS["median"][0]


def best(runs, rate=RATE):
    return max(runs, key=lambda summary: summary[rate])


# ---------------------------------------------------------------- report
def verdict(value, target, higher_is_better=True):
    met = value >= target if higher_is_better else value < target
    return "met" if met else "**missed**"


def training_table(results, thread_counts, statistic="median"):
    rate, ms = STATISTICS[statistic]
    lines = ["| model | threads | hdl_native images/s (ms/step) | PyTorch images/s (ms/step) | ours / PyTorch "
             "| target |",
             "|---|---|---|---|---|---|"]
    for model in MODELS:
        for n in thread_counts:
            ours = best(results[("hdl_native", model, n)], rate)
            cell_ours = f"{ours[rate]:,.0f} ({ours[ms]:.2f})"
            torch_runs = results.get(("torch", model, n))
            if torch_runs:
                theirs = best(torch_runs, rate)
                ratio = ours[rate] / theirs[rate]
                cell_torch = f"{theirs[rate]:,.0f} ({theirs[ms]:.2f})"
                target = TARGETS.get((model, n))
                cell_target = f">= {target}x: {verdict(ratio, target)}" if target else "-"
                cell_ratio = f"{ratio:.2f}x"
            else:
                cell_torch, cell_ratio, cell_target = "not measured", "-", "-"
            lines.append(f"| {model} | {n} | {cell_ours} | {cell_torch} | {cell_ratio} | {cell_target} |")
    return lines


def speedup(results, framework, model, top, rate):
    return best(results[(framework, model, top)], rate)[rate] / best(results[(framework, model, 1)], rate)[rate]


def speedup_lines(results, thread_counts, with_torch):
    if 1 not in thread_counts or len(thread_counts) < 2:
        return []
    top = max(thread_counts)
    lines = [f"| model | statistic | hdl_native 1 -> {top} threads | PyTorch 1 -> {top} threads | "
             "target (ours, letters-cnn) |", "|---|---|---|---|---|"]
    for model in MODELS:
        for statistic, (rate, _) in STATISTICS.items():
            ours = speedup(results, "hdl_native", model, top, rate)
            theirs = f"{speedup(results, 'torch', model, top, rate):.2f}x" if with_torch else "-"
            target = f">= {TARGET_SPEEDUP}x: {verdict(ours, TARGET_SPEEDUP)}" if model == "letters-cnn" else "-"
            lines.append(f"| {model} | {statistic} step | {ours:.2f}x | {theirs} | {target} |")
    return lines


def kernel_lines(kernel_runs):
    thread_counts = [run["threads"] for run in kernel_runs]
    header = "| kernel | " + " | ".join(f"{n} thr: ms, GFLOP/s (% peak) or Gelem/s" for n in thread_counts) + " |"
    lines = [header, "|---|" + "---|" * len(thread_counts)]
    by_name = [{row["name"]: row for row in run["cases"]} for run in kernel_runs]
    for row in kernel_runs[0]["cases"]:
        cells = []
        for run, rows in zip(kernel_runs, by_name):
            r = rows[row["name"]]
            ms = 1000 * r["seconds"]
            if r["flops"]:
                gflops = r["flops"] / r["seconds"] / 1e9
                cells.append(f"{ms:.3f}, {gflops:.1f} ({100 * gflops / run['gemm_peak_gflops']:.0f}%)")
            else:
                cells.append(f"{ms:.3f}, {r['elements'] / r['seconds'] / 1e9:.2f} Gelem/s")
        lines.append(f"| {row['name']} | " + " | ".join(cells) + " |")
    return lines


def conv_summary(run):
    """(GFLOP/s, fraction of peak, seconds) of the conv calls of one step: forward + fused backward."""
    convs = [r for r in run["cases"] if r["group"] == "conv"]
    flops, seconds = sum(r["flops"] for r in convs), sum(r["seconds"] for r in convs)
    gflops = flops / seconds / 1e9
    return gflops, gflops / run["gemm_peak_gflops"], seconds


def render(info, results, kernel_runs, thread_counts, with_torch, loads):
    out = ["## Measured figures", "",
           f"Machine: {info['model']}, {info['cores']} cores ({info['simd']}); Python {info['python']}, "
           f"numpy {info['numpy']}, kernels `{info['kernels']}`, OpenMP {info['openmp']}.",
           "BLAS: " + "; ".join(f"{lib} {ver} core type {arch}" for lib, ver, arch, _ in info["blas"]) + ".",
           f"OPENBLAS_* variables: {info['openblas_env'] or 'none set'}.",
           f"Load average (1 min) before / after: {loads[0]:.2f} / {loads[1]:.2f}.", "",
           f"### Training step (batch {BATCH_SIZE}, Adam): median step of the best round", ""]
    out += training_table(results, thread_counts, "median")
    out += ["", "The same runs judged by their fastest step (no other process in the way):", ""]
    out += training_table(results, thread_counts, "fastest")
    out += ["", "### Thread scaling", ""] + speedup_lines(results, thread_counts, with_torch)
    rss = max(s["peak_rss_mb"] for s in results[("hdl_native", "letters-cnn", min(thread_counts))])
    out += ["", "### Kernels of one LettersCNN step (batch 64; least time of a single call)", ""]
    if kernel_runs:
        out += [", ".join(f"GEMM peak (sgemm, the better of 2048^2 and 1024^2) at {run['threads']} thread(s): "
                          f"{run['gemm_peak_gflops']:.1f} GFLOP/s"
                          for run in kernel_runs) + ".", ""]
        out += kernel_lines(kernel_runs) + [""]
        for run in kernel_runs:
            gflops, fraction, seconds = conv_summary(run)
            out.append(f"- conv forward + backward at {run['threads']} thread(s): {1000 * seconds:.2f} ms, "
                       f"{gflops:.1f} GFLOP/s = {100 * fraction:.0f}% of the GEMM peak "
                       f"(target >= {100 * TARGET_CONV_FRACTION:.0f}%: {verdict(fraction, TARGET_CONV_FRACTION)})")
    out += ["", "### Memory", "",
            f"- peak resident memory of a LettersCNN training process at batch {BATCH_SIZE}: {rss:.0f} MB "
            f"(target < {TARGET_RSS_MB:.0f} MB: {verdict(rss, TARGET_RSS_MB, higher_is_better=False)})"]
    return "\n".join(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per configuration (default 3)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="thread counts (default 1 2)")
    parser.add_argument("--cnn-steps", type=int, default=STEPS["letters-cnn"], help="timed letters-cnn steps per run")
    parser.add_argument("--mlp-steps", type=int, default=STEPS["digits-mlp"], help="timed digits-mlp steps per run")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch even when installed")
    parser.add_argument("--no-kernels", action="store_true", help="skip the per-kernel table")
    parser.add_argument("--json", type=Path, help="also write every measurement to this file")
    parser.add_argument("--kernels-worker", type=int, metavar="THREADS", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.kernels_worker:
        kernels_worker(args.kernels_worker)
        return 0
    if args.rounds < 1 or min(args.threads) < 1 or min(args.cnn_steps, args.mlp_steps) < 1:
        parser.error("--rounds, --threads and the step counts must be >= 1")

    from torch_nets import torch_or_none

    with_torch = not args.no_torch and torch_or_none() is not None
    if not args.no_torch and not with_torch:
        print("PyTorch is not installed: its columns stay empty (pip install '.[compare]').", file=sys.stderr)
    log = lambda message: print(message, file=sys.stderr, flush=True)  # noqa: E731
    thread_counts = sorted(set(args.threads))
    loads = [load_average()]
    started = time.time()
    results = measure_steps(thread_counts, args.rounds, with_torch,
                            {"letters-cnn": args.cnn_steps, "digits-mlp": args.mlp_steps}, log)
    kernel_runs = []
    if not args.no_kernels:
        for n in thread_counts:
            log(f"kernels at {n} thread(s) ...")
            kernel_runs.append(run_json([sys.executable, str(HERE / "report.py"), "--kernels-worker", str(n)], n))
    loads.append(load_average())
    info = measure.machine_info()
    print(render(info, results, kernel_runs, thread_counts, with_torch, loads))
    log(f"(measured in {time.time() - started:.0f} s)")
    if args.json:
        args.json.write_text(json.dumps({
            "machine": info, "load_average": loads, "kernels": kernel_runs,
            "steps": [{"framework": f, "model": m, "threads": n, "runs": runs} for (f, m, n), runs in results.items()],
        }, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
