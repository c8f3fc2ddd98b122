"""A text corpus as character codes: reading and checking it, its vocabulary, the held-out split and the
batch streams of truncated backpropagation through time.

Each of the B rows of a batch reads its own contiguous stretch of the text (row b starts at b * L), chunk
after chunk, so the recurrent state a row ends one chunk with is the right state to start its next
chunk with: that is what lets the trainer carry the state between consecutive batches.
"""
import hashlib
from pathlib import Path

import numpy as np

from ..errors import HDLError

HOLDOUT_FRACTION = 0.1
# Bytes below 32 other than tab, newline, carriage return and form feed mark a file that is not text.
_CONTROL_BYTES = bytes(set(range(32)) - {9, 10, 12, 13})


def read_corpus(path):
    """The text of the UTF-8 file `path`; HDLError naming it when it is missing, empty or not text."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise HDLError(f"corpus {path} does not exist") from None
    except IsADirectoryError:
        raise HDLError(f"corpus {path} is a directory, not a text file") from None
    except OSError as error:
        raise HDLError(f"cannot read corpus {path}: {error.strerror}") from None
    if not raw.strip():
        raise HDLError(f"corpus {path} is empty: there is no text to learn from")
    control = next((byte for byte in raw[:1 << 20] if byte in _CONTROL_BYTES), None)
    if control is not None:
        raise HDLError(f"corpus {path} is not text: it holds the control byte 0x{control:02x} (a binary file?)")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise HDLError(f"corpus {path} is not UTF-8 text (byte {error.start}: {error.reason})") from None


def corpus_digest(text):
    """A short SHA-256 of `text`, recorded in a state so a resumed run reads the same corpus."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


class Vocabulary:
    """The characters of a corpus, sorted; character <-> index (int64)."""

    def __init__(self, characters):
        self.characters = list(characters)
        self.index = {character: i for i, character in enumerate(self.characters)}

    @classmethod
    def of_text(cls, text):
        return cls(sorted(set(text)))

    def __len__(self):
        return len(self.characters)

    def unknown(self, text):
        """The characters of `text` outside the vocabulary, in order of first appearance."""
        return list(dict.fromkeys(character for character in text if character not in self.index))

    def encode(self, text):
        """(len(text),) int64 codes; HDLError naming the characters outside the vocabulary."""
        missing = self.unknown(text)
        if missing:
            shown = ", ".join(repr(character) for character in missing[:10])
            raise HDLError(f"{len(missing)} character{'s' if len(missing) != 1 else ''} outside the model's "
                           f"vocabulary of {len(self)}: {shown}")
        return np.fromiter((self.index[character] for character in text), dtype=np.int64, count=len(text))

    def decode(self, codes):
        return "".join(self.characters[int(code)] for code in codes)


def split_holdout(codes, fraction=HOLDOUT_FRACTION):
    """(training codes, held-out codes): the last `fraction` of the text is held out, the rest trains."""
    cut = len(codes) - int(round(len(codes) * fraction))
    return codes[:cut], codes[cut:]


class Streams:
    """Batches (inputs, targets), each (batch_size, seq_len) int64, of B parallel contiguous streams.

    Row b reads codes[offset + b * L:] chunk by chunk, L = (len(codes) - 1 - offset) // batch_size; the
    targets are the inputs shifted by one character.  chunk(k) is the k-th consecutive chunk.
    """

    def __init__(self, codes, batch_size, seq_len, offset=0):
        self.batch_size, self.seq_len = batch_size, seq_len
        self.row_length = (len(codes) - 1 - offset) // batch_size
        used = codes[offset:offset + batch_size * self.row_length + 1]
        self.inputs = used[:-1].reshape(batch_size, self.row_length)
        self.targets = used[1:].reshape(batch_size, self.row_length)
        self.n_chunks = self.row_length // seq_len

    def chunk(self, k):
        columns = slice(k * self.seq_len, (k + 1) * self.seq_len)
        return self.inputs[:, columns], self.targets[:, columns]


def check_streams_fit(n_train, n_held_out, batch_size, seq_len, corpus):
    """HDLError naming the file `corpus` unless each part of it gives a chunk of batch_size x seq_len (and the
    one-character shift of the targets; training also its epoch's random start offset of up to seq_len - 1).

    The message says what can help: a smaller --batch-size or --seq-len where one is above its minimum of 1,
    else a longer corpus (how many characters it has, how many are needed)."""
    for part, size, need in (("training part", n_train, batch_size * seq_len + seq_len),
                             ("held-out last 10%", n_held_out, batch_size * seq_len + 1)):
        if size < need:
            problem = (f"corpus {corpus} is too short for a batch of {batch_size} x {seq_len}: its {part} has "
                       f"{size} characters, it needs {need}")
            raise HDLError(f"{problem}; {what_would_fit(n_train + n_held_out, batch_size, seq_len)}")


def what_would_fit(n_chars, batch_size, seq_len):
    """The advice for a corpus of n_chars too short for batch_size x seq_len: the options that can shrink, or,
    with both at 1, that the text itself is too short."""
    needed = shortest_corpus(batch_size, seq_len)
    smaller = [option for option, value in (("--batch-size", batch_size), ("--seq-len", seq_len)) if value > 1]
    if not smaller:
        return (f"the corpus itself is too short: it has {n_chars} characters, and at least {needed} are needed "
                "even at --batch-size 1 --seq-len 1")
    return f"use a smaller {' or '.join(smaller)} (at this size the corpus needs at least {needed} characters)"


def shortest_corpus(batch_size, seq_len):
    """The fewest characters a corpus can have whose training part and held-out tenth both fit batch_size x seq_len
    (both parts grow with the corpus, so a binary search finds it)."""
    def fits(n_chars):
        n_held_out = int(round(n_chars * HOLDOUT_FRACTION))  # as split_holdout cuts it
        return n_chars - n_held_out >= batch_size * seq_len + seq_len and n_held_out >= batch_size * seq_len + 1

    low, high = 1, 1
    while not fits(high):
        low, high = high + 1, high * 2
    while low < high:
        middle = (low + high) // 2
        low, high = (low, middle) if fits(middle) else (middle + 1, high)
    return low
