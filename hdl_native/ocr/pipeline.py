"""Read the handwritten letters in a photo: the stages one after another, timed."""
import sys
import time
from dataclasses import dataclass, field
from statistics import median

from ..errors import HDLError, shown
from ..progress import stderr_is_terminal
from .boxes import find_segments, pieces_for_paths
from .crops import glyph_crops
from .deskew import DESKEW_FROM_DEGREES, page_skew, straightened
from .digits import digit_candidates, read_digits
from .deslant import DESLANT_FROM_DEGREES, page_slant, upright
from .image_io import MAX_WORK_SIDE, MIN_WORK_SIDE, inverted_photo, load_photo, turned_photo
from .language import apply_language
from .lighting import ink_map, ink_mask
from .recognize import Reading, line_text, pairs_as_other, top_guesses
from .sizes import apply_sizes
from .word_cuts import choose_cuts_in_words, reads_words
from .words import apply_words
from .zones import apply_zones

# A page with more boxes than this shows a progress bar over its lines while it is read (where stderr is a
# terminal): a page of handwriting holds 300 to 400 and is read in about 2 s on one core; a dense or speckled one
# (a dithered scan: thousands of specks, each offered to the network) can take minutes.
LONG_PAGE_BOXES = 1500
NO_DARK_INK = "nothing stood out as dark ink: the background varies as much as ink would"  # why a photo was inverted


@dataclass
class OcrResult:
    """What was read: lines of Readings, their texts, the photo, the network's input crops
    ([(n, 28, 28) uint8] per line) and the time each stage took (seconds)."""

    lines: list
    texts: list
    photo: object
    crops: list = field(default_factory=list)
    timings: dict = field(default_factory=dict)
    turn: int = 0  # degrees clockwise the photo was turned before reading (photo holds it turned)
    turned_because: str = None  # with turn="check": why the photo was read every way up (orientation.turned_hint)
    inverted: bool = False  # read with light and dark swapped (photo holds it swapped)
    inverted_because: str = None  # with invert=None: why it was (the reading as it is found no dark ink)
    skew: float = 0.0  # degrees the page's ink was turned by to read it straight (deskew.py; 0: read as it is)
    slant: float = 0.0  # degrees its writing leaned, sheared upright to read it (deslant.py; 0: read as it is)
    blur: float = 0.0  # px of blur measured at the size it was read, its ink sharpened for (focus.py; 0: sharp)

    @property
    def text(self):
        return "\n".join(self.texts)

    @property
    def blur_in_photo_pixels(self):
        """`blur` in the photo's own pixels (the boxes' scale), not those of the size it was read at."""
        return self.blur * self.photo.scale

    def box_heights(self, letters_only=False):
        """The heights of the boxes read (of those read as letters only, with letters_only), in the photo's pixels."""
        return [reading.box[1] - reading.box[0] for line in self.lines for reading in line
                if reading.is_letter or not letters_only]

    @property
    def blur_in_letter_heights(self):
        """The blur measured (focus.py) as a share of the median height of the boxes read as letters: how much of
        a letter it smears (0.0 for a sharp photo, or no letters)."""
        heights = self.box_heights(letters_only=True)
        if not self.blur or not heights:
            return 0.0
        return self.blur_in_photo_pixels / float(median(heights))

    @property
    def letter_height(self):
        """The median height of the boxes read, in pixels the letters really have: the photo's own, or the
        working copy's where the photo was reduced to be read (None where nothing was boxed)."""
        heights = self.box_heights()
        if not heights:
            return None
        return float(median(heights)) / max(self.photo.scale, 1.0)

    def as_dict(self):
        width, height = self.photo.original_size
        page = {"page": self.photo.page} if self.photo.page else {}  # of a scan of several pages
        return {"image": shown(self.photo.path), **page, "width": width, "height": height, "text": self.text,
                "lines": [{"text": text, "boxes": [r.as_dict() for r in line]}
                          for text, line in zip(self.texts, self.lines)],
                "n_characters": sum(len(line) for line in self.lines),
                "n_not_letters": sum(not reading.is_letter for line in self.lines for reading in line),
                "n_digits": sum(reading.digit is not None for line in self.lines for reading in line),
                "turn": self.turn, "inverted": self.inverted, "skew": round(self.skew, 1),
                "slant": round(self.slant, 1), "blur": round(self.blur_in_photo_pixels, 1),
                "timings": {k: round(v, 4) for k, v in self.timings.items()}}


class NoInkFound(HDLError):
    """The photo holds nothing read as ink (blank paper, or a background varying as much as ink would): the
    one-line 'found no ink' error `ocr` stops with."""


