"""Read the handwritten letters in a photo: the stages one after another, timed."""
import time
from dataclasses import dataclass, field


from ..errors import HDLError
from .boxes import find_glyphs
from .crops import glyph_crops
from .image_io import MAX_WORK_SIDE, load_photo
from .lighting import ink_map, ink_mask
from .recognize import Reading, line_text, top_guesses


@dataclass
class OcrResult:
    """What was read: lines of Readings, their texts, the photo, the network's input crops
    ([(n, 28, 28) uint8] per line) and the time each stage took (seconds)."""

    lines: list
    texts: list
    photo: object
    crops: list = field(default_factory=list)
    timings: dict = field(default_factory=dict)

    @property
    def text(self):
        return "\n".join(self.texts)

    def as_dict(self):
        width, height = self.photo.original_size
        return {"image": self.photo.path, "width": width, "height": height, "text": self.text,
                "lines": [{"text": text, "boxes": [r.as_dict() for r in line]}
                          for text, line in zip(self.texts, self.lines)],
                "n_characters": sum(len(line) for line in self.lines),
                "timings": {k: round(v, 4) for k, v in self.timings.items()}}


class Stopwatch:
    """Collects the duration of each named stage."""

    def __init__(self):
        self.timings = {}
        self._last = time.perf_counter()

    def lap(self, name):
        now = time.perf_counter()
        self.timings[name] = self.timings.get(name, 0.0) + now - self._last
        self._last = now


def read_page(path, classifier, min_confidence=0.5, max_side=MAX_WORK_SIDE):
    """Find, crop and classify every character in the photo at `path` -> OcrResult; HDLError on bad input."""
    clock = Stopwatch()
    photo = load_photo(path, max_side=max_side)
    clock.lap("load")
    ink = ink_map(photo.grey)
    mask = ink_mask(ink)
    clock.lap("lighting")
    labels, glyph_lines = find_glyphs(mask)
    clock.lap("boxes")
    if not glyph_lines:
        raise HDLError(f"{path}: found no ink: the picture looks like blank paper "
                       f"(nothing is more than {ink.high:.0%} darker than the paper around it)")
    crops = [glyph_crops(ink.ink, labels, glyphs) for glyphs in glyph_lines]
    clock.lap("crops")
    probabilities = [classifier.probabilities(line_crops) for line_crops in crops]
    clock.lap("classify")
    lines = [readings_of_line(glyphs, p, classifier.classes, photo.scale, min_confidence)
             for glyphs, p in zip(glyph_lines, probabilities)]
    texts = [line_text(line) for line in lines]
    clock.lap("text")
    return OcrResult(lines, texts, photo, crops, clock.timings)


def readings_of_line(glyphs, probabilities, classes, scale, min_confidence):
    """Readings for one line; boxes converted from working to original pixels."""
    readings = []
    for glyph, (letters, probs) in zip(glyphs, top_guesses(probabilities, classes)):
        box = tuple(int(round(v * scale)) for v in (glyph.top, glyph.bottom, glyph.left, glyph.right))
        readings.append(Reading(box, letters, probs, unsure=probs[0] < min_confidence))
    return readings


def crops_of_page(path, max_side=MAX_WORK_SIDE):
    """The 28x28 crops the classifier would see, line by line: [(n, 28, 28) uint8] (for inspection and tests)."""
    photo = load_photo(path, max_side=max_side)
    ink = ink_map(photo.grey)
    labels, glyph_lines = find_glyphs(ink_mask(ink))
    return [glyph_crops(ink.ink, labels, glyphs) for glyphs in glyph_lines]


__all__ = ["OcrResult", "read_page", "crops_of_page"]
