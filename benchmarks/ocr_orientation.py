"""How well `ocr --rotate auto` finds which way up a page is, and how often `ocr`'s "looks turned" note is right.

One page of each type of benchmarks/ocr_nonletters.py (plain, ruled, squared, desk, angle, hard shadow: words of
letters with digits and marks between them), each turned by 0, 90, 180 and 270 degrees counter-clockwise as a photo
without its EXIF tag would arrive, and read by the whole pipeline at every turn `--rotate auto` tries
(orientation.read_every_way); the right answer is the turn that undoes the page's.  Reported per page: the turn
chosen, each turn's surety (letters and digits read with p >= 0.5, then the mean log-probability of the best
guesses), and whether the reading as it is (`--rotate 0`) raises the note that the photo looks turned
(orientation.turned_hint).
--json also gives each turn's boxes, boxes read as 'other' and mean log-probability of the likeliest letters.
Not a test: it measures.

The pages are read as `ocr` reads them, with the digit reader (ocr/digits.py; --no-digits without), and each page's
four readings are judged by three rules of which digits count as read surely (RULES: orientation.sure_digit as
shipped, and the others it was chosen among), so one run compares them; the note counts sure letters alone.
--number-share 1 writes a number of 1 to 4 digits after every word (a note of dates, prices, phone numbers)
instead of after a fifth of them.

--split heldout builds the pages from the reader's held-out training writers (benchmarks/ocr_nonletters.py): make
choices there; --split test only reports.

Usage: HDL_DATA=/work/shared/data python benchmarks/ocr_orientation.py [--split heldout|heldout-mixed|test] [--seed 5]
  [--model STATE] [--number-share 0.2] [--no-digits] [--digit-model STATE] [--threads 1] [--json]
  (4 readings of 2 to 4 s per page and turn on one core: 6 minutes)
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

from nonletter_pages import NUMBER_SHARE  # noqa: E402

from hdl_native.data.datasets import NOT_A_LETTER  # noqa: E402
from hdl_native.ocr import orientation  # noqa: E402
from hdl_native.ocr.digits import load_digit_reader  # noqa: E402
from hdl_native.ocr.image_io import TURNS, load_photo, turned_photo  # noqa: E402
from hdl_native.ocr.language import DEFAULT_LANGUAGE, load_language  # noqa: E402
from hdl_native.ocr.model import load_letter_classifier  # noqa: E402
from hdl_native.ocr.orientation import SURE, turned_hint, read_every_way, surety  # noqa: E402
from hdl_native.ocr.pipeline import Stopwatch, read_photo  # noqa: E402
from hdl_native.threads import set_num_threads  # noqa: E402


def any_sure_digit(reading):
    """A digit the digit reader reads with probability >= SURE, however unsure the letter reader is of 'other'."""
    return reading.digit is not None and reading.digit_probability >= SURE


RULES = {"letters": lambda reading: False, "digits": any_sure_digit, "sure-other digits": orientation.sure_digit}
# which boxes read as digits count as read surely, besides the sure letters: none (before the digit reader), any
# digit read surely, or, as orientation.sure_digit, one the letter reader is also sure is not a letter


def pages(root, seed, split, state_path, number_share=NUMBER_SHARE):
    """[(name, JPEG bytes)]: one page of each type, built as benchmarks/ocr_nonletters.py builds them."""
    letter_images, letter_labels, digits = page_sources(root, seed, split, state_path)
    rng = np.random.default_rng([seed, 13])
    built, next_letter, next_digit = [], 0, 0
    for name, spec in page_types():
        content = compose(letter_images[next_letter:], letter_labels[next_letter:], digits[next_digit:], rng,
                          WORDS_PER_PAGE, number_share=number_share)
        jpeg, _, used = build_mixed_page(content, spec)
        next_letter += int((content.kinds[:used] == "letter").sum())
        next_digit += int((content.kinds[:used] == "digit").sum())
        built.append((name, jpeg))
    return built


def read_turned(path, classifier, language, digits):
    """({rule: (the turn read_every_way keeps, {turn: surety})} for each of RULES (orientation.sure_digit replaced by
    it), whether the reading as it is looks turned, seconds of the four readings, {turn: reading_stats})."""
    photo = load_photo(path)
    readings = []
    started = time.perf_counter()
    for turn in TURNS:
        readings.append(read_photo(turned_photo(photo, turn), classifier, 0.5, language, Stopwatch(), digits=digits))
    seconds = time.perf_counter() - started
    shipped, judged = orientation.sure_digit, {}
    try:
        for name, rule in RULES.items():
            orientation.sure_digit = rule
            cached = iter(readings)
            chosen = read_every_way(photo, lambda turned: next(cached))
            judged[name] = (chosen.turn, {turn: surety(readings[k]) for k, turn in enumerate(TURNS)})
    finally:
        orientation.sure_digit = shipped
    stats = {turn: reading_stats(readings[k]) for k, turn in enumerate(TURNS)}
    return judged, turned_hint(readings[0]) is not None, seconds, stats


def likeliest_letter(reading):
    """The probability of a Reading's likeliest letter among its top guesses (1e-3 when none is a letter)."""
    return next((p for letter, p in zip(reading.letters, reading.probabilities) if letter != NOT_A_LETTER), 1e-3)


