"""Where the reader's errors on the unipen test split come from: the most frequent confusions, and the letters
whose image lacks the part that tells them apart (an i without its dot, a t without its bar).

UNIPEN's letters are segments of pen-tablet recordings (unipen/README.md): where a writer dots the i or
crosses the t after finishing the word, a segment cut from connected writing holds the stem alone, and its
image is a bar like an l.  This counts, for i, l and t in each case, the test images drawn in one connected
stroke against those in two parts or more (scipy.ndimage.label on pixels above INK), and how the reader
reads each group, as `ocr` reads a crop (--shifts copies at the stored temperature).  It measures a test
split: nothing here is chosen by it, and it changes nothing.

  HDL_DATA=../shared/data python benchmarks/unipen_errors.py [--model STATE] [--shifts 9] [--sheet bars.png]

--sheet draws a picture: rows of one-stroke lower-case i read as l, above one-stroke lower-case l read right.
"""
import argparse
import collections
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the checkout, as `python -m hdl_native` from it

from hdl_native.errors import HDLError  # noqa: E402
from hdl_native.shifts import DEFAULT_SHIFTS, SHIFT_OFFSETS  # noqa: E402

INK = 64          # a pixel (0..255) above this is ink when counting connected parts
CHUNK = 2000      # crops read at a time (each in --shifts copies)
TARGET = 93.0     # issue 13's unipen target, percent
GROUPS = (("i", 0), ("i", 1), ("l", 0), ("l", 1), ("t", 0), ("t", 1))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="a letters state (default: the shipped reader)")
    parser.add_argument("--shifts", type=int, choices=sorted(SHIFT_OFFSETS), default=DEFAULT_SHIFTS,
                        help="shifted copies per crop, as `ocr --shifts`")
    parser.add_argument("--data", default=None, help="data root (default: $HDL_DATA)")
    parser.add_argument("--sheet", default=None, metavar="PNG", help="draw one-stroke i read as l above one-stroke l")
    args = parser.parse_args(argv)

    from scipy import ndimage

    from hdl_native.data import find_data_root, load_dataset
    from hdl_native.data.idx import read_idx
    from hdl_native.ocr.model import load_letter_classifier

    root = find_data_root(args.data)
    test = load_dataset("unipen", "test", root)
    upper = read_idx(Path(root) / "unipen" / "unipen-test-case-idx1-ubyte.gz", expected_magic=2049).astype(bool)
    reader = load_letter_classifier(args.model, shifts=args.shifts)
    classes = reader.classes
    read = np.concatenate([reader.probabilities(test.images[start:start + CHUNK]).argmax(axis=1)
                           for start in range(0, len(test.labels), CHUNK)])
    labels = test.labels
    parts = np.array([ndimage.label(image > INK)[1] for image in test.images])
    wrong = read != labels
    n, errors = len(labels), int(wrong.sum())
    print(f"{reader.source}, {args.shifts} shifted copies: unipen test {100 * (1 - errors / n):.2f}% "
          f"({errors} errors in {n}); {TARGET}% allows {int(n * (1 - TARGET / 100))} errors")
    pairs = collections.Counter((classes[t], classes[r]) for t, r in zip(labels[wrong], read[wrong]))
    print("most frequent errors (true->read): " + ", ".join(f"{t}->{r} {c}" for (t, r), c in pairs.most_common(12)))
    print("\n| letter | parts | images | read right | read as |\n| --- | --- | --- | --- | --- |")
    for letter, case in GROUPS:
        label = classes.index(letter)
        for one in (True, False):
            group = (labels == label) & (upper == bool(case)) & ((parts == 1) if one else (parts > 1))
            if not group.any():
                continue
            misread = collections.Counter(classes[r] for r in read[group] if r != label).most_common(3)
            print(f"| {letter.upper() if case else letter} | {'one stroke' if one else 'two or more'} | "
                  f"{int(group.sum())} | {100 * np.mean(read[group] == label):.1f}% | "
                  f"{', '.join(f'{c} {k}' for c, k in misread) or '-'} |")
    i, l_ = classes.index("i"), classes.index("l")
    bars = (labels == i) & (parts == 1)
    right_bars = 100 * (1 - (errors - (wrong & bars).sum()) / n)
    print(f"\none-stroke i and I: {int(bars.sum())} images, {int((wrong & bars).sum())} errors; reading every one of "
          f"them right, with every other reading as it is, gives {right_bars:.2f}%")
    if args.sheet:
        draw_sheet(args.sheet, test.images[bars & ~upper & (read == l_)], test.images[(labels == l_) & ~upper
                                                                                      & (parts == 1) & (read == l_)])


def draw_sheet(path, misread, reference, per_row=16, rows=3):
    """PNG: `rows` rows of misread images above `rows` rows of reference ones, 2x size, a gap between."""
    from PIL import Image

    def block(images):
        images = list(images[:per_row * rows]) + [np.zeros((28, 28), np.uint8)] * max(0, per_row * rows - len(images))
        return np.vstack([np.hstack(images[r * per_row:(r + 1) * per_row]) for r in range(rows)])

    gap = np.full((8, per_row * 28), 128, np.uint8)
    Image.fromarray(np.vstack([block(misread), gap, block(reference)])).resize(
        (per_row * 56, (2 * rows * 28 + 8) * 2), Image.NEAREST).save(path)
    print(f"{path}: top, one-stroke lower-case i read as l; below the grey line, one-stroke lower-case l read as l")


if __name__ == "__main__":
    try:
        main()
    except HDLError as error:  # no data, no model, a broken state file: one line, as the CLI says it
        print(f"unipen_errors.py: {error}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:  # it writes nothing before the end, so nothing is left half-written
        print("unipen_errors.py: interrupted", file=sys.stderr)
        sys.exit(130)
