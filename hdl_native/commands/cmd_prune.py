"""Prune a trained model: set its smallest weights to zero, then optionally fine-tune it with them held at zero.

Magnitude pruning of the weights (never the biases): --sparsity 0.7 zeroes the 70% of weights with
the smallest |w|, over the whole model (one threshold, so layers of small weights lose more) or with
--per-layer the same fraction of each layer.  With --finetune-epochs the pruned model trains that many
epochs on the training split with every setting STATE was trained with (optimiser, batch size, data and
its balancing, augmentation and distortions, decay, smoothing, mixup, weight average, validation) but
the number of epochs, its pruned weights kept at exactly zero.  --out is a state file like any trainer's,
holding the masks: `hdl-native letters OUT --epochs N` resumes the fine-tune (with the same optimiser
options) and keeps them, and `evaluate` and `ocr --model` read it as usual.  A fine-tune stopped by
Ctrl-C saves OUT and prints that command with the fine-tune's settings (`hdl-native digits OUT ...` for a
digit reader).  The three test accuracies printed (STATE, pruned, fine-tuned) are read as `evaluate`
reads each file.

A calibrated STATE's temperatures and int8 activation ranges were fitted to the unpruned network (the
shipped reader with 60% of its weights pruned read held-out letters with a calibration error of 15% at its
temperature, 1.5% at one fitted again), so OUT does not carry them: `hdl-native calibrate OUT --out
CALIBRATED` fits them to the pruned one.  The offset on 'other', a setting, is carried.

  hdl-native prune letters.hdl --sparsity 0.7 --finetune-epochs 5 --out letters-pruned.hdl
  hdl-native plot --prune-curve letters.hdl --out plots/     # accuracy against sparsity, no fine-tune
"""
# A pruned state starts a new training (--init or the fine-tune): STATE's position, optimiser and test report
# describe the unpruned model, and save_checkpoint writes the model description itself.
NOT_CARRIED = ("format_version", "architecture", "model_args", "optimizer", "test_report", "batch_counter", "epoch",
               "batcher_state", "rng_state", "train_seconds", "weight_average")
# What describes the fine-tune itself, not the recipe STATE was trained with: {RunConfig field: the fine-tune's}.
NOT_RECIPE = {"max_batches": None, "max_seconds": None, "train_from": None, "finetune": None, "resume": None,
              "export": None, "plot": None, "json_summary": False, "checkpoint_every": 60.0}
HELP = "magnitude-prune a trained model's weights (global or per layer), optionally fine-tune with them held at zero"


def add_arguments(parser):
    from hdl_native.cli_types import LEARNING_RATE, POSITIVE_INT, THREADS, THREADS_HELP, finite_float

    parser.add_argument("state", metavar="STATE", help="a state file saved by training (e.g. letters.hdl)")
    sparsity = finite_float(0, 1, high_inclusive=False)  # pruning every weight leaves nothing to fine-tune
    parser.add_argument("--sparsity", type=sparsity, required=True, metavar="S",
                        help=f"fraction of the weights to set to zero (e.g. 0.7), {sparsity.allowed}")
    parser.add_argument("--per-layer", action="store_true",
                        help="prune the same fraction of each layer (default: one threshold over all weights)")
    parser.add_argument("--finetune-epochs", type=POSITIVE_INT, default=None, metavar="E",
                        help=f"then train E epochs with the pruned weights held at zero, {POSITIVE_INT.allowed} "
                             "(default: no fine-tune)")
    parser.add_argument("--lr", type=LEARNING_RATE, default=None,
                        help=f"learning rate of the fine-tune, {LEARNING_RATE.allowed} (default: the one STATE was "
                             "trained with)")
    parser.add_argument("--out", required=True, metavar="STATE2", help="the pruned state file to write")
    parser.add_argument("--force", action="store_true", help="replace an existing STATE2")
    parser.add_argument("--data", metavar="DIR", default=None, help="data root (default: $HDL_DATA, else the cache)")
    parser.add_argument("--threads", type=THREADS, default=None, help=THREADS_HELP)
    parser.add_argument("--quiet", action="store_true", help="no progress bars (reading the test split, fine-tuning)")
    parser.add_argument("--json", action="store_true", help="print one JSON summary object on the last line")


