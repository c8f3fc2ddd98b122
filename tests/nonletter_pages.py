"""Test pages with numbers and punctuation between the words, and how many of those the reader prints as letters.

A page holds words of real letters (test splits), and between them: numbers of 1-4 MNIST test digits as
words of their own, a punctuation mark closing a word ("word," "word."), and marks standing alone
("-", "(", "+", ...).  The marks are drawn at a letter's scale in their place on the line (a comma on
the baseline, a quote at the top: see page_mark), unlike nonletters.py's training marks, which are
framed the way the reader crops a box.  Pages are built by ocr_pages.build_page and go to tmp_path.
"""
from dataclasses import astuple, dataclass

import numpy as np
from ocr_pages import build_page, intersection, match_boxes

from hdl_native.data.datasets import LETTERS
from hdl_native.data.nonletters import MARKS
from hdl_native.data.warp import box_downsample
from hdl_native.synth.pen_letters import catmull_rom, draw_strokes, wobbled

OTHER = len(LETTERS)  # the label of a digit or a mark on these pages
CLOSING_MARKS = (".", ",", "!", "?", ":", ";")  # written right after a word
LONE_MARKS = ("-", "(", ")", "/", "+", "=", "'", '"')  # written as a word of their own
CLOSING_SHARE, NUMBER_SHARE, LONE_SHARE = 0.3, 0.2, 0.15  # of the words followed by each
TILE, TOP_ROW, BOTTOM_ROW = 28, 2, 26  # the letters' 28x28 tiles hold their ink in rows 2..26
BASELINE_ROW = 23  # the writing grid's y = 0 in a tile; y = 8 (an ascender's top) is row 2
PIXELS_PER_UNIT = 2.6
PEN = (1.5, 3.0)  # tile pixels, as the letters' strokes
OVERSAMPLE = 4


@dataclass
class PageContent:
    """What goes on a page, in order: uint8 (n, 28, 28) tiles, labels (n,) (OTHER for digits and marks),
    kind (n,) of 'letter', 'digit' or 'mark', how many tiles each word takes, and what each tile shows (n names:
    its letter, 'digit', or the mark: '.', ',', ...)."""

    images: np.ndarray
    labels: np.ndarray
    kinds: np.ndarray
    word_lengths: list
    names: list


def compose(letter_images, letter_labels, digit_images, rng, n_words, word_lengths=None, number_share=NUMBER_SHARE):
    """PageContent of n_words words of letters taken in order, with digits (taken in order) and drawn marks
    between them.  letter_images: uint8 (L, 28, 28), labels (L,) in 0..25; digit_images: uint8 (D, 28, 28).
    Words are 2 to 7 letters drawn at random, or word_lengths[k] letters for word k where given (the random
    length is drawn all the same, so the digits and marks after word k are those of the random page).  A number
    of 1 to 4 digits follows a word with probability number_share (a note of dates, prices or phone numbers: 1)."""
    tiles, labels, kinds, lengths, names = [], [], [], [], []
    next_letter = next_digit = 0

    def add(tile, label, kind, name):
        tiles.append(tile)
        labels.append(label)
        kinds.append(kind)
        names.append(name)

    def add_mark(choices):
        symbol = str(rng.choice(choices))
        add(page_mark(MARKS[symbol], rng), OTHER, "mark", symbol)

    for word in range(n_words):
        size = min(int(rng.integers(2, 8)), len(letter_images) - next_letter)
        if word_lengths is not None:
            if word >= len(word_lengths) or word_lengths[word] > len(letter_images) - next_letter:
                break
            size = word_lengths[word]
        if size <= 0:
            break
        for index in range(next_letter, next_letter + size):
            add(letter_images[index], int(letter_labels[index]), "letter", LETTERS[int(letter_labels[index])])
        next_letter += size
        if rng.random() < CLOSING_SHARE:
            add_mark(CLOSING_MARKS)
            size += 1
        lengths.append(size)
        digits = min(int(rng.integers(1, 5)), len(digit_images) - next_digit)
        if rng.random() < number_share and digits > 0:
            for index in range(next_digit, next_digit + digits):
                add(digit_images[index], OTHER, "digit", "digit")
            next_digit += digits
            lengths.append(digits)
        if rng.random() < LONE_SHARE:
            add_mark(LONE_MARKS)
            lengths.append(1)
    return PageContent(np.stack(tiles), np.array(labels), np.array(kinds), lengths, names)


def build_mixed_page(content, spec):
    """(JPEG bytes, [Truth] with labels 0..25 or OTHER, tiles used) of a page holding as much of `content`
    as fits, word by word (see ocr_pages.build_page); with spec.lead_in only words of letters begin with a stroke."""
    return build_page(content.images, content.labels, spec, word_lengths=content.word_lengths,
                      may_lead_in=content.kinds == "letter")


