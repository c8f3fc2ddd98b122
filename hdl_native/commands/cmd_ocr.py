"""Read the handwritten letters in a photo and print them line by line.

The photo's lighting is evened out, text lines and characters are boxed, every
character is cropped to 28x28 like the training letters and classified by the
letters network (the pretrained one shipped with the package unless --model
names another state file).  Where a line clearly shows its baseline, x-height
and ascenders, the letters a glyph's height rules out are made unlikely (an
undotted i that only reaches the x-height is not an l).  --out writes the photo
with the boxes and letters drawn on it; --crops DIR saves every box as a 28x28
crop with an editable labels file, for `hdl-native letters --finetune DIR`;
--json prints one object with every box and its top-3 guesses.  --dtype int8
reads with the network quantised to int8 (hdl_native.int8).  A photo whose
reading looks like that of a photo lying on its side (its EXIF tag lost) is
read every way up and the way that reads the most letters surely is kept
(--rotate: hdl_native/ocr/orientation.py).  A photo in which nothing stands out as
dark ink because its background varies as much as ink would (light writing on a
dark ground: chalk on a board, white pen on black paper) is read again with light
and dark swapped, with a note; --invert swaps them from the start.  A photo out of focus is
sharpened before reading (hdl_native/ocr/focus.py; --json's "blur": the blur it measured, in the
photo's pixels); where the blur costs letters (BLUR_NOTE of a letter's height or more) a note says so.

Confidences are the network's probabilities at the temperature its state stores for the number of
--shifts copies averaged (`hdl-native calibrate` fits one per count; none: as the network gives
them), p(other) weighted as the state says (`calibrate --other-offset`; the shipped
reader: by e^0.5, which keeps more digits and marks out of the text); a letter below
--min-confidence prints as '?'.
A model trained with the class 'other' (digits and punctuation, `--dataset ...,nonletters`)
answers it for a box that is not a letter: such a box is left out of the text (a word break beside
it still gives a space), drawn in blue without a letter in --out, and listed in --json with
"letter": null and "kind": "other" (letters have "kind": "letter").  Models without that class
read every box as a letter, as before.  Of the boxes left out, a second network (the digit reader shipped with
the package, or --digit-model STATE) reads the digits: a box it reads as a digit at least --min-confidence likely
is printed as that digit ("dec 5 2026"), drawn in blue with the digit under it in --out, and listed in --json with
"kind": "digit", "digit" and "digit_probability" (hdl_native/ocr/digits.py); --no-digits leaves them out as marks.

Words of letters are read with --language (default english): each word is read both as English, by a letter
5-gram counted over tiny shakespeare, and as arbitrary letters, and its glyphs' letters are weighed by how likely
each reading makes it (hdl_native/ocr/language.py): "he11o" reads "hello", while a name, a code or the alphabet
written out keeps the network's letters.  --language none reads every glyph alone.

Several photos, or a directory of them, are read one after the other with the model loaded once, each text under a
line `==> photo.jpg <==` (a bar over the photos on a terminal); --out, --crop-sheet and --crops then name
directories, written as DIR/<photo's name>-boxed.png, DIR/<name>-crops.png and DIR/<name>/ (so `letters --finetune
DIR/*/` takes every photo's crops).  A photo that cannot be read is reported on its line and the rest are read; the
exit code is then 2 (commands/ocr_photos.py).

Photos are read in any format Pillow reads, and in HEIC, as iPhones save them, once the pi-heif decoder is installed
(`pip install pi-heif`).  A scan of several pages, a PDF (once pypdfium2 is installed: `pip install pypdfium2`) or
a TIFF, is read page by page as several photos are, each under `==> scan.pdf page 2 <==`, its outputs named
<name>-page2 (and --json's object holding "page": 2); of a GIF's frames only the first is read, with a note.
"""
import sys
import time
from pathlib import Path

