"""How far a test accuracy could move with other writers: a bootstrap interval that resamples whole writers.

A test split of 61 writers is a sample of the world's writers, and one writer's letters are not independent of
each other: a writer who never dots an i loses all of them, one with a neat hand gets nearly everything right.
So the accuracy another 61 writers would give varies more than the number of images suggests.  The bootstrap
(Efron and Tibshirani, "An Introduction to the Bootstrap", 1993) estimates that spread by drawing, many times,
as many writers as the split has, with replacement, and scoring each draw; resampling whole writers (a cluster
bootstrap) keeps each writer's letters together.  The interval is the central LEVEL share of the draws'
accuracies (the percentile interval).  Images whose writer is not recorded count as writers of one image each,
which is the plain image bootstrap when no writer is known: on such a split the interval is as narrow as one
that believed every image independent, and `describe_groups` says so.

`accuracy_interval(correct, writers)` -> (low, high) percent; `difference_interval(correct, other_correct,
writers)` -> (low, high) points between two readers of the same images (`evaluate --against`);
`describe_groups(writers, n)` names what was resampled.  Pure functions of their arrays and seed: the same inputs
give the same interval.
"""
import numpy as np

LEVEL = 0.95  # the share of the draws the interval holds
DRAWS = 2000  # resamples; the ends of a 95% interval move by about 0.04 points (sd) between seeds at this count
CHUNK = 100  # draws generated at once: (CHUNK, writers) indices in memory


def writer_groups(writers, n):
    """int64 (n,) group ids 0..G-1: one per known writer (id >= 0), one per image whose writer is -1 or unknown.

    writers: int (n,) writer ids, -1 where unknown, or None (no writer known)."""
    if writers is None:
        return np.arange(n, dtype=np.int64)
    writers = np.asarray(writers, dtype=np.int64)
    if writers.shape != (n,):
        raise ValueError(f"writers must be ({n},) like the images, got {writers.shape}")
    known = writers >= 0
    groups = np.empty(n, dtype=np.int64)
    _, dense = np.unique(writers[known], return_inverse=True)
    groups[known] = dense.reshape(-1)
    n_known = int(dense.max()) + 1 if dense.size else 0
    groups[~known] = n_known + np.arange(int((~known).sum()))
    return groups


def accuracy_interval(correct, writers=None, level=LEVEL, draws=DRAWS, seed=0):
    """(low, high): the percent accuracy's bootstrap interval, resampling whole writers.

    correct: bool (n,), n >= 1, whether each image was read right.  writers: int (n,) writer ids (-1 unknown) or
    None; see writer_groups.  level in (0, 1): the share of the `draws` resampled accuracies between low and high.
    """
    return resampled_interval(np.asarray(correct, dtype=bool).reshape(-1), writers, level, draws, seed)


def difference_interval(correct, other_correct, writers=None, level=LEVEL, draws=DRAWS, seed=0):
    """(low, high): the bootstrap interval of accuracy(correct) - accuracy(other_correct) in percentage points, two
    readings of the same n images (bool (n,) each) resampled together, whole writers at a time (paired: the writers
    both readers find hard are drawn for both, so the interval is narrower than the two accuracies' own)."""
    correct = np.asarray(correct, dtype=bool).reshape(-1)
    other_correct = np.asarray(other_correct, dtype=bool).reshape(-1)
    if correct.shape != other_correct.shape:
        raise ValueError(f"the two readings must be of the same images, got {correct.shape} and {other_correct.shape}")
    return resampled_interval(correct.astype(np.float64) - other_correct, writers, level, draws, seed)


def resampled_interval(values, writers, level, draws, seed):
    """(low, high), percent: the central `level` share of 100 x the mean of `values` (float (n,)) over `draws`
    resamples of the writer groups (writer_groups), each resample as many groups as there are, with replacement."""
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    if n == 0:
        raise ValueError("a bootstrap interval needs at least one image")
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    groups = writer_groups(writers, n)
    n_groups = int(groups.max()) + 1
    total = np.bincount(groups, weights=values, minlength=n_groups)
    size = np.bincount(groups, minlength=n_groups).astype(np.float64)
    rng = np.random.default_rng(seed)
    means = np.empty(draws)
    for start in range(0, draws, CHUNK):
        count = min(CHUNK, draws - start)
        drawn = rng.integers(0, n_groups, size=(count, n_groups))
        means[start:start + count] = total[drawn].sum(axis=1) / size[drawn].sum(axis=1)
    tail = (1 - level) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return 100.0 * float(low), 100.0 * float(high)


def describe_groups(writers, n):
    """What accuracy_interval resampled, as a phrase: '61 writers', '984 images' (no writer known), '72 writers
    and 4,684 images' (the images those writers did not write, each drawn alone)."""
    known = np.zeros(n, dtype=bool) if writers is None else np.asarray(writers) >= 0
    n_writers = len(np.unique(np.asarray(writers)[known])) if known.any() else 0
    unknown = int(n - known.sum())
    writers_phrase = f"{n_writers:,} writer{'' if n_writers == 1 else 's'}"
    images_phrase = f"{unknown:,} image{'' if unknown == 1 else 's'}"
    if n_writers == 0:
        return images_phrase
    if unknown == 0:
        return writers_phrase
    return f"{writers_phrase} and {images_phrase}"
