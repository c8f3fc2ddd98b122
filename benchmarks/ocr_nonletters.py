"""Issue 13's page figures with digits and punctuation: how many letters are found, read, and wrongly left out as
not letters, and how many of the numbers and marks between the words are NOT printed as letters.

One page of each type of tests/test_ocr_pages.py (plain, ruled, squared, desk, angle, hard shadow), each
filled by tests/nonletter_pages.py: words of letters from the TEST splits of letters, unipen, nistvowels and
chars74k (taken in turn, each split in a seeded order), numbers of MNIST test digits, and marks drawn for the
page ('.' ',' closing words, '-' '(' '+' ... standing alone).  Every page is read by the whole `ocr` pipeline
(read_page) with the given model at --min-confidence 0, so every box is either printed as a letter or, for a
model with the class 'other', left out.  A digit or mark counts as printed as a letter when its box (IoU >= 0.5)
is read as a letter, or when a letter box matching nothing covers half of it; a last line says which were (the
marks by name: "'->i 5" is five apostrophes printed as i).  Not a test: it measures.

The share of letters read comes with its 95% bootstrap interval over other writers (hdl_native/intervals.py):
each letter on the pages keeps the writer its split records (unipen's, chars74k's; the held-out letters' from the
mixture), whole writers are resampled, and an image of no recorded writer (letters, nistvowels) is drawn alone.

The glyphs left out of the letters are read by `ocr`'s digit reader (hdl_native/ocr/digits.py: the packaged one,
--digit-model STATE, or none with --no-digits; the letters' figures are the same either way), and a last line says
how many of the pages' digits are printed as their own digit, as another, or left out, and how many marks and
letters are printed as digits, at ocr's default --min-confidence 0.5 (tests/nonletter_pages.score_digits).  The
digit reader learned every MNIST training digit, so only the test split's figures judge it.

--split heldout builds the same pages from what the model never trained on but that is not a test split either,
for working on the reader without looking at the judge: its letters are the training images the model's own run
held out by whole writers (rebuilt from the settings it records, as `hdl-native calibrate` does), its digits
MNIST training digits outside the nonletters' training draw; use another --seed there, so the marks differ too.
Those letters are mostly unipen's (its share of the mixture), thin pen-tablet strokes, where a quarter of the test
pages' are thick NIST and Chars74K scans; --split heldout-mixed takes the held-out letters one source in turn, as
the test pages take theirs, for work that depends on how thick the strokes are.

--words english measures the reader's language model (--language, see hdl_native.ocr.language), which must help
on English words without hurting the random letters of the default pages (--words random, the figures so far,
page for page the same as before the option).  Its words are those of a text (--text, default the data root's
text/hello-dl-posts.txt): lower-cased, its runs of a-z of 2-7 letters (the lengths of the random words; the others
are skipped), in an order shuffled by --seed; each letter is an image of its class from the same letters as the
random pages (each class's images in their seeded order, wrapping around: nistvowels has vowels only).  The
digits and marks between the words are drawn as on the random pages.  Make choices on --split heldout; run the
test split only to report them.

Usage: HDL_DATA=/work/shared/data python benchmarks/ocr_nonletters.py --model STATE [--seed 0] [--json]
  [--split test|heldout|heldout-mixed] [--shifts 1|5|9] [--words random|english] [--text FILE] [--language english|none]
  (about 5 s a page on one core; without --model: the packaged model; --shifts as `hdl-native ocr --shifts`,
  default the same; --language as hdl_native.ocr.language.LANGUAGE_NAMES, default its DEFAULT_LANGUAGE)
  [--letter-gap=LO,HI]   (px between the letters of a word, default the pages' 3,9: how the reading fares when
  letters come close and touch)   [--lead-in SHARE]   (words whose first letter has a lead-in stroke, default 0)
"""
import argparse
import dataclasses
import io
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the checkout, as `python -m hdl_native` from it
sys.path.insert(0, str(HERE.parent / "tests"))  # the page builders

from nonletter_pages import (DigitScore, MixedScore, build_mixed_page, compose, found_boxes, found_digits,  # noqa: E402
                             letters_read,
                             printed_as_digits, printed_as_letters, score_digits, score_mixed_page)
from test_ocr_pages import PAGE_SPECS, PHOTO_CONDITIONS  # noqa: E402

from hdl_native.cli_types import finite_float, int_range, probability  # noqa: E402
from hdl_native.data import find_data_root, load_dataset  # noqa: E402
from hdl_native.data.datasets import LETTERS, NOT_A_LETTER  # noqa: E402
from hdl_native.data.nonletters import drawn_digits, framed_digits, framed_like_letters  # noqa: E402
from hdl_native.errors import HDLError  # noqa: E402
from hdl_native.data.mixture import recorded_writers  # noqa: E402
from hdl_native.intervals import LEVEL, accuracy_interval, describe_groups  # noqa: E402
from hdl_native.ocr import OcrResult, read_page  # noqa: E402
from hdl_native.ocr.pipeline import NoInkFound  # noqa: E402
from hdl_native.ocr.digits import load_digit_reader  # noqa: E402
from hdl_native.ocr.language import DEFAULT_LANGUAGE, LANGUAGE_NAMES, load_language, words_of  # noqa: E402
from hdl_native.ocr.model import load_letter_classifier  # noqa: E402
from hdl_native.shifts import DEFAULT_SHIFTS, SHIFT_OFFSETS  # noqa: E402
from hdl_native.threads import set_num_threads  # noqa: E402

