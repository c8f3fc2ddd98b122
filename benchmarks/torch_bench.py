"""PyTorch's side of `hdl-native bench`: time S training steps, or inference batches, of the identical
network in this process.

  python benchmarks/torch_bench.py --model letters-cnn --batch-size 64 --threads 1 --steps 50 --json
  python benchmarks/torch_bench.py --model char-gru --threads 1 --json     (chars_per_s)
  python benchmarks/torch_bench.py --inference --dtype int8-dynamic --batch-size 1 --threads 1 --json

Inference runs the network in eval mode under torch.inference_mode() and returns the logits;
--dtype int8-dynamic first applies torch.ao.quantization.quantize_dynamic to the Linear layers
(int8 weights, activations quantised on the fly; PyTorch has no dynamic int8 conv, so the convs
stay float32).  Prints the same JSON keys as `hdl-native bench --json` (framework "torch").
"""
import argparse
import json
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from torch_nets import (TORCH_BUILDERS, TorchCharTrainingStep, TorchTrainingStep, copy_weights,  # noqa: E402
                        torch_or_none)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["letters-cnn", "letters-vgg", "digits-mlp", "char-gru", "char-lstm"],
                        default="letters-cnn")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seq-len", type=int, default=100)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=None)
    parser.add_argument("--inference", action="store_true")
    parser.add_argument("--dtype", choices=["float32", "int8-dynamic"], default="float32")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.dtype != "float32" and not args.inference:
        parser.error("--dtype int8-dynamic times inference only: add --inference")
    if min(args.batch_size, args.steps, args.threads) < 1:
        parser.error("--batch-size, --steps and --threads must be >= 1")
    torch = torch_or_none()
    if torch is None:
        print("torch_bench: torch is not installed (pip install '.[compare]')", file=sys.stderr)
        return 2
    from hdl_native.bench import peak_rss_mb, summarize, time_steps

    torch.set_num_threads(args.threads)
    warmup = args.warmup if args.warmup is not None else max(2, args.steps // 10)
    if args.inference:
        return time_inference(torch, args, warmup)
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


class TorchInference:
    """PyTorch's version of hdl_native.bench.InferenceStep: the logits of the next random batch."""

    def __init__(self, torch, model_name, batch_size, dtype, seed=0):
        from hdl_native.bench import random_batches
        from hdl_native.models import MODELS

        self.torch = torch
        ours = MODELS[model_name](seed=seed)
        self.model = TORCH_BUILDERS[model_name](torch, ours.n_classes).eval()
        copy_weights(torch, ours, self.model, model_name)
        if dtype == "int8-dynamic":
            with warnings.catch_warnings():  # torch 2.9+ deprecates torch.ao.quantization; it still runs
                warnings.simplefilter("ignore")
                self.model = torch.ao.quantization.quantize_dynamic(self.model, {torch.nn.Linear},
                                                                    dtype=torch.qint8)
        self.batches = [torch.from_numpy(x) for x, _ in random_batches(batch_size, ours.n_classes, seed)]
        self.step_count = 0

    def step(self):
        images = self.batches[self.step_count % len(self.batches)]
        self.step_count += 1
        with self.torch.inference_mode():
            return self.model(images)


def time_inference(torch, args, warmup):
    from hdl_native.bench import peak_rss_mb, summarize, time_steps

    bench = TorchInference(torch, args.model, args.batch_size, args.dtype)
    times = time_steps(bench.step, args.steps, warmup)
    figures = summarize(times, args.batch_size)
    summary = {"framework": "torch", "torch": torch.__version__, "mode": "inference", "model": args.model,
               "dtype": args.dtype, "threads": torch.get_num_threads(), "batch_size": args.batch_size,
               "steps": args.steps, "warmup": warmup, **figures, "latency_ms": figures["ms_per_step_median"],
               "peak_rss_mb": peak_rss_mb()}
    print(f"torch {args.model} inference, {args.dtype}: {summary['images_per_s']:,.0f} images/s, "
          f"latency {summary['latency_ms']:.3f} ms per batch")
    if args.json:
        print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
