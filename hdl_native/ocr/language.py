"""Use the language a word is written in: a letter 5-gram of English, and a word-by-word Bayes choice.

The network reads each glyph alone, and handwriting is ambiguous glyph by glyph: a bar is an l, an i without
its dot or an I; an n with a short first stroke is an h; an open a is a u.  Read as a word, most of these
answer themselves: "he11o" is no word, "hello" is.  OCR programs have always used this; here it is the
smallest model that does it well: the probability of each letter given the four before it (and of the word
ending given its last four), counted over the words of a text and smoothed by Witten-Bell interpolation
(each order backs off to the next shorter context in proportion to how many different letters followed the
context), so a word never seen in the text still gets the probability its letter patterns earn.

Not every word on a page is English: names, codes, abbreviations, the alphabet written out, a page of letters
drawn at random.  So each word is read twice, as two hypotheses of equal prior (PRIOR_ENGLISH):
  - English: the letters c_1..c_n maximising  sum_t log p_t(c_t) + log P_english(c_1..c_n, end)
    (a beam search over the 5-gram's contexts; p_t are the network's probabilities of glyph t);
  - arbitrary letters: each glyph's best letter, each equally likely a priori: sum_t log max p_t + n log(1/26).
The network's probabilities stand in for likelihoods because it was trained with every letter equally often
(--balance-classes), so they differ from them by the same constant under both hypotheses.  The two scores give
the word's probability of being English, w.  Each glyph's letters then become
    w * (its letters if the word is English) + (1 - w) * (the network's letters),
where "its letters if the word is English" average, over the few most likely English readings of the word, the
glyph's letters given the other letters of that reading; so a word the network reads clearly as non-English keeps
its reading, and a word that is English has its unsure glyphs read as the word needs, with confidences that say
how sure the word made them.  The class 'other' keeps its probability; only words of letters are read this way
(digits and marks are left to words.py), and tiny glyphs (a comma beside the letters, sizes.py) are not part of a
word.

A glyph standing alone as a word is the one place where the language speaks to 'other' as well: English has two
words of one letter, a and I, while a lone 0, 1, + or - is common (a number, a sum, a dash).  So the letters of a
lone glyph other than ONE_LETTER_WORDS are weighed down by LONE_LETTER_PRIOR against 'other' (for readers with
that class), as words.py weighs a word's glyphs: a soft rule, so a letter the network is sure of is still read.
(The 5-gram's own one-letter words are no guide here: counted over Shakespeare's 's, 'd and 't, they include s,
d and t.)

The shipped table (pretrained/english-letters.npz, 134 kB) was counted by `tools/count_letter_ngrams.py` over the
words of tiny shakespeare (public domain); BENCHMARKS.md has what it does on pages of English words and of
random letters.

Shapes: a word's probabilities are (n, 26) over the letters a..z.
"""
import re
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..atomic import atomic_output
from ..data.datasets import NOT_A_LETTER
from ..errors import HDLError
from .recognize import glyph_words
from .sizes import tiny_glyphs

LETTERS = "abcdefghijklmnopqrstuvwxyz"
BOUNDARY = 26  # the symbol before a word's first letter and after its last
SYMBOLS = 27
ORDER = 5  # letters of context + 1
PRIOR_ENGLISH = 0.5  # a word is English or arbitrary letters, equally likely before reading it
BEAM = 32  # readings kept per letter in the beam search
EXPAND = 6  # letters tried per kept reading
BEAM_ROWS = np.arange(BEAM)[:, None]
CACHED_CONTEXTS = 1 << 16
ONE_LETTER_WORDS = "ai"  # English's words of one letter
LONE_LETTER_PRIOR = 0.1  # weight left to the other letters of a glyph standing alone as a word
CANDIDATE_SPAN = 12.0  # letters this much less likely (log) than a glyph's best are not its candidates
MIXED_READINGS = 8  # English readings a glyph's posterior averages over
MIN_READING_WEIGHT = 1e-3  # ... leaving out those this much less likely than the best
FORMAT = "hdl-letter-ngrams-1"
LANGUAGE_NAMES = ("english", "none")
DEFAULT_LANGUAGE = "english"
SHIPPED = {"english": Path(__file__).resolve().parent.parent / "pretrained" / "english-letters.npz"}