def reading_stats(result):
    """What a turn's reading looks like: boxes, boxes read as 'other', letters read with probability >= SURE and the
    mean log-probability of the best guesses (both from orientation.surety), and that of the likeliest letters;
    digits read (at ocr's 0.5), and those where the letter reader answers 'other' with probability >= SURE."""
    boxes = [reading for line in result.lines for reading in line]
    _, mean_log_top = surety(result)
    letter = np.array([likeliest_letter(reading) for reading in boxes])
    return {"boxes": len(boxes), "others": sum(not reading.is_letter for reading in boxes),
            "sure_letters": sum(map(orientation.sure_letter, boxes)),
            "digits": sum(reading.digit is not None for reading in boxes),
            "sure_digits": sum(map(orientation.sure_digit, boxes)),
            "mean_log_top": mean_log_top if boxes else None,
            "mean_log_letter": float(np.log(np.maximum(letter, 1e-12)).mean()) if boxes else None}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="letters state file (default: the packaged model)")
    parser.add_argument("--data", default=None, help="data root (default: $HDL_DATA, else the cache)")
    parser.add_argument("--seed", type=int, default=5, help="order of the letters and the page contents")
    parser.add_argument("--split", choices=SPLITS, default="heldout")
    parser.add_argument("--number-share", type=float, default=NUMBER_SHARE,
                        help=f"share of the words followed by a number (default {NUMBER_SHARE}; 1: a note of numbers)")
    parser.add_argument("--no-digits", dest="digits", action="store_false", help="read without the digit reader")
    parser.add_argument("--digit-model", default=None, help="digit reader state file (default: the packaged one)")
    parser.add_argument("--threads", type=int, default=1, help="kernel threads (default 1)")
    parser.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    args = parser.parse_args()
    set_num_threads(args.threads)
    classifier = load_letter_classifier(args.model)
    language = load_language(DEFAULT_LANGUAGE)
    digits = load_digit_reader(args.digit_model) if args.digits else None
    root = find_data_root(args.data)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name, jpeg in pages(root, args.seed, args.split, args.model, args.number_share):
            page = Image.open(io.BytesIO(jpeg))
            for turned_by in TURNS:  # counter-clockwise: turning it back is `turned_by` degrees clockwise
                path = Path(folder) / f"{name}-{turned_by}.png"
                page.rotate(turned_by, expand=True).save(path)
                judged, note, seconds, stats = read_turned(path, classifier, language, digits)
                rows.append({"page": name, "turned_by": turned_by, "seconds": seconds, "stats": stats, "note": note,
                             "rules": {rule: {"chosen": chosen, "right": chosen == turned_by, "surety": sureties}
                                       for rule, (chosen, sureties) in judged.items()}})
                print(f"  {name:<12} turned {turned_by:3d}, read back at "
                      + ", ".join(f"{chosen:3d}{'' if chosen == turned_by else ' WRONG'} ({rule})"
                                  for rule, (chosen, _) in judged.items())
                      + f"{', note' if note else ''}  {seconds:5.1f} s; sure shares " + " ".join(
                          f"{turn}:" + "/".join(f"{judged[rule][1][turn][0]:.2f}" for rule in RULES)
                          for turn in TURNS), flush=True)
    sideways = [row for row in rows if row["turned_by"] in (90, 270)]
    level = [row for row in rows if row["turned_by"] in (0, 180)]
    upright = [row for row in rows if row["turned_by"] == 0]
    notes = [sum(row["note"] for row in group) for group in (sideways, level, upright)]
    print(f"model {classifier.source}, digits {'read' if digits else 'not read'}, {args.split} pages, seed "
          f"{args.seed}, number share {args.number_share}: the note on {notes[0]} of {len(sideways)} pages on their "
          f"side, {notes[1]} of {len(level)} upright or upside down ({notes[2]} of {len(upright)} upright)")
    summary = {"notes_sideways": notes[0], "notes_level": notes[1], "notes_upright": notes[2]}
    for rule in RULES:
        summary[rule] = sum(row["rules"][rule]["right"] for row in rows)
        print(f"  digits counted as {rule!r}: --rotate auto right on {summary[rule]} of {len(rows)}")
    if args.json:
        print(json.dumps({"model": classifier.source, "split": args.split, "seed": args.seed,
                          "number_share": args.number_share, "digits": digits is not None, "pages": len(rows),
                          "summary": summary, "rows": rows}))


if __name__ == "__main__":
    run_script(main, "ocr_orientation.py")