def run(args):
    import sys
    from pathlib import Path

    from hdl_native.calibration import FITTED_ENTRIES
    from hdl_native.checkpoint import build_model, load_checkpoint, load_model, save_checkpoint
    from hdl_native.data import find_data_root
    from hdl_native.errors import HDLError
    from hdl_native.inspect.evaluation import evaluate_state
    from hdl_native.json_output import json_line
    from hdl_native.prune import PRUNE_MASKS, apply_masks, magnitude_masks, masks_for_state, weight_sparsity
    from hdl_native.threads import set_num_threads
    from hdl_native.training.config import recorded_lead_in, recorded_pairs, recorded_touching
    from hdl_native.training.outputs import check_derived_state
    from hdl_native.training.session import CARRIED_ENTRIES

    if args.lr is not None and not args.finetune_epochs:
        raise HDLError("--lr is the fine-tune's learning rate: give --finetune-epochs too, or drop --lr")
    out = Path(args.out)
    check_derived_state(out, args.state, args.force, "pruned state file")
    if args.threads is not None:
        set_num_threads(args.threads)
    checkpoint = load_checkpoint(args.state)
    model = build_model(checkpoint, args.state)
    # the fine-tune trains with the shares the state records: refuse a bad one before anything is written
    settings = checkpoint.get("settings") or {}
    shares = {"touching": recorded_touching(settings, args.state), "lead_in": recorded_lead_in(settings, args.state),
              "pairs": recorded_pairs(settings, args.state)} if args.finetune_epochs else {}
    meta = {key: value for key, value in checkpoint.items() if key != "params"}
    root = find_data_root(args.data)
    shown = not args.quiet
    before = evaluate_state(args.state, root, model_and_meta=(model, meta), augmented=False,
                            progress=shown).test_accuracy
    masks = magnitude_masks(model, args.sparsity, args.per_layer)
    apply_masks(model, masks)
    zeros, total = weight_sparsity(model)
    kept = {key: value for key, value in meta.items() if key not in NOT_CARRIED + FITTED_ENTRIES}
    kept["pruned_from"] = str(args.state)
    pruned = evaluate_state(args.state, root, model_and_meta=(model, kept), augmented=False,
                            progress=shown).test_accuracy
    scope = "in each layer" if args.per_layer else "over all weights"
    print(f"{args.state}: test accuracy {before:.2f}%; {zeros} of {total} weights zero ({100.0 * zeros / total:.1f}%, "
          f"{scope}): {pruned:.2f}%")
    save_checkpoint(out, model, None, **{**kept, PRUNE_MASKS: masks_for_state(masks)})
    fitted = (("temperatures", ("temperature", "shift_temperatures")), ("int8 activation ranges", ("int8_ranges",)))
    dropped = [words for words, keys in fitted if any(key in meta for key in keys)]
    if dropped:
        print(f"note: {args.state}'s {' and '.join(dropped)} were fitted to the unpruned network; {out} has none: "
              f"`hdl-native calibrate {out} --out CALIBRATED.hdl` fits them to the pruned one", file=sys.stderr)
    summary = {"state": str(out), "sparsity": zeros / total, "zero_weights": zeros, "weights": total,
               "per_layer": args.per_layer, "test_accuracy_before": before, "test_accuracy_pruned": pruned}
    if args.finetune_epochs:
        if fine_tune(args, checkpoint, out, shares, {key: kept[key] for key in CARRIED_ENTRIES if key in kept}):
            return 130
        tuned = load_model(out)  # with --ema-decay, holding the average the fine-tune tested, as evaluate reads it
        finetuned = evaluate_state(out, root, model_and_meta=tuned, augmented=False, progress=shown).test_accuracy
        summary["test_accuracy_finetuned"] = finetuned
        weights = dict(tuned[0].named_parameters())
        zeros_after = int(sum((weights[name].value == 0).sum() for name in masks))
        summary["zero_weights_after_finetune"] = zeros_after
        print(f"after {args.finetune_epochs} epochs of fine-tuning: {finetuned:.2f}%, {zeros_after} weights zero; "
              f"wrote {out}")
    else:
        print(f"wrote {out}")
    if args.json:
        print(json_line(summary))
    return 0


def fine_tune(args, checkpoint, out, shares, carried):
    """Train the pruned state `out` in place for --finetune-epochs with the recipe `checkpoint`'s settings record
    (its --touching, --lead-in and --pairs shares checked beforehand: `shares`, by RunConfig field), saving the
    `carried` entries (session.CARRIED_ENTRIES) with it; returns True when a signal stopped it (the state is
    saved)."""
    from dataclasses import replace

    from hdl_native.checkpoint import architecture_of, build_model
    from hdl_native.commands.cmd_calibrate import run_config_of
    from hdl_native.training.config import OptimizerChoice
    from hdl_native.training.interrupt import StopOnSignal
    from hdl_native.training.session import Session
    from hdl_native.training.start import training_words

    settings = checkpoint.get("settings") or {}
    saved_choice = settings.get("optimizer")
    choice = OptimizerChoice(**saved_choice) if isinstance(saved_choice, dict) else OptimizerChoice()
    if args.lr is not None:
        choice = replace(choice, lr=args.lr)
    config = run_config_of({
        **settings, **NOT_RECIPE, **shares,
        "dataset": settings.get("dataset") or checkpoint.get("dataset") or "letters",
        "command": checkpoint.get("command") or "letters", "architecture": architecture_of(build_model(checkpoint)),
        "data_root": args.data, "epochs": args.finetune_epochs, "init": str(out), "out": str(out), "force": True,
        "db": None, "threads": args.threads, "progress": not args.quiet})
    config = replace(config, optimizer=choice)
    # the words the hint a signal prints repeats, so that it goes on with this fine-tune's settings
    config = replace(config, command_line=training_words(config, command_parser(config.command)))
    session = Session(config)
    session.carried = carried
    session.setup()
    if session.train() in StopOnSignal.SIGNALS:
        return True
    session.report()
    return False


def command_parser(name):
    """The argument parser of `hdl-native NAME` (its options and their defaults)."""
    from argparse import Namespace

    from hdl_native.cli import build_parser, chosen_parser

    return chosen_parser(build_parser(name), Namespace(command=name))
