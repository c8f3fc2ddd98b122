"""PNG pictures of a training run from its SQLite log (matplotlib with the Agg backend, imported lazily)."""

import numpy as np

from ..pictures import pyplot, save_figure
from ..weights import SMALL_SQUARE  # squared values below this count as "decayed away"


def save(figure, path):
    """Lay out, write as PNG and close `figure`; returns the path (HDLError when it cannot be written)."""
    figure.tight_layout()
    return save_figure(figure, path, dpi=110)


def running_mean(values, window):
    """Mean of the last `window` values at each position (shorter at the start): float (n,) -> (n,)."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) == 0:
        return values
    sums = np.cumsum(np.concatenate([[0.0], values]))
    ends = np.arange(1, len(values) + 1)
    starts = np.maximum(0, ends - window)
    return (sums[ends] - sums[starts]) / (ends - starts)


def plot_curves(path, training, validation, x_field, x_label, title):
    """Accuracy and loss of training (raw and smoothed) and validation against x_field ('batchno' or 'elapsed')."""
    plt = pyplot()
    figure, (accuracy_axes, loss_axes) = plt.subplots(2, 1, figsize=(9, 7), sharex=True)
    window = max(1, len(training["batchno"]) // 50)
    for axes, field, label in ((accuracy_axes, "corperc", "accuracy (%)"), (loss_axes, "avgloss", "mean loss")):
        if len(training[field]):
            axes.plot(training[x_field], training[field], color="tab:blue", alpha=0.25, linewidth=0.7,
                      label="training (per batch)")
            axes.plot(training[x_field], running_mean(training[field], window), color="tab:blue", linewidth=1.5,
                      label=f"training (mean of {window} batches)")
        if len(validation[field]):
            axes.plot(validation[x_field], validation[field], "o-", color="tab:orange", markersize=3,
                      label="validation")
        axes.set_ylabel(label)
        axes.grid(alpha=0.3)
        axes.legend(loc="best", fontsize=8)
    if len(training["avgloss"]) and (training["avgloss"] > 0).all():
        loss_axes.set_yscale("log")
    loss_axes.set_xlabel(x_label)
    accuracy_axes.set_title(title)
    return save(figure, path)


def plot_parameter(path, name, idx, history, title):
    """Each logged element of (name, idx) over batches: values above, gradients below.

    history: (batchnos (B,), rows (E,), cols (E,), values (B, E), grads (B, E)) from LogDB.parameter_history.
    """
    batchnos, rows, cols, values, grads = history
    plt = pyplot()
    figure, (value_axes, grad_axes) = plt.subplots(2, 1, figsize=(9, 7), sharex=True)
    colours = plt.get_cmap("viridis")(np.linspace(0, 1, max(1, len(rows))))
    label_each = len(rows) <= 16
    for element, (row, col) in enumerate(zip(rows, cols)):
        label = f"[{row},{col}]" if label_each else None
        value_axes.plot(batchnos, values[:, element], color=colours[element], linewidth=1, label=label)
        grad_axes.plot(batchnos, grads[:, element], color=colours[element], linewidth=0.8)
    value_axes.set_ylabel("value")
    grad_axes.set_ylabel("gradient")
    grad_axes.set_xlabel("batch")
    if label_each:
        value_axes.legend(loc="best", fontsize=7, ncol=3, title="[row,col]")
    for axes in (value_axes, grad_axes):
        axes.grid(alpha=0.3)
    value_axes.set_title(f"{title}\n{name} index {idx}: {len(rows)} elements over {len(batchnos)} logged batches")
    return save(figure, path)


def plot_squared_weights(path, first, last, title):
    """Histogram of log10(w^2) and its cumulative fraction, at the first and the last logged batch.

    first, last: (batch number, logged weight values (n,)).
    """
    (first_batch, first_values), (last_batch, last_values) = first, last
    plt = pyplot()
    figure, (histogram_axes, cumulative_axes) = plt.subplots(2, 1, figsize=(9, 7))
    squares = [np.square(first_values), np.square(last_values)]
    positive = np.concatenate([s[s > 0] for s in squares]) if any((s > 0).any() for s in squares) else np.ones(1)
    floor = np.percentile(positive, 0.1)  # a few near-zero weights would otherwise stretch the axis over 10 decades
    low, high = np.log10(floor), np.log10(positive.max())
    bins = np.linspace(low, max(high, low + 1e-9), 80)
    for batch, square, colour in ((first_batch, squares[0], "tab:gray"), (last_batch, squares[1], "tab:red")):
        small = int((square < SMALL_SQUARE).sum())
        label = f"batch {batch}: {small} of {len(square)} below {SMALL_SQUARE:g}"
        logs = np.log10(np.maximum(square, floor))
        histogram_axes.hist(logs, bins=bins, histtype="step", color=colour, linewidth=1.3, label=label)
        ordered = np.sort(logs)
        cumulative_axes.plot(ordered, np.arange(1, len(ordered) + 1) / max(1, len(ordered)), color=colour,
                             label=label)
    for axes in (histogram_axes, cumulative_axes):
        axes.axvline(np.log10(SMALL_SQUARE), color="black", linestyle=":", linewidth=1)
        axes.grid(alpha=0.3)
        axes.legend(loc="upper left", fontsize=8)
    histogram_axes.set_ylabel("number of weights")
    cumulative_axes.set_ylabel("fraction of weights with a smaller square")
    cumulative_axes.set_xlabel(f"log10(weight^2)  (values below {floor:.1e} drawn at the left edge)")
    histogram_axes.set_title(f"{title}\nsquared weights as logged (conv weights are summed over input channels)")
    return save(figure, path)


def plot_prune_curve(path, curves, title):
    """Test accuracy against the share of weights pruned.  curves: {label: [(sparsity 0..1, accuracy %)]}."""
    plt = pyplot()
    figure, axes = plt.subplots(figsize=(8, 5))
    for label, curve in curves.items():
        sparsities, accuracies = zip(*curve)
        axes.plot(100 * np.asarray(sparsities), accuracies, "o-", markersize=3, label=label)
    axes.set_xlabel("weights set to zero (%)")
    axes.set_ylabel("test accuracy (%)")
    axes.grid(alpha=0.3)
    axes.legend(loc="lower left")
    axes.set_title(title, fontsize=9)
    return save(figure, path)
