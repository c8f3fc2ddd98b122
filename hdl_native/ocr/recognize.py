"""Classify the crops of a line in one batch and turn the guesses into text.

The network sees a whole line at once (one graph, fed one batch per line), each crop in
`shifts` copies moved by at most one pixel (SHIFT_OFFSETS), and the probabilities of the
copies are averaged: where a box lands a pixel off, some copy sits as the training letters
did.  On held-out training writers (pages of benchmarks/ocr_nonletters.py --split heldout)
9 shifts read 0.1 to 0.6 points more letters than 1 and print 0.8 to 1.3 points fewer digits
and marks as letters, at 9 times the network's work (BENCHMARKS.md has the test figures).
Log-probabilities are divided by the temperature the state stores for that number of copies
(calibration.py; `calibrate` fits one per count) before they are averaged into confidences, and the
probability of NOT_A_LETTER is then weighted by the offset the state stores (none: 1).
The text gets a space wherever the paper between two letters is clearly wider than the line's
usual gap, and a '?' wherever the best guess is less likely than `min_confidence`.  A box
whose best guess is NOT_A_LETTER (a digit or a punctuation mark, for models trained with
that class) is left out of the text, unless the digit reader read it as a digit (digits.py); a word break beside
it still gives a space.  A reader trained with --pairs has one class more, PAIR (two letters written touching and
left whole): its column is dropped, so that the cuts are chosen on the letters' and 'other's probabilities as they
are, and what it held is then read as NOT_A_LETTER (pairs_as_other): a pair left whole is not printed as one
letter, though the digit reader may read it as a digit, as any box read as NOT_A_LETTER (BENCHMARKS.md, "Sixtieth
session: two letters as a class of their own", and the sixty-first session's digits on pages written touching).
"""
from dataclasses import dataclass

import numpy as np

from ..calibration import calibrated_log_probabilities, other_column
from ..data.datasets import NOT_A_LETTER, PAIR
from ..errors import check_finite_outputs
from ..shifts import DEFAULT_SHIFTS, check_shifts, shifted_copies
from ..tensor import Tensor
from .boxes import pieces_for_paths
from .crops import normalize

TOP_K = 3
CUT_MARGIN = 0.3  # nats of mean log-probability another cut of a mark must gain over the width-based one
RECUT_MARGIN = 0.3  # nats more a lattice path of a mark up to SPLIT_WIDTH wide must gain (held-out pages)
LEAD_IN_MARGIN = 0.3  # nats more for a mark with its lead-in stroke cut off (held-out pages: BENCHMARKS.md)
SPACE_GAP_FACTOR = 2.0  # a gap this many times the line's median gap separates words
SPACE_MIN_HEIGHTS = 0.3  # ... and it must also be at least this many letter heights wide
UNSURE = "?"
MIN_BATCH = 128  # the float32 reader runs a line's crops in batches of 128 to 256 images (LetterClassifier)


class ShiftedReader:
    """What every letters reader shares: crops (n, 28, 28) uint8 -> probabilities (n, classes), each crop read in
    `shifts` shifted copies (a key of SHIFT_OFFSETS) whose calibrated probabilities are averaged.

    temperature: the state's calibration temperature for that many copies (1: none), dividing the
    log-probabilities.  other_offset: the state's log-offset b on NOT_A_LETTER (0: none), p(other) x e^b after the
    average.  Subclasses say how normalised images become log-probabilities (log_probabilities_of).
    classes: the network's (network_classes); a last class PAIR is read but not among self.classes (reads_pairs).
    """

    def __init__(self, classes, mean, std, source=None, temperature=1.0, shifts=DEFAULT_SHIFTS, other_offset=0.0):
        self.source = source
        self.network_classes = list(classes)  # a column each of log_probabilities_of
        self.classes = list(classes)
        self.reads_pairs = PAIR in self.classes
        if self.reads_pairs:
            if self.classes[-1] != PAIR:
                raise ValueError(f"{source}: the class '{PAIR}' must be the last of a reader's classes, not "
                                 f"number {self.classes.index(PAIR) + 1} of {len(self.classes)}")
            self.classes = self.classes[:-1]
        self.mean, self.std = float(mean), float(std)
        self.temperature = float(temperature)
        self.shifts = check_shifts(shifts)
        self.other_offset = float(other_offset)

    def probabilities(self, crops):
        """crops: (n, 28, 28) uint8, bright ink on black -> (n, classes) float64 rows summing to 1: the mean over
        the crop's shifted copies of softmax(log-probabilities / temperature), its NOT_A_LETTER probability then
        weighted by e^other_offset and the row renormalised.  The crops' 2-pixel black border (crops.py) makes a
        one-pixel shift lose no ink.  A reader of pairs (reads_pairs) leaves out the PAIR column: its rows sum to
        1 less that (pairs_as_other gives it to NOT_A_LETTER)."""
        if len(crops) == 0:
            return np.zeros((0, len(self.classes)), np.float32)
        copies = shifted_copies(crops, self.shifts)
        log_probabilities = self.log_probabilities_of(normalize(copies, self.mean, self.std))
        rows = np.exp(calibrated_log_probabilities(log_probabilities.reshape(self.shifts, len(crops), -1),
                                                   self.temperature, other_column(self.classes), self.other_offset))
        return rows[:, :-1] if self.reads_pairs else rows

    def log_probabilities_of(self, images):
        """images (n, 1, 28, 28) float32, normalised -> (n, classes) log-probabilities."""
        raise NotImplementedError


