"""Time the multiversioned kernels (the target_clones loops) at LettersCNN batch-64 sizes, one thread.

    python tools/simd_bench.py [--repeat 200]

Run it on two builds that differ only in the clone list of pyx/fast_math.h
(or, for the max-pool lines, in pool_k2.h's HDL_MULTIVERSION_AVX2 against
HDL_MULTIVERSION) to see what a SIMD level pays: each line is the least time of one call, in
microseconds, and the clone show_config() says is in use.
"""
import argparse
import time

import numpy as np

import hdl_native
from hdl_native.build_config import build_config
from hdl_native.kernels import make_ops


def least_time_us(call, repeat):
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return best * 1e6


def cases(ops, rng):
    """(name, call) for each cloned kernel at the size LettersCNN's first layer gives it; the max-pool also at the
    letter networks' other pools."""
    image = rng.standard_normal((64, 1, 28, 28)).astype(np.float32)
    weight = rng.standard_normal((32, 1, 3, 3)).astype(np.float32)
    bias = rng.standard_normal(32).astype(np.float32)
    activation = rng.standard_normal((64, 32, 26, 26)).astype(np.float32)
    pool_inputs = [rng.standard_normal(shape).astype(np.float32)  # LettersCNN's pool2, LettersVGG's two pools
                   for shape in ((64, 64, 11, 11), (64, 32, 24, 24), (64, 64, 8, 8))]
    return [
        ("conv1 direct forward (64,1,28,28)*(32,1,3,3)", lambda: ops.conv2d_forward(image, weight, bias)),
        ("gelu forward (64,32,26,26)", lambda: ops.gelu_forward(activation)),
        ("gelu backward (64,32,26,26)", lambda: ops.gelu_backward(activation, activation)),
        ("maxpool 2x2 forward (64,32,26,26)", lambda: ops.maxpool2d_forward(activation, 2)),
    ] + [(f"maxpool 2x2 forward {x.shape}", lambda x=x: ops.maxpool2d_forward(x, 2)) for x in pool_inputs]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    hdl_native.set_num_threads(1)
    native = build_config()["native"]
    print(f"clones {native['simd_clones']}, in use: {native['simd_path']}")
    for name, call in cases(make_ops("native"), np.random.default_rng(0)):
        call()
        print(f"{least_time_us(call, args.repeat):9.1f} us  {name}")


if __name__ == "__main__":
    main()
