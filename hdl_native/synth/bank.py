"""The glyph bank: every letter of every font in several stroke widths, rendered once per run."""
from dataclasses import dataclass

import numpy as np

from ..data.warp import pad_stack
from .glyphs import render_alphabets
from .pen_letters import render_pen_alphabet
from .normalize import OUTPUT_SIZE, MARGIN, ink_boxes
from .strokes import OVERSAMPLE, PEN_RADII, STROKE_LEVELS, pen_variants, stroke_variants


@dataclass(frozen=True)
class GlyphBank:
    """Rendered glyphs and what is known about them.

    images: float32 (L * G, S + 2, S + 2), variant v of glyph g at row v * G + g (L stroke levels,
    G glyphs), each with a 1-pixel zero border ready for data.warp.warp.
    labels int64 (G,) 0..25; uppercase bool (G,); font_index int64 (G,): the font's number, or for
    the handwritten forms of pen_forms.py (which follow the fonts' glyphs) the number of fonts + the form's.
    output_widths float32 (L, G): stroke width each variant would have in the 28x28 output.
    usable bool (L, G): variants that kept the letter's shape.
    pen bool (L,): which variant rows are pen-redrawn skeletons rather than the font's own shapes.
    """

    images: np.ndarray
    labels: np.ndarray
    uppercase: np.ndarray
    font_index: np.ndarray
    output_widths: np.ndarray
    usable: np.ndarray
    pen: np.ndarray

    @property
    def n_glyphs(self):
        return len(self.labels)

    @property
    def canvas(self):
        return self.images.shape[-1] - 2


BANK_STAGES = 4  # fonts rendered, handwritten forms drawn, stroke variants, pen variants: seconds each


def build_glyph_bank(font_paths, canvas=48, extent=26, levels=STROKE_LEVELS, radii=PEN_RADII, pen_copies=6, seed=0,
                     progress=None):
    """Render the 52 letters of each font, `pen_copies` drawings of every handwritten form (0: none),
    and their stroke-width and pen variants; see GlyphBank.  progress: optional callable(1) after each of the
    BANK_STAGES stages (a bar's update: together they take seconds before the first letter is drawn)."""
    def done():
        if progress is not None:
            progress(1)

    fine, labels, uppercase, font_index = render_alphabets(font_paths, canvas=canvas * OVERSAMPLE,
                                                           extent=extent * OVERSAMPLE)
    done()
    if pen_copies > 0:
        drawn = render_pen_alphabet(canvas=canvas * OVERSAMPLE, extent=extent * OVERSAMPLE, copies=pen_copies,
                                    seed=seed)
        fine, labels, uppercase = (np.concatenate([a, b]) for a, b in zip((fine, labels, uppercase), drawn))
        font_index = np.concatenate([font_index, len(font_paths) + drawn[3]])
    done()
    font_shapes, font_widths, usable = stroke_variants(fine, levels)
    done()
    pen_shapes, pen_widths = pen_variants(fine, radii)
    done()
    boxes = ink_boxes(font_shapes[levels.index(0)])
    side = np.maximum(boxes[:, 1] - boxes[:, 0], boxes[:, 3] - boxes[:, 2]) + 1
    widths = np.concatenate([font_widths, pen_widths])
    output_widths = widths * ((OUTPUT_SIZE - 2 * MARGIN) / side)[None, :]
    images = pad_stack(np.concatenate([font_shapes, pen_shapes]).reshape(-1, canvas, canvas))
    usable = np.concatenate([usable, np.ones(pen_widths.shape, dtype=bool)])
    pen = np.arange(len(widths)) >= len(levels)
    return GlyphBank(images, labels, uppercase, font_index, output_widths.astype(np.float32), usable, pen)