LETTER_SETS = ("letters", "unipen", "nistvowels", "chars74k")
SPLITS = ("test", "heldout", "heldout-mixed")  # the pages' letters: see page_sources
WORDS_PER_PAGE = 120  # more than a page holds: build_page stops when it is full
WORD_SIZES = (2, 7)  # letters in a word, as compose draws them at random; other English words are skipped
DEFAULT_TEXT = Path("text") / "hello-dl-posts.txt"  # under the data root
RESAVE_QUALITY = 90  # JPEG quality of a page photo saved again after --scale, --fade, --gamma, --blur or --noise
CANVAS_BARS = 0.6  # --canvas: the bars above and below the photo, each this share of its height (a phone's screen)


@dataclasses.dataclass(frozen=True)
class Conditions:
    """How the pages are written and photographed, where not as the page types have it (each default: as they are).

    Written: letter_gap (lo, hi) px between the letters of a word instead of the pages' own (negative: their ink
    columns overlap, and they touch); lead_in: the share of words whose first letter gets a lead-in stroke
    (ocr_pages.draw_lead_in); wave: each line's baseline wanders up and down by this many letter heights
    (PageSpec.baseline_wave); slant: every letter leans by this many degrees (PageSpec.slant); pen: every stroke
    widened by this many px (PageSpec.pen_widening); show_through: the writing on the sheet's back shows through,
    darkening the paper by up to this share of the ink (PageSpec.show_through).  Lit: shadow: how much light the
    hard shadow takes away on its page; light: the lighting falls across each page from 1 to this instead of the
    pages' own 0.55.  Photographed:
    tilt: every page turned by this many degrees (counter-clockwise) instead of the pages' own 1.5, as a phone held
    askew; then, on each page photo in this order: fade: each pixel moved that share of the way to white, as faint
    pencil or an over-exposed photo; gamma: each pixel (0 to 1) raised to this power, > 1 darkening the photo as if
    under-exposed; blur: the sd in pixels of a Gaussian blur, as a photo out of focus; noise: grey levels (sd) of
    Gaussian noise added to each pixel's channels, as a photo taken in poor light; scale: the photo resized by it (and
    its truths' boxes with it), as a photo taken from farther away or at a lower resolution; canvas: shown on a flat
    canvas of this grey level (0-255), bars above and below it, as a screenshot of the photo in an app (on_canvas);
    quality: saved again last as a JPEG of this quality, as a chat program sends it."""

    letter_gap: tuple = None
    lead_in: float = 0.0
    wave: float = 0.0
    slant: float = 0.0
    pen: int = 0
    show_through: float = 0.0
    shadow: float = None
    light: float = None
    tilt: float = None
    fade: float = 0.0
    gamma: float = 1.0
    blur: float = 0.0
    noise: float = 0.0
    scale: float = 1.0
    canvas: int = None
    quality: int = None


def page_types(conditions=Conditions()):
    """[(name, PageSpec)]: the plain page and the photographed ones of test_ocr_pages, written, lit and turned as
    `conditions` say (its photo effects are measure's)."""
    changes = {"lead_in": conditions.lead_in}
    if conditions.letter_gap is not None:
        changes["letter_gap"] = tuple(conditions.letter_gap)
    if conditions.tilt is not None:
        changes["rotation_degrees"] = conditions.tilt
    if conditions.wave:
        changes["baseline_wave"] = conditions.wave
    if conditions.slant:
        changes["slant"] = conditions.slant
    if conditions.pen:
        changes["pen_widening"] = conditions.pen
    if conditions.show_through:
        changes["show_through"] = conditions.show_through
    if conditions.light is not None:
        changes["darkest_light"] = conditions.light
    base = dataclasses.replace(PAGE_SPECS[0], **changes)
    types = [("plain", base)] + [(name, dataclasses.replace(base, **changes)) for name, changes, *_ in PHOTO_CONDITIONS]
    if conditions.shadow is not None:
        types = [(name, dataclasses.replace(spec, hard_shadow=conditions.shadow) if spec.hard_shadow else spec)
                 for name, spec in types]
    return types


