"""Render every letter of every font once, centred on a square canvas: the raw material of the generator."""
import string

import numpy as np

LOWER = string.ascii_lowercase
UPPER = string.ascii_uppercase
_PROBE_SIZE = 100


def fitting_font_size(font, letter, target_extent):
    """Font size at which `letter` spans `target_extent` pixels along its longer side.

    font: a PIL FreeTypeFont loaded at _PROBE_SIZE.
    """
    left, top, right, bottom = font.getbbox(letter)
    extent = max(1, right - left, bottom - top)
    return max(4, int(round(_PROBE_SIZE * target_extent / extent)))


def render_glyph(font, letter, canvas):
    """One letter drawn white on black, its bounding box centred: float32 (canvas, canvas) in [0, 1]."""
    from PIL import Image, ImageDraw

    image = Image.new("L", (canvas, canvas), 0)
    left, top, right, bottom = font.getbbox(letter)
    origin = (canvas / 2 - (left + right) / 2, canvas / 2 - (top + bottom) / 2)
    ImageDraw.Draw(image).text(origin, letter, font=font, fill=255)
    return np.asarray(image, dtype=np.float32) / 255.0


def render_alphabets(font_paths, canvas=48, extent=26):
    """All 52 letters of each font, each letter scaled so its longer side spans `extent` pixels.

    Every letter gets the same size because the letters set's conversion scales each one to
    fill 24x24 anyway; rendering them equally large keeps thin strokes resolvable.
    Returns (glyphs float32 (G, canvas, canvas) in [0, 1], labels int64 (G,) 0..25 for a..z,
    uppercase bool (G,), font_index int64 (G,)), with G = 52 * len(font_paths).
    The extent leaves room on the canvas for rotation and shear.
    """
    from PIL import ImageFont

    glyphs, labels, uppercase, font_index = [], [], [], []
    for index, path in enumerate(font_paths):
        probe = ImageFont.truetype(str(path), _PROBE_SIZE)
        for is_upper, alphabet in ((False, LOWER), (True, UPPER)):
            for label, letter in enumerate(alphabet):
                font = probe.font_variant(size=fitting_font_size(probe, letter, extent))
                glyphs.append(render_glyph(font, letter, canvas))
                labels.append(label)
                uppercase.append(is_upper)
                font_index.append(index)
    return (np.stack(glyphs), np.array(labels, dtype=np.int64), np.array(uppercase, dtype=bool),
            np.array(font_index, dtype=np.int64))
