"""Draw the handwritten letter forms of pen_forms.py as glyph images, several wobbly copies of each.

The glyph bank treats these like the letters of one more font: they get the same stroke-width
and pen variants and the same per-image distortions.  What they add is shape: joined
letters with loops and tails, print letters built from circles and sticks, i and j without
dots.  Each copy moves every point of the pen path a little (a hand never draws the same
letter twice), stretches the letter sideways and slants it, all from a seeded stream.
"""
import numpy as np

from .pen_forms import FORMS

SAMPLES_PER_SPAN = 12  # points drawn between two path points: smooth at any canvas size used here
POINT_WOBBLE = 0.12  # standard deviation of each path point's shift, in grid units (x-height = 4)
WIDTH_RANGE = (0.8, 1.25)  # sideways stretch
SLANT_RANGE = (-0.25, 0.3)  # x += slant * y: writers lean right more often than left
PEN_FRACTION = (0.05, 0.09)  # pen width as a fraction of the letter's longer side


def catmull_rom(points, samples=SAMPLES_PER_SPAN):
    """A smooth curve through points (n, 2) -> (m, 2); two points give their straight segment."""
    points = np.asarray(points, dtype=np.float64)
    if len(points) < 3:
        return points
    padded = np.vstack([points[0], points, points[-1]])
    t = np.linspace(0.0, 1.0, samples, endpoint=False)[:, None]
    pieces = []
    for i in range(1, len(padded) - 2):
        p0, p1, p2, p3 = padded[i - 1:i + 3]
        pieces.append(0.5 * (2 * p1 + (p2 - p0) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t ** 2
                             + (3 * p1 - p0 - 3 * p2 + p3) * t ** 3))
    pieces.append(points[-1:])
    return np.vstack(pieces)


def wobbled(form, rng):
    """A form's strokes with every point moved a little, stretched and slanted: list of (n, 2) arrays."""
    stretch = rng.uniform(*WIDTH_RANGE)
    slant = rng.uniform(*SLANT_RANGE)
    strokes = []
    for stroke in form:
        points = np.asarray(stroke, dtype=np.float64)
        points = points + rng.normal(0.0, POINT_WOBBLE, points.shape)
        points[:, 0] = points[:, 0] * stretch + slant * points[:, 1]
        strokes.append(points)
    return strokes


def draw_strokes(strokes, canvas, extent, pen_width):
    """Strokes (grid units, y up) drawn white on black, the ink box centred and its longer side
    spanning `extent` pixels: float32 (canvas, canvas) in [0, 1]."""
    from PIL import Image, ImageDraw

    curves = [catmull_rom(stroke) for stroke in strokes]
    every = np.vstack(curves)
    low, high = every.min(axis=0), every.max(axis=0)
    scale = (extent - pen_width) / max(float((high - low).max()), 1e-6)
    centre = (low + high) / 2
    image = Image.new("L", (canvas, canvas), 0)
    draw = ImageDraw.Draw(image)
    radius = pen_width / 2
    for curve in curves:
        xs = canvas / 2 + (curve[:, 0] - centre[0]) * scale
        ys = canvas / 2 - (curve[:, 1] - centre[1]) * scale  # the grid's y points up, the image's down
        path = list(zip(xs.tolist(), ys.tolist()))
        if len(path) > 1:
            draw.line(path, fill=255, width=max(1, int(round(pen_width))), joint="curve")
        for x, y in (path[0], path[-1]):  # round pen ends (and a dot for a one-point stroke)
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)
    return np.asarray(image, dtype=np.float32) / 255.0


def render_pen_alphabet(canvas=96, extent=52, copies=6, seed=0):
    """`copies` wobbly drawings of every handwritten form of every letter.

    Returns (glyphs float32 (G, canvas, canvas) in [0, 1], labels int64 (G,) 0..25 for a..z,
    uppercase bool (G,) all False, form_index int64 (G,) numbering the forms).
    """
    rng = np.random.default_rng(seed)
    glyphs, labels, forms = [], [], []
    form_number = 0
    for letter in sorted(FORMS):
        for form in FORMS[letter]:
            for _ in range(copies):
                pen = rng.uniform(*PEN_FRACTION) * extent
                glyphs.append(draw_strokes(wobbled(form, rng), canvas, extent, pen))
                labels.append(ord(letter) - ord("a"))
                forms.append(form_number)
            form_number += 1
    count = len(glyphs)
    return (np.stack(glyphs), np.array(labels, dtype=np.int64), np.zeros(count, dtype=bool),
            np.array(forms, dtype=np.int64))
