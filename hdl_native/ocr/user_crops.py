"""The user's own letters: `ocr --crops DIR` writes every box it read as a crop with an editable label,
`letters --finetune DIR` reads the corrected labels back.

A crop is exactly what the network was given, before normalisation: a 28x28 8-bit greyscale PNG, bright ink
(255) on black (0), as in the training letters.  PNG is lossless, so a crop read back is bit-identical.
Names sort in reading order: line01-box001.png, line01-box002.png, ... (wider numbers on bigger pages).

DIR/labels.tsv holds one line per crop: file name, label, and the reader's confidence (ignored when read
back).  A label is a letter a-z (either case), a digit 0-9 (where the digit reader read one: `ocr` prints it),
`other` for a mark that is neither (only for a model that has that class), or `-` to leave the crop out.  Lines
starting with # are comments.  The letter reader learns a digit as `other` (not a letter, as it was trained); the
digit reader (`letters --finetune DIR --digits`) learns the digits and `other`, and leaves the letters out.

DIR/labels-sheet.png shows every crop enlarged with its label: `ocr --crops` draws it with the labels read, to
correct the file by; `letters --finetune` draws it again from the file as corrected, marking the labels the model
does not read yet.
"""
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..data.datasets import IMAGE_SIZE as FRAME
from ..data.datasets import DIGITS, NOT_A_LETTER
from ..atomic import atomic_output
from ..errors import HDLError, shown
from .render import OTHER_COLOUR, labels_sheet, reading_caption

LABELS_FILE = "labels.tsv"
SHEET_FILE = "labels-sheet.png"  # every crop with its box number and label, to correct the labels file by
LEAVE_OUT = "-"
BORDER = 2  # crops keep this many px of black around the letter (crops.py frames 24x24 inside 28x28)
PAPER_LEVEL = 128  # a border brighter than this on average means dark ink on white paper
SIXTEEN_BIT = ("I;16", "I;16B", "I;16L")  # 16-bit greyscale (older Pillows open a 16-bit PNG as "I")
CROP_NAME = re.compile(r"line(\d+)-box(\d+)\.png")  # the names crop_names gives
AGREED_COLOUR = (0, 0, 0)  # a corrected sheet's label the model already reads
TAUGHT_COLOUR = (225, 110, 0)  # a label the model reads otherwise: what the fine-tune teaches it
LEFT_OUT_COLOUR = (150, 150, 150)

HEADER = """\
# The letters `hdl-native ocr` found in {image}, one 28x28 crop each: what the network saw
# (8-bit greyscale PNG, bright ink 255 on black 0).  Correct the label column, then run
#   hdl-native letters --finetune {directory} --out mine.hdl{digits}
# A label is a letter a-z (either case){other}, or - to leave the crop out
# (half a letter, two letters, a smudge).  You may add crops of your own: 28x28 greyscale PNGs,
# bright ink on black, one line each.
# Columns, separated by tabs or spaces: file, label, confidence (ignored when read back).
# {sheet} shows every crop, enlarged, with its box number and the label read (red: unsure);
# `letters --finetune` draws it again with your labels, marking those the model reads otherwise.
"""


@dataclass
class LabelledCrops:
    """The usable crops of a labels file: images uint8 (n, 28, 28), labels int64 (n,) indexing `classes`,
    and their file names (n,); left_out: the names of the crops labelled '-'; not_for_model: those labelled with a
    letter, which a digit reader leaves to the letter reader."""

    images: np.ndarray
    labels: np.ndarray
    names: list
    classes: list
    left_out: list = field(default_factory=list)
    not_for_model: list = field(default_factory=list)

    def __len__(self):
        return len(self.labels)


def crop_names(counts):
    """File names in reading order for lines holding counts[i] crops: ['line01-box001.png', ...]."""
    line_digits = max(2, len(str(len(counts))))
    box_digits = max(3, len(str(max(counts, default=0))))
    return [f"line{line:0{line_digits}d}-box{box:0{box_digits}d}.png"
            for line, count in enumerate(counts, start=1) for box in range(1, count + 1)]


