"""Time training steps (forward, backward, Adam update) of a reference network on random data,
or with --inference its inference (logits of a batch), in float32 or, with --dtype int8, on the
int8 kernels (the letter readers: letters-cnn, letters-vgg (the shipped reader's network), letters-vgg-bn and
letters-vgg-wide).

The graph is built once, warmed up, then S steps are timed.  Prints images/s
and ms/step (inference: and the latency, the median time of one batch); --json
adds one JSON object on the last line with the figures, the thread count, the
kernel backend, OpenMP status and the process's peak resident memory.

The character models (char-gru: 3-layer GRU 256, char-lstm: 2-layer LSTM 256,
sequences of --seq-len) report characters/s (chars_per_s) instead of images/s.

--inference times inference instead (images/s and latency; --dtype int8 runs
the --model's network on the native int8 kernels; HDL_NATIVE_INT8_PATH=NAME forces
their GEMM path: portable, avx2, avxvnni, avx512vnni, avx512vnni256 or amx, where
the CPU has it; --json names the path used).

Examples: hdl-native bench --model letters-cnn --batch-size 64 --threads 2 --steps 50
          hdl-native bench --model char-gru --threads 1 --json
          hdl-native bench --inference --dtype int8 --batch-size 1 --threads 1 --steps 500
"""
import platform

HELP = "time training steps (letters-cnn, digits-mlp, char-gru, char-lstm) or inference on random data"


def all_models():
    from ..models import CHAR_MODELS, MODELS

    return list(MODELS) + list(CHAR_MODELS)


def add_arguments(parser):
    from ..cli_types import BATCH_SIZE, NON_NEGATIVE_INT, POSITIVE_INT, SEED, SEQ_LEN, THREADS
    from ..data.arguments import add_argument_noting_given

    parser.add_argument("--model", default="letters-cnn",
                        help=f"network to time: {', '.join(all_models())} (default letters-cnn)")
    parser.add_argument("--batch-size", type=BATCH_SIZE, default=64,
                        help=f"images (char models: sequences) per step, {BATCH_SIZE.allowed} (default 64)")
    add_argument_noting_given(parser, "--seq-len", type=SEQ_LEN, default=100,
                        help=f"characters per sequence of the char models, {SEQ_LEN.allowed} (default 100)")
    parser.add_argument("--threads", type=THREADS, default=None,
                        help=f"threads for the kernels and BLAS, {THREADS.allowed} (default: OMP_NUM_THREADS or "
                             "all cores)")
    parser.add_argument("--steps", type=POSITIVE_INT, default=20,
                        help=f"timed training steps, {POSITIVE_INT.allowed} (default 20)")
    parser.add_argument("--warmup", type=NON_NEGATIVE_INT, default=None,
                        help=f"untimed steps first, {NON_NEGATIVE_INT.allowed} (default: max(2, steps/10))")
    parser.add_argument("--seed", type=SEED, default=0,
                        help=f"seed for the weights and the random batches, {SEED.allowed} (default 0)")
    parser.add_argument("--kernels", choices=["native", "numpy"], default=None,
                        help="kernel backend (default: native when built, else numpy)")
    parser.add_argument("--inference", action="store_true",
                        help="time inference (the logits of a batch) instead of training steps")
    parser.add_argument("--dtype", choices=["float32", "int8"], default="float32",
                        help="with --inference: float32 on the graph, or int8 on the int8 kernels (the letter "
                             "readers; HDL_NATIVE_INT8_PATH=NAME forces a GEMM path, as the description says) "
                             "(default float32)")
    parser.add_argument("--json", action="store_true", help="print one JSON summary object on the last line")


