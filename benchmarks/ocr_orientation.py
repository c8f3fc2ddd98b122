"""How well `ocr --rotate auto` finds which way up a page is, and how often `ocr`'s "looks turned" note is right.

One page of each type of benchmarks/ocr_nonletters.py (plain, ruled, squared, desk, angle, hard shadow: words of
letters with digits and marks between them), each turned by 0, 90, 180 and 270 degrees counter-clockwise as a photo
without its EXIF tag would arrive, and read by the whole pipeline at every turn `--rotate auto` tries
(orientation.read_every_way); the right answer is the turn that undoes the page's.  Reported per page: the turn
chosen, each turn's surety (letters read with p >= 0.5, then the mean log-probability of the best guesses), and
whether the reading as it is (`--rotate 0`) raises the note that the photo looks turned (orientation.turned_hint).
--json also gives each turn's boxes, boxes read as 'other' and mean log-probability of the likeliest letters.
Not a test: it measures.

--split heldout builds the pages from the reader's held-out training writers (benchmarks/ocr_nonletters.py): make
choices there; --split test only reports.

Usage: HDL_DATA=/work/shared/data python benchmarks/ocr_orientation.py [--split heldout|heldout-mixed|test] [--seed 5]
  [--model STATE] [--threads 1] [--json]      (4 readings of 2 to 4 s per page and turn on one core: 6 minutes)
"""
import argparse
import io
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from ocr_nonletters import (SPLITS, WORDS_PER_PAGE, build_mixed_page, compose, find_data_root,  # noqa: E402
                            page_sources, page_types, run_script)

from hdl_native.data.datasets import NOT_A_LETTER  # noqa: E402
from hdl_native.ocr.image_io import TURNS, load_photo  # noqa: E402
from hdl_native.ocr.language import DEFAULT_LANGUAGE, load_language  # noqa: E402
from hdl_native.ocr.model import load_letter_classifier  # noqa: E402
from hdl_native.ocr.orientation import turned_hint, read_every_way, surety  # noqa: E402
from hdl_native.ocr.pipeline import Stopwatch, read_photo  # noqa: E402
from hdl_native.threads import set_num_threads  # noqa: E402


def pages(root, seed, split, state_path):
    """[(name, JPEG bytes)]: one page of each type, built as benchmarks/ocr_nonletters.py builds them."""
    letter_images, letter_labels, digits = page_sources(root, seed, split, state_path)
    rng = np.random.default_rng([seed, 13])
    built, next_letter, next_digit = [], 0, 0
    for name, spec in page_types():
        content = compose(letter_images[next_letter:], letter_labels[next_letter:], digits[next_digit:], rng,
                          WORDS_PER_PAGE)
        jpeg, _, used = build_mixed_page(content, spec)
        next_letter += int((content.kinds[:used] == "letter").sum())
        next_digit += int((content.kinds[:used] == "digit").sum())
        built.append((name, jpeg))
    return built


def read_turned(path, classifier, language):
    """(the turn read_every_way keeps, {turn: surety}, whether the reading as it is looks turned, seconds,
    {turn: reading_stats})."""
    readings = {}

    def read(photo):
        result = read_photo(photo, classifier, 0.5, language, Stopwatch())
        readings[len(readings)] = result  # in the order of TURNS
        return result

    started = time.perf_counter()
    chosen = read_every_way(load_photo(path), read)
    seconds = time.perf_counter() - started
    sureties = {turn: surety(readings[k]) for k, turn in enumerate(TURNS)}
    stats = {turn: reading_stats(readings[k]) for k, turn in enumerate(TURNS)}
    return chosen.turn, sureties, turned_hint(readings[0]) is not None, seconds, stats


def likeliest_letter(reading):
    """The probability of a Reading's likeliest letter among its top guesses (1e-3 when none is a letter)."""
    return next((p for letter, p in zip(reading.letters, reading.probabilities) if letter != NOT_A_LETTER), 1e-3)


def reading_stats(result):
    """What a turn's reading looks like: boxes, boxes read as 'other', letters read with probability >= SURE and the
    mean log-probability of the best guesses (both from orientation.surety), and that of the likeliest letters."""
    boxes = [reading for line in result.lines for reading in line]
    share, mean_log_top = surety(result)
    letter = np.array([likeliest_letter(reading) for reading in boxes])
    return {"boxes": len(boxes), "others": sum(not reading.is_letter for reading in boxes),
            "sure_letters": round(share * len(boxes)),
            "mean_log_top": mean_log_top if boxes else None,
            "mean_log_letter": float(np.log(np.maximum(letter, 1e-12)).mean()) if boxes else None}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="letters state file (default: the packaged model)")
    parser.add_argument("--data", default=None, help="data root (default: $HDL_DATA, else the cache)")
    parser.add_argument("--seed", type=int, default=5, help="order of the letters and the page contents")
    parser.add_argument("--split", choices=SPLITS, default="heldout")
    parser.add_argument("--threads", type=int, default=1, help="kernel threads (default 1)")
    parser.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    args = parser.parse_args()
    set_num_threads(args.threads)
    classifier = load_letter_classifier(args.model)
    language = load_language(DEFAULT_LANGUAGE)
    root = find_data_root(args.data)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name, jpeg in pages(root, args.seed, args.split, args.model):
            upright = Image.open(io.BytesIO(jpeg))
            for turned_by in TURNS:  # counter-clockwise: turning it back is `turned_by` degrees clockwise
                path = Path(folder) / f"{name}-{turned_by}.png"
                upright.rotate(turned_by, expand=True).save(path)
                chosen, sureties, note, seconds, stats = read_turned(path, classifier, language)
                rows.append({"page": name, "turned_by": turned_by, "chosen": chosen, "right": chosen == turned_by,
                             "surety": sureties, "note": note, "seconds": seconds, "stats": stats})
                print(f"  {name:<12} turned {turned_by:3d}: read back at {chosen:3d} "
                      f"{'right' if chosen == turned_by else 'WRONG'}  sure letters, mean log p "
                      + " ".join(f"{turn}:{sure:3d},{mean:6.3f}" for turn, (sure, mean) in sureties.items())
                      + f"  note {'yes' if note else 'no '}  {seconds:5.1f} s", flush=True)
    right = sum(row["right"] for row in rows)
    sideways = [row for row in rows if row["turned_by"] in (90, 270)]
    level = [row for row in rows if row["turned_by"] in (0, 180)]
    print(f"model {classifier.source}, {args.split} pages, seed {args.seed}: --rotate auto right on {right} of "
          f"{len(rows)}; the note on {sum(r['note'] for r in sideways)} of {len(sideways)} pages on their side and on "
          f"{sum(r['note'] for r in level)} of {len(level)} upright or upside down")
    if args.json:
        print(json.dumps({"model": classifier.source, "split": args.split, "seed": args.seed, "right": right,
                          "pages": len(rows), "rows": rows}))


if __name__ == "__main__":
    run_script(main, "ocr_orientation.py")