def write_crops(directory, result, classes, force=False):
    """Write every crop of an OcrResult as PNG, DIR/labels.tsv with the reader's labels and DIR/SHEET_FILE, a
    picture of them all to correct the labels by (render.labels_sheet); returns the count.

    directory is created if needed; HDLError when it already holds a labels file (unless force) or cannot be
    written.  The labels file is written last, atomically, so an interrupted run leaves none.  With force, the
    labels file, crops and sheet an earlier run wrote there are deleted first (crops of other names are kept): an
    interrupted run left the earlier labels beside the new crops, which `letters --finetune` then learnt from.
    """
    directory = Path(directory)
    labels_path = check_crops_directory(directory, force)
    if force and directory.is_dir():
        remove_earlier_crops(directory)
    readings = [reading for line in result.lines for reading in line]
    names = crop_names([len(line) for line in result.lines])
    crops = [crop for line in result.crops for crop in line]
    rows = [f"{name}\t{crop_label(reading)}\t{crop_confidence(reading):.3f}\n"
            for name, reading in zip(names, readings)]
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for name, crop in zip(names, crops):
            Image.fromarray(np.ascontiguousarray(crop, dtype=np.uint8)).save(directory / name, format="PNG")
        groups = [(f"line {number}", [(box, crop, *reading_caption(reading))
                                      for box, (crop, reading) in enumerate(zip(line_crops, line), start=1)])
                  for number, (line_crops, line) in enumerate(zip(result.crops, result.lines), start=1)]
        sheet = labels_sheet(groups, f"The letters read in {shown(result.photo.name)}: green sure, red unsure (with "
                                     f"the confidence), blue a digit or {NOT_A_LETTER}.  Correct them in "
                                     f"{shown(labels_path)}.")
        with atomic_output(directory / SHEET_FILE) as stream:
            sheet.save(stream, format="PNG", compress_level=3)
        other = f", a digit 0-9, {NOT_A_LETTER} for a mark that is neither" \
            if NOT_A_LETTER in classes else ""
        digits = (f"\n# and, to teach the digit reader your digits (ocr --digit-model mydigits.hdl then reads with it):"
                  f"\n#   hdl-native letters --finetune {shown(directory)} --digits --out mydigits.hdl"
                  if NOT_A_LETTER in classes else "")
        header = HEADER.format(image=shown(result.photo.name), directory=shown(directory), other=other,
                               digits=digits, sheet=shown(directory / SHEET_FILE))
        write_text_atomically(labels_path, header + "".join(rows))
    except OSError as error:
        raise HDLError(f"--crops {directory}: cannot write the crops ({error.strerror or error})") from None
    return len(rows)


def remove_earlier_crops(directory):
    """Delete what write_crops wrote in `directory`: the labels file first, then the crops (named as crop_names
    names them) and the sheet; HDLError if one cannot be deleted."""
    earlier = [directory / LABELS_FILE] + [path for path in sorted(directory.iterdir())
                                           if CROP_NAME.fullmatch(path.name) or path.name == SHEET_FILE]
    try:
        for path in earlier:
            path.unlink(missing_ok=True)
    except OSError as error:
        raise HDLError(f"--crops {directory}: cannot replace the crops it holds ({error.strerror or error})") from None


def crop_label(reading):
    """A Reading's label in the labels file: the digit it was printed as, else the letter reader's class."""
    return reading.digit if reading.kind == "digit" else reading.letter


def crop_confidence(reading):
    """The probability of crop_label: the digit reader's for a digit, else the letter reader's."""
    return reading.digit_probability if reading.kind == "digit" else reading.confidence


def check_crops_directory(directory, force=False):
    """The labels file path in `directory`; HDLError when that is a file or holds a labels file (unless force)."""
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise HDLError(f"--crops {directory} is a file, not a directory")
    labels_path = directory / LABELS_FILE
    if labels_path.exists() and not force:
        raise HDLError(f"--crops {directory} already holds {LABELS_FILE} (perhaps corrected by hand); pass --force "
                       "to replace it, or choose another directory")
    return labels_path


def write_text_atomically(path, text):
    """Write `text` to a temporary file beside `path`, then rename it over `path` (atomic.atomic_output)."""
    with atomic_output(path, "w", encoding="utf-8") as stream:
        stream.write(text)


