"""The command-line front end shared by `hdl-native digits` and `hdl-native letters`.

A session reads the data, builds (or resumes) the model and optimiser,
trains with ``Trainer``, evaluates on the whole test split and reports: a
validation line per interval, the confusion matrix, a sample drawn in ASCII
with its prediction, optionally PNGs, and one JSON summary line.
"""
import json
import sqlite3
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..checkpoint import architecture_of, load_checkpoint, load_params, save_checkpoint
from ..data import augment, find_data_root, load_dataset
from ..errors import HDLError
from ..models import MODELS
from ..optim import SGD, Adam
from ..threads import get_num_threads, set_num_threads
from .evaluate import MEAN, STD, Evaluator, format_confusion
from .interrupt import StopOnSignal
from .loop import Trainer, TrainSettings, count_small_parameters
from .sqlite_log import SqliteLog


@dataclass
class OptimizerChoice:
    """Which optimiser and step size the command line asked for."""

    kind: str        # 'sgd', 'momentum' or 'adam'
    lr: float
    momentum: float = 0.0


def add_training_arguments(parser, command, default_epochs, default_validate_every, default_db=None):
    """Options every trainer command shares (the optimiser options are the command's own)."""
    parser.add_argument("--batch-size", type=int, default=64, help="images per batch (default: 64)")
    parser.add_argument("--epochs", type=int, default=default_epochs,
                        help=f"epochs to train in total, counting those of a resumed state (default: {default_epochs})")
    parser.add_argument("--max-minutes", type=float, default=None, help="stop after this many minutes of training")
    parser.add_argument("--max-batches", type=int, default=None,
                        help="stop once this many batches have been trained in total (counting a resumed state's)")
    parser.add_argument("--lr-schedule", choices=("constant", "cosine"), default="constant",
                        help="constant learning rate, or cosine decay to 0 over the planned epochs "
                             "(or over --max-minutes when that comes first) (default: constant)")
    parser.add_argument("--weight-decay", type=float, default=0.0, metavar="FACTOR",
                        help="add FACTOR x (sum of squared weights) to the mean batch loss; weights only, biases "
                             "are not included.  The tutorial used 0.02: switched on at full strength from the "
                             "first batch it pulls every weight to zero before the network has learnt anything "
                             "and training collapses to chance; ramped in (--weight-decay-warmup) or applied to a "
                             "trained model it costs 1 to 4 points on the letters set (and can still collapse), 0.001 "
                             "costs 0.2 (BENCHMARKS.md) (default: 0)")
    parser.add_argument("--weight-decay-warmup", type=float, default=0.0, metavar="EPOCHS",
                        help="raise the weight-decay factor linearly from 0 to FACTOR over this many epochs "
                             "(counted from the first batch of this model's training) (default: 0, full "
                             "strength at once)")
    parser.add_argument("--mut-on-learn", action="store_true",
                        help="augment training images: random shift of -2..+2 pixels each way and 5 flipped pixels")
    parser.add_argument("--distort", type=float, default=0.0, metavar="STRENGTH",
                        help="also distort training images: rotation, shear, anisotropic scale, translation, "
                             "elastic warp and stroke width, ranges scaled by STRENGTH (1 = up to 15 degrees, "
                             "shear 0.3, scale 0.8-1.15; see hdl_native/data/distort.py) (default: 0, off)")
    parser.add_argument("--mut-on-validate", action="store_true",
                        help="augment validation images too, and report accuracy on augmented test images")
    parser.add_argument("--validate-every", type=int, default=default_validate_every,
                        help=f"validate every this many batches (default: {default_validate_every})")
    parser.add_argument("--val-size", type=int, default=1000,
                        help="images in the validation sample, drawn once from the test split like the tutorial "
                             "(it is only watched, never used to choose anything) (default: 1000)")
    parser.add_argument("--holdout", type=int, default=0, metavar="N",
                        help="validate on N training images held out from training instead of on the test sample")
    parser.add_argument("--threads", type=int, default=None, help="kernel threads (default: all cores)")
    parser.add_argument("--out", metavar="STATE", default=None,
                        help=f"state file to write (default: the resumed STATE, else {command}.hdl)")
    parser.add_argument("--checkpoint-every", type=float, default=60.0, metavar="SECONDS",
                        help="save the state this often while training (default: 60); always on exit and Ctrl-C")
    parser.add_argument("--init", metavar="STATE", default=None,
                        help="start from this state's parameters with a fresh optimiser and counter (fine-tuning)")
    db_help = (f"SQLite file for chapter 6's inspection tables (default: {default_db})" if default_db
               else "SQLite file for chapter 6's inspection tables (default: no logging)")
    parser.add_argument("--db", metavar="FILE", default=default_db, help=db_help)
    parser.add_argument("--no-db", action="store_true", help="do not write the SQLite log")
    parser.add_argument("--export", metavar="FILE", default=None,
                        help="also write the trained model alone (no optimiser state; small) with its test accuracy")
    parser.add_argument("--plot", metavar="DIR", default=None, help="write the confusion matrix (and samples) as PNG here")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--json", action="store_true", help="print one JSON summary object on the last line")


