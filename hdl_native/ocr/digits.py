"""Digits in the text: of the glyphs the letter reader leaves out as 'other', those a digit reader reads as digits.

The letter reader's class 'other' keeps digits and punctuation out of the letters, and so out of the text: a note
"meet at 10 on dec 5" read "meet at on dec".  A second network, trained on MNIST's digits framed like the letters
and on drawn marks as its own 'other' (data/framed_digits.py; the shipped one: tools/train_digit_reader.sh), reads
the crops of those glyphs in one batch per page.  A glyph it reads as a digit with at least the page's
min_confidence is printed as that digit; the others (marks, or digits it is unsure of) stay out of the text as
before.  Only glyphs the letter reader (after the zone, size, word and language rules) called 'other' are offered,
and of those not the tiny ones (sizes.py: a full stop or a comma beside the letters; no digit is that small).  So no
letter read as a letter becomes a digit; a letter the network took for a mark (an undotted i, a capital I) may be
printed as one ("he1lo" where it printed "helo"): one wrong character either way.  Leaving the glyphs of words that
hold a letter unread avoids that but loses the digits of a number with one digit read as a letter (BENCHMARKS.md).
"""
from pathlib import Path

import numpy as np

from ..data.datasets import DIGITS, NOT_A_LETTER
from ..errors import HDLError

PRETRAINED_DIGITS = Path(__file__).resolve().parent.parent / "pretrained" / "digits.hdl"
DIGIT_CLASSES = DIGITS + [NOT_A_LETTER]


def load_digit_reader(state_path=None, shifts=None):
    """The digit reader (a LetterClassifier whose classes are '0'..'9' and 'other') from `state_path`, or the one
    shipped in the package when None; read in `shifts` shifted copies (default: ocr's).  HDLError when the file
    is not one, or the shipped one is not installed."""
    from ..shifts import DEFAULT_SHIFTS
    from .model import load_letter_classifier

    if state_path is None and not PRETRAINED_DIGITS.is_file():
        raise HDLError(f"the pretrained digit reader {PRETRAINED_DIGITS} is not installed; pass --no-digits to "
                       "leave digits out of the text, or --digit-model STATE")
    reader = load_letter_classifier(state_path or PRETRAINED_DIGITS, shifts=shifts or DEFAULT_SHIFTS)
    if reader.classes != DIGIT_CLASSES:
        raise HDLError(f"{state_path or PRETRAINED_DIGITS}: not a digit reader: its classes are "
                       f"{', '.join(reader.classes[:12])}{', ...' if len(reader.classes) > 12 else ''}, not 0-9 and "
                       f"{NOT_A_LETTER} (train one with "
                       "`hdl-native letters --dataset digits`)")
    return reader


def digit_candidates(glyphs, readings):
    """bool (n,): which of a line's readings (left to right, of `glyphs`: objects with top, bottom, left, right)
    the digit reader reads: those that are not letters and not tiny (sizes.tiny_glyphs)."""
    from .sizes import tiny_glyphs

    return np.array([not r.is_letter for r in readings], bool) & ~tiny_glyphs(glyphs)


def read_digits(lines, crops, offered, reader, min_confidence):
    """Set Reading.digit and .digit_probability on every reading of `lines` that is offered and that `reader` reads
    as a digit at least min_confidence likely.

    lines: [[Reading]] of a page; crops: [(n, 28, 28) uint8] the crops of each line's readings; offered: [bool (n,)]
    per line, which readings to read (not letters, not tiny).  All offered crops are read in one batch."""
    where = [(line, index) for line, flags in enumerate(offered) for index in np.flatnonzero(flags)]
    if not where:
        return
    probabilities = reader.probabilities(np.stack([crops[line][index] for line, index in where]))
    best = probabilities.argmax(axis=1)
    for (line, index), column, row in zip(where, best, probabilities):
        if reader.classes[column] != NOT_A_LETTER and row[column] >= min_confidence:
            reading = lines[line][index]
            reading.digit, reading.digit_probability = reader.classes[column], float(row[column])