def read_labelled_crops(directory, classes):
    """The crops DIR/labels.tsv labels with one of `classes` (a model's class names) -> LabelledCrops.

    Crops labelled '-' are left out.  A digit is `other` to a model with that class and no digits (the letter
    reader); a letter is not for a digit reader (classes holding every digit): left out, named in not_for_model.
    HDLError naming the file (and line) when the directory or labels file is missing, a line does not parse, a label
    is unknown, a crop is missing, unreadable, not 28x28 or dark on light, a crop is listed twice, or no crop is
    left.
    """
    directory = Path(directory)
    if directory.is_file():
        raise HDLError(f"--finetune {directory}: a file; give the folder of crops that holds {LABELS_FILE} "
                       f"({directory.parent if directory.name == LABELS_FILE else 'as `ocr --crops DIR` writes it'})")
    if not directory.is_dir():
        raise HDLError(f"--finetune {directory}: no such directory (write one with `hdl-native ocr PHOTO --crops "
                       f"{directory}`)")
    labels_path = directory / LABELS_FILE
    if not labels_path.is_file():
        raise HDLError(f"--finetune {directory}: no {LABELS_FILE} in it (`hdl-native ocr PHOTO --crops DIR` "
                       "writes one)")
    index_of = class_index(classes)
    digit_reader = reads_digits(classes)
    images, labels, names, lines_of, left_out, not_for_model = [], [], [], {}, [], []
    for number, fields in labelled_lines(labels_path):
        where = f"{labels_path}:{number}"
        name, label = fields[0], fields[1].lower()
        if name in lines_of:
            raise HDLError(f"{where}: {name} is listed twice (also on line {lines_of[name]})")
        lines_of[name] = number
        if label == LEAVE_OUT:
            left_out.append(name)
            continue
        if digit_reader and len(label) == 1 and "a" <= label <= "z":
            not_for_model.append(name)
            continue
        if label in DIGITS and label not in index_of and NOT_A_LETTER in index_of:
            label = NOT_A_LETTER  # not a letter, as the letter reader learned digits
        if label not in index_of:
            raise HDLError(f"{where}: unknown label {fields[1]!r}{unknown_label_hint(index_of, label)}")
        images.append(read_crop(directory / name, where))
        labels.append(index_of[label])
        names.append(name)
    if not labels and not_for_model:
        raise HDLError(f"{labels_path}: no crop is labelled with a digit or {NOT_A_LETTER!r}, which a digit reader "
                       f"learns ({len(not_for_model)} letters are the letter reader's: fine-tune it without --digits)")
    if not labels:
        raise HDLError(f"{labels_path}: no crop is labelled (every line is a comment or {LEAVE_OUT!r}); "
                       "label some crops to fine-tune on")
    return LabelledCrops(np.stack(images), np.array(labels, np.int64), names, list(classes), left_out,
                         not_for_model)


def joined_crops(directories, parts):
    """One LabelledCrops of several directories' LabelledCrops `parts` (file names then prefixed by the directory)."""
    if len(parts) == 1:
        return parts[0]

    def named(which):
        return [str(Path(directory) / name) for directory, part in zip(directories, parts)
                for name in getattr(part, which)]

    return LabelledCrops(np.concatenate([part.images for part in parts]),
                         np.concatenate([part.labels for part in parts]), named("names"), parts[0].classes,
                         named("left_out"), named("not_for_model"))


def write_corrected_sheet(directory, crops, read, model_name):
    """Draw DIR/SHEET_FILE again from the labels file as corrected (render.labels_sheet): every crop labelled, in
    black where the model reads it so, in orange with what the model reads where it does not (what the fine-tune
    teaches), `other` in blue; the crops left out ('-'), where they can be read, as 'left out' in grey, and those a
    digit reader leaves to the letter reader as 'letter' in grey.

    crops: the directory's LabelledCrops; read: (n,) the class the model reads in each.  Returns how many labels
    the model reads otherwise.  Written atomically; an OSError is the caller's (the sheet is a help, not the
    fine-tune's result).
    """
    directory = Path(directory)
    cells = {name: (image, *taught_caption(crops.classes[label], crops.classes[reading]))
             for name, image, label, reading in zip(crops.names, crops.images, crops.labels, read)}
    for names, caption in ((crops.left_out, "left out"), (crops.not_for_model, "letter")):
        for name in names:
            try:
                cells[name] = (read_crop(directory / name, name), caption, LEFT_OUT_COLOUR)
            except HDLError:  # left out perhaps because it cannot be read
                continue
    taught = int(np.count_nonzero(np.asarray(read) != crops.labels))
    letters = f", {len(crops.not_for_model)} letters for the letter reader (grey)" if crops.not_for_model else ""
    header = (f"{directory / LABELS_FILE} as corrected: {len(crops)} crops labelled, {taught} read otherwise by "
              f"{model_name} (orange: label, then what it reads), {len(crops.left_out)} left out (grey){letters}.")
    with atomic_output(directory / SHEET_FILE) as stream:
        labels_sheet(sheet_groups(cells), header).save(stream, format="PNG", compress_level=3)
    return taught