class UnevenBackground(NoInkFound):
    """Nothing stands out as dark ink because the background itself varies as much as ink would (the ink threshold
    drawn from its grain is beyond any ink): often light writing on a dark ground."""


class Stopwatch:
    """Collects the duration of each named stage."""

    def __init__(self):
        self.timings = {}
        self._last = time.perf_counter()

    def lap(self, name):
        now = time.perf_counter()
        self.timings[name] = self.timings.get(name, 0.0) + now - self._last
        self._last = now


def read_page(path, classifier, min_confidence=0.5, max_side=MAX_WORK_SIDE, language=None, turn="check",
              progress=False, min_side=MIN_WORK_SIDE, invert=None, page=None, digits=None):
    """Find, crop and classify every character in the photo at `path` (its page `page`, from 1, where it is a PDF or
    TIFF of several: image_io.page_count; None: the first) -> OcrResult; HDLError on bad input.

    classifier: a letters reader (recognize.ShiftedReader: classes, probabilities(crops) and reads_pairs; a stand-in
    without reads_pairs reads no class PAIR).  language: a LetterNgrams (language.load_language) to read words of
    letters with, or None to read each glyph alone.  digits: the digit reader (digits.load_digit_reader) that reads
    the glyphs the classifier calls 'other' as digits where it can, or None to leave them all out of the text.
    turn: degrees clockwise (0, 90, 180, 270) to turn the photo by before reading (after its EXIF orientation);
    "auto" to read it every way up and keep the surest reading; "check" (the default) to read it as it is and, only
    when that reading looks like a photo on its side, every way up as well (orientation.py: the result's
    turned_because then says why).  invert: True to read it with light and dark swapped (light writing on a dark
    ground); None (the default) to read it as it is and swapped only when nothing stands out as dark ink because the
    background varies as much as ink would (UnevenBackground; the result's inverted_because then says so); False
    never to swap.  progress: show a bar over the lines of a page of more than LONG_PAGE_BOXES boxes on stderr (when
    it is a terminal).  max_side, min_side: the working size's bounds (image_io.load_photo)."""
    clock = Stopwatch()
    photo = load_photo(path, max_side=max_side, min_side=min_side, page=page)
    clock.lap("load")
    if invert:
        photo = inverted_photo(photo)
    try:
        result = read_turned(photo, classifier, min_confidence, language, turn, clock, progress, digits)
    except UnevenBackground:
        if invert:
            raise NoInkFound(f"{photo.name}: found no ink read with light and dark swapped: nothing stands out as "
                             "light writing either; is it dark writing on a light ground?") from None
        if invert is not None:
            raise
        try:
            result = read_turned(inverted_photo(photo), classifier, min_confidence, language, turn, clock, progress,
                                 digits)
        except HDLError:
            raise NoInkFound(f"{photo.name}: found no ink: nothing stands out from the background, as dark writing "
                             "or as light (the background varies as much as ink would)") from None
        result.inverted_because = NO_DARK_INK
    result.inverted = bool(invert) or result.inverted_because is not None
    result.timings = dict(clock.timings)  # every reading's
    return result


def read_turned(photo, classifier, min_confidence, language, turn, clock, progress, digits=None):
    """read_page after loading (and swapping light and dark): the Photo read turned as `turn` says."""
    if turn in ("auto", "check"):
        from .orientation import read_every_way
        return read_every_way(photo, lambda turned: read_photo(turned, classifier, min_confidence, language, clock,
                                                               progress, digits),
                              only_if_turned=turn == "check")
    result = read_photo(turned_photo(photo, turn), classifier, min_confidence, language, clock, progress, digits)
    result.turn = turn
    return result


