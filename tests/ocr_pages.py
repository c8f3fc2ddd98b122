"""Test pages for OCR, built from real letters: lines of words on uneven paper, rotated, noisy, JPEG-compressed.

Each letter (28x28, bright ink on black) is scaled up, inverted to dark ink and
pasted on a light canvas; its ground-truth box is where its ink ends up after the
page is rotated.  Nothing here is written to the repository: pages go to pytest's
tmp_path.
"""
import io
from dataclasses import dataclass, replace

import numpy as np
from PIL import Image, ImageDraw, ImageFont

SHOW_THROUGH_SPREAD = 1.5  # px (sd) the paper spreads a stroke of the back's writing over


@dataclass
class PageSpec:
    """How one test page looks."""

    width: int = 1600
    height: int = 1200
    letter_scale: float = 1.75  # 28 px letter frames become 49 px
    letter_gap: tuple = (3, 9)  # px between letters of a word
    word_gap: tuple = (28, 45)  # px between words
    word_length: tuple = (2, 7)
    line_pitch: float = 2.1  # line spacing in letter heights
    margin: int = 70
    rotation_degrees: float = 1.5
    darkest_light: float = 0.55  # the lighting falls from 1 to this across the page
    noise_sigma: float = 5.0  # grey levels
    jpeg_quality: int = 80
    seed: int = 0
    ruled: bool = False  # pale blue notebook rules at each line's baseline and half way up, a red margin line
    squared: bool = False  # with ruled: vertical rules too, as far apart as the horizontal ones (squared paper)
    desk: int = 0  # > 0: the sheet lies on a dark wooden desk showing this many px around it
    perspective: float = 0.0  # < 0: photographed from the left, so the lines converge to the right (1/px)
    hard_shadow: float = 0.0  # > 0: a sharp-edged shadow (sunlight) darkens the lower left part by this much
    lead_in: float = 0.0  # share of the words whose first letter gets a lead-in stroke from the left (see lead_in)
    baseline_wave: float = 0.0  # > 0: each line's baseline wanders up and down by this many letter heights (a hand
    # writing on unruled paper): a sine along the line, of a period 0.6-1.2 page widths and a phase of its own
    pen_widening: int = 0  # px every stroke is widened by (grey dilation), as a felt-tip pen or a marker writes
    slant: float = 0.0  # degrees every letter leans (> 0: its top to the right, as most hands write), sheared about
    # its middle row where it stands, so at half height the letters are as far apart as upright ones
    show_through: float = 0.0  # > 0: the sheet's back is written on too and shows through: its writing (this
    # page's own, mirrored left to right and softened by the paper) darkens the paper by up to this share of the ink


@dataclass
class Truth:
    """Where a letter ended up: box (top, bottom, left, right), its label and line number; for a letter begun
    with a lead-in stroke (which `box` includes), letter_box is the box of its own ink: a box matching either
    one finds it.  tile: which of build_page's images it is (None where not built from images)."""

    box: tuple
    label: int
    line: int
    letter_box: tuple = None
    tile: int = None