def check_arguments(args):
    """Raise HDLError naming --model or --kernels when the network is unknown or the backend is not built."""
    from ..errors import HDLError
    from ..kernels import native_available
    from ..models import LETTER_MODELS

    if args.model not in all_models():
        raise HDLError(f"--model {args.model!r} is not a known network; choose one of: {', '.join(all_models())}")
    if args.kernels == "native" and not native_available():
        raise HDLError("--kernels native: the compiled kernels are not built "
                       "(run `python setup.py build_ext --inplace` in the source tree, or reinstall)")
    if args.seq_len_given and not args.model.startswith("char-"):  # it was taken and changed nothing
        raise HDLError(f"--seq-len is the char models' sequence length; --model {args.model} reads images: drop it")
    if args.inference and args.model.startswith("char-"):
        image_models = ", ".join(name for name in all_models() if not name.startswith("char-"))
        raise HDLError(f"--inference times the image networks ({image_models}), not --model {args.model}")
    if args.dtype == "int8":
        if not args.inference:
            raise HDLError("--dtype int8 times inference only: add --inference")
        if args.model not in LETTER_MODELS:
            raise HDLError(f"--dtype int8: int8 inference exists for the letter readers "
                           f"({', '.join(LETTER_MODELS)}) only, not --model {args.model}")
        if args.kernels:  # the int8 layers call their own kernels; the float32 backend is not timed
            raise HDLError(f"--kernels {args.kernels} picks the float32 kernels; --dtype int8 times the int8 "
                           "kernels, which it does not change (HDL_NATIVE_INT8_PATH picks their GEMM path): "
                           "drop --kernels")
        if not native_available():
            raise HDLError("--dtype int8 needs the compiled kernels "
                           "(run `python setup.py build_ext --inplace` in the source tree, or reinstall)")


def run(args):
    import hdl_native as hdl
    from ..bench import CharTrainingStep, TrainingStep, peak_rss_mb, summarize
    from ..json_output import json_line
    from ..models import CHAR_MODELS

    check_arguments(args)
    if args.kernels:
        hdl.use_ops(args.kernels)
    if args.threads is not None:
        hdl.set_num_threads(args.threads)
    warmup = args.warmup if args.warmup is not None else max(2, args.steps // 10)
    if args.inference:
        return run_inference(args, warmup)
    if args.model in CHAR_MODELS:
        bench = CharTrainingStep(args.model, args.batch_size, args.seq_len, seed=args.seed)
        unit, per_step = "chars", args.batch_size * args.seq_len
    else:
        bench = TrainingStep(args.model, args.batch_size, seed=args.seed)
        unit, per_step = "images", args.batch_size
    times = timed_with_bar(bench.step, args.steps, warmup)
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
        print(json_line(summary))
    return 0


def timed_with_bar(step, steps, warmup):
    """bench.time_steps of `step`, under a bar over the warm-up and timed steps on a terminal's stderr."""
    from ..bench import time_steps
    from ..progress import terminal_bar

    with terminal_bar(warmup + steps, "bench", "step") as bar:
        return time_steps(step, steps, warmup, bar.update)


def run_inference(args, warmup):
    """Time `args.steps` inference batches; prints images/s and the latency (and the JSON summary)."""
    import hdl_native as hdl
    from ..bench import InferenceStep, peak_rss_mb, summarize
    from ..json_output import json_line

    bench = InferenceStep(args.model, args.batch_size, args.dtype, seed=args.seed)
    times = timed_with_bar(bench.step, args.steps, warmup)
    figures = summarize(times, args.batch_size)
    summary = {
        "mode": "inference",
        "model": args.model,
        "dtype": args.dtype,
        "threads": hdl.get_num_threads(),
        "batch_size": args.batch_size,
        "steps": args.steps,
        "warmup": warmup,
        **figures,
        "latency_ms": figures["ms_per_step_median"],
        "openmp": hdl.openmp_enabled(),
        "kernels": "int8" if args.dtype == "int8" else hdl.get_ops().name,
        "peak_rss_mb": peak_rss_mb(),
        "python": platform.python_version(),
    }
    if args.dtype == "int8":
        from ..int8.kernels import current_path

        summary["int8_path"] = current_path()
    print(f"{args.model} inference, {args.dtype}: batch {args.batch_size}, {summary['threads']} thread(s), "
          f"kernels {summary['kernels']}: {args.steps} batches after {warmup} warm-up")
    print(f"  {summary['images_per_s']:,.0f} images/s, latency {summary['latency_ms']:.3f} ms per batch (median), "
          f"peak RSS {summary['peak_rss_mb']:.0f} MB")
    if args.json:
        print(json_line(summary))
    return 0
