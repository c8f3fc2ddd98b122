"""Chapter 1: a linear network, configured by hand, that tells a 3 from a 7.

The story:

1. Take every 3 and every 7 of the training split, pixels scaled to 0..1.
2. Average them: the average 3 and the average 7 are fuzzy pictures of the digits.
3. weights = average 7 - average 3.  Red (positive) pixels are where a 7 usually has ink
   and a 3 does not; blue (negative) pixels the other way round.
4. The score of an image is sum(weights * image), one number; predict "7" when the score
   is above the bias, else "3".
5. With bias 0 the rule is biased towards 3 (both classes score low on average), so the
   tutorial moves the decision point to the midpoint between the mean score of the 3s and
   the mean score of the 7s, measured on the training split.
6. Count how often the rule is right on the 3s and 7s of the test split, with both biases.

Nothing is learned, so no gradients are needed: this is plain numpy, as the tutorial's own
program uses its tensors "raw" here.  Chapter 2 (learn37) lets the same network learn.
"""
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import HDLError

NEGATIVE_DIGIT, POSITIVE_DIGIT = "3", "7"
MAX_WRONG = 32


@dataclass
class ThreeOrSeven:
    """Everything the hand-configured network measured.

    average3, average7, weights: float64 (28, 28).  Scores are sum(weights * image).
    Accuracies are percentages over the 3s and 7s of the test split.
    wrong_images: up to MAX_WRONG test images (n, 28, 28) the midpoint rule gets wrong, with titles.
    """

    average3: np.ndarray
    average7: np.ndarray
    weights: np.ndarray
    train_scores3: np.ndarray
    train_scores7: np.ndarray
    test_scores3: np.ndarray
    test_scores7: np.ndarray
    midpoint: float
    accuracy_bias0: float
    accuracy_midpoint: float
    wrong_images: np.ndarray
    wrong_titles: list

    @property
    def mean_score3(self):
        return float(self.train_scores3.mean())

    @property
    def mean_score7(self):
        return float(self.train_scores7.mean())


def threes_and_sevens(dataset):
    """The 3s and 7s of a digits dataset as (pixels, is_seven).

    pixels: float32 (n, 28, 28) in 0..1, in dataset order; is_seven: bool (n,).
    Raises HDLError when the dataset has no digit classes "3" and "7" (e.g. letters).
    """
    if NEGATIVE_DIGIT not in dataset.classes or POSITIVE_DIGIT not in dataset.classes:
        raise HDLError(f"dataset {dataset.name!r} has classes {''.join(dataset.classes)}, not the digits 3 and 7; "
                       "use a digits dataset such as mnist or emnist-digits")
    three = dataset.classes.index(NEGATIVE_DIGIT)
    seven = dataset.classes.index(POSITIVE_DIGIT)
    chosen = (dataset.labels == three) | (dataset.labels == seven)
    if not np.any(dataset.labels[chosen] == three) or not np.any(dataset.labels[chosen] == seven):
        raise HDLError(f"dataset {dataset.name!r} ({dataset.split} split) holds no 3s or no 7s")
    pixels = dataset.images[chosen].astype(np.float32) / 255.0
    return pixels, dataset.labels[chosen] == seven


def scores(pixels, weights):
    """sum(weights * image) for every image: pixels (n, 28, 28), weights (28, 28) -> float64 (n,)."""
    return pixels.reshape(len(pixels), -1).astype(np.float64) @ weights.ravel()


def accuracy(scores_of_threes, scores_of_sevens, bias):
    """Percentage right when "7" is predicted for score > bias and "3" otherwise."""
    right = np.count_nonzero(scores_of_threes <= bias) + np.count_nonzero(scores_of_sevens > bias)
    return 100.0 * right / (len(scores_of_threes) + len(scores_of_sevens))


def run(train, test):
    """Configure the network on `train` (a digits Dataset) and measure it on `test`."""
    pixels, is_seven = threes_and_sevens(train)
    average3 = pixels[~is_seven].mean(axis=0, dtype=np.float64)
    average7 = pixels[is_seven].mean(axis=0, dtype=np.float64)
    weights = average7 - average3

    train_scores = scores(pixels, weights)
    train_scores3, train_scores7 = train_scores[~is_seven], train_scores[is_seven]
    midpoint = (train_scores3.mean() + train_scores7.mean()) / 2

    test_pixels, test_is_seven = threes_and_sevens(test)
    test_scores = scores(test_pixels, weights)
    test_scores3, test_scores7 = test_scores[~test_is_seven], test_scores[test_is_seven]
    wrong = np.flatnonzero((test_scores > midpoint) != test_is_seven)[:MAX_WRONG]
    return ThreeOrSeven(
        average3=average3, average7=average7, weights=weights,
        train_scores3=train_scores3, train_scores7=train_scores7,
        test_scores3=test_scores3, test_scores7=test_scores7,
        midpoint=float(midpoint),
        accuracy_bias0=accuracy(test_scores3, test_scores7, 0.0),
        accuracy_midpoint=accuracy(test_scores3, test_scores7, midpoint),
        wrong_images=test_pixels[wrong],
        wrong_titles=[f"a {POSITIVE_DIGIT if test_is_seven[i] else NEGATIVE_DIGIT}: {test_scores[i]:.1f}"
                      for i in wrong],
    )


def save_pictures(result, folder):
    """Write average-3.png, average-7.png, difference.png, scores.png and misclassified.png into `folder`.

    Returns the paths written.
    """
    from ..pictures import save_grid, save_histogram, save_image

    folder = Path(folder)
    return [
        save_image(folder / "average-3.png", result.average3),
        save_image(folder / "average-7.png", result.average7),
        save_image(folder / "difference.png", result.weights, signed=True),
        save_histogram(folder / "scores.png",
                       {"3 (test)": result.test_scores3, "7 (test)": result.test_scores7},
                       title="threeorseven: scores sum(weights * image) of the test 3s and 7s",
                       xlabel="score", lines={"bias 0": 0.0, "midpoint": result.midpoint}),
    ] + ([save_grid(folder / "misclassified.png", result.wrong_images, titles=result.wrong_titles,
                    title=f"test images the midpoint rule gets wrong (true digit: score; midpoint "
                          f"{result.midpoint:.1f})")] if len(result.wrong_images) else [])
