"""Generate synthetic handwritten-looking letters, write them as IDX files, draw a contact sheet.

    fonts = find_fonts()
    images, labels = generate_letters(10_000, seed=0, fonts=fonts)   # uint8 (N, 28, 28), int64 (N,)
    write_letters_idx(out_dir, images, labels)

Labels are 0..25 for a..z with upper and lower case merged, like the real letters set;
classes and cases are balanced.  The same seed, count and fonts give the same images,
because each chunk of CHUNK images draws from its own seeded random stream.
"""
from pathlib import Path

import numpy as np

from ..data.idx import IMAGES_FILE, LABELS_FILE, write_idx
from ..errors import HDLError, make_output_directory
from .bank import build_glyph_bank
from .distort import Distortion, distort
from .normalize import normalize_like_letters

CHUNK = 512  # images per vectorised step: big enough to amortise numpy calls, small enough to stay in cache
N_CLASSES = 26
PREVIEW_FILE = "synth-letters-preview.png"


def balanced_choices(count, bank, rng):
    """Glyph ids (count,) with every class and both cases equally often (up to rounding), fonts at random."""
    labels = rng.permutation(np.arange(count) % N_CLASSES)
    uppercase = rng.random(count) < 0.5
    glyph_ids = np.empty(count, dtype=np.int64)
    for label in range(N_CLASSES):
        for upper in (False, True):
            wanted = np.flatnonzero((labels == label) & (uppercase == upper))
            pool = np.flatnonzero((bank.labels == label) & (bank.uppercase == upper))
            glyph_ids[wanted] = rng.choice(pool, size=len(wanted))
    return glyph_ids


def generate_letters(count, seed=0, fonts=(), params=Distortion(), progress=None, bank=None):
    """count synthetic letters: (images uint8 (count, 28, 28), labels int64 (count,)).

    fonts: font files (see fonts.find_fonts); ignored when a prebuilt GlyphBank is given.
    progress: optional callable(n_done_in_step) for a progress bar.
    """
    if count < 0:
        raise HDLError(f"--count must be >= 0, got {count}")
    if bank is None:
        if not fonts:
            raise HDLError("no fonts given to draw letters with")
        bank = build_glyph_bank(fonts)
    streams = np.random.SeedSequence(seed).spawn(1 + (count + CHUNK - 1) // CHUNK)
    glyph_ids = balanced_choices(count, bank, np.random.default_rng(streams[0]))
    images = np.empty((count, 28, 28), dtype=np.uint8)
    for step, start in enumerate(range(0, count, CHUNK)):
        ids = glyph_ids[start:start + CHUNK]
        rng = np.random.default_rng(streams[1 + step])
        images[start:start + len(ids)] = normalize_like_letters(distort(bank, ids, rng, params))
        if progress is not None:
            progress(len(ids))
    return images, bank.labels[glyph_ids].copy()


def write_letters_idx(directory, images, labels):
    """Write images and labels as gzip IDX files in directory (created if needed); see data.idx.write_idx.

    Returns (images_path, labels_path).  An interruption never leaves a half-written file under the final name.
    """
    directory = Path(directory)
    make_output_directory(directory)
    return write_idx(directory / IMAGES_FILE, images), write_idx(directory / LABELS_FILE, labels.astype(np.uint8))


def contact_sheet(images, labels, path, per_class=8, zoom=2):
    """PNG grid: one column per letter a..z, per_class examples down each column, scaled by zoom."""
    from PIL import Image

    sheet = np.zeros((per_class * 28, N_CLASSES * 28), dtype=np.uint8)
    for label in range(N_CLASSES):
        examples = np.flatnonzero(labels == label)[:per_class]
        for row, index in enumerate(examples):
            sheet[row * 28:(row + 1) * 28, label * 28:(label + 1) * 28] = images[index]
    picture = Image.fromarray(sheet)
    picture.resize((picture.width * zoom, picture.height * zoom), Image.NEAREST).save(path)
    return Path(path)
