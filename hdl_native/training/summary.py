"""What a finished run prints about its test: the summary numbers, a sample drawn in ASCII, the confusion PNG."""
from pathlib import Path

import numpy as np

from ..threads import get_num_threads
from ..weights import count_small_parameters
from .evaluate import per_source_accuracy


def test_summary(trainer, test_set, result, test_seconds, small_before):
    """The JSON summary of a run whose model `trainer` trained and `result` (an Evaluation) tested on test_set."""
    model = trainer.model
    summary = {
        "command": trainer.config.command, "dataset": test_set.name, "test_accuracy": result.accuracy,
        "top2_accuracy": result.top2_accuracy, "test_loss": result.loss, "test_images": len(test_set),
        "epochs": trainer.batch_counter / trainer.batches_per_epoch, "batches": trainer.batch_counter,
        "train_seconds": trainer.train_seconds, "run_train_seconds": trainer.run_seconds,
        "images_per_s": training_speed(trainer), "test_seconds": test_seconds,
        "threads": get_num_threads(), "stopped_by": trainer.stopped_by,
        "params_squared_below_1e-4": {"before": small_before, "after": count_small_parameters(model),
                                      "total": model.num_parameters()},
    }
    by_source = per_source_accuracy(test_set, result.predictions)
    if by_source:
        summary["per_source"] = by_source
    return summary


def training_speed(trainer):
    """Images trained per second in this run; None when it trained none (a resumed state already past its plan),
    where a rate of 0 would be no measurement at all."""
    return trainer.images_trained / trainer.run_seconds if trainer.images_trained and trainer.run_seconds else None


def stopped_summary(trainer, dataset, stopped_by, **details):
    """The JSON summary of a run stopped before its test (by a signal, or because it diverged): what was measured
    up to then, marked by stopped_by, so that a program reading --json still gets a last line to parse.  No test
    figures, which were not measured; the last validation's when there was one.  details: added as they are."""
    summary = {"command": trainer.config.command, "dataset": dataset, "stopped_by": stopped_by,
               "batches": trainer.batch_counter, "epochs": trainer.batch_counter / trainer.batches_per_epoch,
               "train_seconds": trainer.train_seconds, "run_train_seconds": trainer.run_seconds,
               "images_per_s": training_speed(trainer), "threads": get_num_threads(), **details}
    if trainer.last_validation is not None:
        summary["last_validation"] = trainer.last_validation
    return summary


def add_log_overhead(summary, trainer):
    """Add how long the SQLite log took (log_seconds, log_overhead_percent) to `summary` and print it."""
    if trainer.run_seconds <= trainer.log_seconds:
        return
    summary["log_seconds"] = trainer.log_seconds
    summary["log_overhead_percent"] = 100.0 * trainer.log_seconds / (trainer.run_seconds - trainer.log_seconds)
    print(f"SQLite logging took {trainer.log_seconds:.2f} s, "
          f"{summary['log_overhead_percent']:.1f}% on top of the rest of training")


def print_results(summary, test_set, model):
    """The closing lines: test accuracy, speed, and how many parameters are small."""
    small = summary["params_squared_below_1e-4"]
    speed = summary["images_per_s"]
    print(f"test accuracy {summary['test_accuracy']:.2f}% (top-2 {summary['top2_accuracy']:.2f}%) on "
          f"{len(test_set)} {test_set.name} test images after {summary['epochs']:.2f} epochs; training took "
          f"{summary['train_seconds']:.1f} s " + (f"({speed:.0f} images/s)" if speed is not None
                                                   else "(none of it in this run)"))
    for name, part in summary.get("per_source", {}).items():
        print(f"  {name:>12} test: {part['accuracy']:6.2f}% of {part['images']} images")
    print(f"parameters with squared value < 1e-4: {small['before']} before, {small['after']} after "
          f"(of {model.num_parameters()})")


def print_sample(test_set, result, index=None):
    """Draw one test image in ASCII with its prediction, as the tutorial does."""
    from ..pictures import ascii_image

    index = int(np.random.default_rng().integers(len(test_set))) if index is None else index
    predicted, true = int(result.predictions[index]), int(test_set.labels[index])
    confidence = 100.0 * float(np.exp(result.log_probs[index, predicted]))
    print(ascii_image(test_set.images[index]))
    print(f"test image {index}: predicted '{test_set.classes[predicted]}' ({confidence:.1f}%), "
          f"true '{test_set.classes[true]}'" + ("" if predicted == true else "  <- wrong"))


def plot_name(command):
    """The file name write_plots gives the confusion matrix."""
    return f"{command}-confusion.png"


def write_plots(directory, command, test_set, result):
    """The confusion matrix as DIRECTORY/COMMAND-confusion.png."""
    from .plots import save_confusion_png

    path = save_confusion_png(Path(directory) / plot_name(command), result.confusion, test_set.classes,
                              title=f"{command}: {test_set.name} test, {result.accuracy:.2f}% correct")
    print(f"wrote {path}")
