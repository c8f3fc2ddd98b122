"""Data-parallel training steps per second, ours on MPI against PyTorch DDP (gloo), on the same network.

    python benchmarks/mpi_step_rate.py hdl --threads 1                 # one process (or under mpiexec -n N)
    python benchmarks/mpi_step_rate.py torch-ddp --ranks 2 --threads 1  # spawns its own ranks

A step is what a data-parallel training loop does per global batch on each rank: feed its shard of a
pre-made random batch, clear the gradients, forward, backward, average the gradients over the ranks,
one Adam update.  Prints one JSON line: images/s of the global batch (all ranks' images) from the total
time of the timed steps, and from the median step.  mpi_figures.sh runs every configuration in turn.
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # torch_nets, beside this file


def report(engine, ranks, threads, batch, times, **extra):
    total, median = float(sum(times)), float(np.median(times))
    print(json.dumps({"engine": engine, "ranks": ranks, "threads_per_rank": threads, "global_batch": batch,
                      "steps": len(times), "images_per_s": len(times) * batch / total,
                      "images_per_s_median": batch / median, "ms_per_step": 1000 * total / len(times), **extra}),
          flush=True)


def hdl_rate(args):
    from hdl_native import distributed
    from hdl_native.bench import TrainingStep, time_steps
    from hdl_native.threads import set_num_threads

    set_num_threads(args.threads)
    world = distributed.get_world()
    bench = TrainingStep(args.model, len(world.shard(np.arange(args.batch))), seed=0)
    world.broadcast_parameters(bench.model)
    reducing = []  # seconds in each step's Allreduce, waiting for the slower rank included

    def step():
        images, labels = bench.batches[bench.step_count % len(bench.batches)]
        bench.step_count += 1
        bench.images.assign(images)
        bench.labels.assign(labels)
        bench.optimizer.zero_grad()
        bench.loss.backward()
        started = time.perf_counter()
        world.allreduce_gradients(bench.optimizer)
        reducing.append(time.perf_counter() - started)
        bench.optimizer.step()

    times = time_steps(step, args.steps, warmup=args.warmup)  # each step waits for every rank: rank 0's clock says it
    if world.is_root:
        report("hdl_native" + (" MPI" if world.size > 1 else ""), world.size, args.threads, args.batch, times,
               allreduce_ms_median=1000 * float(np.median(reducing[args.warmup:])))


def torch_rank(rank, args, port):
    import torch
    import torch.distributed as dist

    from hdl_native.bench import time_steps
    from torch_nets import TorchTrainingStep

    torch.set_num_threads(args.threads)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=args.ranks)
    bench = TorchTrainingStep(args.model, args.batch // args.ranks, seed=0)
    bench.model = torch.nn.parallel.DistributedDataParallel(bench.model)  # broadcasts rank 0's parameters
    times = time_steps(bench.step, args.steps, warmup=args.warmup)  # backward's allreduce waits for every rank
    if rank == 0:
        report(f"PyTorch {torch.__version__} DDP gloo", args.ranks, args.threads, args.batch, times)
    dist.destroy_process_group()


def torch_ddp_rate(args):
    import torch.multiprocessing as mp

    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    port = 29500 + os.getpid() % 1000
    mp.spawn(torch_rank, args=(args, port), nprocs=args.ranks, join=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("engine", choices=("hdl", "torch-ddp"))
    parser.add_argument("--model", default="letters-cnn")
    parser.add_argument("--batch", type=int, default=64, help="global batch (default: 64)")
    parser.add_argument("--threads", type=int, default=1, help="threads per rank (default: 1)")
    parser.add_argument("--ranks", type=int, default=2, help="torch-ddp: processes to spawn (default: 2)")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args()
    started = time.perf_counter()
    (hdl_rate if args.engine == "hdl" else torch_ddp_rate)(args)
    print(f"# {args.engine}: {time.perf_counter() - started:.1f} s wall", file=sys.stderr)


if __name__ == "__main__":
    main()