def letters_in_turn(root, seed):
    """(uint8 (n, 28, 28), labels (n,), writers int64 (n,)): the four test splits, each shuffled by `seed`, taken
    one letter in turn; writers as the splits record them (unipen's, chars74k's), made distinct across the sets,
    -1 where a set records none."""
    sets = [load_dataset(name, "test", root) for name in LETTER_SETS]
    groups, first_id = [], 0
    for dataset in sets:
        writers = recorded_writers(dataset)
        writers = np.full(len(dataset), -1, np.int64) if writers is None else np.where(writers >= 0,
                                                                                         writers + first_id, -1)
        first_id = max(first_id, int(writers.max()) + 1)
        groups.append((dataset.images, dataset.labels, writers))
    return taken_in_turn(groups, np.random.default_rng(seed))


def taken_in_turn(groups, rng):
    """Tuple of arrays, one per field of the groups [(images, labels, ...)]: each group shuffled by `rng` in turn,
    then one image of each group taken in turn (a group that runs out drops out)."""
    orders = [rng.permutation(len(fields[0])) for fields in groups]
    turns = sorted((position, k) for k, order in enumerate(orders) for position in range(len(order)))
    picked = [[groups[k][field][orders[k][position]] for position, k in turns] for field in range(len(groups[0]))]
    return (np.stack(picked[0]), *(np.array(values) for values in picked[1:]))


def heldout_letters(state_path, root, seed, in_turn=False):
    """(uint8 (n, 28, 28), labels (n,) in 0..25, writers int64 (n,), -1 where not recorded): the letters among
    the training images the state's run held out (not the class 'other'), shuffled by `seed`; with in_turn, each
    source of the mixture shuffled and the sources taken one letter in turn, as letters_in_turn takes the test
    splits' (the held-out letters are otherwise mostly unipen's, in its share of the mixture).  Raises
    SystemExit when the state records no --holdout."""
    from hdl_native.checkpoint import PRETRAINED_LETTERS, load_checkpoint
    from hdl_native.commands.cmd_calibrate import run_config_of
    from hdl_native.training.start import training_data

    checkpoint = load_checkpoint(state_path or PRETRAINED_LETTERS)
    settings = checkpoint.get("settings") or {}
    if not settings.get("holdout"):
        raise SystemExit(f"{state_path or PRETRAINED_LETTERS} records no --holdout: it has no held-out letters")
    train_set, test_set = (load_dataset(settings["dataset"], split, root) for split in ("train", "test"))
    _, (images, labels) = training_data(run_config_of(settings), train_set, test_set)
    classes = list(train_set.classes)
    letters = labels != classes.index(NOT_A_LETTER) if NOT_A_LETTER in classes else np.ones(len(labels), bool)
    images, labels = images[letters], labels[letters]
    found = indices_in(images, train_set)
    recorded = recorded_writers(train_set)
    writers = np.full(len(labels), -1, np.int64) if recorded is None else recorded[found]
    if in_turn and train_set.sources is not None:
        sources = train_set.sources[found]
        return taken_in_turn([(images[sources == k], labels[sources == k], writers[sources == k])
                              for k in np.unique(sources)], np.random.default_rng(seed))
    order = np.random.default_rng(seed).permutation(len(labels))
    return images[order], labels[order], writers[order]


def indices_in(images, dataset):
    """int (n,): which of the dataset's images each of `images` (uint8 (n, 28, 28), images of the dataset) is, found
    by a hash of its pixels (so its source and its writer can be looked up)."""
    weights = np.random.default_rng(0).integers(1, 2 ** 62, 28 * 28, dtype=np.uint64)

    def hashes(batch):
        return (batch.reshape(len(batch), -1).astype(np.uint64) * weights).sum(axis=1)

    index_of = {h: k for k, h in enumerate(hashes(dataset.images).tolist())}
    return np.array([index_of[h] for h in hashes(images).tolist()], dtype=np.int64)


def unused_training_digits(root):
    """uint8 (n, 28, 28): MNIST training digits outside the nonletters' training draw, framed like the letters."""
    mnist = load_dataset("mnist", "train", root)
    return framed_like_letters(mnist.images[unused_training_draw(len(mnist))])


def unused_training_draw(n):
    """int (m,) sorted: which of MNIST's n training digits the nonletters' training draw leaves unused."""
    return np.setdiff1d(np.arange(n), drawn_digits("train", n))


def english_words(text_path, seed, n_words, shortest=WORD_SIZES[0]):
    """[str] of n_words words of the text at text_path: lower-cased, its runs of a-z, those of `shortest` to
    WORD_SIZES[1] letters, in an order shuffled by `seed` (the shuffled list repeated if the text is short)."""
    text = Path(text_path).read_text(encoding="utf-8", errors="replace")
    words = [word for word in words_of(text) if shortest <= len(word) <= WORD_SIZES[1]]
    if not words:
        raise SystemExit(f"{text_path}: no words of {shortest}-{WORD_SIZES[1]} letters a-z")
    order = np.random.default_rng(seed).permutation(len(words))
    return [words[order[k % len(order)]] for k in range(n_words)]