def words_of(text):
    """The runs of letters a..z of `text`, lower-cased: the words an n-gram is counted over."""
    return re.findall(r"[a-z]+", text.lower())


def count_ngrams(words, order=ORDER):
    """{k: (codes uint32 sorted, counts uint32)} for k = 1..order: every k-gram of letters of every word padded
    with order-1 BOUNDARY symbols before and one after; a k-gram's code is its symbols read as base-27 digits,
    oldest first."""
    found = [dict() for _ in range(order)]
    for word in words:
        symbols = [BOUNDARY] * (order - 1) + [LETTERS.index(c) for c in word] + [BOUNDARY]
        for end in range(order - 1, len(symbols)):
            code = 0
            for k in range(order):  # k-gram ending at `end`, built from its newest symbol back
                code += symbols[end - k] * SYMBOLS ** k
                found[k][code] = found[k].get(code, 0) + 1
    tables = {}
    for k, counts in enumerate(found, start=1):
        codes = np.array(sorted(counts), dtype=np.uint32)
        tables[k] = (codes, np.array([counts[c] for c in codes.tolist()], dtype=np.uint32))
    return tables


def save_ngrams(path, tables, source):
    """Write count_ngrams' tables and a line saying what they were counted from to `path` (.npz), through a
    temporary file beside it, so an interrupted write leaves the old file whole; HDLError when it cannot."""
    path = Path(path)
    arrays = {f"codes{k}": codes for k, (codes, _) in tables.items()}
    arrays.update({f"counts{k}": counts for k, (_, counts) in tables.items()})
    try:
        with atomic_output(path) as stream:
            np.savez_compressed(stream, format=np.array(FORMAT), source=np.array(source), **arrays)
    except OSError as error:
        raise HDLError(f"cannot write {path}: {error.strerror or error}") from None


