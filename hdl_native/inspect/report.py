"""All the pictures of one run: which files, their titles, and what to say when a table is empty."""
from pathlib import Path

from ..data.datasets import DATASETS
from ..errors import HDLError
from . import plots
from .logdb import DamagedLogError


def class_names(log, run, n_classes):
    """Names for n_classes confusion rows: the run's dataset classes when they fit, else a-z, 0-9 or numbers."""
    dataset = log.run_info(run).get("args", {}).get("dataset")
    if dataset in DATASETS and len(DATASETS[dataset].classes) == n_classes:
        return list(DATASETS[dataset].classes)
    if n_classes == 26:
        return list(DATASETS["letters"].classes)
    return [str(i) for i in range(n_classes)]


def run_title(log, run):
    """'letters-vals.sqlite3, run 3 (letters)' style title."""
    command = log.run_info(run).get("command")
    return f"{Path(log.path).name}, run {run}" + (f" ({command})" if command else "")


def write_run_plots(log, run, out, params=()):
    """Write every picture for one run into folder `out`; returns (written paths, notes about skipped pictures).

    params: (name, idx) pairs from parse_param_spec; a missing one raises HDLError before anything is drawn.
    """
    out = Path(out)
    title = run_title(log, run)
    histories = [(name, idx, log.parameter_history(run, name, idx)) for name, idx in params]
    training, validation = log.progress("training", run), log.progress("validation", run)
    written = [
        plots.plot_curves(out / "curves-batch.png", training, validation, "batchno", "batch", title),
        plots.plot_curves(out / "curves-time.png", training, validation, "elapsed", "wall time (s)", title),
    ]
    notes = []
    for name, idx, history in histories:
        written.append(plots.plot_parameter(out / f"param-{name}-{idx}.png", name, idx, history, title))
    try:
        first, last = log.logged_batches(run)
        written.append(plots.plot_squared_weights(out / "weights-squared.png", (first, log.snapshot(run, first)),
                                                  (last, log.snapshot(run, last)), title))
    except DamagedLogError:
        raise  # damage is for the user to know about, not a picture quietly left out
    except HDLError as error:
        notes.append(f"no squared-weight histogram: {error}")
    confusion = log.confusion(run)
    if confusion is None:
        notes.append(f"no confusion matrix: run {run} logged no test evaluation")
    else:
        from ..training.plots import save_confusion_png

        batchno, matrix = confusion
        written.append(save_confusion_png(out / "confusion.png", matrix, class_names(log, run, len(matrix)),
                                          title=f"{title}: test set after batch {batchno}"))
    return written, notes
