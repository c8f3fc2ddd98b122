"""What tests/test_distributed.py runs alone and under mpiexec: a user's own training loop on
hdl_native.distributed's Python API, and ranks that fail on purpose.

    python distributed_worker.py train DTYPE OUT.npz   # 50 Adam steps at global batch 64 -> losses, parameters
    python distributed_worker.py hang                  # rank 1 stops answering: the watchdog must abort
    python distributed_worker.py fail                  # rank 1 raises an HDLError: every rank must stop
"""
import sys
import time

import numpy as np

from hdl_native import Tensor, distributed
from hdl_native import functional as F
from hdl_native.data import Batcher
from hdl_native.errors import HDLError
from hdl_native.nn import Parameter
from hdl_native.optim import Adam

N_IMAGES, N_CLASSES, BATCH, STEPS = 640, 5, 64, 50


def small_network(dtype, seed):
    """[(name, Parameter)] of a conv 1->4 (3x3) + linear 144->5 network in `dtype`."""
    rng = np.random.default_rng(seed)
    shapes = {"conv.weight": (4, 1, 3, 3), "conv.bias": (4,), "fc.weight": (N_CLASSES, 144), "fc.bias": (N_CLASSES,)}
    return [(name, Parameter(rng.normal(0, 0.3, shape).astype(dtype), name=name)) for name, shape in shapes.items()]


def train(dtype, seed=0):
    """Losses (STEPS,) of the global batches and the final parameters {name: array}, the same on every rank."""
    world = distributed.get_world()
    params = small_network(dtype, seed + world.rank)  # different on purpose: the broadcast must fix it
    world.broadcast_parameters(params)
    weights = dict(params)
    images = Tensor.placeholder((None, 1, 8, 8), dtype=dtype, name="images")
    labels = Tensor.placeholder((None,), dtype=np.int64, name="labels")
    hidden = F.gelu(F.conv2d(images, weights["conv.weight"]) + weights["conv.bias"].reshape(1, 4, 1, 1))
    loss = F.cross_entropy(F.linear(F.flatten(hidden), weights["fc.weight"], weights["fc.bias"]), labels)
    data_rng = np.random.default_rng(seed + 100)
    all_images = data_rng.normal(size=(N_IMAGES, 1, 8, 8)).astype(dtype)
    all_labels = data_rng.integers(0, N_CLASSES, N_IMAGES)
    optimizer = Adam(params, lr=0.01)
    batcher, losses = Batcher(N_IMAGES, BATCH, seed), []
    while len(losses) < STEPS:
        for indices in batcher.epoch():
            mine = world.shard(indices)
            images.assign(all_images[mine])
            labels.assign(all_labels[mine])
            optimizer.zero_grad()
            loss.backward()
            # the parameters, not the optimiser: the first step finds no flat arrays, the later ones do
            world.allreduce_gradients(params, weight=len(mine) / len(indices))
            losses.append(world.sum([loss.item() * len(mine)])[0] / len(indices))
            optimizer.step()
            if len(losses) == STEPS:
                break
    return np.array(losses), {name: param.value.copy() for name, param in params}


def main(argv):
    world = distributed.get_world(require_mpi=len(argv) > 1 and argv[1] != "train")
    if argv[1] == "train":
        losses, params = train(np.dtype(argv[2]))
        if world.is_root:
            np.savez(argv[3], losses=losses, **params)
    elif argv[1] == "hang":
        if world.rank == 1:
            time.sleep(600)
        world.sum([1.0])
    elif argv[1] == "fail":
        with world.stop_all_on_error("distributed_worker"):
            if world.rank == 1:
                raise HDLError("rank 1 cannot read its data")
            world.sum([1.0])


if __name__ == "__main__":
    main(sys.argv)
