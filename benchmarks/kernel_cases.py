"""The kernels of one LettersCNN training step, at its real shapes, as timeable cases.

Each case is a name, the floating-point operations one call performs (0 for
memory-bound elementwise kernels, which report elements instead) and a
`prepare(ops, batch_size)` that allocates the inputs once and returns a
zero-argument callable running the kernel on the active backend.  The
benchmarks (test_kernels.py) and the report script share these, so both
time exactly the same calls.

Shapes, batch N = 64:
  conv1 (N,1,28,28) * (32,1,3,3) -> (N,32,26,26), pool -> 13x13, GELU
  conv2 (N,32,13,13) * (64,32,3,3) -> (N,64,11,11), pool (ceil) -> 6x6, GELU
  conv3 (N,64,6,6) * (128,64,3,3) -> (N,128,4,4), pool -> 2x2, GELU
  fc1 512->64, GELU, fc2 64->128, GELU, fc3 128->26, log-softmax + NLL
"""
from dataclasses import dataclass
from typing import Callable

import numpy as np

from hdl_native.models import LettersCNN

# (name, C_in, C_out, input H=W)
CONVS = [("conv1", 1, 32, 28), ("conv2", 32, 64, 13), ("conv3", 64, 128, 6)]
KERNEL = 3
# (name, channels, input H=W) of the pools that follow the convs
POOLS = [("pool1", 32, 26), ("pool2", 64, 11), ("pool3", 128, 4)]
# (name, in features, out features)
LINEARS = [("fc1", 512, 64), ("fc2", 64, 128), ("fc3", 128, 26)]
# (name, shape without the batch) of the GELU inputs
GELUS = [("gelu1", (32, 13, 13)), ("gelu2", (64, 6, 6)), ("gelu3", (128, 2, 2)), ("gelu4", (64,)), ("gelu5", (128,))]
N_CLASSES = 26


@dataclass
class KernelCase:
    name: str
    direction: str          # "forward", "backward" or "update"
    flops: Callable          # batch_size -> floating-point operations per call (0: elementwise)
    elements: Callable       # batch_size -> elements touched (for elementwise throughput)
    prepare: Callable        # (ops, batch_size) -> zero-argument callable
    group: str = ""          # "conv" for the cases summed into the conv efficiency figure


def _random(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape, dtype=np.float32)


def _conv_flops(c_in, c_out, size):
    out = size - KERNEL + 1
    return lambda n: 2 * n * c_out * out * out * c_in * KERNEL * KERNEL


def _conv_cases(name, c_in, c_out, size):
    out = size - KERNEL + 1
    flops = _conv_flops(c_in, c_out, size)

    def forward(ops, n):
        x, w, b = _random((n, c_in, size, size)), _random((c_out, c_in, KERNEL, KERNEL), 1), _random(c_out, 2)
        return lambda: ops.conv2d_forward(x, w, b)

    def backward_input(ops, n):
        g, w = _random((n, c_out, out, out)), _random((c_out, c_in, KERNEL, KERNEL), 1)
        return lambda: ops.conv2d_backward_input(g, w, (n, c_in, size, size))

    def backward_weight(ops, n):
        g, x = _random((n, c_out, out, out)), _random((n, c_in, size, size), 1)
        return lambda: ops.conv2d_backward_weight(g, x, KERNEL)

    def backward_bias(ops, n):
        g = _random((n, c_out, out, out))
        return lambda: ops.conv2d_backward_bias(g)

    # The image needs no gradient, so the first conv never computes the input gradient.
    needs_input = name != "conv1"

    def backward_all(ops, n):
        g, x = _random((n, c_out, out, out)), _random((n, c_in, size, size), 1)
        w = _random((c_out, c_in, KERNEL, KERNEL), 2)
        return lambda: ops.conv2d_backward(g, x, w, (needs_input, True, True))

    # What the training step calls: forward, and the fused backward (input + weight + bias).
    cases = [KernelCase(f"{name}_forward", "forward", flops, lambda n: 0, forward, "conv")]
    cases.append(KernelCase(f"{name}_backward", "backward", lambda n: (2 if needs_input else 1) * flops(n),
                            lambda n: 0, backward_all, "conv"))
    # The same backward work one gradient at a time, for detail.
    if needs_input:
        cases.append(KernelCase(f"{name}_backward_input", "backward", flops, lambda n: 0, backward_input))
    cases.append(KernelCase(f"{name}_backward_weight", "backward", flops, lambda n: 0, backward_weight))
    cases.append(KernelCase(f"{name}_backward_bias", "backward", lambda n: 0, lambda n: n * c_out * out * out,
                            backward_bias))
    return cases