def run_training(args, command, architecture, choice, dropout=0.0):
    """Run a whole training session from parsed arguments; returns the exit code (130 when interrupted)."""
    wall_started = time.perf_counter()
    if args.threads is not None:
        if args.threads < 1:
            raise HDLError(f"--threads must be at least 1, got {args.threads}")
        set_num_threads(args.threads)
    check_arguments(args)
    root = find_data_root(args.data)
    train_set = load_dataset(args.dataset, "train", root)
    test_set = load_dataset(args.dataset, "test", root)
    train_images, train_labels = train_set.images, train_set.labels
    if getattr(args, "train_from", None):
        train_images, train_labels = load_synthetic(args.train_from, train_set.n_classes)
    train_images, train_labels, validation = split_validation(args, train_images, train_labels, test_set)

    resumed = load_checkpoint(args.state) if getattr(args, "state", None) else None
    model = make_model(architecture, train_set.n_classes, dropout, args.seed)
    optimizer = make_optimizer(model, choice)
    start_from(model, optimizer, resumed, args, train_set)

    out = Path(args.out or getattr(args, "state", None) or f"{command}.hdl")
    settings = TrainSettings(
        batch_size=args.batch_size, epochs=args.epochs, max_batches=args.max_batches,
        max_seconds=args.max_minutes * 60.0 if args.max_minutes else None,
        weight_decay=args.weight_decay, weight_decay_warmup=args.weight_decay_warmup,
        augment=args.mut_on_learn, augment_validation=args.mut_on_validate, distort=args.distort,
        lr_schedule=args.lr_schedule, validate_every=args.validate_every, checkpoint_every=args.checkpoint_every,
        seed=args.seed, progress=not args.quiet)
    extras = {"classes": list(train_set.classes), "dataset": train_set.name,
              "normalization": {"mean": MEAN, "std": STD}, "command": command,
              "settings": {k: v for k, v in vars(args).items() if k != "run"}}

    def checkpoint(trainer):
        save_checkpoint(out, model, optimizer, **extras, **trainer.state())

    log = open_log(args, command)
    try:
        return train_and_report(args, command, model, optimizer, choice, resumed, train_set, test_set,
                                (train_images, train_labels, validation), settings, checkpoint, log,
                                out, extras, wall_started)
    finally:
        if log is not None:
            log.close()


def train_and_report(args, command, model, optimizer, choice, resumed, train_set, test_set, data, settings,
                     checkpoint, log, out, extras, wall_started):
    train_images, train_labels, validation = data
    small_before = count_small_parameters(model)
    print(f"{command}: {type(model).__name__} with {model.num_parameters()} parameters on {train_set.name} "
          f"({len(train_labels)} training images), {choice.kind} lr {choice.lr:g}, batch {args.batch_size}, "
          f"{get_num_threads()} threads" + (f", resuming {args.state}" if resumed else ""))
    with StopOnSignal() as stop_flag:
        trainer = Trainer(model, optimizer, train_images, train_labels, settings, validation=validation, log=log,
                          checkpoint=checkpoint, stop_flag=stop_flag)
        if resumed is not None:
            resume_position(trainer, resumed, args.state)
        reason = trainer.run()
    if reason in StopOnSignal.SIGNALS:
        print(f"{command}: stopped by {reason} after batch {trainer.batch_counter}; state saved to {out} "
              f"(continue with: hdl-native {command} {out})", file=sys.stderr)
        return 130
    report = final_report(args, command, trainer, test_set, log, small_before)
    report["wall_seconds"] = time.perf_counter() - wall_started
    report["state"] = str(out)
    if log is not None:
        report["db"] = str(args.db)
    if args.export:
        save_checkpoint(args.export, model, None, **{**extras, **trainer.state(), "test_report": report})
        print(f"wrote the model to {args.export}")
    if args.json:
        print(json.dumps(report))
    return 0


