"""Small learnable IDX sets the tests build themselves (no real data needed)."""
import numpy as np

from hdl_native.data import write_idx


def bar_images(n, n_classes, seed):
    """Learnable uint8 images: class c has a bright horizontal bar whose row depends on c."""
    rng = np.random.default_rng(seed)
    labels = (np.arange(n) % n_classes).astype(np.uint8)
    rng.shuffle(labels)
    images = rng.integers(0, 40, (n, 28, 28)).astype(np.uint8)
    for i, label in enumerate(labels):
        row = 2 + (int(label) * 24) // n_classes
        images[i, row:row + 3, 3:25] = 255
    return images, labels


def write_tiny_data(root):
    """Write a small 'letters' (26 classes) and 'mnist' (10 classes) set under `root`; returns root."""
    (root / "letters").mkdir(parents=True)
    (root / "mnist").mkdir()
    for split, n, seed in (("train", 260, 0), ("test", 78, 1)):
        images, labels = bar_images(n, 26, seed)
        write_idx(root / "letters" / f"letters-{split}-images-idx3-ubyte.gz", images)
        write_idx(root / "letters" / f"letters-{split}-labels-idx1-ubyte.gz", labels)
    names = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
             "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}
    for split, n, seed in (("train", 640, 2), ("test", 100, 3)):
        images, labels = bar_images(n, 10, seed)
        write_idx(root / "mnist" / names[split][0], images)
        write_idx(root / "mnist" / names[split][1], labels)
    return root
