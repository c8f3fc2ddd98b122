"""How the lines `ocr` finds follow the lines written: the reading order of ocr_nonletters' pages.

ocr_nonletters scores each box alone; a page whose boxes are all right can still come out with a written line in
pieces, or two lines interleaved.  For each page ocr_nonletters.measure reads, the found boxes are matched to the
written characters (IoU, as it does); then (a) of the pairs of neighbouring written characters both found, the
share that come out next to each other in one found line, in order, and (b) how many found lines each written
line comes out in.

    python benchmarks/ocr_line_order.py [--split heldout --seed 10] [--wave 0.6] [--threads 1]
"""
import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import ocr_nonletters as pages  # noqa: E402
from ocr_pages import match_boxes  # noqa: E402

from hdl_native.cli_types import finite_float  # noqa: E402
from hdl_native.ocr.language import load_language  # noqa: E402
from hdl_native.ocr.model import load_letter_classifier  # noqa: E402
from hdl_native.threads import set_num_threads  # noqa: E402

NEW_LINE_JUMP = 200  # px: a written character this far left of the one before it begins the next written line


def written_lines(truths):
    """(n,) the written line of each truth, in the order the page builder placed them."""
    lines, line = [], 0
    for index, truth in enumerate(truths):
        if index and truth.box[2] < truths[index - 1].box[2] - NEW_LINE_JUMP:
            line += 1
        lines.append(line)
    return np.array(lines)


def line_order(truths, result):
    """(neighbour pairs in order, neighbour pairs found, found lines summed over written lines, written lines)."""
    boxes, found_line = [], []
    for number, line in enumerate(result.lines):
        for reading in line:
            boxes.append(reading.box)
            found_line.append(number)
    matched = match_boxes(truths, boxes)
    written = written_lines(truths)
    pairs = in_order = 0
    for index in range(len(truths) - 1):
        if written[index] == written[index + 1] and index in matched and index + 1 in matched:
            pairs += 1
            first, second = matched[index], matched[index + 1]
            in_order += found_line[first] == found_line[second] and second > first
    pieces = {}
    for index, box in matched.items():
        pieces.setdefault(int(written[index]), set()).add(found_line[box])
    return in_order, pairs, sum(len(found) for found in pieces.values()), len(pieces)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="data root (default: $HDL_DATA, else the cache)")
    parser.add_argument("--seed", type=int, default=0, help="order of the letters and the page contents")
    parser.add_argument("--split", choices=pages.SPLITS, default="test")
    parser.add_argument("--wave", metavar="HEIGHTS", type=finite_float(0, 2), default=0.0,
                        help="let each line's baseline wander up and down by HEIGHTS letter heights")
    parser.add_argument("--threads", type=int, default=1, help="kernel threads (default 1)")
    args = parser.parse_args()
    set_num_threads(args.threads)
    classifier = load_letter_classifier(None, shifts=pages.DEFAULT_SHIFTS)
    totals = np.zeros(4, np.int64)

    def count(name, truths, result):
        nonlocal totals
        counts = np.array(line_order(truths, result))
        totals += counts
        print(f"  {name:<12} neighbours in order {counts[0]}/{counts[1]} = {counts[0] / counts[1]:.2%}, "
              f"found lines per written line {counts[2] / counts[3]:.2f}")

    with tempfile.TemporaryDirectory() as folder:
        pages.measure(classifier, pages.find_data_root(args.data), args.seed, Path(folder), args.split,
                      language=load_language(pages.DEFAULT_LANGUAGE), conditions=pages.Conditions(wave=args.wave),
                      on_page=count)
    print(f"  {'all':<12} neighbours in order {totals[0] / totals[1]:.2%}, "
          f"found lines per written line {totals[2] / totals[3]:.2f}")


if __name__ == "__main__":
    pages.run_script(main, "ocr_line_order.py")