def spelled_words(words, letter_labels):
    """(int64 (L,) indices into the letters, [letters per word]): each letter of `words` an image of its class,
    taken in order from that class's images among the letters of letter_labels (in their order, which is already
    seeded), wrapping around when a class runs out.  A word with a letter of no image at all (none in these sets)
    is skipped."""
    pools = {label: np.flatnonzero(letter_labels == label) for label in range(len(LETTERS))}
    taken = dict.fromkeys(pools, 0)
    picks, lengths = [], []
    for word in words:
        labels = [LETTERS.index(letter) for letter in word]
        if any(len(pools[label]) == 0 for label in labels):
            continue
        for label in labels:
            picks.append(pools[label][taken[label] % len(pools[label])])
            taken[label] += 1
        lengths.append(len(word))
    return np.array(picks, dtype=np.int64), lengths


def page_digit_labels(root, split="test"):
    """int (m,): the digit each of page_sources' digits shows (MNIST's labels of the same draw)."""
    if split in ("heldout", "heldout-mixed"):
        mnist = load_dataset("mnist", "train", root)
        return mnist.labels[unused_training_draw(len(mnist))]
    mnist = load_dataset("mnist", "test", root)
    return mnist.labels[drawn_digits("test", len(mnist))]


def page_sources(root, seed, split="test", state_path=None):
    """(letter images uint8 (n, 28, 28), their labels (n,), digits uint8 (m, 28, 28)) the pages are filled from:
    page_letters' letters, and MNIST test digits or (split 'heldout', 'heldout-mixed') MNIST training digits
    outside the nonletters' draw."""
    images, labels, _ = page_letters(root, seed, split, state_path)
    return images, labels, page_digits(root, split)


def page_digits(root, split="test"):
    """uint8 (m, 28, 28): the digits the pages take, MNIST test digits or (split 'heldout', 'heldout-mixed') MNIST
    training digits outside the nonletters' draw, framed like the letters."""
    if split in ("heldout", "heldout-mixed"):
        return unused_training_digits(root)
    return framed_digits("test", root)[0]


def page_letters(root, seed, split="test", state_path=None):
    """(uint8 (n, 28, 28), labels (n,), writers int64 (n,), -1 where not recorded): the letters the pages are
    filled from, in order: the four test splits' taken in turn, or (split 'heldout', 'heldout-mixed': see
    heldout_letters) those the model's run held out."""
    if split in ("heldout", "heldout-mixed"):
        return heldout_letters(state_path, root, seed, in_turn=split == "heldout-mixed")
    return letters_in_turn(root, seed)


def measure(classifier, root, seed, folder, split="test", state_path=None, words="random", text_path=None,
            language=None, shortest_word=WORD_SIZES[0], printed=None, conditions=Conditions(), on_page=None,
            digits=None, digit_scores=None, readings=None):
    """[(page name, MixedScore)] of one page of each type, from the test splits or (split 'heldout',
    'heldout-mixed') from the model's held-out training writers and unused MNIST training digits.

    words 'random': words of random letters, the letters taken in order; 'english': the words of the text at
    text_path (default: the data root's text/hello-dl-posts.txt) in a seeded order, spelled with those letters
    taken in order per class, those of shortest_word letters or more.  language: the model read_page re-weights the
    letters with (None: none).  printed: a list to which each digit or mark printed as a letter is appended, as
    (what it is: 'digit' or the mark, the letter printed).  conditions: how the pages are written and photographed
    (Conditions).  on_page: optionally called with (page name, its truths, the OcrResult read_page gave) for each
    page read.  digits: the digit reader read_page reads the glyphs left out of the letters with (ocr/digits.py;
    None: none); digit_scores: a list to which each page's (name, DigitScore, [(what a mark or letter printed as a
    digit is, the digit)]) is appended (with digits).  readings: a list to which (read right, its writer: -1 where
    not recorded) is appended for each letter on the pages (page_letters' writers), for the interval."""
    letter_images, letter_labels, letter_writers = page_letters(root, seed, split, state_path)
    digit_images = page_digits(root, split)
    digit_labels = page_digit_labels(root, split) if digit_scores is not None else None
    word_lengths = None
    if words == "english":
        chosen = english_words(text_path or Path(root) / DEFAULT_TEXT, seed, WORDS_PER_PAGE * len(page_types()),
                               shortest_word)
        picks, word_lengths = spelled_words(chosen, letter_labels)
        letter_images, letter_labels, letter_writers = letter_images[picks], letter_labels[picks], letter_writers[picks]
    rng = np.random.default_rng([seed, 13])
    scores, next_letter, next_digit, next_word = [], 0, 0, 0
    for name, spec in page_types(conditions):
        if word_lengths is None:
            content = compose(letter_images[next_letter:], letter_labels[next_letter:], digit_images[next_digit:],
                              rng, WORDS_PER_PAGE)
        else:
            content = compose(letter_images[next_letter:], letter_labels[next_letter:], digit_images[next_digit:],
                              rng, WORDS_PER_PAGE, word_lengths[next_word:next_word + WORDS_PER_PAGE])
        if digit_labels is not None:  # the page's k-th digit tile is digit next_digit + k
            digit_of_tile = {int(tile): str(digit_labels[next_digit + k])
                             for k, tile in enumerate(np.flatnonzero(content.kinds == "digit"))}
        jpeg, truths, used = build_mixed_page(content, spec)
        jpeg, truths = photographed(jpeg, truths, conditions, np.random.default_rng([seed, 29, len(scores)]))
        letters_used = int((content.kinds[:used] == "letter").sum())
        letter_of_tile = letters_of_tiles(content.kinds, next_letter)
        if word_lengths is not None:  # build_page places whole words, so the letters used end a word
            next_word_was = next_word
            ends = np.cumsum(word_lengths[next_word:])
            next_word += int(np.searchsorted(ends, letters_used, side="right"))
            assert letters_used in (0, int(ends[next_word - next_word_was - 1])), "a word was placed in part"
        next_letter += letters_used
        next_digit += int((content.kinds[:used] == "digit").sum())
        path = folder / f"{name}.jpg"
        path.write_bytes(jpeg)
        result = read_or_nothing(path, classifier, language, digits)
        if on_page is not None:
            on_page(name, truths, result)
        found = found_boxes(result)
        scores.append((name, score_mixed_page(truths, found)))
        if readings is not None:
            readings.extend((read, int(letter_writers[letter_of_tile[tile]]))
                            for tile, read in sorted(letters_read(truths, found).items()))
        if printed is not None:
            printed.extend(printed_as_letters(truths, found, content.names))
        if digit_scores is not None:
            with_digits = found_digits(result)
            digit_scores.append((name, score_digits(truths, with_digits, digit_of_tile),
                                 printed_as_digits(truths, with_digits, content.names, digit_of_tile)))
    return scores


