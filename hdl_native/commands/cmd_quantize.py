"""Store a trained model's weights in 8, 4 or 2 bits (the tutorial's chapter 7).

equal-population: per weight tensor, the values are cut into 2^bits bins holding equally many values; each
value is stored as its bin's index and read back as the mean of its bin (a 2^bits-entry codebook per
tensor).  linear: symmetric integers, scale = max|w| / (2^(bits-1) - 1) per tensor, or per output channel
with --per-channel.  Biases stay float32.  The result is a state file that `evaluate`, `ocr --model` and
hdl_native.checkpoint.load_model read directly (as a float32 model); it records the scheme, the width and
the source's test accuracy where the source records one (a training run's state and --export files do once it
has been tested; else `evaluate` says "not recorded": it measures the quantised model itself).

With --finetune-batches N the weights first train N batches through their quantised values
(quantize/aware.py: quantisation-aware fine-tuning) on the images STATE's run trained on, found under
--data / $HDL_DATA; the images that run held out are read before and after, to show what it gained.  The
shipped reader loses 4.0 points of its test splits at 4 bits equal-population as it is, 0.49 after 2,000 batches
(BENCHMARKS.md, reader E).

  hdl-native quantize letters.hdl --bits 4 --scheme equal-population --out letters-q4.hdl
  hdl-native quantize letters.hdl --bits 4 --finetune-batches 2000 --out letters-q4.hdl
  hdl-native evaluate letters-q4.hdl
"""
import sys

HELP = "store a model's weights in 8, 4 or 2 bits (equal-population bins or linear), biases float32"


def add_arguments(parser):
    from ..cli_types import LEARNING_RATE, POSITIVE_INT, THREADS, THREADS_HELP, int_choice
    from ..quantize.aware import BATCH_SIZE, DEFAULT_LR
    from ..quantize.schemes import SCHEMES
    from ..quantize.section import QUANTIZED_BITS

    bits = int_choice(*QUANTIZED_BITS)
    parser.add_argument("state", metavar="STATE", help="a float32 state file (e.g. letters.hdl)")
    parser.add_argument("--bits", type=bits, required=True, metavar="BITS", help=f"bits per weight, {bits.allowed}")
    parser.add_argument("--scheme", choices=list(SCHEMES), default="equal-population",
                        help="equal-population bins with a codebook per tensor, or linear symmetric integers "
                             "(default: equal-population)")
    parser.add_argument("--per-channel", action="store_true",
                        help="linear only: one scale per output channel instead of one per tensor")
    parser.add_argument("--finetune-batches", type=POSITIVE_INT, default=None, metavar="N",
                        help=f"first train N batches of {BATCH_SIZE} through the quantised weights, "
                             f"{POSITIVE_INT.allowed} "
                             "(default: none; about 0.1 s a batch for the shipped reader)")
    parser.add_argument("--lr", type=LEARNING_RATE, default=None,  # None: not given, refused without a fine-tune
                        help=f"Adam's first step in that fine-tune, {LEARNING_RATE.allowed} (default: {DEFAULT_LR:g})")
    parser.add_argument("--out", metavar="QSTATE", required=True, help="where to write the quantised state")
    parser.add_argument("--force", action="store_true", help="replace an existing QSTATE")
    parser.add_argument("--data", metavar="DIR", default=None,
                        help="data root for the fine-tune (default: $HDL_DATA, else the cache)")
    parser.add_argument("--threads", type=THREADS, default=None, help=THREADS_HELP)
    parser.add_argument("--quiet", action="store_true", help="no progress bar while fine-tuning")
    parser.add_argument("--json", action="store_true", help="print one JSON object on the last line")


def run(args):
    from ..checkpoint import load_checkpoint
    from ..errors import HDLError
    from ..json_output import json_line
    from ..quantize.aware import DEFAULT_LR
    from ..quantize.schemes import SCHEMES
    from ..quantize.state import quantize_state
    from ..threads import set_num_threads
    from ..training.interrupt import StopOnSignal
    from ..training.outputs import check_derived_state

    check_derived_state(args.out, args.state, args.force, "quantised state file")
    if args.per_channel and not SCHEMES[args.scheme].per_channel_allowed:
        raise HDLError(f"--per-channel applies to --scheme linear; {args.scheme} has one codebook per tensor")
    if args.lr is not None and not args.finetune_batches:
        raise HDLError("--lr is the fine-tune's first step: give --finetune-batches too, or drop --lr")
    if args.data is not None and not args.finetune_batches:
        raise HDLError("--data is where the fine-tune finds its images: give --finetune-batches too, or drop --data")
    if args.lr is None:
        args.lr = DEFAULT_LR
    if args.threads is not None:
        set_num_threads(args.threads)
    checkpoint = load_checkpoint(args.state)
    tune = None
    with StopOnSignal() as stop:
        if args.finetune_batches:
            tune = QuantizedFinetune(args, checkpoint, stop)
        result = quantize_state(args.state, args.out, args.scheme, args.bits, args.per_channel,
                                tune=tune, checkpoint=checkpoint)
    per = "per output channel" if args.per_channel else "per tensor"
    print(f"{args.state} -> {result.path}: {args.scheme}, {args.bits} bits, {per}")
    for error in result.errors:
        print(f"  {error.name:<11} {str(error.shape):<16} max error {error.max_abs:.2e}   "
              f"rms error {error.rms:.2e} ({100 * error.rms / max(error.rms_weight, 1e-30):.1f}% of the rms weight)")
    kinds = ", ".join("biases" if kind == "bias" else kind for kind in result.float_kinds) or "nothing else"
    print(f"  {kinds} stay float32 ({result.n_float_values} values)")
    print(f"  {result.n_bytes} bytes = {100 * result.n_bytes / result.float_bytes:.1f}% of the float32 state "
          f"({result.float_bytes} bytes; the source file has {result.source_bytes})")
    summary = result.as_json()
    if tune is not None:
        summary["finetune"] = tune.record
        if tune.stopped_by:
            print(f"hdl-native quantize: stopped by {tune.stopped_by} after {tune.record['batches']} of "
                  f"{args.finetune_batches} fine-tuning batches; {result.path} holds the weights as tuned so far",
                  file=sys.stderr)
    if args.json:
        print(json_line(summary))
    return 130 if tune is not None and tune.stopped_by else 0