def _pool_cases(name, channels, size):
    elements = lambda n: n * channels * size * size  # noqa: E731

    def forward(ops, n):
        x = _random((n, channels, size, size))
        return lambda: ops.maxpool2d_forward(x, 2)

    def backward(ops, n):
        x = _random((n, channels, size, size))
        out, argmax = ops.maxpool2d_forward(x, 2)
        g = _random(out.shape, 1)
        return lambda: ops.maxpool2d_backward(g, argmax, x.shape)

    return [KernelCase(f"{name}_forward", "forward", lambda n: 0, elements, forward),
            KernelCase(f"{name}_backward", "backward", lambda n: 0, elements, backward)]


def _linear_cases(name, f_in, f_out):
    flops = lambda n: 2 * n * f_in * f_out  # noqa: E731
    needs = (True, True, True)  # every linear's input comes from parameters, so it takes a gradient

    def forward(ops, n):
        x, w, b = _random((n, f_in)), _random((f_out, f_in), 1), _random(f_out, 2)
        return lambda: ops.linear_forward(x, w, b)

    def backward(ops, n):
        g, x, w = _random((n, f_out)), _random((n, f_in), 1), _random((f_out, f_in), 2)
        return lambda: ops.linear_backward(g, x, w, needs)

    return [KernelCase(f"{name}_forward", "forward", flops, lambda n: 0, forward),
            KernelCase(f"{name}_backward", "backward", lambda n: 2 * flops(n), lambda n: 0, backward)]


def _gelu_cases(name, shape):
    elements = lambda n: n * int(np.prod(shape))  # noqa: E731

    def forward(ops, n):
        x = _random((n,) + shape)
        return lambda: ops.gelu_forward(x)

    def backward(ops, n):
        x, g = _random((n,) + shape), _random((n,) + shape, 1)
        return lambda: ops.gelu_backward(x, g)

    return [KernelCase(f"{name}_forward", "forward", lambda n: 0, elements, forward),
            KernelCase(f"{name}_backward", "backward", lambda n: 0, elements, backward)]


def _loss_cases():
    elements = lambda n: n * N_CLASSES  # noqa: E731

    def labels(n):
        return np.random.default_rng(3).integers(0, N_CLASSES, n).astype(np.int64)

    def forward(ops, n):
        logits, y = _random((n, N_CLASSES)), labels(n)
        return lambda: ops.cross_entropy_forward(logits, y)

    def backward(ops, n):
        _, probs = ops.cross_entropy_forward(_random((n, N_CLASSES)), labels(n))
        y = labels(n)
        return lambda: ops.cross_entropy_backward(probs, y, 1.0)

    return [KernelCase("log_softmax_nll_forward", "forward", lambda n: 0, elements, forward),
            KernelCase("log_softmax_nll_backward", "backward", lambda n: 0, elements, backward)]


def _adam_cases():
    """Adam over every LettersCNN parameter: one fused call over the flat buffer, and one call per parameter."""
    shapes = [p.shape for p in LettersCNN().parameters()]
    total = sum(int(np.prod(s)) for s in shapes)

    def flat(ops, n):
        arrays = [_random(total, i) for i in range(3)] + [np.abs(_random(total, 3))]
        return lambda: ops.adam_update(*arrays, 1e-3, 0.9, 0.999, 1e-8, 10)

    def per_parameter(ops, n):
        groups = [[_random(s, i), _random(s, i + 1), _random(s, i + 2), np.abs(_random(s, i + 3))] for i, s in
                  enumerate(shapes)]

        def run():
            for arrays in groups:
                ops.adam_update(*arrays, 1e-3, 0.9, 0.999, 1e-8, 10)
        return run

    elements = lambda n: total  # noqa: E731
    return [KernelCase("adam_flat", "update", lambda n: 0, elements, flat),
            KernelCase("adam_per_parameter", "update", lambda n: 0, elements, per_parameter)]


def letters_cnn_cases():
    """Every kernel of a LettersCNN training step, forward then backward then the update."""
    cases = []
    for spec in CONVS:
        cases += _conv_cases(*spec)
    for spec in POOLS:
        cases += _pool_cases(*spec)
    for spec in LINEARS:
        cases += _linear_cases(*spec)
    for spec in GELUS:
        cases += _gelu_cases(*spec)
    cases += _loss_cases()
    cases += _adam_cases()
    return cases