def read_or_nothing(path, classifier, language=None, digits=None):
    """read_page's OcrResult of the page photo at `path`; where `ocr` would stop with "found no ink" (NoInkFound),
    an OcrResult with nothing found: the page still counts, its letters not found and nothing printed (before,
    one such page stopped the whole benchmark)."""
    try:
        return read_page(path, classifier, min_confidence=0.0, language=language, digits=digits)
    except NoInkFound:
        return OcrResult(lines=[], texts=[], photo=None)


def letters_of_tiles(kinds, first_letter):
    """{tile: index into the letters} of a page's letter tiles: compose takes the letters in order, so the k-th
    tile of kind 'letter' (kinds: (n,) as PageContent.kinds) is letter first_letter + k."""
    return {int(tile): first_letter + k for k, tile in enumerate(np.flatnonzero(np.asarray(kinds) == "letter"))}


def photographed(jpeg, truths, conditions, rng):
    """(JPEG bytes, truths) of a page photo after the conditions' photo effects, in Conditions' order (rng: the
    noise's)."""
    if conditions.fade:
        jpeg = faded(jpeg, conditions.fade)
    if conditions.gamma != 1.0:
        jpeg = darkened(jpeg, conditions.gamma)
    if conditions.blur:
        jpeg = blurred(jpeg, conditions.blur)
    if conditions.noise:
        jpeg = grainy(jpeg, conditions.noise, rng)
    if conditions.scale != 1.0:
        jpeg, truths = rescaled(jpeg, truths, conditions.scale)
    if conditions.canvas is not None:
        jpeg, truths = on_canvas(jpeg, truths, conditions.canvas)
    if conditions.quality is not None:
        jpeg = resaved(Image.open(io.BytesIO(jpeg)), conditions.quality)
    return jpeg, truths


def rescaled(jpeg, truths, scale):
    """(JPEG bytes, truths) of the page resized by `scale` (Lanczos, saved again as a JPEG of RESAVE_QUALITY), the
    truths' boxes (top, bottom, left, right) and letter boxes scaled to match (at least one pixel high and wide)."""
    photo = Image.open(io.BytesIO(jpeg))
    size = (max(1, round(photo.width * scale)), max(1, round(photo.height * scale)))

    def moved(box):  # at least a pixel each way: a dash's box must not vanish
        if box is None:
            return None
        top, bottom, left, right = (int(round(edge * scale)) for edge in box)
        return top, max(bottom, top + 1), left, max(right, left + 1)

    return resaved(photo.resize(size, Image.Resampling.LANCZOS)), truths_moved(truths, moved)


def on_canvas(jpeg, truths, level):
    """(JPEG bytes, truths) of the page shown on a flat canvas of grey `level` (0-255), as a screenshot of the photo
    in a phone's app: bars above and below, each CANVAS_BARS of its height (saved again as a JPEG of
    RESAVE_QUALITY); the truths' boxes moved down by the top bar."""
    photo = Image.open(io.BytesIO(jpeg)).convert("RGB")
    bar = round(photo.height * CANVAS_BARS)
    screen = Image.new("RGB", (photo.width, photo.height + 2 * bar), (level,) * 3)
    screen.paste(photo, (0, bar))

    def moved(box):
        return None if box is None else (box[0] + bar, box[1] + bar, box[2], box[3])

    return resaved(screen), truths_moved(truths, moved)


