"""The training images as the graph takes them: normalised float32 batches, mutated when the config asks.

Without augmentation, distortion, touching neighbours, pairs or lead-in strokes every batch is a plain gather from
the split normalised once, up front; with them each batch is mutated from the uint8 images by its own seeded
generator, whose state a checkpoint saves so that a resumed run draws the same mutations.
"""
import numpy as np

from ..data import augment, normalize
from ..data.datasets import NOT_A_LETTER, PAIR
from ..data.distort import distort, distort_by_label
from ..data.lead_in import lead_in_strokes
from ..data.touching import touch_neighbours, whole_pairs
from ..errors import HDLError


def class_distortions(config, classes):
    """float (n_classes,): each class's distortion strength, --distort's but --distort-other's for the class
    'other' (digits and marks); None when --distort-other is not given.  HDLError when the classes have no
    'other'."""
    if config.distort_other is None:
        return None
    classes = list(classes)
    if NOT_A_LETTER not in classes:
        raise HDLError(f"--distort-other {config.distort_other:g}: dataset {config.dataset!r} has no class "
                       f"'{NOT_A_LETTER}' (add nonletters to the mixture, e.g. --dataset letters,nonletters)")
    strengths = np.full(len(classes), config.distort, dtype=np.float64)
    strengths[classes.index(NOT_A_LETTER)] = config.distort_other
    return strengths


def pair_label(config, classes):
    """The label of the class PAIR that --pairs gives the pairs it makes (the last class), or None without --pairs.
    HDLError when the classes lack it, or 'other', which `ocr` reads a pair as."""
    if not config.pairs:
        return None
    classes = list(classes)
    if NOT_A_LETTER not in classes:
        raise HDLError(f"--pairs {config.pairs:g}: dataset {config.dataset!r} has no class '{NOT_A_LETTER}', which "
                       f"a reader reads a pair as (add nonletters to the mixture, e.g. --dataset letters,nonletters)")
    if classes[-1] != PAIR:
        raise HDLError(f"--pairs {config.pairs:g}: the model has no class '{PAIR}' ({len(classes)} classes, the "
                       f"last {classes[-1]!r}); a reader learns it from its first training with --pairs")
    return len(classes) - 1


def normalize_all(images, chunk=4096):
    """The whole uint8 split (N, 28, 28) normalised to float32 (N, 1, 28, 28), a chunk at a time to bound memory."""
    out = np.empty((len(images), 1) + tuple(images.shape[1:]), dtype=np.float32)
    for start in range(0, len(images), chunk):
        out[start:start + chunk] = normalize(images[start:start + chunk])
    return out


class TrainingFeed:
    """Batches of uint8 images (N, 28, 28) with int labels (N,), distorted and augmented per `config`.

    distort_strengths: float (n_classes,) each class's distortion strength (class_distortions), or None for
    config.distort on every image.  pair: the label of the class PAIR (pair_label) when config.pairs is on.
    """

    def __init__(self, images, labels, config, distort_strengths=None, pair=None):
        self.images = images
        self.labels = np.asarray(labels, dtype=np.int64)
        self.distort, self.augment = config.distort, config.augment
        self.look = config.distort_look
        self.distort_strengths = distort_strengths
        self.touching, self.lead_in = config.touching, config.lead_in
        self.pairs, self.pair = config.pairs, pair
        if self.pairs and pair is None:
            raise ValueError("TrainingFeed: config.pairs needs the label of the class PAIR (feed.pair_label)")
        self.rng = np.random.default_rng([config.seed, 1])
        distorted = self.distort or self.look or (distort_strengths is not None and np.any(distort_strengths))
        mutated = distorted or self.augment or self.touching or self.lead_in or self.pairs
        self.normalized = None if mutated else normalize_all(images)

    def __len__(self):
        return len(self.labels)

    def batch(self, indices):
        """(float32 images (n, 1, 28, 28), int64 labels (n,)) for the int64 `indices` (n,)."""
        if self.normalized is not None:
            return self.normalized[indices], self.labels[indices]
        images, labels = self.images[indices], self.labels[indices]
        if self.pairs:  # before the cuts: a pair is two whole letters
            images, labels = whole_pairs(images, labels, self.rng, self.pairs, self.pair)
        if self.touching:
            images = touch_neighbours(images, self.rng, self.touching)
        if self.lead_in:
            images = lead_in_strokes(images, self.rng, self.lead_in)
        if self.distort_strengths is not None:
            images = distort_by_label(images, labels, self.rng, self.distort_strengths, self.look)
        elif self.distort or self.look:
            images = distort(images, self.rng, self.distort, self.look)
        if self.augment:
            images = augment(images, self.rng)
        return normalize(images), labels