class QuantizedFinetune:
    """quantize_state's `tune` step for --finetune-batches: loads the training images STATE's run trained on (data
    errors surface here, before anything is written), then trains through the quantised weights when called."""

    def __init__(self, args, checkpoint, stop):
        from ..commands.cmd_calibrate import fitting_images, run_config_of
        from ..data import Batcher, find_data_root, load_dataset
        from ..errors import HDLError
        from ..quantize.aware import BATCH_SIZE
        from ..training.config import recorded_lead_in, recorded_pairs, recorded_touching
        from ..training.feed import TrainingFeed, pair_label
        from ..training.start import training_data

        self.args, self.stop, self.stopped_by, self.record = args, stop, None, None
        settings = checkpoint.get("settings") if isinstance(checkpoint.get("settings"), dict) else {}
        dataset = settings.get("dataset") or checkpoint.get("dataset")
        if not dataset:
            raise HDLError(f"{args.state} names no dataset it was trained on, so --finetune-batches has nothing "
                           "to train on")
        config = run_config_of({**settings, "dataset": dataset, "touching": recorded_touching(settings, args.state),
                                "lead_in": recorded_lead_in(settings, args.state),
                                "pairs": recorded_pairs(settings, args.state), "train_from": None,
                                "data_root": args.data})
        root = find_data_root(args.data)
        train_set, test_set = load_dataset(dataset, "train", root), load_dataset(dataset, "test", root)
        (images, labels, weights, _), _ = training_data(config, train_set, test_set)
        self.feed = TrainingFeed(images, labels, config, pair=pair_label(config, checkpoint.get("classes") or []))
        self.batcher = Batcher(len(labels), BATCH_SIZE, seed=config.seed, weights=weights)
        self.held_out = fitting_images({**checkpoint, "settings": settings}, dataset, train_set, test_set,
                                       caveat="the accuracies read on them are higher than new writers' letters "
                                              "would give")
        self.description = f"{len(labels)} training images of {dataset}"
        self.normalization = checkpoint.get("normalization")  # load_checkpoint checked it: a dict or None

    def __call__(self, model):
        from ..errors import HDLError
        from ..quantize.aware import BATCH_SIZE, QuantizedCopy, finetune_quantized
        from ..quantize.schemes import SCHEMES
        from ..training.divergence import Diverged
        from ..training.evaluate import Evaluator

        args, scheme = self.args, SCHEMES[self.args.scheme]
        images, labels, what = self.held_out
        evaluator = Evaluator(model, normalization=self.normalization)  # reads the model's parameters as they are

        def accuracy():
            return evaluator.evaluate(images, labels).accuracy
        before = accuracy()
        originals = {name: p.value.copy() for name, p in model.named_parameters()}
        QuantizedCopy(model, scheme, args.bits, args.per_channel)  # writes the quantised weights into the model
        quantized = accuracy()
        model.load_state_dict(originals)
        print(f"fine-tuning {args.finetune_batches} batches of {BATCH_SIZE} through the {args.bits}-bit weights on "
              f"{self.description}")
        try:
            done, seconds = finetune_quantized(model, self.feed, self.batcher, args.finetune_batches, args.lr, scheme,
                                               args.bits, args.per_channel, stop=self.stop, progress=not args.quiet)
        except Diverged as diverged:
            raise HDLError(f"quantize: the fine-tune diverged: {diverged} (try a smaller --lr than {args.lr:g}); "
                           f"{args.out} not written") from None
        after = accuracy()
        self.stopped_by = self.stop.requested
        print(f"{what}: float32 {before:.2f}%, quantised {quantized:.2f}%, after {done} batches of fine-tuning "
              f"{after:.2f}% ({seconds:.0f} s)")
        if after < quantized:  # --lr 1000 left weights 75,000 times their size, saved without a word
            print(f"note: the fine-tune lowered the accuracy of the quantised weights ({quantized:.2f}% -> "
                  f"{after:.2f}%): try a smaller --lr than {args.lr:g}, or quantise without --finetune-batches",
                  file=sys.stderr)
        self.record = {"batches": done, "lr": args.lr, "seconds": seconds, "held_out": what,
                       "held_out_float32": before, "held_out_quantized": quantized, "held_out_finetuned": after}
        return self.record