def build_page(images, labels, spec, word_lengths=None, may_lead_in=None):
    """Paste as many of `images` (n, 28, 28) uint8 as fit; returns (JPEG bytes, [Truth], number used).

    word_lengths: how many images each word takes, in order (default: random lengths in spec.word_length).
    may_lead_in: bool (n,), which images may begin with a lead-in stroke when they start a word (default: all).
    """
    rng = np.random.default_rng(spec.seed)
    darkness = np.zeros((spec.height, spec.width), np.float32)
    owner = np.zeros((spec.height, spec.width), np.int32)
    tile = int(round(28 * spec.letter_scale))
    word_starts = set()
    placed = place_letters(images, spec, tile, rng, None if word_lengths is None else iter(word_lengths), word_starts)
    stroke_rng = np.random.default_rng([spec.seed, 17])  # its own stream: pages without lead-ins stay as they were
    stroked = np.zeros(owner.shape, bool) if spec.lead_in else None  # pixels owned by a lead-in stroke
    for number, (index, top, left) in enumerate(placed, start=1):
        letter = np.asarray(Image.fromarray(images[index]).resize((tile, tile), Image.Resampling.BICUBIC),
                            dtype=np.float32) / 255
        if spec.slant:
            letter, left = slanted(letter, spec.slant), left - slant_margin(tile, spec.slant)
        region = darkness[top:top + tile, left:left + letter.shape[1]]
        np.maximum(region, np.clip(letter, 0, 1), out=region)
        owner[top:top + tile, left:left + letter.shape[1]][letter > 0.25] = number
        if (spec.lead_in and number - 1 in word_starts and (may_lead_in is None or may_lead_in[index])
                and stroke_rng.random() < spec.lead_in):
            stroked |= draw_lead_in(darkness, owner, number, letter, top, left, stroke_rng)
    if spec.pen_widening:
        from scipy import ndimage

        darkness = ndimage.grey_dilation(darkness, footprint=np.ones((spec.pen_widening + 1,) * 2, bool))
    grey = render_paper(darkness, spec, rng)
    page = Image.fromarray(grey).rotate(spec.rotation_degrees, resample=Image.Resampling.BICUBIC,
                                               fillcolor=tuple(int(v) for v in grey[0, 0]))
    truths = truth_boxes(page_geometry(owner, spec), placed, labels, spec)
    if stroked is not None and stroked.any():
        letters_only = truth_boxes(page_geometry(np.where(stroked, 0, owner), spec), placed, labels, spec)
        truths = [replace(t, letter_box=core.box if core.box != t.box else None)
                  for t, core in zip(truths, letters_only)]
    if spec.perspective:
        page = photographed_at_an_angle(page, spec.perspective)
    if spec.hard_shadow:
        page = under_hard_shadow(page, spec.hard_shadow)
    if spec.desk:
        page = on_desk(page, spec.desk, rng)
        truths = [replace(t, box=moved(t.box, spec.desk), letter_box=t.letter_box and moved(t.letter_box, spec.desk))
                  for t in truths]
    buffer = io.BytesIO()
    page.save(buffer, format="JPEG", quality=spec.jpeg_quality)
    return buffer.getvalue(), truths, len(placed)


def slant_margin(tile, degrees):
    """Columns a letter tile (tile px square) sheared by `degrees` about its middle row reaches beyond each side."""
    return int(np.ceil(tile / 2 * abs(np.tan(np.deg2rad(degrees)))))


def slanted(letter, degrees):
    """(tile, tile) float ink leaning by `degrees` (> 0: its top to the right), sheared about its middle row ->
    (tile, tile + 2 * slant_margin) with the tile's centre column where it was."""
    tile = letter.shape[0]
    margin = slant_margin(tile, degrees)
    shear = np.tan(np.deg2rad(degrees))
    # the output's (x, y) takes the input's (x - margin + shear * (y - tile / 2), y)
    picture = Image.fromarray(letter.astype(np.float32)).transform(
        (tile + 2 * margin, tile), Image.Transform.AFFINE, (1, shear, -margin - shear * tile / 2, 0, 1, 0),
        resample=Image.Resampling.BICUBIC, fillcolor=0)
    return np.clip(np.asarray(picture, dtype=np.float32), 0, 1)


def page_geometry(owner, spec):
    """The owner map (H, W) int32 rotated and, with spec.perspective, photographed at an angle, as the page is."""
    owner = Image.fromarray(owner).rotate(spec.rotation_degrees, resample=Image.Resampling.NEAREST)
    if spec.perspective:
        owner = photographed_at_an_angle(owner, spec.perspective)
    return np.asarray(owner)


def moved(box, by):
    """(top, bottom, left, right) shifted down and right by `by` pixels."""
    top, bottom, left, right = box
    return top + by, bottom + by, left + by, right + by


