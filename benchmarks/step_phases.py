"""Where a training step's time goes: feed, zero_grad, forward, backward, Adam, and the Python around the kernels.

    python benchmarks/step_phases.py --model digits-mlp --steps 3000 --threads 1

Each phase reports its least time over the steps (the least is the run no
other process interrupted, so the figure holds on a busy machine).  With
--no-kernels every backend kernel except Adam's returns a cached result, so
forward and backward show only the graph's own Python overhead.
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np

try:
    import hdl_native  # noqa: F401
except ImportError:  # a source checkout with the kernels built in place
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PHASES = ["feed", "zero_grad", "forward", "backward", "adam"]
CACHED_KERNELS = [
    "linear_forward", "linear_backward", "cross_entropy_forward", "cross_entropy_backward", "conv2d_forward",
    "conv2d_backward", "conv2d_backward_input", "conv2d_backward_weight", "conv2d_backward_bias",
    "gelu_forward", "gelu_backward", "maxpool2d_forward", "maxpool2d_backward",
]


def cache_kernels(ops):
    """Replace the backend's kernels (not Adam) with ones that return their first result again."""
    results = {}

    def cached(name):
        kernel = getattr(ops, name)

        def run(*args):
            key = (name,) + tuple(a.shape if isinstance(a, np.ndarray) else type(a) for a in args)
            if key not in results:
                results[key] = kernel(*args)
            return results[key]
        return run

    for name in CACHED_KERNELS:
        setattr(ops, name, cached(name))


def phase_times(bench, steps):
    """(steps, 5) seconds of each phase of each step."""
    clock = time.perf_counter
    times = np.empty((steps, len(PHASES)))
    for i in range(steps):
        images, labels = bench.batches[i % len(bench.batches)]
        t0 = clock()
        bench.images.assign(images)
        bench.labels.assign(labels)
        t1 = clock()
        bench.optimizer.zero_grad()
        t2 = clock()
        bench.loss.realize()
        t3 = clock()
        bench.loss.backward()
        t4 = clock()
        bench.optimizer.step()
        times[i] = [t1 - t0, t2 - t1, t3 - t2, t4 - t3, clock() - t4]
    return times


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["letters-cnn", "digits-mlp"], default="digits-mlp")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--no-kernels", action="store_true", help="cache every kernel result except Adam's")
    args = parser.parse_args(argv)
    import hdl_native as hdl
    from hdl_native.bench import TrainingStep

    hdl.set_num_threads(args.threads)
    if args.no_kernels:
        cache_kernels(hdl.get_ops())
    bench = TrainingStep(args.model, args.batch_size)
    for _ in range(20):
        bench.step()
    least = phase_times(bench, args.steps).min(axis=0) * 1e6
    cells = ", ".join(f"{name} {us:.1f} us" for name, us in zip(PHASES, least))
    kind = "kernels cached" if args.no_kernels else f"kernels {hdl.get_ops().name}"
    print(f"{args.model} batch {args.batch_size}, {args.threads} thread(s), {kind}: {cells}; "
          f"sum {least.sum():.1f} us (least of {args.steps} steps each)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
