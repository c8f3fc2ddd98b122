"""Compare ocr.crops.stroke_thickness (the zoom in whole numbers) with the scipy.ndimage form it replaced, on real
letters and random frames, and time both.

    HDL_DATA=../shared/data python tools/stroke_thickness_check.py [--random 4000]

Reads the test splits of unipen, letters and nistvowels and MNIST's test digits (those present under HDL_DATA),
adds random frames (half of them of one level near 127.5, whose zoomed values come closest to the half) and prints
how many frames the two measure differently (0 expected) and the time of one call of each.
"""
import argparse
import time

import numpy as np
from scipy import ndimage

from hdl_native.data import find_data_root
from hdl_native.data.idx import read_idx
from hdl_native.ocr.crops import stroke_thickness

SPLITS = ("unipen/unipen-test-images-idx3-ubyte.gz", "letters/letters-test-images-idx3-ubyte.gz",
          "nistvowels/nistvowels-test-images-idx3-ubyte.gz", "mnist/t10k-images-idx3-ubyte.gz")


def by_ndimage(frame):
    """stroke_thickness as it was written before: scipy.ndimage's zoom and erosion."""
    ink = frame.astype(np.float32) / np.float32(255)
    inside = ndimage.zoom(ink, 4, order=1) > 0.5
    outline = np.count_nonzero(inside & ~ndimage.binary_erosion(inside)) / 4.0
    return float(ink.sum() / max(outline / 2, 1.0))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--random", type=int, default=4000, help="random frames added (default 4000)")
    args = parser.parse_args()
    root = find_data_root(None)
    frames = [frame for split in SPLITS if (root / split).is_file() for frame in read_idx(root / split)]
    rng = np.random.default_rng(0)
    frames += [rng.integers(0, 256, (28, 28), dtype=np.uint8) for _ in range(args.random // 2)]
    frames += [((rng.random((28, 28)) < 0.3) * rng.integers(120, 136)).astype(np.uint8)
               for _ in range(args.random - args.random // 2)]
    differ = sum(stroke_thickness(frame) != by_ndimage(frame) for frame in frames)
    print(f"{len(frames)} frames, {differ} measured differently")
    for measure in (stroke_thickness, by_ndimage):
        started = time.perf_counter()
        for frame in frames[:3000]:
            measure(frame)
        print(f"{measure.__name__}: {1e3 * (time.perf_counter() - started) / min(3000, len(frames)):.3f} ms a frame")


if __name__ == "__main__":
    main()
