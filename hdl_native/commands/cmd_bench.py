"""Time training steps (forward, backward, Adam update) of a reference network on random data.

The graph is built once, warmed up, then S steps are timed.  Prints images/s
and ms/step; --json adds one JSON object on the last line with the figures,
the thread count, the kernel backend, OpenMP status and the process's peak
resident memory.

The character models (char-gru: 3-layer GRU 256, char-lstm: 2-layer LSTM 256,
sequences of --seq-len) report characters/s (chars_per_s) instead of images/s.

Example: hdl-native bench --model letters-cnn --batch-size 64 --threads 2 --steps 50
         hdl-native bench --model char-gru --threads 1 --json
"""
import json
import platform

HELP = "time training steps of letters-cnn, digits-mlp, char-gru or char-lstm on random data (images or chars/s)"


def all_models():
    from ..models import CHAR_MODELS, MODELS

    return list(MODELS) + list(CHAR_MODELS)


def add_arguments(parser):
    parser.add_argument("--model", default="letters-cnn",
                        help=f"network to time: {', '.join(all_models())} (default letters-cnn)")
    parser.add_argument("--batch-size", type=int, default=64, help="images per step (default 64)")
    parser.add_argument("--seq-len", type=int, default=100, help="characters per sequence, char models (default 100)")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for the kernels and BLAS (default: OMP_NUM_THREADS or all cores)")
    parser.add_argument("--steps", type=int, default=20, help="timed training steps (default 20)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed steps first (default: max(2, steps/10))")
    parser.add_argument("--seed", type=int, default=0, help="seed for the weights and the random batches")
    parser.add_argument("--kernels", choices=["native", "numpy"], default=None,
                        help="kernel backend (default: native when built, else numpy)")
    parser.add_argument("--json", action="store_true", help="print one JSON summary object on the last line")


def check_arguments(args):
    """Raise HDLError naming the first bad argument."""
    from ..errors import HDLError
    from ..kernels import native_available

    if args.model not in all_models():
        raise HDLError(f"--model {args.model!r} is not a known network; choose one of: {', '.join(all_models())}")
    for flag, value, minimum in (("--batch-size", args.batch_size, 1), ("--steps", args.steps, 1),
                                 ("--seq-len", args.seq_len, 1),
                                 ("--threads", args.threads, 1), ("--warmup", args.warmup, 0)):
        if value is not None and value < minimum:
            raise HDLError(f"{flag} must be >= {minimum}, got {value}")
    if args.kernels == "native" and not native_available():
        raise HDLError("--kernels native: the compiled kernels are not built "
                       "(run `python setup.py build_ext --inplace` in the source tree, or reinstall)")


def run(args):
    import hdl_native as hdl
    from ..bench import CharTrainingStep, TrainingStep, peak_rss_mb, summarize, time_steps
    from ..models import CHAR_MODELS

    check_arguments(args)
    if args.kernels:
        hdl.use_ops(args.kernels)
    if args.threads is not None:
        hdl.set_num_threads(args.threads)
    warmup = args.warmup if args.warmup is not None else max(2, args.steps // 10)
    if args.model in CHAR_MODELS:
        bench = CharTrainingStep(args.model, args.batch_size, args.seq_len, seed=args.seed)
        unit, per_step = "chars", args.batch_size * args.seq_len
    else:
        bench = TrainingStep(args.model, args.batch_size, seed=args.seed)
        unit, per_step = "images", args.batch_size
    times = time_steps(bench.step, args.steps, warmup)
    summary = {
        "model": args.model,
        "threads": hdl.get_num_threads(),
        "batch_size": args.batch_size,
        "steps": args.steps,
        "warmup": warmup,
        **({"seq_len": args.seq_len} if unit == "chars" else {}),
        **summarize(times, per_step, unit),
        "loss": bench.loss_value(),
        "openmp": hdl.openmp_enabled(),
        "kernels": hdl.get_ops().name,
        "peak_rss_mb": peak_rss_mb(),
        "python": platform.python_version(),
    }
    print(f"{args.model}: batch {args.batch_size}, {summary['threads']} thread(s), kernels {summary['kernels']}, "
          f"OpenMP {summary['openmp']}: {args.steps} steps after {warmup} warm-up")
    print(f"  {summary[unit + '_per_s']:,.0f} {unit}/s, {summary['ms_per_step']:.3f} ms/step "
          f"(median {summary['ms_per_step_median']:.3f}), peak RSS {summary['peak_rss_mb']:.0f} MB")
    if args.json:
        print(json.dumps(summary))
    return 0