# `ocr` works on photos reduced to a bounded size (image_io.MAX_WORK_SIDE): running out of memory is a defect to report
MEMORY_ADVICE = "reading this photo took more memory than it should: please report it, with the photo"
HELP = "read handwritten letters (and the digits among them) in a photo or scan and print them as text"
ROTATIONS = ("check", "0", "90", "180", "270", "auto")  # --rotate: pipeline.read_page's turn
TEACH_DIGITS = " (and with --digits --out mydigits.hdl for the digits)"  # after --crops' fine-tune command
SMALL_LETTERS_NOTE = 10  # px: letters shorter than this read badly (held-out pages with letters of 10 px read 72%
                         # of them, of 13 px 83%, of 21 px 87%: BENCHMARKS.md, "Small photos"), so ocr notes them
BLUR_NOTE = 0.045  # blur (focus.py) from which ocr notes a photo out of focus, as a share of its letters' height: the
                   # pages blurred by 2.5 px measure 0.050-0.058 and read 83% of their letters where sharp ones read
                   # 93% (BENCHMARKS.md, "a photo out of focus"); by 2 px 0.043 and 91%


def add_arguments(parser):
    from ..cli_types import int_choice, probability
    from ..ocr.language import DEFAULT_LANGUAGE, LANGUAGE_NAMES
    from ..shifts import DEFAULT_SHIFTS, SHIFT_OFFSETS

    min_confidence = probability()
    parser.add_argument("images", metavar="image", nargs="+",
                        help="photo or scan of handwritten letters (JPEG, PNG, HEIC, PDF, ...); several photos, a "
                             "directory of them, or the pages of a PDF or TIFF are read in turn")
    parser.add_argument("--model", metavar="STATE", default=None,
                        help="letters model state file (default: the pretrained model shipped with hdl_native)")
    parser.add_argument("--out", metavar="PNG", default=None,
                        help="write the photo with a box and the letter read around every character")
    parser.add_argument("--crops", metavar="DIR", default=None,
                        help="save every box read as a 28x28 PNG crop (what the network saw: bright ink on black) "
                             "in DIR, with DIR/labels.tsv holding the letters and digits read and DIR/labels-sheet.png "
                             "showing them all; correct the labels, then teach them to a model with `hdl-native "
                             "letters --finetune DIR` (the digits to the digit reader: add --digits)")
    parser.add_argument("--force", action="store_true",
                        help="with --crops: replace the labels file and crops DIR holds (crops named otherwise, "
                             "added by hand, are kept)")
    parser.add_argument("--crop-sheet", metavar="PNG", default=None,
                        help="write the 28x28 crops the network saw as one picture, one row per line (to check "
                             "them against the training letters)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object with all boxes on the last line (several photos: one line each, "
                             "after the photo's text; for a photo that could not be read, its \"image\" and "
                             "\"error\")")
    parser.add_argument("--min-confidence", metavar="P", type=min_confidence, default=0.5,
                        help=f"letters read with a lower probability print as '?', {min_confidence.allowed} "
                             "(default 0.5)")
    parser.add_argument("--no-digits", dest="digits", action="store_false",
                        help="leave digits out of the text, as punctuation is (by default the boxes the letters "
                             "model reads as not letters are read again by a digit reader, and digits printed)")
    parser.add_argument("--digit-model", metavar="STATE", default=None,
                        help="the digit reader's state file (default: the one shipped with hdl_native; teach it "
                             "your digits with `hdl-native letters --finetune DIR --digits`, or train one with "
                             "`hdl-native letters --dataset digits`)")
    parser.add_argument("--dtype", choices=["float32", "int8"], default="float32",
                        help="read with the network in float32, or quantised to int8 on the int8 kernels, on "
                             "the activation ranges the model stores (`hdl-native calibrate` measures them; the "
                             "shipped model has them), else calibrated on 512 letters of the letters training "
                             "split, from $HDL_DATA or --data (default float32)")
    parser.add_argument("--data", metavar="DIR", default=None,
                        help="with --dtype int8 and a model storing no int8 ranges: data root holding letters/ "
                             "(default: $HDL_DATA, else ~/.cache/hdl_native)")
    shifts = int_choice(*SHIFT_OFFSETS)
    parser.add_argument("--shifts", metavar="N", type=shifts, default=DEFAULT_SHIFTS,
                        help=f"read each box in N copies moved by up to one pixel and average the network's answers, "
                             f"N is {shifts.allowed}: 1 is fastest, 9 reads a little better (default {DEFAULT_SHIFTS})")
    parser.add_argument("--language", choices=LANGUAGE_NAMES, default=DEFAULT_LANGUAGE,
                        help="read words of letters as words of this language where they look like it, or 'none' "
                             f"to read each letter alone (default {DEFAULT_LANGUAGE})")
    parser.add_argument("--rotate", choices=ROTATIONS, default="check",
                        help="turn the photo this many degrees clockwise before reading (after its EXIF "
                             "orientation): 0, 90, 180 or 270; 'auto' to read it every way up and keep the reading "
                             "whose boxes most often read as sure letters or digits, at 4 times the work; 'check' (the "
                             "default) reads it as it is, and every way up only when that reading looks like a "
                             "photo on its side (most lines of one or two boxes, or few sure letters)")
    parser.add_argument("--invert", action="store_true",
                        help="read the photo with light and dark swapped: light writing on a dark ground (by default "
                             "a photo is swapped only when nothing in it stands out as dark ink)")
    parser.add_argument("--time", action="store_true", help="report how long each stage took (on stderr)")


