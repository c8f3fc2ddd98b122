"""Mixup (Zhang et al. 2018, "mixup: Beyond Empirical Risk Minimization"): train on blends of two images.

Each batch is blended with itself in a shuffled order, x = m x_a + (1 - m) x_b, with one weight m drawn from
Beta(alpha, alpha) per batch, and the loss is the same blend of the two labels' losses,
m CE(logits, y_a) + (1 - m) CE(logits, y_b) (the cross-entropy against the blended target).  A small alpha (0.2)
draws m near 0 or 1 most of the time, so most batches stay nearly one letter; alpha 1 draws m evenly.
"""


def mix_batch(images, labels, rng, alpha):
    """(blended images, labels_b, m) for float images (n, 1, 28, 28) and labels (n,): images
    m x images + (1 - m) x images[order], labels_b = labels[order], order a permutation drawn from rng."""
    weight = float(rng.beta(alpha, alpha))
    order = rng.permutation(len(labels))
    blended = (weight * images + (1.0 - weight) * images[order]).astype(images.dtype, copy=False)
    return blended, labels[order], weight