def truths_moved(truths, moved):
    """The truths with their boxes and letter boxes (top, bottom, left, right; or None) changed by `moved`."""
    return [dataclasses.replace(truth, box=moved(truth.box), letter_box=moved(truth.letter_box)) for truth in truths]


def faded(jpeg, fade):
    """JPEG bytes of the page with every pixel moved `fade` of the way to white: px + fade (255 - px) (ink 40 on paper
    220 becomes 190 on 231 at fade 0.7: 18% darker than its paper instead of 82%), saved again at RESAVE_QUALITY."""
    pixels = page_pixels(jpeg)
    return resaved(Image.fromarray(np.round(pixels + fade * (255 - pixels)).astype(np.uint8)))


def darkened(jpeg, gamma):
    """JPEG bytes of the page with every pixel p (0 to 1) made p ** gamma (gamma 2.2: paper 0.86 becomes 0.72, paper
    in a shadow of depth 0.5 0.15, so a shadowed part keeps 22% of the light instead of half), saved again at
    RESAVE_QUALITY: an under-exposed photo.  Ink keeps its darkness relative to its paper, raised to gamma."""
    pixels = page_pixels(jpeg) / np.float32(255)
    return resaved(Image.fromarray(np.round(255 * pixels ** np.float32(gamma)).astype(np.uint8)))


def grainy(jpeg, noise, rng):
    """JPEG bytes of the page with Gaussian noise of `noise` grey levels (sd) added to every channel of every pixel,
    saved again at RESAVE_QUALITY: a photo taken in poor light."""
    pixels = page_pixels(jpeg)
    noisy = pixels + rng.normal(0, noise, pixels.shape).astype(np.float32)
    return resaved(Image.fromarray(np.clip(np.round(noisy), 0, 255).astype(np.uint8)))


def blurred(jpeg, sigma):
    """JPEG bytes of the page blurred by a Gaussian of `sigma` pixels (sd), saved again at RESAVE_QUALITY: a photo
    out of focus or shaken."""
    return resaved(Image.open(io.BytesIO(jpeg)).filter(ImageFilter.GaussianBlur(sigma)))


def page_pixels(jpeg):
    """(H, W, 3) float32 grey levels 0-255 of a page photo's JPEG bytes."""
    return np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB"), dtype=np.float32)


def resaved(picture, quality=RESAVE_QUALITY):
    """JPEG bytes of a Pillow picture at `quality` (a changed page photo saved again, as a phone would)."""
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=quality)
    return out.getvalue()