class LetterNgrams:
    """P(next symbol | up to order-1 symbols before it), Witten-Bell interpolated, from count_ngrams' tables."""

    def __init__(self, tables, source=""):
        self.order = len(tables)
        self.source = source
        unigram = np.bincount(tables[1][0].astype(np.int64), weights=tables[1][1], minlength=SYMBOLS)
        self.unigram = (unigram + 1.0) / (unigram.sum() + SYMBOLS)  # add-one: every symbol stays possible
        # order k -> ({context's code: its run}, where each run of codes starts and ends, the symbols seen after
        # the contexts, their counts): the followers of a context are sliced out as it is asked for (arrays of
        # them for all 17,711 contexts of the shipped tables took 0.14 s to make, a tenth of reading a photo)
        self.runs = {}
        for k, (codes, counts) in tables.items():
            if k == 1 or len(codes) == 0:
                continue
            contexts, starts = np.unique(codes // SYMBOLS, return_index=True)
            runs = dict(zip(contexts.tolist(), range(len(contexts))))
            self.runs[k] = (runs, starts.tolist(), starts[1:].tolist() + [len(codes)], codes % SYMBOLS, counts)
        self._probabilities = lru_cache(maxsize=CACHED_CONTEXTS)(self._interpolated)
        self.next_of = lru_cache(maxsize=CACHED_CONTEXTS)(self._log_next)

    def _log_next(self, context):
        """(27,) float64 log-probabilities of the symbol after `context` (a tuple of symbols, oldest first)."""
        return np.log(self._probabilities(context))

    def followers(self, context):
        """(the symbols seen after `context`, a tuple of symbols oldest first; their counts), or None where the
        tables never saw it."""
        if len(context) + 1 not in self.runs:
            return None
        runs, starts, ends, symbols, counts = self.runs[len(context) + 1]
        code = 0
        for symbol in context:
            code = code * SYMBOLS + symbol
        run = runs.get(code)
        if run is None:
            return None
        return symbols[starts[run]:ends[run]], counts[starts[run]:ends[run]]

    def _interpolated(self, context):
        """(27,) probabilities of the symbol after `context`: its counts, backing off to the shorter context's."""
        if not context:
            return self.unigram
        shorter = self._probabilities(context[1:])
        followers = self.followers(context)
        if followers is None:
            return shorter
        symbols, counts = followers
        seen = np.zeros(SYMBOLS)
        seen[symbols] = counts
        kinds = len(symbols)  # Witten-Bell: back off in proportion to how many symbols followed the context
        return (seen + kinds * shorter) / (seen.sum() + kinds)

    def word_log_probability(self, letters):
        """log P(word, then its end) of a sequence of letter indices."""
        context = (BOUNDARY,) * (self.order - 1)
        total = 0.0
        for symbol in list(letters) + [BOUNDARY]:
            total += self.next_of(context)[symbol]
            context = context[1:] + (symbol,)
        return total


def load_ngrams(path):
    """LetterNgrams from a file save_ngrams wrote; HDLError naming the file when it is not one."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            if str(stored["format"]) != FORMAT:
                raise HDLError(f"{path}: not a letter n-gram file of format {FORMAT} (it says {stored['format']})")
            orders = sorted(int(key[5:]) for key in stored.files if key.startswith("codes"))
            if orders != list(range(1, len(orders) + 1)) or not orders:
                raise HDLError(f"{path}: its n-gram orders are {orders}, not 1 to n")
            tables = {k: (stored[f"codes{k}"].astype(np.int64), stored[f"counts{k}"].astype(np.float64))
                      for k in orders}
            source = str(stored["source"])
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise HDLError(f"{path}: cannot read a letter n-gram file: {error}") from None
    for k, (codes, counts) in tables.items():
        if codes.shape != counts.shape or codes.ndim != 1 or (codes.size and
                                                              (codes.min() < 0 or codes.max() >= SYMBOLS ** k)):
            raise HDLError(f"{path}: its {k}-gram table is malformed")
        if np.any(np.diff(codes) <= 0):
            raise HDLError(f"{path}: its {k}-gram codes are not sorted and distinct")
    return LetterNgrams(tables, source)


@dataclass
class WordReading:
    """The English reading of one word: its most likely letters, the word's probability of being English, and
    each glyph's probabilities of the letters a..z if it is ((n, 26), rows summing to 1)."""

    letters: list
    p_english: float
    posterior: np.ndarray


def read_word(log_p, ngrams, prior_english=PRIOR_ENGLISH):
    """WordReading of a word whose glyphs the network gives log-probabilities log_p (n, 26) over a..z.

    The posterior of a glyph averages, over the most likely English readings (up to MIXED_READINGS, weighed by
    their probability), its letters given the other letters of that reading (conditional_letters): a glyph whose
    neighbours are unsure is less sure too."""
    beams, ended = english_readings(log_p, ngrams)
    order = np.argsort(-ended)[:MIXED_READINGS]
    weights = np.exp(ended[order] - ended[order[0]])
    kept = weights >= MIN_READING_WEIGHT
    rows = {}
    posterior = sum(weight * conditional_letters(log_p, beams[i][2], ngrams, rows)
                    for i, weight in zip(order[kept], weights[kept])) / weights[kept].sum()
    english, arbitrary = hypotheses(log_p, ended[order[0]], prior_english)
    p_english = float(1.0 / (1.0 + np.exp(np.clip(arbitrary - english, -700, 700))))
    return WordReading(list(beams[order[0]][2]), p_english, posterior)


def english_readings(log_p, ngrams, prefixes=None):
    """The beam search of read_word: ([(score, context, letters)] the BEAM best English readings of a word whose
    glyphs the network gives log-probabilities log_p (n, 26), (BEAM,) their scores with the word's end).

    prefixes: None, or a dict shared by words that may begin alike (the cuts of one word that word_cuts weighs):
    the beam after each run of first rows is kept there, and a word whose first rows were read before starts
    from that beam (the same numbers: a step depends only on the rows before it and the n-grams)."""
    scores = np.zeros(1)  # (beams,) float64
    contexts, readings = [(BOUNDARY,) * (ngrams.order - 1)], [()]
    as_glyphs = np.result_type(log_p.dtype, 0.0)  # a beam score meets log_p in its precision, as a scalar would
    keys, start = [], 0
    if prefixes is not None:  # keys[t]: the rows 0..t, nested (a bytes object keeps its hash, so a row's bytes
        # are hashed once however often the keys holding them are looked up)
        for row in log_p:
            keys.append((keys[-1] if keys else (id(ngrams), log_p.dtype.str), row.tobytes()))
        start = next((t + 1 for t in range(len(keys) - 1, -1, -1) if keys[t] in prefixes), 0)
        if start:
            scores, contexts, readings = prefixes[keys[start - 1]]
    for t in range(start, len(log_p)):  # all beams at once, one argpartition and one stable sort a letter
        grown = (scores.astype(as_glyphs)[:, None] + log_p[t]
                 + np.array([ngrams.next_of(context) for context in contexts])[:, :BOUNDARY])  # float64
        tried = np.argpartition(-grown, EXPAND, axis=1)[:, :EXPAND]  # (beams, EXPAND) letters tried per beam
        tried_scores = grown[BEAM_ROWS[:len(grown)], tried].ravel()
        kept = np.argsort(-tried_scores, kind="stable")[:BEAM]  # ties stay in beam order, then in tried order
        rows, letters = (kept // EXPAND).tolist(), tried.ravel()[kept].tolist()
        scores = tried_scores[kept]
        contexts = [contexts[row][1:] + (letter,) for row, letter in zip(rows, letters)]
        readings = [readings[row] + (letter,) for row, letter in zip(rows, letters)]
        if prefixes is not None:
            prefixes[keys[t]] = scores, contexts, readings
    ended = scores + np.array([ngrams.next_of(context)[BOUNDARY] for context in contexts])
    return [(float(score), context, letters) for score, context, letters in zip(scores, contexts, readings)], ended


def english_log_odds(log_p, ngrams, prior_english=PRIOR_ENGLISH, prefixes=None):
    """(log P(English reading) - log P(arbitrary letters), log of their mixture) of a word's glyphs, log_p (n, 26)
    as read_word's: the two hypotheses read_word weighs, each with its prior.  prefixes: english_readings'."""
    _, ended = english_readings(log_p, ngrams, prefixes)
    english, arbitrary = hypotheses(log_p, ended.max(), prior_english)
    return english - arbitrary, float(np.logaddexp(english, arbitrary))


def hypotheses(log_p, best_english, prior_english):
    """(English, arbitrary letters): the log-probability of a word's glyphs (log_p (n, 26)) under each hypothesis,
    its prior included; best_english: the best English reading's score (english_readings)."""
    english = float(best_english) + np.log(prior_english)
    arbitrary = float(log_p.max(axis=1).sum()) + len(log_p) * np.log(1.0 / BOUNDARY) + np.log1p(-prior_english)
    return english, arbitrary


def conditional_letters(log_p, letters, ngrams, cache=None):
    """(n, 26): each glyph's letters given the network and the other letters of a reading fixed: the
    network's log-probability plus the n-gram terms the glyph takes part in (its own and the order-1 after it),
    over the letters the network gives at least exp(-CANDIDATE_SPAN) of its best one's probability (the others
    get 0: no 5-gram raises a letter by that much; the factor between "fello" and "hello" is exp(6)).
    cache: a dict shared by the readings of one word (a glyph's row depends only on the letters around it)."""
    n, order = len(log_p), ngrams.order
    padded = [BOUNDARY] * (order - 1) + list(letters) + [BOUNDARY]
    result = np.empty((n, BOUNDARY))
    cache = {} if cache is None else cache
    for t in range(n):
        at = t + order - 1  # index of glyph t in `padded`
        key = (t, tuple(padded[at - order + 1:at]), tuple(padded[at + 1:at + order]))
        if key not in cache:
            scores = np.full(BOUNDARY, -np.inf)
            for candidate in np.flatnonzero(log_p[t] >= log_p[t].max() - CANDIDATE_SPAN).tolist() + [letters[t]]:
                padded[at] = candidate
                scores[candidate] = log_p[t, candidate]
                for later in range(at, min(at + order, len(padded))):  # the grams ending at `later` holding glyph t
                    scores[candidate] += ngrams.next_of(tuple(padded[later - order + 1:later]))[padded[later]]
            padded[at] = letters[t]
            scores = np.exp(scores - scores.max())
            cache[key] = scores / scores.sum()
        result[t] = cache[key]
    return result


def apply_language(glyphs, probabilities, classes, ngrams):
    """probabilities (n, classes) of one line's glyphs left to right, with each word of letters read as
    read_word says (see the module docstring); unchanged without a model or when `classes` lack a letter."""
    if ngrams is None or len(glyphs) == 0 or not set(LETTERS) <= set(classes):
        return probabilities
    columns = np.array([list(classes).index(letter) for letter in LETTERS])
    tiny = tiny_glyphs(glyphs)
    probabilities = weigh_lone_glyphs(glyphs, probabilities, classes, tiny)
    result = probabilities.copy()
    is_letter = np.isin(probabilities.argmax(axis=1), columns)
    for start, end in glyph_words(glyphs):
        word = [i for i in range(start, end) if is_letter[i] and not tiny[i]]
        if not word:
            continue
        letter_mass = probabilities[np.ix_(word, columns)].sum(axis=1, keepdims=True)
        network = probabilities[np.ix_(word, columns)] / np.maximum(letter_mass, 1e-30)
        reading = read_word(np.log(np.maximum(network, 1e-12)), ngrams)
        mixed = reading.p_english * reading.posterior + (1.0 - reading.p_english) * network
        result[np.ix_(word, columns)] = mixed * letter_mass
    return result


def weigh_lone_glyphs(glyphs, probabilities, classes, tiny):
    """probabilities (n, classes) with the letters of each glyph that stands alone as a word (tiny glyphs beside
    it aside) weighed by LONE_LETTER_PRIOR, except ONE_LETTER_WORDS, and renormalised (a new array); the same
    array for readers without the class 'other', whose lone glyphs must be some letter, or lines without one."""
    if NOT_A_LETTER not in classes:
        return probabilities
    lone = [body[0] for body in ([i for i in range(start, end) if not tiny[i]] for start, end in glyph_words(glyphs))
            if len(body) == 1]
    if not lone:
        return probabilities
    weighed_down = np.array([c != NOT_A_LETTER and c not in ONE_LETTER_WORDS for c in classes])
    result = probabilities.copy()
    result[np.ix_(lone, np.flatnonzero(weighed_down))] *= LONE_LETTER_PRIOR
    result[lone] /= np.maximum(result[lone].sum(axis=1, keepdims=True), 1e-30)
    return result


def load_language(name):
    """The shipped letter model of language `name` (LANGUAGE_NAMES), or None for "none"."""
    if name == "none":
        return None
    if name not in SHIPPED:
        raise HDLError(f"unknown language {name!r}; choose from {', '.join(LANGUAGE_NAMES)}")
    return load_ngrams(SHIPPED[name])