def run(args):
    from ..errors import HDLError, error_line, make_output_directory
    from ..json_output import json_line
    from ..ocr.language import load_language
    from ..ocr.model import load_letter_classifier
    from ..ocr.user_crops import LABELS_FILE, check_crops_directory
    from .ocr_photos import bar_paused, is_batch, photo_jobs, photos_bar, unit_read

    if args.force and not args.crops:
        raise HDLError("--force replaces the labels file of --crops DIR: give --crops too, or drop --force")
    if args.data is not None and args.dtype != "int8":
        raise HDLError("--data is where --dtype int8 finds letters to measure its ranges on: give --dtype int8 "
                       "too, or drop --data")
    batch = is_batch(args.images)
    jobs = photo_jobs(args.images, batch, args.out, args.crop_sheet, args.crops)
    for job in jobs:
        if job.crops:
            check_crops_directory(job.crops, args.force)  # before the reading, not after
    if not batch:
        check_outputs_writable(jobs[0])
    for directory in (args.out, args.crop_sheet) if batch else ():  # the pictures' directories, once, before reading
        if directory:
            make_output_directory(directory)
    started = time.perf_counter()
    classifier = load_letter_classifier(args.model, args.dtype, args.data, args.shifts)
    check_reads_letters(classifier)
    digits = digit_reader(args, classifier)
    language = load_language(args.language)
    model_seconds = time.perf_counter() - started
    unit = unit_read(jobs)
    failed, bar = [], photos_bar(len(jobs), unit)
    try:
        for number, job in enumerate(jobs):
            if batch:  # the photo's name, as head prints several files
                with bar_paused(bar):
                    print(f"\n==> {job.name} <==" if number else f"==> {job.name} <==", flush=True)
            try:
                read_one(args, job, classifier, language, model_seconds if number == 0 else 0.0, batch, bar, digits)
            except HDLError as error:
                if not batch:
                    raise
                with bar_paused(bar):
                    print(error_line("hdl-native ocr", error), file=sys.stderr)
                    if args.json:  # a program reading the objects learns of the photo too
                        print(json_line(failure_object(job, error)), flush=True)
                failed.append(job.name)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    crops_written = [job.crops for job in jobs if job.crops and job.name not in failed]
    if batch and crops_written:
        digits_too = TEACH_DIGITS if digits is not None else ""
        print(f"crops of {len(crops_written)} {unit}s written under {args.crops}; correct each {LABELS_FILE}, then: "
              f"hdl-native letters --finetune {args.crops}/*/ --out mine.hdl{digits_too}", file=sys.stderr)
    if failed:
        raise HDLError(f"{len(failed)} of {len(jobs)} {unit}s could not be read: {', '.join(failed)}")
    return 0


def failure_object(job, error):
    """--json's object for a photo (or page) of a batch that could not be read: its name and the error's message."""
    from ..errors import shown

    return {"image": shown(job.photo), **({"page": job.page} if job.page else {}), "error": str(error)}