class LetterClassifier(ShiftedReader):
    """A float32 letters network with its graph built once (a placeholder for a batch of crops)."""

    def __init__(self, model, classes, mean, std, source=None, temperature=1.0, shifts=DEFAULT_SHIFTS,
                 other_offset=0.0):
        super().__init__(classes, mean, std, source, temperature, shifts, other_offset)
        self.model = model
        self.images = Tensor.placeholder((None, 1, 28, 28), name="crops")
        self.log_probabilities = model(self.images)

    def log_probabilities_of(self, images):
        """In batches of MIN_BATCH to 2 MIN_BATCH images (one when fewer): a line's crops in all their shifted copies
        can be thousands of images, whose activations (86 kB an image after the first convolution) then came from
        fresh pages of memory on every call; a batch this size reuses freed blocks (memory.py) and stays in cache.
        Each image's outputs are those of one big batch: the same bits where the BLAS sums in an order the batch
        does not change (OpenBLAS's SkylakeX kernels), within float32 rounding (1e-5) where it does (its Haswell
        kernels, as OPENBLAS_CORETYPE=Haswell pins them); the kernels' per-image arithmetic takes another path in
        batches under about 45 images, at 1 and 2 threads (tests/test_ocr_reader_batches.py)."""
        n_batches = max(1, -(-len(images) // (2 * MIN_BATCH)))  # each then holds MIN_BATCH to 2 MIN_BATCH
        log_probabilities = np.concatenate([self._batch(batch) for batch in np.array_split(images, n_batches)])
        check_finite_outputs(log_probabilities, self.model, self.source)
        return log_probabilities

    def _batch(self, images):
        self.images.assign(images)
        return self.log_probabilities.value


class Int8LetterClassifier(ShiftedReader):
    """The same on an int8 network (hdl_native.int8.Int8Classifier), which is called directly."""

    def __init__(self, network, classes, mean, std, source=None, temperature=1.0, shifts=DEFAULT_SHIFTS,
                 other_offset=0.0):
        super().__init__(classes, mean, std, source, temperature, shifts, other_offset)
        self.network = network

    def log_probabilities_of(self, images):
        return self.network(images)


def pairs_as_other(probabilities, classes):
    """A pair reader's rows (n, classes) (ShiftedReader.probabilities) with what each lacks of 1, its PAIR
    probability, added to NOT_A_LETTER: a mark read as two letters, left whole, is then not printed as a letter.
    float64 (n, classes), a new array."""
    rows = np.array(probabilities, dtype=np.float64)
    rows[:, classes.index(NOT_A_LETTER)] += 1 - rows.sum(axis=1)
    return rows


@dataclass
class Reading:
    """One character: box (top, bottom, left, right) in the original photo's pixels, and its top guesses; digit:
    the digit the digit reader read a glyph that is not a letter as (digits.py), with its probability."""

    box: tuple
    letters: list
    probabilities: list
    unsure: bool = False
    digit: str = None
    digit_probability: float = None

    @property
    def letter(self):
        return self.letters[0]

    @property
    def confidence(self):
        return self.probabilities[0]

    @property
    def is_letter(self):
        """False when the best guess is NOT_A_LETTER: a digit or a mark, not printed as a letter."""
        return self.letter != NOT_A_LETTER

    @property
    def kind(self):
        """'letter', 'digit' (not a letter, read as a digit) or 'other' (a mark, left out of the text)."""
        return "letter" if self.is_letter else "digit" if self.digit is not None else "other"

    def as_dict(self):
        top, bottom, left, right = self.box
        digit = {"digit": self.digit, "digit_probability": round(self.digit_probability, 4)} if self.digit else {}
        return {"x": left, "y": top, "width": right - left, "height": bottom - top,
                "letter": self.letter if self.is_letter else None, "kind": self.kind, **digit,
                "letters": self.letters, "probabilities": [round(p, 4) for p in self.probabilities],
                "unsure": self.unsure}


def choose_cuts(segments, probabilities_of):
    """For each Segment the option whose letters the network is surest of -> [Glyph] left to right.

    probabilities_of(glyph) -> (classes,) probabilities.  Score of an option: the mean log of its
    letters' best probabilities; the width-based cut (options[0]) gets a head start of CUT_MARGIN, and an
    option holding a mark with its lead-in stroke cut off (Glyph.lead_in_trimmed) starts LEAD_IN_MARGIN behind.
    A wide mark's lattice adds its best path of each length (lattice_paths) to the options; for a mark that may
    be a single letter (Segment.max_pieces set) they start RECUT_MARGIN behind.
    """
    chosen = []
    for segment in segments:
        options, scores = scored_options(segment, probabilities_of)
        chosen.extend(options[int(np.argmax(scores))])
    return chosen


def scored_options(segment, probabilities_of, language=False):
    """(options, scores): a Segment's ways to cut it, its lattice's best paths included, and the score of each
    as choose_cuts describes (higher is better).  language: include the paths offered to a word's language alone
    (Segment.language_pieces; word_cuts.py), after the others (network_choices)."""
    most = segment.path_limit(language)
    paths = lattice_paths(segment, probabilities_of, most) if most != 0 else []
    options = list(segment.options) + paths
    scores = [np.mean([np.log(max(float(probabilities_of(g).max()), 1e-12)) for g in option])
              - LEAD_IN_MARGIN * any(getattr(g, "lead_in_trimmed", False) for g in option)
              for option in options]
    if getattr(segment, "max_pieces", None) is not None:  # a mark that may be one letter: lattice paths lag
        for k in range(len(segment.options), len(options)):
            scores[k] -= RECUT_MARGIN
    scores[0] += CUT_MARGIN
    return options, scores


def network_choices(segment, options):
    """How many of scored_options' `options` of a Segment, the first ones, the network may choose alone: all but
    the paths offered to a word's language alone (more pieces than Segment.max_pieces: any path where it is 0)."""
    most = getattr(segment, "max_pieces", None)
    return sum(1 for k, option in enumerate(options) if k < len(segment.options) or most is None or len(option) <= most)


def lattice_paths(segment, probabilities_of, most=None):
    """For each number of pieces k (up to `most`, default Segment.max_pieces), the cut of a wide mark into k pieces
    of its lattice (Segment.pieces) whose letters' best log-probabilities sum highest -> [[Glyph] * k, ...], fewest
    pieces first; [] for a segment without a lattice."""
    if not getattr(segment, "pieces", None):
        return []
    n = segment.n_boundaries
    most = getattr(segment, "max_pieces", None) if most is None else most
    most = n - 1 if most is None else most
    pieces = pieces_for_paths(segment, most)  # only these are classified when no language reads the line
    score = {key: np.log(max(float(probabilities_of(glyph).max()), 1e-12)) for key, glyph in pieces.items()}
    best = [{0: (0.0, None)}]  # best[k][j]: (sum, previous boundary) of k pieces ending at boundary j
    paths = []
    for k in range(1, min(n - 1, most) + 1):
        row = {}
        for (i, j), value in score.items():
            if i in best[k - 1]:
                total = best[k - 1][i][0] + value
                if j not in row or total > row[j][0]:
                    row[j] = (total, i)
        if not row:
            break
        best.append(row)
        if n - 1 in row:
            path, j = [], n - 1
            for level in range(k, 0, -1):
                i = best[level][j][1]
                path.append(pieces[(i, j)])
                j = i
            paths.append(path[::-1])
    return paths


def top_guesses(probabilities, classes, k=TOP_K):
    """[(letters, probabilities)] per row of (n, classes) probabilities, best first."""
    order = np.argsort(-probabilities, axis=1)[:, :k]
    return [([classes[i] for i in row], [float(p[i]) for i in row]) for row, p in zip(order, probabilities)]


def word_breaks(boxes):
    """Booleans (n-1,): is the gap after box i a space?  boxes: [(top, bottom, left, right)] left to right."""
    if len(boxes) < 2:
        return []
    gaps = np.array([max(0, b[2] - a[3]) for a, b in zip(boxes[:-1], boxes[1:])], np.float64)
    heights = np.array([b[1] - b[0] for b in boxes], np.float64)
    threshold = max(SPACE_GAP_FACTOR * float(np.median(gaps)), SPACE_MIN_HEIGHTS * float(np.median(heights)))
    return list(gaps > threshold)


def glyph_words(glyphs):
    """[(start, end)] index ranges of the words of a line's glyphs (left to right), split at word_breaks."""
    breaks = word_breaks([(g.top, g.bottom, g.left, g.right) for g in glyphs])
    starts = [0] + [i + 1 for i, space in enumerate(breaks) if space] + [len(glyphs)]
    return list(zip(starts[:-1], starts[1:]))


def line_text(readings):
    """The text of one line: letters ('?' when unsure) and digits with spaces at word breaks.

    Readings that are neither are left out; a word break before or after one separates the characters around it.
    """
    pieces, space = [], False
    for reading, break_after in zip(readings, word_breaks([r.box for r in readings]) + [False]):
        if reading.kind != "other":
            if space and pieces:
                pieces.append(" ")
            pieces.append(reading.digit or (UNSURE if reading.unsure else reading.letter))
            space = False
        space = space or break_after
    return "".join(pieces)
