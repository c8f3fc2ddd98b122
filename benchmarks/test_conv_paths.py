"""The convolution layers of both letter readers, float32, batch 64: each way our kernels can run
them (im2col + GEMM, or conv_blocked.h's register-blocked loops) beside PyTorch's conv2d.

    python -m pytest benchmarks/test_conv_paths.py --benchmark-only --benchmark-columns=min,median

"forward" is one conv2d_forward with bias; "backward" one conv2d_backward for every gradient the
layer needs in training (the first layer's input needs none).  PyTorch's backward is timed as
forward + backward minus its forward, as autograd cannot run one without the other.
"""
import numpy as np
import pytest

import hdl_native as hdl
from hdl_native._native import conv2d
from measure import BATCH_SIZE, best_seconds_per_call, record_environment, timed_seconds

# (model, layer, C_in, C_out, input H = W); 3x3 kernels
LAYERS = [
    ("letters-vgg", "c1", 1, 32, 28), ("letters-vgg", "c2", 32, 32, 26),
    ("letters-vgg", "c3", 32, 64, 12), ("letters-vgg", "c4", 64, 64, 10),
    ("letters-cnn", "conv1", 1, 32, 28), ("letters-cnn", "conv2", 32, 64, 13),
    ("letters-cnn", "conv3", 64, 128, 6),
]
PATHS = ["gemm", "blocked", "torch"]


def layer_arrays(c_in, c_out, size, n=BATCH_SIZE):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c_in, size, size), dtype=np.float32)
    weight = rng.standard_normal((c_out, c_in, 3, 3), dtype=np.float32)
    bias = rng.standard_normal(c_out, dtype=np.float32)
    grad = rng.standard_normal((n, c_out, size - 2, size - 2), dtype=np.float32)
    return x, weight, bias, grad


def ours(direction, x, weight, bias, grad):
    ops = hdl.get_ops()
    if direction == "forward":
        return lambda: ops.conv2d_forward(x, weight, bias)
    needs = (x.shape[1] > 1, True, True)
    return lambda: ops.conv2d_backward(grad, x, weight, needs)


def pytorchs(direction, x, weight, bias, grad, n_threads):
    torch = pytest.importorskip("torch", reason="PyTorch is an optional comparison (pip install torch==2.13.0)")
    torch.set_num_threads(n_threads)
    tx = torch.from_numpy(x).requires_grad_(x.shape[1] > 1)
    tw, tb = torch.from_numpy(weight).requires_grad_(), torch.from_numpy(bias).requires_grad_()
    tg = torch.from_numpy(grad)

    def forward():
        with torch.no_grad():
            return torch.nn.functional.conv2d(tx, tw, tb)

    def forward_backward():
        torch.nn.functional.conv2d(tx, tw, tb).backward(tg)

    return forward if direction == "forward" else forward_backward, forward


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("direction", ["forward", "backward"])
@pytest.mark.parametrize("layer", LAYERS, ids=[f"{m}-{name}" for m, name, *_ in LAYERS])
def test_conv_layer(benchmark, layer, direction, path, threads):
    model, name, c_in, c_out, size = layer
    arrays = layer_arrays(c_in, c_out, size)
    benchmark.group = f"{model} {name} {direction}"
    record_environment(benchmark, threads)
    out_pixels = (size - 2) ** 2
    macs = BATCH_SIZE * c_out * out_pixels * c_in * 9
    flops = 2 * macs * (1 if direction == "forward" else (2 if c_in > 1 else 1))
    if path == "torch":
        run, forward = pytorchs(direction, *arrays, threads)
        subtract = best_seconds_per_call(forward) if direction == "backward" else 0.0
        benchmark(run)
    else:
        subtract = 0.0
        previous = conv2d.set_paths(blocked=path == "blocked")
        try:
            benchmark(ours(direction, *arrays))
        finally:
            conv2d.set_paths(**previous)
    seconds = timed_seconds(benchmark, "min")
    if seconds is None:
        return
    seconds -= subtract
    benchmark.extra_info.update({"path": path, "flops": flops, "min_ms": seconds * 1e3,
                                 "gflops_at_min": flops / seconds / 1e9})
