"""The confusion matrix as a PNG picture (matplotlib, Agg backend)."""
from pathlib import Path

import numpy as np

from ..pictures import pyplot, save_figure


def save_confusion_png(path, confusion, classes, title=""):
    """Write a C x C confusion matrix (rows = true, columns = predicted) as a heat map with counts; returns path."""
    plt = pyplot()

    path = Path(path)
    confusion = np.asarray(confusion)
    size = max(4.0, 0.32 * len(classes) + 2.0)
    figure, axes = plt.subplots(figsize=(size + 1.0, size))
    shown = np.log1p(confusion)  # log scale: the diagonal would otherwise drown every mistake
    image = axes.imshow(shown, cmap="viridis")
    axes.set_xticks(range(len(classes)), classes)
    axes.set_yticks(range(len(classes)), classes)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title)
    if len(classes) <= 30:
        for (row, col), count in np.ndenumerate(confusion):
            if count:
                axes.text(col, row, str(count), ha="center", va="center", fontsize=6,
                          color="black" if shown[row, col] > shown.max() * 0.6 else "white")
    figure.colorbar(image, ax=axes, label="log(1 + count)")
    figure.tight_layout()
    return save_figure(figure, path, dpi=110)