def check_arguments(args):
    for name in ("batch_size", "epochs", "validate_every", "val_size"):
        if getattr(args, name) < 1:
            raise HDLError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    for name in ("weight_decay", "weight_decay_warmup", "distort"):
        if getattr(args, name) < 0:
            raise HDLError(f"--{name.replace('_', '-')} must not be negative, got {getattr(args, name)}")
    if args.max_minutes is not None and args.max_minutes <= 0:
        raise HDLError(f"--max-minutes must be positive, got {args.max_minutes}")


def load_synthetic(directory, n_classes):
    """uint8 images (N, 28, 28) and int64 labels (N,) that `hdl-native synth-letters --out DIR` wrote."""
    from ..data import read_idx
    from ..synth.generator import IMAGES_FILE, LABELS_FILE

    images = read_idx(Path(directory) / IMAGES_FILE, expected_magic=2051)
    labels = read_idx(Path(directory) / LABELS_FILE, expected_magic=2049).astype(np.int64)
    if len(images) != len(labels):
        raise HDLError(f"{directory}: {len(images)} synthetic images but {len(labels)} labels")
    if labels.size and labels.max() >= n_classes:
        raise HDLError(f"{directory}: label {labels.max()} does not fit {n_classes} classes")
    return images, labels


def split_validation(args, images, labels, test_set):
    """(training images, training labels, (validation images, labels)) per --holdout / --val-size."""
    rng = np.random.default_rng([args.seed, 3])
    if args.holdout:
        if not 0 < args.holdout < len(labels):
            raise HDLError(f"--holdout {args.holdout} must be between 1 and {len(labels) - 1}")
        order = rng.permutation(len(labels))
        held, kept = np.sort(order[:args.holdout]), np.sort(order[args.holdout:])
        return images[kept], labels[kept], (images[held], labels[held])
    sample = np.sort(rng.permutation(len(test_set))[:args.val_size])  # the test labels may be sorted by class
    return images, labels, (test_set.images[sample], test_set.labels[sample])


def make_model(architecture, n_classes, dropout, seed):
    if architecture == "letters-cnn":
        return MODELS[architecture](n_classes=n_classes, dropout=dropout, seed=seed)
    if dropout:
        raise HDLError(f"--dropout applies to the CNN only, not to {architecture}")
    return MODELS[architecture](n_classes=n_classes, seed=seed)


def make_optimizer(model, choice):
    if choice.lr <= 0:
        raise HDLError(f"the learning rate must be positive, got {choice.lr}")
    if choice.kind == "adam":
        return Adam(model, lr=choice.lr)
    return SGD(model, lr=choice.lr, momentum=choice.momentum if choice.kind == "momentum" else 0.0)


def start_from(model, optimizer, resumed, args, train_set):
    """Load a resumed state (parameters, optimiser) or --init parameters into the fresh model and optimiser."""
    if resumed is not None and args.init:
        raise HDLError("give either a STATE to resume or --init, not both")
    source, path = (resumed, args.state) if resumed is not None else (None, args.init)
    if source is None and path:
        source = load_checkpoint(path)
    if source is None:
        return
    if source["architecture"] != architecture_of(model):
        raise HDLError(f"{path} holds a {source['architecture']} model, this command trains a {architecture_of(model)}")
    if source.get("classes") is not None and len(source["classes"]) != train_set.n_classes:
        raise HDLError(f"{path} was trained for {len(source['classes'])} classes, "
                       f"dataset {train_set.name} has {train_set.n_classes}")
    load_params(model, source["params"], path)
    if resumed is None:
        return
    saved = resumed.get("optimizer")
    if saved is not None and saved.get("kind") == type(optimizer).__name__:
        optimizer.load_state_dict(saved)
    elif saved is not None:
        print(f"note: {path} was trained with {saved.get('kind')}; starting {type(optimizer).__name__} afresh",
              file=sys.stderr)