def page_mark(form, rng):
    """A mark (a MARKS form) as a letter tile shows it: uint8 (28, 28), its pen and size a letter's,
    at its height on the line (kept within the tile's ink rows), jittered by synth.pen_letters.wobbled."""
    strokes = wobbled(form, rng)
    curves = np.vstack([catmull_rom(stroke) for stroke in strokes])
    low, high = curves.min(axis=0), curves.max(axis=0)
    pen = rng.uniform(*PEN)
    shrink = min(1.0, (BOTTOM_ROW - TOP_ROW - pen) / max(float(high[1] - low[1]) * PIXELS_PER_UNIT, 1e-6))
    scale = PIXELS_PER_UNIT * shrink
    extent = float((high - low).max()) * scale + pen  # draw_strokes fits the longer side to extent - pen
    fine = draw_strokes(strokes, TILE * OVERSAMPLE, extent * OVERSAMPLE, pen * OVERSAMPLE)
    half = float(high[1] - low[1]) * scale / 2 + pen / 2
    centre = np.clip(BASELINE_ROW - (low[1] + high[1]) / 2 * scale, TOP_ROW + half, BOTTOM_ROW - half)
    fine = np.roll(fine, int(round((centre - TILE / 2) * OVERSAMPLE)), axis=0)
    return np.round(box_downsample(fine[None], OVERSAMPLE)[0] * 255).astype(np.uint8)


class Counts:
    """Counts that add up over pages, field by field (a dataclass of ints)."""

    def __add__(self, other):
        return type(self)(*(a + b for a, b in zip(astuple(self), astuple(other))))


def share(part, whole):
    """part as a percentage of whole (NaN of nothing)."""
    return 100.0 * part / whole if whole else float("nan")


@dataclass
class MixedScore(Counts):
    """Counts over pages: letters found (a box matches by IoU >= 0.5), read right, and left out as not letters;
    digits and marks, and how many of them were printed as letters; letters printed for nothing on the page (a
    box printed as a letter that matches no truth and stands for no digit or mark: a piece of a letter cut in
    two, a stroke boxed alone)."""

    letters: int = 0
    letters_found: int = 0
    letters_read: int = 0
    letters_left_out: int = 0
    others: int = 0
    others_printed: int = 0
    extra_letters: int = 0

    def percentages(self):
        """{letters found, read, left out; digits and marks not printed as letters}: percent of their totals;
        extra letters: percent of the letters."""
        return {"letters_found": share(self.letters_found, self.letters),
                "letters_read": share(self.letters_read, self.letters),
                "letters_left_out": share(self.letters_left_out, self.letters),
                "others_not_printed": share(self.others - self.others_printed, self.others),
                "extra_letters": share(self.extra_letters, self.letters)}


def score_mixed_page(truths, found, min_iou=0.5, covered=0.5):
    """MixedScore of one page.  found: [((top, bottom, left, right), label)], label 0..25 for a box printed
    as that letter, OTHER for a box the reader left out of the text.

    A digit or mark counts as printed as a letter when the box matched to it (one to one by IoU) is a
    letter, or, unmatched, when a letter box matched to no truth covers at least `covered` of its box (two
    digits read as one letter).  One swallowed by a letter's box (a comma joined to its word's last letter)
    prints no letter of its own and does not count.
    """
    boxes = [box for box, _ in found]
    matched, spare, printing = letters_printed_for_others(truths, found, min_iou, covered)
    score = MixedScore()
    unmatched_others = [truth.box for t, truth in enumerate(truths) if truth.label == OTHER and t not in matched]
    score.extra_letters = sum(not any(coverage(box, boxes[f]) >= covered for box in unmatched_others) for f in spare)
    for t, truth in enumerate(truths):
        if truth.label == OTHER:
            score.others += 1
            continue
        box = matched.get(t)
        score.letters += 1
        score.letters_found += box is not None
        score.letters_read += box is not None and found[box][1] == truth.label
        score.letters_left_out += box is not None and found[box][1] == OTHER
    score.others_printed = len(printing)
    return score


def letters_read(truths, found, min_iou=0.5):
    """{tile: whether it was read right} for each letter of a page (Truth.tile of each truth not labelled OTHER):
    found and read as its own letter, by the one-to-one IoU match score_mixed_page counts letters_read with, so
    the values sum to its letters_read.  For resampling a page's letters by writer (the page benchmark's interval)."""
    matched = match_boxes(truths, [box for box, _ in found], min_iou)
    return {truth.tile: matched.get(t) is not None and found[matched[t]][1] == truth.label
            for t, truth in enumerate(truths) if truth.label != OTHER}


def printed_as_letters(truths, found, names, min_iou=0.5, covered=0.5):
    """[(name, letter)] for each digit or mark of a page printed as a letter, as score_mixed_page counts them (so
    as many as its others_printed): names[t] says what truth t shows (PageContent.names), letter is the one
    printed for it (of the letter box covering it, when no box matches it)."""
    _, _, printing = letters_printed_for_others(truths, found, min_iou, covered)
    return [(names[t], LETTERS[found[f][1]]) for t, f in sorted(printing.items())]


