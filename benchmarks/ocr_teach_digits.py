"""Teaching `ocr` a hand of digits it reads badly, as a user would: `ocr --crops` on one page, the labels corrected,
`letters --finetune DIR` (the letter reader learns the digits as 'other') and `letters --finetune DIR --digits`
(the digit reader learns them), then another page in the same hand read four ways: as shipped, with either
fine-tuned reader, with both.

The hand is Pillow's font (a 1 with a flag and a foot, a 9 the letter reader takes for g): two pages of four lines
of the ten digits in a shuffled order, one written at 84 px to teach, one at 76 px, other orders, to judge.  The
labels are corrected from what each page holds: line k's boxes get line k's digits in order where the counts agree,
else '-' (left out).  The fine-tunes replay their training data from --data / $HDL_DATA and run for their default 3
minutes each.  Not a test: it measures.

Usage: HDL_DATA=../shared/data python benchmarks/ocr_teach_digits.py [--out DIR] [--threads 2]
"""
import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

PAPER, INK = (236, 226, 204), (35, 40, 95)
LINES = 4


def write_page(path, seed, size):
    """A page of LINES lines of the ten digits in shuffled orders (groups of 3, 3, 4) -> the lines' digits."""
    rng = np.random.default_rng(seed)
    lines = ["".join(map(str, rng.permutation(10))) for _ in range(LINES)]
    page = Image.new("RGB", (1300, 200 + 170 * LINES), PAPER)
    draw = ImageDraw.Draw(page)
    for k, line in enumerate(lines):
        draw.text((60, 60 + 170 * k), f"{line[:3]} {line[3:6]} {line[6:]}", font=ImageFont.load_default(size=size),
                  fill=INK)
    page.save(path, quality=90)
    return lines


def correct_labels(crops, lines):
    """Rewrite crops/labels.tsv from the page's lines (see the module's docstring); returns how many are labelled."""
    path = crops / "labels.tsv"
    rows = path.read_text().splitlines()
    of_line = {}
    for index, row in enumerate(rows):
        if not row.startswith("#"):
            of_line.setdefault(int(row.split("-")[0][len("line"):]), []).append(index)
    labelled = 0
    for number, indices in of_line.items():
        digits = lines[number - 1] if number <= len(lines) else ""
        for position, index in enumerate(indices):
            name, _, confidence = rows[index].split("\t")
            label = digits[position] if len(indices) == len(digits) else "-"
            labelled += label != "-"
            rows[index] = f"{name}\t{label}\t{confidence}"
    path.write_text("\n".join(rows) + "\n")
    return labelled


def hdl(*args):
    """Run `python -m hdl_native ARGS` -> its JSON summary (the last line of stdout); exits on failure."""
    result = subprocess.run([sys.executable, "-m", "hdl_native", *map(str, args)], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"ocr_teach_digits.py: hdl-native {' '.join(map(str, args[:2]))} failed: {result.stderr.strip()}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def digits_right(summary, lines):
    """(digits printed right, the lines as printed): box k of line k against the page's digit, where the line was
    printed with as many characters as it holds."""
    printed = ["".join(box.get("digit") or ("" if box["kind"] == "other" else box["letter"])
                       for box in line["boxes"]) for line in summary["lines"]]
    right = sum(a == b for truth, got in zip(lines, printed) if len(truth) == len(got) for a, b in zip(truth, got))
    return right, printed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="keep the pages, crops and models here (default: a temporary "
                                                    "directory)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(args.out or temporary)
        folder.mkdir(parents=True, exist_ok=True)
        teach, judge = write_page(folder / "teach.jpg", 1, 84), write_page(folder / "judge.jpg", 2, 76)
        crops = folder / "crops"
        hdl("ocr", folder / "teach.jpg", "--crops", crops, "--force", "--json")
        print(f"{correct_labels(crops, teach)} crops labelled with their digit")
        common = ("--threads", args.threads, "--no-db", "--quiet", "--json", "--force")
        for name, extra in (("letters", ()), ("digits", ("--digits",))):
            summary = hdl("letters", "--finetune", crops, *extra, "--out", folder / f"{name}.hdl", *common)
            changes = ", ".join(f"{what} {summary['accuracy_before'][what]:.2f} -> {after:.2f}%"
                                for what, after in summary["accuracy_after"].items())
            print(f"fine-tuned the {name} reader in {summary['wall_seconds']:.0f} s: {changes}")
        ways = {"as shipped": (), "letter reader fine-tuned": ("--model", folder / "letters.hdl"),
                "digit reader fine-tuned": ("--digit-model", folder / "digits.hdl"),
                "both fine-tuned": ("--model", folder / "letters.hdl", "--digit-model", folder / "digits.hdl")}
        print(f"the other page ({LINES * 10} digits):")
        for way, options in ways.items():
            right, printed = digits_right(hdl("ocr", folder / "judge.jpg", "--json", *options), judge)
            print(f"  {way:<26} {right:2d} of {LINES * 10} right: {' / '.join(printed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
