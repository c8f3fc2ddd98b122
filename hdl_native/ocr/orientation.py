"""Which way up a photo is: read it turned each way and keep the reading the network is surest of.

A photo whose EXIF orientation tag was lost (sent through a chat program, edited, or scanned sideways) reaches the
reader on its side or upside down.  On its side, a line of letters comes out as a column of short "lines" of one or
two glyphs each, every glyph lying on its back, many read as marks; upside down, the letters are read as other
letters turned over (u for n, p for d), less surely.  Either way fewer characters are read surely.  `ocr --rotate
auto` reads the photo turned by each of image_io.TURNS and keeps the reading whose boxes are most often letters or
digits read surely (surety), at four times the work.  By default `ocr` reads the photo as it is, and the other
three ways too only when that reading looks like that of a photo on its side (turned_hint): upright pages cost
nothing more.
"""
import math

import numpy as np

from ..errors import HDLError
from .image_io import TURNS, turned_photo

SURE = 0.5  # a letter or digit read at least this likely counts as read (ocr's default --min-confidence)
SIDEWAYS_MIN_LINES = 3  # a layout looks turned with at least this many lines ...
SIDEWAYS_GLYPHS_PER_LINE = 2  # ... holding at most this many boxes each, by the median
# or with under this share of sure letters: the reader shipped since the forty-sixth session, calibrated on many
# writers, is surer on every page (held-out seeds 61, 62: upright 0.73-0.81, on their side 0.60-0.69; at 0.6 the note
# fired on none of 24 pages on their side); 0.6 had been chosen with the reader before (upright 0.74-0.81, 0.46-0.68)
LOW_SHARE = 0.7
LOW_SHARE_MIN_BOXES = 20  # ... among at least this many boxes


def surety(result, with_digits=True):
    """(share of the boxes read surely, mean log-probability of every box's best guess from the letter reader) of an
    OcrResult: turns compare by the first, then the second ((0, -inf) for no box).  Read surely: a letter read with
    probability >= SURE (sure_letter) or, with_digits, a digit (sure_digit).  The share of sure characters, rather
    than a mean confidence, keeps both kinds of wrong turn down: letters on their side are often read confidently
    as marks ('other'), which a mean confidence counts as reading well, and a page's real digits and marks are read
    as 'other' the right way up, which a mean letter probability counts against it.  Digits count too: a note of
    dates, prices or phone numbers otherwise reads more sure letters on its side or upside down (o, l, s, z) than
    the right way up.  A share rather than a count: letters upside down or on their side are often cut into more
    boxes (held-out pages and what chose this: BENCHMARKS.md)."""
    boxes = [reading for line in result.lines for reading in line]
    if not boxes:
        return 0.0, -math.inf
    sure = sum(sure_letter(reading) or (with_digits and sure_digit(reading)) for reading in boxes)
    return sure / len(boxes), float(np.mean(np.log(np.maximum([reading.probabilities[0] for reading in boxes],
                                                               1e-12))))


def sure_letter(reading):
    """Whether a Reading is a letter read with probability >= SURE."""
    return reading.is_letter and reading.probabilities[0] >= SURE


def sure_digit(reading):
    """Whether a Reading is a digit read surely: the letter reader answers 'other' with probability >= SURE and the
    digit reader reads it as a digit with probability >= SURE.  Both: the digit reader has never seen a letter and
    reads letters on their side, which the letter reader is unsure of, as sure digits."""
    return (not reading.is_letter and reading.probabilities[0] >= SURE and reading.digit is not None
            and reading.digit_probability >= SURE)


def read_every_way(photo, read, only_if_turned=False):
    """The OcrResult of read(turned Photo) with the highest surety over TURNS, its `turn` set; the photo as it is
    unless another turn reads a larger share of sure characters (the mean confidence only parts the other turns).
    read: Photo -> OcrResult, raising HDLError for a picture it cannot read (re-raised when no turn reads).
    only_if_turned: read the photo as it is first, and the other turns only when that reading gets a turned_hint
    (then stored in the result's turned_because)."""
    results, failure, hint = [], None, None
    for turn in TURNS:
        try:
            result = read(turned_photo(photo, turn))
        except HDLError as error:
            if only_if_turned and turn == 0:
                raise  # a picture that cannot be read as it is (blank, say) is no turned photo
            failure = failure or error
            continue
        result.turn = turn
        results.append(result)
        if only_if_turned and turn == 0:
            hint = turned_hint(result)
            if hint is None:
                return result
    if not results:
        raise failure
    best = max(results, key=surety)
    as_it_is = results[0] if results[0].turn == 0 else None
    if as_it_is is not None and surety(as_it_is)[0] >= surety(best)[0]:
        best = as_it_is  # a turn must read a larger share of sure characters, not just a surer mean, to be taken
    best.turned_because = hint
    return best


def turned_hint(result):
    """Why an OcrResult read as it is looks like a photo on its side, or None: most of its lines hold one or two
    boxes (at least SIDEWAYS_MIN_LINES lines: a line of letters on its side), or under LOW_SHARE of its boxes (at
    least LOW_SHARE_MIN_BOXES) are letters read surely (a page of lines on its side looks like a page, but reads
    badly).  Sure letters only, not digits: on their side many letters read as sure digits, which hid most pages on
    their side; a note of numbers read as it is may get the hint, and reading every way up (surety with its digits)
    then keeps it as it is.  Held-out and test pages: BENCHMARKS.md."""
    counts = [len(line) for line in result.lines]
    if len(counts) >= SIDEWAYS_MIN_LINES and float(np.median(counts)) <= SIDEWAYS_GLYPHS_PER_LINE:
        return f"most of the {len(counts)} lines found hold one or two characters"
    share, _ = surety(result, with_digits=False)
    if sum(counts) >= LOW_SHARE_MIN_BOXES and share < LOW_SHARE:
        return f"only {share:.0%} of the {sum(counts)} boxes read as letters with confidence"
    return None
