"""PyTorch's side of `hdl-native bench`: time S training steps of the identical network in this process.

  python benchmarks/torch_bench.py --model letters-cnn --batch-size 64 --threads 1 --steps 50 --json
  python benchmarks/torch_bench.py --model char-gru --threads 1 --json     (chars_per_s)

Prints the same JSON keys as `hdl-native bench --json` (framework "torch").
"""
import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from torch_nets import TorchCharTrainingStep, TorchTrainingStep, torch_or_none  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["letters-cnn", "digits-mlp", "char-gru", "char-lstm"], default="letters-cnn")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seq-len", type=int, default=100)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if min(args.batch_size, args.steps, args.threads) < 1:
        parser.error("--batch-size, --steps and --threads must be >= 1")
    torch = torch_or_none()
    if torch is None:
        print("torch_bench: torch is not installed (pip install '.[compare]')", file=sys.stderr)
        return 2
    from hdl_native.bench import peak_rss_mb, summarize, time_steps

    torch.set_num_threads(args.threads)
    warmup = args.warmup if args.warmup is not None else max(2, args.steps // 10)
    if args.model.startswith("char-"):
        bench = TorchCharTrainingStep(args.model, args.batch_size, args.seq_len)
        unit, per_step = "chars", args.batch_size * args.seq_len
    else:
        bench = TorchTrainingStep(args.model, args.batch_size)
        unit, per_step = "images", args.batch_size
    times = time_steps(bench.step, args.steps, warmup)
    summary = {"framework": "torch", "torch": torch.__version__, "model": args.model,
               "threads": torch.get_num_threads(), "batch_size": args.batch_size, "steps": args.steps,
               "warmup": warmup, **summarize(times, per_step, unit), "loss": bench.last_loss.detach().item(),
               "peak_rss_mb": peak_rss_mb()}
    print(f"torch {args.model}: {summary[unit + '_per_s']:,.0f} {unit}/s, {summary['ms_per_step']:.3f} ms/step")
    if args.json:
        print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