def taught_caption(label, reading):
    """(caption, colour) of a crop labelled `label` that the model reads as `reading` (class names)."""
    if label != reading:
        return f"{label}, read {reading}", TAUGHT_COLOUR
    return label, OTHER_COLOUR if label == NOT_A_LETTER else AGREED_COLOUR


def sheet_groups(cells):
    """render.labels_sheet's groups of {file name: (crop, caption, colour)}: the crops `ocr --crops` named, a row per
    line of the page in box order, then the user's own under 'added', in the order given, numbered by file name."""
    lines, added = {}, []
    for name, (crop, caption, colour) in cells.items():
        match = CROP_NAME.fullmatch(name)
        if match:
            lines.setdefault(int(match[1]), []).append((int(match[2]), crop, caption, colour))
        else:
            added.append((Path(name).stem[:12], crop, caption, colour))
    groups = [(f"line {number}", sorted(lines[number], key=lambda cell: cell[0])) for number in sorted(lines)]
    return groups + ([("added", added)] if added else [])


def unknown_label_hint(index_of, label):
    """What a labels file may say instead of an unknown `label`, for a model whose class_index is index_of."""
    if label == NOT_A_LETTER or label in DIGITS:
        return f": this model has no {NOT_A_LETTER!r} class; use {LEAVE_OUT!r} to leave the crop out"
    if reads_digits(index_of):
        return f"; use a digit 0-9, {NOT_A_LETTER!r}, a letter (left to the letter reader) or {LEAVE_OUT!r}"
    other = f", a digit 0-9, {NOT_A_LETTER!r}" if NOT_A_LETTER in index_of else ""
    return f"; use a letter a-z{other} or {LEAVE_OUT!r} to leave the crop out"


def reads_digits(classes):
    """Whether a model of these class names (or a class_index) is a digit reader: it has every digit as a class."""
    return all(digit in classes for digit in DIGITS)


def class_index(classes):
    """{label as written in a labels file: class index} for a model's class names (letters in lower case)."""
    return {str(name).lower(): index for index, name in enumerate(classes)}


def labelled_lines(labels_path):
    """(line number, [file, label, ...]) for every line of a labels file that is not blank or a comment."""
    try:
        text = labels_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise HDLError(f"{labels_path}: cannot read it ({getattr(error, 'strerror', None) or error})") from None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        fields = stripped.split()
        if len(fields) not in (2, 3):
            raise HDLError(f"{labels_path}:{number}: expected 'file label [confidence]', got {stripped!r}")
        yield number, fields


def read_crop(path, where):
    """One crop as uint8 (28, 28), bright ink on black; HDLError naming `where` when it is not one."""
    try:
        with Image.open(path) as picture:
            size = picture.size
            # a 16-bit crop's full ink is 65535: convert("L") would clip every level above 255 to 255
            if picture.mode in SIXTEEN_BIT or (picture.mode, picture.format) == ("I", "PNG"):
                pixels = np.clip(np.rint(np.asarray(picture, np.float64) / 257), 0, 255).astype(np.uint8)
            else:
                pixels = np.asarray(picture.convert("L"), dtype=np.uint8)
    except FileNotFoundError:
        raise HDLError(f"{where}: the crop {path} does not exist") from None
    except (OSError, UnidentifiedImageError, ValueError) as error:
        raise HDLError(f"{where}: cannot read the crop {path} as an image ({error})") from None
    if size != (FRAME, FRAME):
        raise HDLError(f"{where}: the crop {path} is {size[0]}x{size[1]}; crops must be {FRAME}x{FRAME} "
                       "(bright ink on black, the letter centred in a 24x24 box, like those `ocr --crops` writes)")
    border = np.concatenate([pixels[:BORDER].ravel(), pixels[-BORDER:].ravel(),
                             pixels[:, :BORDER].ravel(), pixels[:, -BORDER:].ravel()])
    if border.mean() > PAPER_LEVEL:
        raise HDLError(f"{where}: the crop {path} looks like dark ink on light paper; crops must be bright ink "
                       "(255) on black (0): invert it")
    return pixels