def read_photo(photo, classifier, min_confidence, language, clock, progress=False, digits=None):
    """read_page after loading: the Photo's characters found, cropped and classified -> OcrResult (timings from
    `clock`, a Stopwatch; progress and digits as read_page's)."""
    name = photo.name  # the file, and its page of a scan of several
    ink = ink_map(photo.grey, photo.rgb, photo.rounding_spread)
    mask = ink_mask(ink)
    straightening = uprighting = None
    skew = page_skew(mask)
    if abs(skew) > DESKEW_FROM_DEGREES:  # a photo held askew: read its ink turned straight
        ink, straightening = straightened(ink, skew)
        mask = ink_mask(ink)
    slant = page_slant(mask)
    if abs(slant) > DESLANT_FROM_DEGREES:  # writing that leans: read its ink sheared upright
        ink, mask, uprighting = upright(ink, mask, slant)
    boxes_back = [mapping for mapping in (uprighting, straightening) if mapping is not None]
    clock.lap("lighting")
    labels, segment_lines = find_segments(mask, ink.ink)
    clock.lap("boxes")
    if not segment_lines and ink.high >= 1:
        raise UnevenBackground(f"{name}: found no ink: nothing stands out as dark writing, since the background "
                               f"itself varies as much as ink would (its grain is {ink.noise:.0%} of the paper's "
                               "brightness): light writing on a dark ground?")
    if not segment_lines:
        raise NoInkFound(f"{name}: found no ink: the picture looks like blank paper (apart from the printed "
                         f"lines of ruled or squared paper, nothing is more than {ink.high:.0%} darker than "
                         f"the paper around it)")
    lines, crops, offered = [], [], []
    with_language = reads_words(classifier.classes, language)
    for segments in lines_with_progress(segment_lines, progress):
        glyphs, line_crops, probabilities = classify_line(ink.ink, labels, segments, classifier, clock,
                                                          with_language)
        row_of = {id(glyph): row for row, glyph in enumerate(glyphs)}
        chosen = [row_of[id(glyph)] for glyph in choose_cuts_in_words(segments, lambda g: probabilities[row_of[id(g)]],
                                                                      classifier.classes, language)]
        readings = probabilities[chosen]
        if getattr(classifier, "reads_pairs", False):  # a mark read as two letters, left whole, is not one
            readings = pairs_as_other(readings, classifier.classes)
        lines.append(readings_of_line([glyphs[r] for r in chosen], readings, classifier.classes,
                                      photo.scale, min_confidence, language, boxes_back))
        crops.append(line_crops[chosen])
        if digits is not None:
            offered.append(digit_candidates([glyphs[r] for r in chosen], lines[-1]))
        clock.lap("words")  # zones, sizes, words and language weighing the readings
    if digits is not None:
        read_digits(lines, crops, offered, digits, min_confidence)
        clock.lap("digits")
    texts = [line_text(line) for line in lines]
    clock.lap("text")
    return OcrResult(lines, texts, photo, crops, dict(clock.timings),
                     skew=0.0 if straightening is None else straightening.degrees,
                     slant=0.0 if uprighting is None else uprighting.degrees, blur=ink.blur)


def lines_with_progress(segment_lines, progress):
    """segment_lines, wrapped in a tqdm bar on stderr when `progress` asks for one, the page holds more than
    LONG_PAGE_BOXES boxes and stderr is a terminal."""
    boxes = sum(len(segments) for segments in segment_lines)
    if not (progress and boxes > LONG_PAGE_BOXES and stderr_is_terminal()):
        return segment_lines
    from tqdm import tqdm

    return tqdm(segment_lines, desc=f"reading {boxes} boxes", unit="line", leave=False, file=sys.stderr)


def classify_line(ink, labels, segments, classifier, clock, with_language=True):
    """Crop every glyph of every cut the line's segments offer and classify them as one batch (the pieces only a
    word's language may use only when with_language: word_cuts.reads_words).

    -> (glyphs, crops (n, 28, 28) uint8, probabilities (n, classes)).
    """
    glyphs = [glyph for segment in segments for option in segment.options for glyph in option]
    glyphs += [piece for segment in segments
               for piece in pieces_for_paths(segment, segment.path_limit(with_language)).values()]
    crops = glyph_crops(ink, labels, glyphs)
    clock.lap("crops")
    probabilities = classifier.probabilities(crops)
    clock.lap("classify")
    return glyphs, crops, probabilities


def readings_of_line(glyphs, probabilities, classes, scale, min_confidence, language=None, boxes_back=()):
    """Readings for one line (the network's probabilities weighed by the line's zones, see zones.py, by the
    glyphs' sizes beside the line's letters, see sizes.py, by the words its glyphs stand in, see words.py, and
    by the language those words are written in, see language.py); boxes converted from working to original
    pixels (mapped back first, in turn, by each of boxes_back when the ink was sheared upright or turned straight:
    deslant.Uprighting, deskew.Straightening)."""
    probabilities = apply_zones(glyphs, probabilities, classes)
    probabilities = apply_words(glyphs, apply_sizes(glyphs, probabilities, classes), classes)
    probabilities = apply_language(glyphs, probabilities, classes, language)
    readings = []
    for glyph, (letters, probs) in zip(glyphs, top_guesses(probabilities, classes)):
        box = (glyph.top, glyph.bottom, glyph.left, glyph.right)
        for mapping in boxes_back:
            box = mapping.box_back(*box)
        box = tuple(int(round(v * scale)) for v in box)
        readings.append(Reading(box, letters, probs, unsure=probs[0] < min_confidence))
    return readings


__all__ = ["OcrResult", "read_page"]