def letters_printed_for_others(truths, found, min_iou, covered):
    """(matched {truth: found box} one to one by IoU >= min_iou; spare [found boxes printed as letters that match
    no truth]; printing {digit-or-mark truth: the found box that prints it as a letter}), as score_mixed_page
    describes: its matched box when that is a letter, else, unmatched, the first spare box covering `covered` of it."""
    boxes = [box for box, _ in found]
    matched = match_boxes(truths, boxes, min_iou)
    spare = [f for f in range(len(found)) if f not in set(matched.values()) and found[f][1] != OTHER]
    printing = {}
    for t, truth in enumerate(truths):
        if truth.label != OTHER:
            continue
        box = matched.get(t)
        if box is None:
            box = next((f for f in spare if coverage(truth.box, boxes[f]) >= covered), None)
        if box is not None and found[box][1] != OTHER:
            printing[t] = box
    return matched, spare, printing


def coverage(truth_box, box):
    """Share of truth_box's area inside box; boxes are (top, bottom, left, right)."""
    return intersection(truth_box, box) / ((truth_box[1] - truth_box[0]) * (truth_box[3] - truth_box[2]))


def found_boxes(result):
    """[(box, label)] of an OcrResult: each box's letter as its index in LETTERS, or OTHER."""
    return [(reading.box, LETTERS.index(reading.letter) if reading.is_letter else OTHER)
            for line in result.lines for reading in line]


@dataclass
class DigitScore(Counts):
    """Counts over pages for a reader that prints digits (ocr/digits.py): the digits on the pages, read as their own
    digit, as another digit, or left out of the text (neither letter nor digit); the marks and the letters printed as
    digits; digits printed for nothing on the page (a box printed as a digit that matches no truth)."""

    digits: int = 0
    digits_right: int = 0
    digits_wrong: int = 0
    digits_left_out: int = 0
    marks: int = 0
    marks_as_digits: int = 0
    letters: int = 0
    letters_as_digits: int = 0
    extra_digits: int = 0

    def percentages(self):
        """{digits read right, wrong, left out: percent of the digits; marks printed as digits: of the marks;
        letters printed as digits and digits printed for nothing: of the letters}."""
        return {"digits_right": share(self.digits_right, self.digits),
                "digits_wrong": share(self.digits_wrong, self.digits),
                "digits_left_out": share(self.digits_left_out, self.digits),
                "marks_as_digits": share(self.marks_as_digits, self.marks),
                "letters_as_digits": share(self.letters_as_digits, self.letters),
                "extra_digits": share(self.extra_digits, self.letters)}


def score_digits(truths, found, digit_of_tile, min_iou=0.5):
    """DigitScore of one page.  found: [((top, bottom, left, right), label, digit)]: label as score_mixed_page's
    (0..25 for a letter printed, OTHER for a box left out of the letters), digit the character printed for a box
    read as a digit (else None).  digit_of_tile: {Truth.tile: its digit '0'..'9'} for the page's digits; a truth
    labelled OTHER that is not in it is a mark.  Truths are matched to boxes one to one by IoU >= min_iou; a digit
    without a box of its own counts as left out."""
    matched, printed_for = digits_printed_for_truths(truths, found, min_iou)
    score = DigitScore()
    for t, truth in enumerate(truths):
        box, printed = matched.get(t), printed_for[t]
        if truth.label != OTHER:
            score.letters += 1
            score.letters_as_digits += printed is not None
        elif truth.tile in digit_of_tile:
            score.digits += 1
            score.digits_right += printed == digit_of_tile[truth.tile]
            score.digits_wrong += printed is not None and printed != digit_of_tile[truth.tile]
            score.digits_left_out += printed is None and (box is None or found[box][1] == OTHER)
        else:
            score.marks += 1
            score.marks_as_digits += printed is not None
    score.extra_digits = sum(digit is not None for f, (_, _, digit) in enumerate(found) if f not in matched.values())
    return score


def found_digits(result, min_confidence=0.5):
    """[(box, label, digit)] of an OcrResult as score_digits takes them: found_boxes' pairs and the digit each box
    prints (read as a digit at least min_confidence likely; `ocr` prints at its --min-confidence, 0.5 by default),
    else None."""
    return [(box, label, reading.digit if reading.digit is not None and reading.digit_probability >= min_confidence
             else None)
            for (box, label), reading in zip(found_boxes(result), (r for line in result.lines for r in line))]


def printed_as_digits(truths, found, names, digit_of_tile, min_iou=0.5):
    """[(name, digit)] for each mark or letter of a page printed as a digit, as score_digits counts them (its
    marks_as_digits and letters_as_digits): names[t] says what truth t's tile shows (PageContent.names: the letter,
    or the mark), found and digit_of_tile as score_digits takes them."""
    _, printed_for = digits_printed_for_truths(truths, found, min_iou)
    return [(names[truth.tile], printed_for[t]) for t, truth in enumerate(truths)
            if printed_for[t] is not None and truth.tile not in digit_of_tile]


def digits_printed_for_truths(truths, found, min_iou):
    """(matched {truth: found box} one to one by IoU >= min_iou, [the digit each truth's matched box prints, or
    None]) for score_digits and printed_as_digits; found as score_digits takes it."""
    matched = match_boxes(truths, [box for box, _, _ in found], min_iou)
    return matched, [found[matched[t]][2] if t in matched else None for t in range(len(truths))]