def place_letters(images, spec, tile, rng, word_lengths=None, word_starts=None):
    """[(image index, top, left)] laid out in lines of words, in order, until the page is full.

    word_lengths: an iterator of word lengths (None: random ones); a word that does not fit starts the next line.
    word_starts: optional set that receives the positions (in the list returned) of each word's first letter.
    """
    placed, index = [], 0
    top = spec.margin
    length = None
    wave_rng = np.random.default_rng([spec.seed, 23])  # its own stream: pages without waves stay as they were
    while index < len(images) and top + tile < spec.height - spec.margin:
        cursor = float(spec.margin)
        period, phase = wave_rng.uniform(0.6, 1.2) * spec.width, wave_rng.uniform(0, 2 * np.pi)
        while index < len(images):
            if length is None:
                length = (int(rng.integers(spec.word_length[0], spec.word_length[1] + 1)) if word_lengths is None
                          else next(word_lengths, spec.word_length[1]))
            word = list(range(index, min(index + length, len(images))))
            gaps = rng.integers(spec.letter_gap[0], spec.letter_gap[1] + 1, len(word))
            spans = [ink_columns(images[i]) for i in word]
            width = sum((last - first + 1) * spec.letter_scale for first, last in spans) + gaps[:-1].sum()
            if cursor + width > spec.width - spec.margin:
                if word_lengths is None:
                    length = None  # as before word_lengths existed: the next line draws a new length
                break
            if word_starts is not None:
                word_starts.add(len(placed))
            for i, (first, last), gap in zip(word, spans, gaps):
                jitter = int(rng.integers(-3, 4))
                if spec.baseline_wave:
                    jitter += int(round(spec.baseline_wave * 24 * spec.letter_scale
                                        * np.sin(2 * np.pi * cursor / period + phase)))
                placed.append((i, top + jitter, int(round(cursor - first * spec.letter_scale))))
                cursor += (last - first + 1) * spec.letter_scale + gap
            index += len(word)
            length = None
            cursor += rng.integers(spec.word_gap[0], spec.word_gap[1] + 1) - gaps[-1]
        top += int(24 * spec.letter_scale * spec.line_pitch)
    return placed