def check_reads_letters(classifier):
    """HDLError when --model's reader has no letter among its classes: the digit reader, given as --model, read
    "hello world" as "68110 40510" without a word."""
    from ..errors import HDLError

    if not any(len(name) == 1 and name.isalpha() for name in classifier.classes):
        raise HDLError(f"{classifier.source}: not a letters model: its classes are {', '.join(classifier.classes)}"
                       + (" (a digit reader: give it as --digit-model)" if any(name.isdigit() for name in
                                                                             classifier.classes) else ""))


def check_outputs_writable(job):
    """HDLError before a photo is read when an output of its job cannot be written: a picture whose name's ending
    is no picture format's, or a folder that is missing, read-only or a file (the batch's output folders are made
    before reading instead)."""
    from ..ocr.render import picture_format
    from ..ocr.user_crops import LABELS_FILE
    from ..training.outputs import check_writable

    for option, path, what in (("--out", job.out, "boxed picture"), ("--crop-sheet", job.crop_sheet, "crop sheet")):
        if path:
            picture_format(path, option)
            check_writable(Path(path), what, create_directories=False)
    if job.crops:
        check_writable(Path(job.crops) / LABELS_FILE, "crops' labels file")


def digit_reader(args, classifier):
    """The digit reader --digit-model (or the shipped one) names; None with --no-digits, or for a letters model
    without the class 'other' (it reads every box as a letter, so none is left to read as a digit)."""
    from ..data.datasets import NOT_A_LETTER
    from ..errors import HDLError
    from ..ocr.digits import load_digit_reader

    if not args.digits:
        if args.digit_model:
            raise HDLError("--digit-model names a digit reader, but --no-digits leaves digits out; drop one of them")
        return None
    if NOT_A_LETTER not in classifier.classes:
        return None
    return load_digit_reader(args.digit_model, args.shifts)


def read_one(args, job, classifier, language, model_seconds, batch, bar, digits=None):
    """Read one photo (a PhotoJob) and print its text (under its name in a batch) and notes; write what the job
    names; --time and --json as asked.  bar: the batch's progress bar, cleared while this photo's lines print;
    digits: the digit reader (None: digits left out)."""
    from ..json_output import json_line
    from ..ocr import read_page
    from .ocr_photos import bar_paused

    started = time.perf_counter()
    turn = args.rotate if args.rotate in ("auto", "check") else int(args.rotate)
    result = read_page(job.photo, classifier, min_confidence=args.min_confidence, language=language, turn=turn,
                       progress=bar is None, invert=True if args.invert else None, page=job.page, digits=digits)
    with bar_paused(bar):
        for text in result.texts:
            print(text)
        report_turn(result, turn, job.name if batch else None)
        if result.photo.pictures > 1:
            print(f"note: {job.photo} holds {result.photo.pictures} pictures (frames); only the first was read: save "
                  "each as a picture of its own to read them all", file=sys.stderr)
        letter_height = result.letter_height
        if letter_height is not None and letter_height < SMALL_LETTERS_NOTE:
            print(f"note: {job.photo}: {small_letters_note(result.photo, letter_height)}", file=sys.stderr)
        elif result.blur_in_letter_heights >= BLUR_NOTE:  # (small letters measure blurred: their size is the cause)
            print(f"note: {job.photo} is out of focus (its strokes blurred by about {result.blur_in_photo_pixels:.1f}"
                  f" px, {result.blur_in_letter_heights:.0%} of a letter's height): it was sharpened before reading, "
                  "but a blurred photo reads fewer letters right; hold the phone steady, a little farther away if it "
                  "was too close to focus", file=sys.stderr)
        if result.inverted_because:
            named = f"{job.name}: " if batch else ""
            print(f"note: {named}{result.inverted_because}, so the photo was read with light and dark swapped, as "
                  "light writing on a dark ground (--invert does so from the start)", file=sys.stderr)
        write_pictures(args, job, result, classifier, batch)
        if args.time:
            report_timings(result, model_seconds, time.perf_counter() - started + model_seconds)
        if args.json:
            summary = result.as_dict()
            summary["model"] = classifier.source
            summary["digit_model"] = digits.source if digits is not None else None
            summary["dtype"] = args.dtype
            summary["min_confidence"] = args.min_confidence
            summary["shifts"] = args.shifts
            summary["language"] = args.language
            print(json_line(summary), flush=True)


