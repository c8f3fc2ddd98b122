"""Pictures of a reading: boxed.png (the photo with a box around every character and the letter read under it),
the crops the network saw (crop_sheet) and the labels sheet `ocr --crops` writes beside them and `letters --finetune`
redraws from the corrected labels (labels_sheet)."""
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..atomic import atomic_output
from ..errors import HDLError

SURE_COLOUR = (0, 170, 60)
UNSURE_COLOUR = (230, 40, 30)
OTHER_COLOUR = (40, 110, 230)  # a box the model reads as not a letter (a digit, a mark): no letter under it,
# or the digit the digit reader read (ocr/digits.py)
LABEL_BACKGROUND = (255, 255, 255)


def render_boxes(rgb, lines, scale):
    """A Pillow image: rgb (H, W, 3) uint8 with every Reading's box (original pixels / scale) and letter drawn
    (green when sure, red with its confidence when unsure, a blue box when it is not a letter: with the digit under
    it when the digit reader read one)."""
    picture = Image.fromarray(rgb).copy()
    draw = ImageDraw.Draw(picture)
    heights = [(r.box[1] - r.box[0]) / scale for line in lines for r in line]
    size = int(np.clip(0.45 * np.median(heights), 12, 80)) if heights else 12
    font = scalable_font(size)
    stroke = max(1, size // 12)
    for line in lines:
        for reading in line:
            top, bottom, left, right = (v / scale for v in reading.box)
            colour = OTHER_COLOUR if not reading.is_letter else UNSURE_COLOUR if reading.unsure else SURE_COLOUR
            draw.rectangle((left - 2, top - 2, right + 1, bottom + 1), outline=colour, width=stroke)
            if reading.kind == "other":
                continue
            if reading.kind == "digit":
                text = reading.digit
            else:
                text = f"{reading.letter}? {reading.confidence:.0%}" if reading.unsure else reading.letter
            position = ((left + right) / 2, bottom + 3 + stroke)
            box = draw.textbbox(position, text, font=font, anchor="mt")
            draw.rectangle(box, fill=LABEL_BACKGROUND)
            draw.text(position, text, font=font, fill=colour, anchor="mt")
    return picture


def scalable_font(size):
    """Pillow's built-in font at `size` px (Pillow >= 10.1), else its small bitmap font."""
    try:
        return ImageFont.load_default(size=size)
    except TypeError:
        return ImageFont.load_default()


def crop_sheet(crops, scale=3):
    """The network's view: one row of 28x28 crops per line (grey, bright ink on black), enlarged `scale` times."""
    width = max(len(line) for line in crops) * 30 + 2
    sheet = np.full((len(crops) * 30 + 2, width), 60, np.uint8)
    for row, line in enumerate(crops):
        for column, crop in enumerate(line):
            sheet[2 + 30 * row:30 + 30 * row, 2 + 30 * column:30 + 30 * column] = crop
    picture = Image.fromarray(sheet)
    return picture.resize((picture.width * scale, picture.height * scale), Image.Resampling.NEAREST)


SHEET_SCALE = 3  # the labels sheet shows each 28x28 crop this many times enlarged
SHEET_COLUMNS = 20  # crops in a row of the labels sheet; a longer line goes on in the next row
SHEET_CELL = (28 * SHEET_SCALE + 10, 28 * SHEET_SCALE + 40)  # (width, height) px of one crop with its captions
SHEET_MARGIN = 64  # px on the left for a group's title ('line 3')
SHEET_HEADER = 24  # px above the first row for the sheet's one line of explanation


def labels_sheet(groups, header):
    """The picture to check a labels file by: one row per group (a line of the page, wrapped after SHEET_COLUMNS
    crops), each crop as the network saw it, enlarged SHEET_SCALE times, under its number and over its caption.

    groups: [(title, [(number, crop (28, 28) uint8, caption, (r, g, b)), ...]), ...]; title is written on the left
    of the group's first row (e.g. 'line 3'), number above the crop (its box number), caption below it in the colour.
    header: one line above the rows saying what the captions and colours mean.  -> a Pillow RGB image.
    """
    rows = [(title if start == 0 else None, cells[start:start + SHEET_COLUMNS]) for title, cells in groups
            for start in range(0, max(len(cells), 1), SHEET_COLUMNS)]  # title only on a group's first row
    small, large = scalable_font(13), scalable_font(16)
    width = max(SHEET_MARGIN + SHEET_CELL[0] * max((len(cells) for _, cells in rows), default=1),
                12 + int(ImageDraw.Draw(Image.new("RGB", (1, 1))).textlength(header, font=small)))
    picture = Image.new("RGB", (width, SHEET_HEADER + SHEET_CELL[1] * max(len(rows), 1)), LABEL_BACKGROUND)
    draw = ImageDraw.Draw(picture)
    draw.text((6, SHEET_HEADER // 2), header, font=small, fill=(0, 0, 0), anchor="lm")
    size = 28 * SHEET_SCALE
    for row, (title, cells) in enumerate(rows):
        top = SHEET_HEADER + row * SHEET_CELL[1]
        if title is not None:  # a group's first row: its title, and a rule above
            draw.line((0, top, width, top), fill=(200, 200, 200))
            draw.text((6, top + 18 + size // 2), title, font=small, fill=(0, 0, 0), anchor="lm")
        for column, (number, crop, caption, colour) in enumerate(cells):
            left = SHEET_MARGIN + column * SHEET_CELL[0]
            draw.text((left + SHEET_CELL[0] // 2, top + 2), str(number), font=small, fill=(90, 90, 90), anchor="mt")
            enlarged = Image.fromarray(np.ascontiguousarray(crop, dtype=np.uint8)).resize(
                (size, size), Image.Resampling.NEAREST)
            picture.paste(enlarged.convert("RGB"), (left + 5, top + 18))
            draw.text((left + SHEET_CELL[0] // 2, top + 20 + size), caption, font=large, fill=colour, anchor="mt")
    return picture


def reading_caption(reading):
    """(caption, colour) of a Reading on the labels sheet: the letter in green when sure, in red with its
    confidence when unsure, `other` or the digit printed in blue."""
    if not reading.is_letter:
        return reading.digit or reading.letter, OTHER_COLOUR
    if reading.unsure:
        return f"{reading.letter}? {reading.confidence:.0%}", UNSURE_COLOUR
    return reading.letter, SURE_COLOUR


# A picture's format by its name's ending (PNG for a name without one); `ocr --out boxed.jpg` wrote PNG bytes
PICTURE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP", "": "PNG"}
SAVE_OPTIONS = {"PNG": {"compress_level": 3},  # 2.5x faster than the default, 3% bigger
                "JPEG": {"quality": 92}, "WEBP": {"quality": 92}}


def picture_format(path, option):
    """The Pillow format `path`'s ending names (PICTURE_FORMATS); HDLError naming `option` for another ending."""
    suffix = Path(path).suffix.lower()
    if suffix not in PICTURE_FORMATS:
        raise HDLError(f"{option} {path}: a picture is written as .png, .jpg or .webp (the ending says which), not "
                       f"{suffix}")
    return PICTURE_FORMATS[suffix]


def save_picture(picture, path, what, option="--out"):
    """Write a Pillow image in the format its name's ending says (picture_format), atomically (an interrupted
    write leaves no half picture); HDLError naming `what` if it cannot be written."""
    picture_format_name = picture_format(path, option)
    try:
        with atomic_output(path) as stream:
            picture.save(stream, format=picture_format_name, **SAVE_OPTIONS[picture_format_name])
    except OSError as error:
        raise HDLError(f"{path}: cannot write the {what} ({error.strerror or error})") from None


def save_boxed(rgb, lines, scale, path):
    """Write the boxed picture to `path` (save_picture); HDLError if it cannot be written."""
    save_picture(render_boxes(rgb, lines, scale), path, "boxed picture")