def gap_range(text):
    """(lo, hi) ints of "LO,HI" with lo <= hi, for --letter-gap."""
    try:
        lo, hi = (int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected two whole numbers LO,HI, got {text!r}") from None
    if lo > hi:
        raise argparse.ArgumentTypeError(f"LO must not exceed HI, got {text!r}")
    return lo, hi


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="letters state file (default: the packaged model)")
    parser.add_argument("--data", default=None, help="data root (default: $HDL_DATA, else the cache)")
    parser.add_argument("--seed", type=int, default=0, help="order of the letters and the page contents")
    parser.add_argument("--split", choices=SPLITS, default="test",
                        help="letters and digits from the test splits (the figures), or from the model's held-out "
                             "training writers and unused MNIST training digits (for working on the reader); "
                             "heldout-mixed: those letters one source in turn, as the test pages take theirs")
    parser.add_argument("--shifts", type=int, choices=sorted(SHIFT_OFFSETS), default=DEFAULT_SHIFTS,
                        help=f"shifted copies of each crop the reader averages (default {DEFAULT_SHIFTS})")
    parser.add_argument("--words", choices=("random", "english"), default="random",
                        help="words of random letters (default; the figures so far), or English words of --text "
                             "spelled with the same letters, to measure the language model")
    parser.add_argument("--text", default=None,
                        help="the text the English words come from (default: the data root's text/hello-dl-posts.txt)")
    parser.add_argument("--language", choices=LANGUAGE_NAMES, default=DEFAULT_LANGUAGE,
                        help=f"language model of the reader, as `hdl-native ocr --language` "
                             f"(default {DEFAULT_LANGUAGE})")
    parser.add_argument("--letter-gap", metavar="LO,HI", default=None, type=gap_range,
                        help="px between the letters of a word (the page's letter is about 42 px tall) instead of "
                             "the pages' own 3,9; 0 or less makes letters touch, as handwriting often does (write "
                             "a negative one as --letter-gap=-4,0)")
    parser.add_argument("--lead-in", metavar="SHARE", type=float, default=0.0,
                        help="share of the words whose first letter begins with a lead-in stroke from the left, as "
                             "many hands write (default 0: none, the pages as before)")
    parser.add_argument("--one-letter-words", action="store_true",
                        help="with --words english, take the text's words of one letter (a, i) too, which the "
                             "pages leave out by default: a lone glyph is then a letter as often as English has it")
    parser.add_argument("--scale", type=finite_float(0, 4, low_inclusive=False), default=1.0,
                        help="resize each page photo by this factor before reading it (the letters are about 42 px "
                             "tall at 1), as a photo from farther away or at a lower resolution (default 1)")
    parser.add_argument("--fade", type=probability(high_inclusive=False), default=0.0,
                        help="move every pixel of each page photo this share of the way to white before reading it, "
                             "as faint pencil or an over-exposed photo (default 0)")
    parser.add_argument("--gamma", type=finite_float(0, 4, low_inclusive=False), default=1.0,
                        help="raise every pixel (0 to 1) of each page photo to this power before reading it: above 1 "
                             "darkens it, as an under-exposed photo (default 1)")
    parser.add_argument("--shadow", metavar="DEPTH", type=probability(high_inclusive=False), default=None,
                        help="the share of the light the hard shadow takes away on its page (default: the page's "
                             "own, 0.5); sunlight's shadows take 0.7 to 0.9")
    parser.add_argument("--light", metavar="DARKEST", type=finite_float(0, 1, low_inclusive=False), default=None,
                        help="the lighting falls across each page from 1 to this (default: the pages' own, 0.55); "
                             "a lamp to one side leaves 0.3 or less at the far end")
    parser.add_argument("--noise", metavar="SD", type=finite_float(0, 100), default=0.0,
                        help="add Gaussian noise of this many grey levels (sd) to each page photo before reading it, "
                             "as a photo taken in poor light (default 0)")
    parser.add_argument("--blur", metavar="SIGMA", type=finite_float(0, 10), default=0.0,
                        help="blur each page photo by a Gaussian of SIGMA pixels (sd) first, as out of focus")
    parser.add_argument("--quality", metavar="Q", type=int_range(1, 95), default=None,
                        help="save each page photo again last as a JPEG of quality Q (1-95), as a chat program would")
    parser.add_argument("--canvas", metavar="LEVEL", type=int_range(0, 255), default=None,
                        help="show each page photo on a flat canvas of this grey level, bars above and below it, as a "
                             "screenshot of it (default: none)")
    parser.add_argument("--tilt", metavar="DEGREES", type=finite_float(-45, 45), default=None,
                        help="turn every page by DEGREES (counter-clockwise) instead of its own 1.5, as a phone held "
                        "askew")
    parser.add_argument("--wave", metavar="HEIGHTS", type=finite_float(0, 2), default=0.0,
                        help="let each line's baseline wander up and down by HEIGHTS letter heights, as on unruled "
                        "paper")
    parser.add_argument("--slant", metavar="DEGREES", type=finite_float(-40, 40), default=0.0,
                        help="lean every letter by DEGREES (positive: its top to the right), as most hands write")
    parser.add_argument("--pen", metavar="PX", type=int_range(0, 8), default=0,
                        help="widen every stroke by PX pixels, as a felt-tip pen or a marker writes")
    parser.add_argument("--show-through", metavar="SHARE", type=finite_float(0, 1), default=0.0,
                        help="let the writing on each sheet's back show through, darkening the paper by up to SHARE "
                        "of the ink, as on thin paper or with a wet pen (0.15: faint, 0.3: strong)")
    parser.add_argument("--no-digits", dest="digits", action="store_false",
                        help="read without the digit reader (the letters' figures are the same either way)")
    parser.add_argument("--digit-model", default=None, help="digit reader state file (default: the packaged one)")
    parser.add_argument("--threads", type=int, default=1, help="kernel threads (default 1)")
    parser.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    args = parser.parse_args()
    if args.one_letter_words and args.words != "english":
        parser.error("--one-letter-words needs --words english")
    set_num_threads(args.threads)
    classifier = load_letter_classifier(args.model, shifts=args.shifts)
    digits = load_digit_reader(args.digit_model, args.shifts) if args.digits else None
    language = load_language(args.language)
    root = find_data_root(args.data)
    text = (Path(args.text) if args.text else root / DEFAULT_TEXT) if args.words == "english" else None
    printed, digit_scores, readings = [], [] if digits is not None else None, []
    conditions = Conditions(**{field.name: getattr(args, field.name) for field in dataclasses.fields(Conditions)})
    with tempfile.TemporaryDirectory() as folder:
        scores = measure(classifier, root, args.seed, Path(folder), args.split, args.model, args.words, text,
                         language, 1 if args.one_letter_words else WORD_SIZES[0], printed, conditions,
                         digits=digits, digit_scores=digit_scores, readings=readings)
    total = sum((score for _, score in scores), MixedScore())
    read, writers = (np.array(column) for column in zip(*readings))
    read_interval, read_over = accuracy_interval(read, writers), describe_groups(writers, len(read))
    print(f"model {classifier.source} ({len(classifier.classes)} classes), {args.split} pages, seed {args.seed}, "
          f"{args.shifts} shifts, {args.words} words{f' of {text}' if text else ''}, language {args.language}"
          f"{f', letter gap {args.letter_gap[0]} to {args.letter_gap[1]} px' if args.letter_gap else ''}"
          f"{f', lead-in strokes on {args.lead_in:.0%} of the words' if args.lead_in else ''}"
          f"{', one-letter words too' if args.one_letter_words else ''}"
          f"{f', photos resized by {args.scale:g}' if args.scale != 1.0 else ''}"
          f"{f', faded {args.fade:g} of the way to white' if args.fade else ''}"
          f"{f', darkened to the power {args.gamma:g}' if args.gamma != 1.0 else ''}"
          f"{f', hard shadow {args.shadow:g} deep' if args.shadow is not None else ''}"
          f"{f', light falling to {args.light:g}' if args.light is not None else ''}"
          f"{f', noise of {args.noise:g} grey levels' if args.noise else ''}"
          f"{f', blurred by {args.blur:g} px' if args.blur else ''}"
          f"{f', shown on a canvas of grey {args.canvas}' if args.canvas is not None else ''}"
          f"{f', saved again at JPEG quality {args.quality}' if args.quality is not None else ''}"
          f"{f', turned by {args.tilt:g} degrees' if args.tilt is not None else ''}"
          f"{f', baselines wandering by {args.wave:g} letter heights' if args.wave else ''}"
          f"{f', letters leaning by {args.slant:g} degrees' if args.slant else ''}"
          f"{f', strokes widened by {args.pen} px' if args.pen else ''}"
          f"{f', the back showing through at {args.show_through:g}' if args.show_through else ''}")
    print(f"  {'page':<12} letters  found    read  left out   digits+marks  not printed as letters   extra letters")
    for name, score in scores + [("all", total)]:
        share = score.percentages()
        print(f"  {name:<12} {score.letters:7d} {share['letters_found']:6.2f}% {share['letters_read']:6.2f}%  "
              f"{share['letters_left_out']:6.2f}%   {score.others:12d}  {share['others_not_printed']:6.2f}%"
              f"                  {score.extra_letters:5d}")
    print(f"  letters read {100 * read.mean():.2f}%, {LEVEL:.0%} interval over other writers {read_interval[0]:.2f} "
          f"to {read_interval[1]:.2f}% (resampling {read_over}; an image of no recorded writer is drawn alone)")
    by_kind = Counter(f"{what}->{letter}" for what, letter in printed).most_common()
    print("  printed as letters, what they are -> the letter printed: "
          + (", ".join(f"{pair} {count}" for pair, count in by_kind) or "none"))
    digit_total = sum((score for _, score, _ in digit_scores), DigitScore()) if digits is not None else None
    if digit_total is not None:
        share = digit_total.percentages()
        trained_on = " (the digit reader trained on these digits: use --split test)" if args.split != "test" else ""
        print(f"  digits ({digits.source}): {digit_total.digits} on the pages{trained_on}, printed as their digit "
              f"{share['digits_right']:.2f}%, as another digit {share['digits_wrong']:.2f}%, left out "
              f"{share['digits_left_out']:.2f}%; printed as digits: {digit_total.marks_as_digits} of "
              f"{digit_total.marks} marks ({share['marks_as_digits']:.2f}%), {digit_total.letters_as_digits} of "
              f"{digit_total.letters} letters ({share['letters_as_digits']:.2f}%); {digit_total.extra_digits} digits "
              "for nothing on the page")
        as_digits = Counter(f"{what}->{digit}" for _, _, printed in digit_scores for what, digit in printed)
        print("  printed as digits, what they are -> the digit printed: "
              + (", ".join(f"{pair} {count}" for pair, count in as_digits.most_common()) or "none"))
    if args.json:
        print(json.dumps({"model": classifier.source, "seed": args.seed, "split": args.split, "shifts": args.shifts,
                          "words": args.words, "text": None if text is None else str(text),
                          "language": args.language, "one_letter_words": args.one_letter_words,
                          **dataclasses.asdict(conditions),
                          "total": total.percentages(), "printed_as_letters": dict(by_kind),
                          "letters_read_interval": list(read_interval), "interval_level": LEVEL,
                          "interval_over": read_over,
                          "digits": None if digit_total is None else {
                              "model": digits.source, "counts": dataclasses.asdict(digit_total),
                              "percentages": digit_total.percentages(),
                              "printed_as_digits": dict(as_digits.most_common()),
                              "pages": {name: dataclasses.asdict(score) for name, score, _ in digit_scores}},
                          "pages": {name: {"counts": dataclasses.asdict(score), "percentages": score.percentages()}
                                    for name, score in scores + [("all", total)]}}))


def run_script(main, name):
    """Run a page benchmark's main(): no data, no model or a broken state file (HDLError) is one line on stderr and
    exit 2, as the CLI says it; Ctrl-C is "interrupted" and exit 130 (the page benchmarks write nothing before they
    print their figures, so nothing is left half-written)."""
    try:
        main()
    except HDLError as error:
        print(f"{name}: {error}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print(f"{name}: interrupted", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    run_script(main, "ocr_nonletters.py")