def write_pictures(args, job, result, classifier, batch):
    """Write the boxed picture, the crop sheet and the crops the job names, each with a line on stderr."""
    from ..ocr.render import crop_sheet, save_boxed, save_picture
    from ..ocr.user_crops import LABELS_FILE, SHEET_FILE, write_crops

    if job.out:
        save_boxed(result.photo.rgb, result.lines, result.photo.scale, job.out)
        print(f"boxed picture written to {job.out}", file=sys.stderr)
    if job.crop_sheet:
        save_picture(crop_sheet(result.crops), job.crop_sheet, "crop sheet", "--crop-sheet")
        print(f"crop sheet written to {job.crop_sheet}", file=sys.stderr)
    if job.crops:
        count = write_crops(job.crops, result, classifier.classes, args.force)
        finetune = "" if batch else f", then: hdl-native letters --finetune {job.crops} --out mine.hdl"
        if finetune and any(reading.kind == "digit" for line in result.lines for reading in line):
            finetune += TEACH_DIGITS
        print(f"{count} crops and their labels written to {job.crops} (all in one picture: "
              f"{job.crops}/{SHEET_FILE}); correct {job.crops}/{LABELS_FILE}{finetune}", file=sys.stderr)


def small_letters_note(photo, height):
    """Why a photo whose letters are `height` px tall (under SMALL_LETTERS_NOTE; OcrResult.letter_height) read
    badly, and what to do about it."""
    if photo.scale > 1:  # reduced to be read: the photo is large, the writing a small part of it
        long_side = "across" if photo.rgb.shape[1] >= photo.rgb.shape[0] else "high"  # a tall photo is not "across"
        return (f"its letters are about {height:.0f} px tall at the size it was read ({max(photo.rgb.shape[:2])} px "
                f"{long_side}, reduced from {max(photo.original_size)}), too small to read well: crop the photo around "
                f"the writing so they are {SMALL_LETTERS_NOTE} px or more")
    return (f"its letters are about {height:.0f} px tall, too small to read well: take the photo closer, or at a "
            f"higher resolution, so they are {SMALL_LETTERS_NOTE} px or more (20 read best)")


def report_turn(result, turn, name=None):
    """A line on stderr when the photo was read every way up (--rotate auto, or a reading as it is that looked
    turned), or when a reading by hand at 0 degrees looks turned; name: the photo's, in a batch (the lines name it
    then, as stderr may be read apart from the headers on standard output)."""
    from ..ocr.orientation import turned_hint

    way = (f"turned {result.turn} degrees clockwise, the way its boxes most often read as sure letters or digits"
           if result.turn else "as it is, which of the four ways reads best")
    note = f"note: {name}: " if name else "note: "
    if turn == "auto":
        print(f"read {name or 'the photo'} {way}", file=sys.stderr)
    elif result.turned_because:
        print(f"{note}{result.turned_because}, as when a photo lies on its side, so it was read every way up: "
              f"read {way} (--rotate 0 reads it as it is)", file=sys.stderr)
    elif turn == 0 and (hint := turned_hint(result)):
        print(f"{note}{hint}, as when a photo lies on its side; if it is turned, try --rotate auto (or 90 or 270)",
              file=sys.stderr)


def report_timings(result, model_seconds, total_seconds):
    """One line per stage on stderr, then the total (model loading and --out included)."""
    width, height = result.photo.original_size
    print(f"timings for {width}x{height} ({width * height / 1e6:.1f} MP), "
          f"analysed at {result.photo.grey.shape[1]}x{result.photo.grey.shape[0]}:", file=sys.stderr)
    print(f"  {'model':<9} {model_seconds:7.3f} s", file=sys.stderr)
    for stage, seconds in result.timings.items():
        print(f"  {stage:<9} {seconds:7.3f} s", file=sys.stderr)
    print(f"  {'pipeline':<9} {sum(result.timings.values()):7.3f} s", file=sys.stderr)
    print(f"  {'total':<9} {total_seconds:7.3f} s", file=sys.stderr)
