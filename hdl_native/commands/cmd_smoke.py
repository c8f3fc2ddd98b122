"""Build the tutorial's worked example graph and a small network, run them, and report.

A quick check that the installation works: it evaluates
y = 3x^3 + 4x + 1 + xz at x=2, z=0 with its gradients, then feeds one
DigitsMLP graph two random batches through forward, backward and Adam.
A wrong value or gradient, or a loss that is not finite, is an error (exit code 1).
"""
import math
import time

import numpy as np

from hdl_native.errors import HDLError

HELP = "check the installation: evaluate a tiny graph and two training steps"
# y, dy/dx and dy/dz of the worked example at x=2, z=0: 3*8 + 8 + 1 + 0, 9x^2 + 4 + z, x (exact in float32)
EXPECTED = {"y": 33.0, "dy_dx": 40.0, "dy_dz": 2.0}


class SmokeFailed(HDLError):
    """The installation computes wrong results: not bad input, so not exit code 2."""

    exit_code = 1


def add_arguments(parser):
    parser.add_argument("--json", action="store_true", help="print one JSON summary object on the last line")


def run(args):
    import hdl_native as hdl
    from hdl_native import functional as F
    from hdl_native.json_output import json_line
    from hdl_native.models import DigitsMLP
    from hdl_native.optim import Adam

    x = hdl.Tensor(2.0, requires_grad=True)
    z = hdl.Tensor(0.0, requires_grad=True)
    y = hdl.Tensor(3.0) * x * x * x + hdl.Tensor(4.0) * x + hdl.Tensor(1.0) + x * z
    y.backward()
    print(f"y = 3x^3 + 4x + 1 + xz at x=2, z=0: y={y.item():g} dy/dx={x.grad.item():g} dy/dz={z.grad.item():g}")

    model = DigitsMLP(seed=0)
    images = hdl.Tensor.placeholder((None, 1, 28, 28), name="images")
    labels = hdl.Tensor.placeholder((None,), dtype=np.int64, name="labels")
    loss = F.nll_loss(model(images), labels)
    optimizer = Adam(model, lr=1e-3)
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for _ in range(2):
        images.assign(rng.random((64, 1, 28, 28), dtype=np.float32))
        labels.assign(rng.integers(0, 10, 64))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    elapsed = time.perf_counter() - start
    summary = {"y": y.item(), "dy_dx": x.grad.item(), "dy_dz": z.grad.item(), "loss": loss.item(),
               "kernels": hdl.get_ops().name, "openmp": hdl.openmp_enabled(), "seconds": elapsed}
    print(f"DigitsMLP: two Adam steps on random batches, loss {summary['loss']:.4f}, "
          f"kernels {summary['kernels']}, OpenMP {summary['openmp']}")
    if args.json:
        print(json_line(summary))
    check(summary)
    return 0


def check(summary):
    """SmokeFailed naming each figure of `summary` that is not what a working installation computes."""
    wrong = [f"{name} {summary[name]!r}, expected {value!r}" for name, value in EXPECTED.items()
             if summary[name] != value]
    if not math.isfinite(summary["loss"]):
        wrong.append(f"the DigitsMLP loss is {summary['loss']!r}, not a finite number")
    if wrong:
        raise SmokeFailed(f"this installation computes wrong results ({'; '.join(wrong)}): reinstall it, or rebuild "
                          "the kernels, and see `hdl-native --version --verbose` for the build")
