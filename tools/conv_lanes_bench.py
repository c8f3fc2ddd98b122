"""The blocked convolution loops 8 lanes wide against 16 (AVX-512), interleaved in one process.

    python tools/conv_lanes_bench.py [--threads 1] [--repeat 40] [--steps 80]

For each convolution of the LettersVGG and LettersCNN at batch 64: the least time of one forward call and of
one weight-gradient call with the 16-lane loops and with the 8-lane ones (kernels/conv_lanes.py),
alternating call by call so that a burst of load from elsewhere hits both; then whole training steps of
both networks (batch 64, Adam), blocks of 8 steps alternating, median and least.  Both ways compute the same
bits (tests/test_kernels.py), so only the time differs.  On a CPU without AVX-512 there is nothing to compare.
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np

try:
    import hdl_native
except ImportError:  # a source checkout with the kernels built in place
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import hdl_native
from hdl_native._native import conv2d
from hdl_native.bench import TrainingStep
from hdl_native.kernels import make_ops
from hdl_native.kernels.conv_lanes import conv_lanes, use_conv_lanes

# (name, input channels, output channels, input side): 3x3 convolutions with 32k output channels
LAYERS = [("letters-vgg c2", 32, 32, 26), ("letters-vgg c3", 32, 64, 12), ("letters-vgg c4", 64, 64, 10),
          ("letters-cnn c2", 32, 64, 13), ("letters-cnn c3", 64, 128, 6)]
BATCH = 64


def least_times(calls, repeat):
    """{key: least seconds of one call}, the calls of each round made one after another."""
    best = {key: float("inf") for key in calls}
    for _ in range(repeat):
        for key, (wide, call) in calls.items():
            use_conv_lanes(16 if wide else 8)
            start = time.perf_counter()
            call()
            best[key] = min(best[key], time.perf_counter() - start)
    return best


def layer_rows(ops, repeat):
    rng = np.random.default_rng(0)
    for name, c_in, c_out, side in LAYERS:
        x = rng.standard_normal((BATCH, c_in, side, side), dtype=np.float32)
        weight = rng.standard_normal((c_out, c_in, 3, 3), dtype=np.float32)
        bias = rng.standard_normal(c_out, dtype=np.float32)
        grad = rng.standard_normal((BATCH, c_out, side - 2, side - 2), dtype=np.float32)
        flops = 2 * BATCH * c_out * (side - 2) ** 2 * c_in * 9
        calls = {}
        for wide in (False, True):
            calls[("forward", wide)] = (wide, lambda: ops.conv2d_forward(x, weight, bias))
            calls[("weight gradient", wide)] = (wide, lambda: ops.conv2d_backward_weight(grad, x, 3))
        best = least_times(calls, repeat)
        for part in ("forward", "weight gradient"):
            narrow, wide = best[(part, False)], best[(part, True)]
            print(f"| {name} {part} ({c_in}->{c_out}, {side}x{side}) | {narrow * 1e3:.3f} ({flops / narrow / 1e9:.0f}) "
                  f"| {wide * 1e3:.3f} ({flops / wide / 1e9:.0f}) | {narrow / wide:.2f}x |")


def step_rows(n_steps):
    for model in ("letters-vgg", "letters-cnn"):
        step = TrainingStep(model, BATCH)
        for _ in range(5):
            step.step()
        times = {False: [], True: []}
        for _ in range(max(1, n_steps // 16)):
            for wide in (False, True):
                use_conv_lanes(16 if wide else 8)
                for _ in range(8):
                    start = time.perf_counter()
                    step.step()
                    times[wide].append(time.perf_counter() - start)
        narrow, wide = (np.median(times[w]) for w in (False, True))
        print(f"| {model} training step, median (least) | {narrow * 1e3:.2f} ({min(times[False]) * 1e3:.2f}) "
              f"| {wide * 1e3:.2f} ({min(times[True]) * 1e3:.2f}) | {narrow / wide:.2f}x |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=40, help="calls of each kernel each way")
    parser.add_argument("--steps", type=int, default=80, help="training steps of each network each way")
    args = parser.parse_args()
    if not conv2d.wide_loops_supported():
        print("this CPU (or this build) has no 16-lane loops: nothing to compare", file=sys.stderr)
        return 2
    hdl_native.set_num_threads(args.threads)
    print(f"{args.threads} thread(s), batch {BATCH}; ms (GFLOP/s)")
    print("| what | 8 lanes | 16 lanes | 16 against 8 |")
    print("|---|---|---|---|")
    before = conv_lanes()
    layer_rows(make_ops("native"), args.repeat)
    step_rows(args.steps)
    use_conv_lanes(before)
    return 0


if __name__ == "__main__":
    sys.exit(main())