def resume_position(trainer, state, path):
    """Put the trainer where the saved run stopped, or say clearly why that is impossible."""
    if "batch_counter" not in state or "batcher_state" not in state:
        raise HDLError(f"{path} holds a model but no training position; start from it with --init instead")
    try:
        trainer.load_state(state)
    except ValueError as error:
        raise HDLError(f"cannot resume {path}: {error} (resume with the same --batch-size and training data, "
                       "or start from its parameters with --init)") from None


def open_log(args, command):
    if args.no_db or not args.db:
        return None
    try:
        return SqliteLog(args.db, command, {k: v for k, v in vars(args).items() if k != "run"})
    except sqlite3.Error as error:
        raise HDLError(f"cannot write the SQLite log {args.db}: {error}") from None


def final_report(args, command, trainer, test_set, log, small_before):
    """Evaluate on the whole test split, print the results, return the JSON summary dict."""
    model = trainer.model
    evaluator = trainer.evaluator or Evaluator(model)
    test_started = time.perf_counter()
    result = evaluator.evaluate(test_set.images, test_set.labels)
    test_seconds = time.perf_counter() - test_started
    if log is not None:
        log.log_confusion(trainer.batch_counter, result.confusion)
    print(format_confusion(result.confusion, test_set.classes))
    print_sample(test_set, result)
    images_per_s = trainer.images_trained / trainer.run_seconds if trainer.run_seconds else 0.0
    small_after = count_small_parameters(model)
    report = {
        "command": command, "dataset": test_set.name, "test_accuracy": result.accuracy,
        "top2_accuracy": result.top2_accuracy, "test_loss": result.loss, "test_images": len(test_set),
        "epochs": trainer.batch_counter / trainer.batches_per_epoch, "batches": trainer.batch_counter,
        "train_seconds": trainer.train_seconds, "run_train_seconds": trainer.run_seconds,
        "images_per_s": images_per_s, "test_seconds": test_seconds,
        "threads": get_num_threads(), "stopped_by": trainer.stopped_by,
        "params_squared_below_1e-4": {"before": small_before, "after": small_after,
                                      "total": model.num_parameters()},
    }
    if log is not None and trainer.run_seconds > trainer.log_seconds:
        report["log_seconds"] = trainer.log_seconds
        report["log_overhead_percent"] = 100.0 * trainer.log_seconds / (trainer.run_seconds - trainer.log_seconds)
        print(f"SQLite logging took {trainer.log_seconds:.2f} s, "
              f"{report['log_overhead_percent']:.1f}% on top of the rest of training")
    if args.mut_on_learn or args.mut_on_validate:
        mutated = evaluator.evaluate(augment(test_set.images, np.random.default_rng([args.seed, 4])), test_set.labels)
        report["augmented_test_accuracy"] = mutated.accuracy
        print(f"accuracy on augmented (shifted/flipped) test images: {mutated.accuracy:.2f}%")
    print(f"test accuracy {result.accuracy:.2f}% (top-2 {result.top2_accuracy:.2f}%) on {len(test_set)} "
          f"{test_set.name} test images after {report['epochs']:.2f} epochs; training took "
          f"{trainer.train_seconds:.1f} s ({images_per_s:.0f} images/s)")
    print(f"parameters with squared value < 1e-4: {small_before} before, {small_after} after "
          f"(of {model.num_parameters()})")
    if args.plot:
        write_plots(Path(args.plot), command, test_set, result)
    return report


def print_sample(test_set, result, index=None):
    """Draw one test image in ASCII with its prediction, as the tutorial does."""
    from ..pictures import ascii_image

    index = int(np.random.default_rng().integers(len(test_set))) if index is None else index
    predicted, true = int(result.predictions[index]), int(test_set.labels[index])
    confidence = 100.0 * float(np.exp(result.log_probs[index, predicted]))
    print(ascii_image(test_set.images[index]))
    print(f"test image {index}: predicted '{test_set.classes[predicted]}' ({confidence:.1f}%), "
          f"true '{test_set.classes[true]}'" + ("" if predicted == true else "  <- wrong"))


def write_plots(directory, command, test_set, result):
    from .plots import save_confusion_png

    path = save_confusion_png(directory / f"{command}-confusion.png", result.confusion, test_set.classes,
                              title=f"{command}: {test_set.name} test, {result.accuracy:.2f}% correct")
    print(f"wrote {path}")