def draw_lead_in(darkness, owner, number, letter, top, left, rng):
    """Draw a lead-in stroke, as many hands begin a word: from near the baseline, left of the letter, curving up
    into the leftmost ink of the letter at a random height in its lower two thirds, as thick as its strokes.
    letter: (tile, tile) float ink 0..1 pasted at (top, left); the stroke's pixels become part of letter `number`
    in `owner` (so its ground-truth box includes the stroke, as a reader boxing the mark whole would).  Returns
    the bool (H, W) map of the pixels it gave the letter."""
    ink = letter > 0.25
    rows = np.flatnonzero(ink.any(axis=1))
    if len(rows) < 4:
        return np.zeros(owner.shape, bool)
    first_row, last_row = int(rows[0]), int(rows[-1])
    height = last_row - first_row + 1
    join_row = int(rng.integers(first_row + height // 3, last_row + 1))
    join_row = int(rows[np.argmin(np.abs(rows - join_row))])
    join_col = int(np.flatnonzero(ink[join_row])[0])
    width = max(2, int(round(min(median_run(ink), median_run(ink.T)))))  # across the strokes, either way
    length = rng.uniform(0.35, 0.7) * height
    start = (left + join_col - length, top + last_row - rng.uniform(0, 0.12) * height)
    end = (left + join_col + 0.5 * width, top + join_row)
    bend = (start[0] + 0.6 * length, start[1])
    t = np.linspace(0, 1, 24)[:, None]
    points = (1 - t) ** 2 * np.array(start) + 2 * t * (1 - t) * np.array(bend) + t ** 2 * np.array(end)
    canvas = Image.new("L", (darkness.shape[1], darkness.shape[0]))
    ImageDraw.Draw(canvas).line([tuple(p) for p in points], fill=255, width=width, joint="curve")
    stroke = np.asarray(canvas, dtype=np.float32) / 255
    np.maximum(darkness, stroke, out=darkness)
    given = (stroke > 0.25) & (owner == 0)
    owner[given] = number
    return given


def median_run(ink):
    """Median length of the runs of ink along the rows of a bool image (0 when there is no ink)."""
    runs = [len(run) for row in ink for run in np.split(np.flatnonzero(row), np.flatnonzero(np.diff(
        np.flatnonzero(row)) > 1) + 1) if len(run)]
    return float(np.median(runs)) if runs else 0.0


def ink_columns(image):
    """(first, last) column of a 28x28 letter's ink (> 0.25 of full scale)."""
    columns = np.flatnonzero((image > 64).any(axis=0))
    return (int(columns[0]), int(columns[-1])) if len(columns) else (2, 25)


def render_paper(darkness, spec, rng):
    """(H, W, 3) uint8: beige paper under a lighting gradient, blue-black ink (and, with spec.show_through, the
    back's writing seen through the sheet), sensor noise."""
    height, width = darkness.shape
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    direction = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(direction) * xx / width + np.sin(direction) * yy / height)
    ramp = (ramp - ramp.min()) / max(float(ramp.max() - ramp.min()), 1e-6)
    light = 1 - (1 - spec.darkest_light) * ramp
    paper = np.array([232, 222, 200], np.float32)
    ink = np.array([40, 45, 90], np.float32)
    sheet = np.broadcast_to(paper, (height, width, 3))
    if spec.ruled:
        sheet = sheet.copy()
        draw_rules(sheet, spec)  # printed on the paper, under the ink
    colour = sheet * (1 - darkness[..., None]) + ink * darkness[..., None]
    if spec.show_through:
        colour = colour * (1 - spec.show_through * seen_through(darkness))[..., None]
    colour = colour * light[..., None] + rng.normal(0, spec.noise_sigma, colour.shape).astype(np.float32)
    return np.clip(colour, 0, 255).astype(np.uint8)


def seen_through(darkness):
    """(H, W) float32: the writing on a sheet's back as the front shows it.  The back of a notebook page is
    written on the same rules, so its lines fall where the front's do; its letters are read through the paper
    mirrored, and the paper scatters the light, softening each stroke (a Gaussian of SHOW_THROUGH_SPREAD px).
    The page's own writing (darkness: (H, W), 0 paper to 1 ink) mirrored left to right stands in for it."""
    from scipy import ndimage

    return ndimage.gaussian_filter(darkness[:, ::-1], SHOW_THROUGH_SPREAD)


def draw_rules(colour, spec):
    """Notebook paper, in place on (H, W, 3) float32: 2 px pale blue rules where the letters' lower parts
    are (the scans' letters do not all end at one baseline, so many cross a rule) and half a line
    further down, and a red margin line left of the text."""
    tile = int(round(28 * spec.letter_scale))
    pitch = int(24 * spec.letter_scale * spec.line_pitch)
    first = (spec.margin + int(0.85 * tile)) % (pitch // 2)
    for y in range(first, colour.shape[0], pitch // 2):
        colour[y:y + 2] = colour[y:y + 2] * 0.25 + np.array([120, 150, 215], np.float32) * 0.75
    if spec.squared:
        for x in range(first, colour.shape[1], pitch // 2):
            colour[:, x:x + 2] = colour[:, x:x + 2] * 0.25 + np.array([120, 150, 215], np.float32) * 0.75
    x = spec.margin - 25
    colour[:, x:x + 2] = colour[:, x:x + 2] * 0.3 + np.array([215, 90, 90], np.float32) * 0.7


def photographed_at_an_angle(picture, strength):
    """The picture as a camera to one side sees it: the far side smaller, lines converging toward it.

    The pixel at (x, y) shows the page at (x, y') / (1 + strength x), y' = y + strength x H / 2; the page
    colour (or owner 0) fills what falls outside.
    """
    width, height = picture.size
    coefficients = (1, 0, 0, strength * height / 2, 1, 0, strength, 0)
    fill = 0 if picture.mode != "RGB" else tuple(int(v) for v in np.asarray(picture)[height // 2, 5])
    resample = Image.Resampling.NEAREST if picture.mode != "RGB" else Image.Resampling.BICUBIC
    return picture.transform((width, height), Image.Transform.PERSPECTIVE, coefficients, resample, fillcolor=fill)


def under_hard_shadow(page, depth):
    """The page with a sharp-edged shadow, as of a phone held over it in sunlight, over its lower left part."""
    pixels = np.asarray(page, dtype=np.float32).copy()
    height, width = pixels.shape[:2]
    yy, xx = np.mgrid[0:height, 0:width]
    pixels[(yy > 0.45 * height + 0.2 * xx) & (xx < 0.6 * width)] *= 1 - depth
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def on_desk(page, border, rng):
    """The page photographed lying on a dark wooden desk that shows `border` px around it."""
    width, height = page.size
    yy, xx = np.mgrid[0:height + 2 * border, 0:width + 2 * border].astype(np.float32)
    grain = 0.8 + 0.2 * (0.5 + 0.5 * np.sin(xx / 7.0 + 3 * np.sin(yy / 60.0)))
    wood = np.array([90, 60, 35], np.float32) * grain[..., None] + rng.normal(0, 4, yy.shape + (3,))
    desk = Image.fromarray(np.clip(wood, 0, 255).astype(np.uint8))
    desk.paste(page, (border, border))
    return desk


def truth_boxes(owner, placed, labels, spec):
    """Ground truth from the rotated owner map: each letter's ink box after rotation."""
    from scipy import ndimage

    objects = ndimage.find_objects(owner, max_label=len(placed))
    truths = []
    line_tops = sorted({top for _, top, _ in placed})
    for number, ((index, top, _), where) in enumerate(zip(placed, objects), start=1):
        if where is None:
            continue
        box = (where[0].start, where[0].stop, where[1].start, where[1].stop)
        truths.append(Truth(box, int(labels[index]), line_tops.index(top), tile=int(index)))
    return truths


def intersection(a, b):
    """Area two (top, bottom, left, right) boxes share (0 when apart)."""
    height = min(a[1], b[1]) - max(a[0], b[0])
    width = min(a[3], b[3]) - max(a[2], b[2])
    return height * width if height > 0 and width > 0 else 0


def iou(a, b):
    """Intersection over union of two (top, bottom, left, right) boxes."""
    inter = intersection(a, b)
    if inter == 0:
        return 0.0
    union = (a[1] - a[0]) * (a[3] - a[2]) + (b[1] - b[0]) * (b[3] - b[2]) - inter
    return inter / union


def match_boxes(truths, boxes, min_iou=0.5):
    """{truth index: box index}, one to one, the pairs of highest IoU first, each at least min_iou.

    truths: [Truth]; boxes: [(top, bottom, left, right)].
    """
    pairs = []
    for t, truth in enumerate(truths):
        for f, box in enumerate(boxes):
            overlap = max(iou(truth.box, box), iou(truth.letter_box, box) if truth.letter_box else 0.0)
            if overlap >= min_iou:
                pairs.append((overlap, t, f))
    pairs.sort(reverse=True)
    matched, used = {}, set()
    for _, t, f in pairs:
        if t in matched or f in used:
            continue
        matched[t] = f
        used.add(f)
    return matched


def score_page(truths, found, min_iou=0.5):
    """Match found boxes to the truth one to one by IoU.

    found: [((top, bottom, left, right), predicted label)] -> (n found, n read correctly, n truth).
    """
    matched = match_boxes(truths, [box for box, _ in found], min_iou)
    correct = sum(found[f][1] == truths[t].label for t, f in matched.items())
    return len(matched), correct, len(truths)


def printed_page(tmp_path, text="hello there\nbig world"):
    """A JPEG page of printed lower-case letters, each drawn alone so its box is known -> (path, [Truth]), the
    labels counted from 'a' = 0."""
    page = Image.new("RGB", (900, 400), (235, 225, 205))
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=60)
    truths = []
    for row, line in enumerate(text.split("\n")):
        x = 60
        for letter in line:
            if letter != " ":
                left, top, right, bottom = draw.textbbox((x, 60 + 160 * row), letter, font=font)
                draw.text((x, 60 + 160 * row), letter, font=font, fill=(30, 30, 80))
                truths.append(Truth((top, bottom, left, right), ord(letter) - ord("a"), row))
            x += draw.textlength(letter, font=font) + 6
    path = tmp_path / "page.jpg"
    page.save(path, quality=90)
    return path, truths
