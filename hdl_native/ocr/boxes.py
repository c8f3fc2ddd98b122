"""One box per character: connected ink, grouped into lines, merged and split by the line's letter size.

Lines come from the page's row profile (lines.py), or where lines wander and run together there, from
tracks followed along the page (tracks.py).

A character is usually one connected mark.  Two marks that sit above each other
(the dot of an i or j, a stroke broken where the pen skipped) are merged; a mark
much wider than the line's typical letter (letters written touching) is cut at the
columns with the least ink, and one somewhat wider is offered both whole and cut, for
the classifier to choose; both are also offered as a lattice of pieces between the
columns where their ink is thinnest, for the classifier to choose the cut it reads best;
a mark that begins with a lead-in stroke (the thin rising line many hands start a word
with) is offered without it as well; specks and punctuation-sized marks are dropped.
"""
from dataclasses import dataclass, field, replace

import numpy as np
from scipy import ndimage

from . import lines as text_lines
from . import tracks
from .bridges import split_faint_bridges

SPECK_FRACTION = 0.01  # marks below 1% of a typical letter's ink are dirt
LETTER_AREA_FRACTION = 0.15  # what counts as letter-sized when finding lines
MERGE_OVERLAP = 0.5  # merge marks overlapping by half the narrower one's width
TINY_AREA, TINY_HEIGHT, TINY_GAP = 0.3, 0.35, 0.1  # a dot or broken-off bit next to a letter joins it
SMALL_AREA, SMALL_HEIGHT = 0.1, 0.4  # lone marks smaller than this are punctuation or noise
SPLIT_WIDTH = 1.9  # a mark wider than this many typical letters holds touching letters (m and w stay whole)
MAYBE_SPLIT_WIDTH = 1.4  # from this width a mark may be two narrow letters touching (ri, il): offered whole, then cut
LANGUAGE_SPLIT_WIDTH = 1.2  # from this width it may be too, but only a word's language may cut it (word_cuts.py)
LANGUAGE_PIECES = 3  # a word's language may cut a mark MAYBE_SPLIT_WIDTH to SPLIT_WIDTH wide into this many pieces
CUT_SEARCH = 0.35  # search for a cut within this many letter widths of where it is expected
MAX_LETTERS_PER_MARK = 8
MAX_MARK_HEIGHTS = 4.0  # no handwritten letter is 4 times as tall as the typical one
EDGE_STRIP_ASPECT = 5.0  # a mark on the picture's edge this elongated is the paper's border
STRAIGHT_LINE_LENGTH = 3.0  # a mark this many letter heights long along its axis ...
STRAIGHT_LINE_SPREAD = 0.1  # ... whose ink strays from that axis by at most this many (sd) is a drawn line
STRAY_LINE_DISTANCE = 1.5  # a row of small marks this many letter heights from every line's centre is not writing
LEAD_IN_LENGTH = 0.25  # a lead-in stroke offered for trimming reaches left at least this many of the mark's heights
LEAD_IN_THICKNESS = 0.2  # ... and no column of it holds more ink than this share of the height (a stroke, no bowl)
PIECE_WIDTHS = (0.3, 1.6)  # letter widths a piece of a wide mark may span, cut where its ink is thinnest
CUTS_PER_LETTER = 3  # candidate cuts kept per letter the mark may hold
CUT_SPACING = 0.2  # letter widths between two candidate cuts at least


@dataclass
class Glyph:
    """A character's ink: the labelled marks it is made of, limited to columns [col_from, col_to).

    top, bottom, left, right: tight box in working pixels (bottom/right exclusive).
    lead_in_trimmed: a mark with the lead-in stroke it began with cut off (without_lead_in).
    part_sizes: ((height, width) px, ...) of each whole mark in `labels`, columns aside (sizes.tiny_glyphs).
    """

    labels: tuple
    top: int
    bottom: int
    left: int
    right: int
    col_from: int
    col_to: int
    lead_in_trimmed: bool = False
    part_sizes: tuple = ()

    @property
    def width(self):
        return self.right - self.left

    @property
    def height(self):
        return self.bottom - self.top


@dataclass
class Segment:
    """One mark of a line and the ways to cut it into letters: options[0] is the cut the widths suggest,
    the others (whole, one letter fewer or more, the mark without its lead-in stroke) are tried by the
    classifier.  A mark wider than MAYBE_SPLIT_WIDTH letters also has a lattice (cut_lattice): `pieces` maps
    (i, j), boundary indices 0 <= i < j < n_boundaries, to the Glyph between candidate cuts i and j; the
    classifier tries the best path through it of each length up to max_pieces (None: any) as well
    (recognize.lattice_paths).  Marks up to SPLIT_WIDTH wide have max_pieces 2, and those under MAYBE_SPLIT_WIDTH
    0: the network takes none of their lattice's paths.  language_pieces: the most pieces a word's language may cut
    the mark into where that is more than max_pieces (word_cuts.py): 2 for a mark LANGUAGE_SPLIT_WIDTH to
    MAYBE_SPLIT_WIDTH wide (two narrow letters touching, or one wide letter), LANGUAGE_PIECES for one up to
    SPLIT_WIDTH wide (three narrow letters touching); the paths of more pieces than max_pieces are the language's
    alone."""

    options: list
    pieces: dict = field(default_factory=dict)
    n_boundaries: int = 0
    max_pieces: int = None
    language_pieces: int = None

    @property
    def left(self):
        return min(glyph.left for glyph in self.options[0])

    def path_limit(self, language):
        """The most pieces a lattice path may have (None: any, 0: none): max_pieces for the network alone, and
        where a word's language reads the line (language true), language_pieces where it allows more."""
        return (self.language_pieces or self.max_pieces) if language else self.max_pieces


def find_glyphs(mask):
    """Characters in an ink mask, line by line, each cut the way the letter widths suggest.

    mask: (H, W) bool ink -> (labels (H, W) int32, [[Glyph, ...] per line, top to bottom, left to right]).
    """
    labels, segment_lines = find_segments(mask)
    return labels, [[glyph for segment in line for glyph in segment.options[0]] for line in segment_lines]


def find_segments(mask, ink=None):
    """Like find_glyphs, but every mark comes as a Segment with its other plausible cuts (for the classifier).

    mask: (H, W) bool -> (labels (H, W) int32, [[Segment, ...] per line]).  ink: optionally the (H, W) ink map;
    then marks joined by a faint bridge (letters run together in a blurred photo) are cut apart first
    (bridges.split_faint_bridges).
    """
    labels, count = ndimage.label(mask, structure=np.ones((3, 3), bool))
    if count == 0:
        return labels, []
    marks = measure_marks(labels, count)
    letter_height = weighted_median(marks["height"], marks["area"])
    if ink is not None:
        labels, split_count = split_faint_bridges(labels, count, ink, letter_height)
        if split_count != count:
            count, marks = split_count, measure_marks(labels, split_count)
    letter_area = weighted_median(marks["area"], marks["area"])
    kept = np.flatnonzero((marks["area"] >= max(2.0, SPECK_FRACTION * letter_area))
                          & ~not_writing(marks, labels.shape, letter_height))
    if len(kept) == 0:
        return labels, []
    line_of = group_lines(labels, marks, kept, letter_area, letter_height)
    result = []
    for line in range(int(line_of.max()) + 1):
        members = kept[line_of == line]
        glyphs = [glyph_of_marks(labels, marks, [m]) for m in members]
        segments = arrange_line(labels, marks, glyphs)
        if segments:
            result.append(segments)
    return labels, result


def measure_marks(labels, count):
    """Per connected mark (index = label - 1): box, area, height, width and centre."""
    objects = ndimage.find_objects(labels)
    ys, xs = np.nonzero(labels)
    which = labels[ys, xs]
    area = np.bincount(which, minlength=count + 1)[1:].astype(np.float64)
    centre_y = np.bincount(which, weights=ys, minlength=count + 1)[1:] / area
    centre_x = np.bincount(which, weights=xs, minlength=count + 1)[1:] / area
    top = np.array([s[0].start for s in objects])
    bottom = np.array([s[0].stop for s in objects])
    left = np.array([s[1].start for s in objects])
    right = np.array([s[1].stop for s in objects])
    return {"area": area, "top": top, "bottom": bottom, "left": left, "right": right,
            "height": bottom - top, "width": right - left, "cy": centre_y, "cx": centre_x,
            "pixels": (ys, xs, which)}


def not_writing(marks, shape, letter_height):
    """(n,) bool: marks far taller than a letter (a fold, a margin rule), long strips along the picture's edge
    (the table beside the paper, the page's shadow), and long thin straight lines anywhere (straight_lines)."""
    height, width = shape
    huge = marks["height"] > MAX_MARK_HEIGHTS * letter_height
    on_edge = (marks["top"] == 0) | (marks["left"] == 0) | (marks["bottom"] == height) | (marks["right"] == width)
    elongated = np.maximum(marks["height"], marks["width"]) > EDGE_STRIP_ASPECT * np.maximum(
        1, np.minimum(marks["height"], marks["width"]))
    return huge | (on_edge & elongated) | straight_lines(marks, letter_height)


def straight_lines(marks, letter_height):
    """(n,) bool: marks that are a thin straight line STRAIGHT_LINE_LENGTH letter heights long or longer.

    The edge of a sheet seen against a brighter desk (or a fold, an underline, a line drawn with a ruler) leaves
    a thin line of "ink" at any slant, which the lines of writing would cut into letters.  Along its main axis
    a mark of length L spreads L / sqrt(12) (standard deviation); across it, a line spreads about a third of the
    pen's width, a letter or a word a good share of its height.  From the second moments of each mark's pixels.
    """
    ys, xs, which = marks["pixels"]
    ys, xs = ys.astype(np.float64), xs.astype(np.float64)
    count, mean_x, mean_y = len(marks["area"]), marks["cx"], marks["cy"]

    def mean_of(values):
        return np.bincount(which, weights=values, minlength=count + 1)[1:] / marks["area"]

    var_x = mean_of(xs ** 2) - mean_x ** 2
    var_y = mean_of(ys ** 2) - mean_y ** 2
    cov_xy = mean_of(xs * ys) - mean_x * mean_y
    middle, half_gap = (var_x + var_y) / 2, np.sqrt(((var_x - var_y) / 2) ** 2 + cov_xy ** 2)
    along, across = middle + half_gap, np.maximum(middle - half_gap, 0.0)
    return ((np.sqrt(12 * along) >= STRAIGHT_LINE_LENGTH * letter_height)
            & (np.sqrt(across) <= STRAIGHT_LINE_SPREAD * letter_height))


def weighted_median(values, weights):
    """Median of `values` where each counts `weights` times (the size of the mark a random ink pixel is in)."""
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cumulative, cumulative[-1] / 2)])


def group_lines(labels, marks, kept, letter_area, letter_height):
    """Line number (0 = top) for each kept mark, from the deskewed row profile of their ink; -1 for marks in a
    row of their own, without a letter-sized one, far from every line (see lines.assign_lines).  Where letters
    of one line so found sit above one another (lines that wander ran together in the profile), the lines are
    followed along the page in strips instead (tracks.py), if that stacks fewer."""
    ys, xs, which = marks["pixels"]
    keep_pixel = np.zeros(len(marks["area"]) + 1, bool)
    keep_pixel[kept + 1] = True
    select = keep_pixel[which]
    ys, xs = ys[select], xs[select]
    model = text_lines.estimate_rows(ys, xs)
    pixel_rows = model.rows(ys, xs)
    borders = text_lines.line_borders(pixel_rows, letter_height)
    centre_rows = model.rows(marks["cy"][kept], marks["cx"][kept])
    letter_sized = (marks["area"][kept] >= LETTER_AREA_FRACTION * letter_area) & (
        marks["height"][kept] >= 0.3 * letter_height)
    line_of = text_lines.assign_lines(centre_rows, borders, letter_sized,
                                      max_stray_distance=STRAY_LINE_DISTANCE * letter_height)
    box = [marks[side][kept] for side in ("top", "bottom", "left", "right")]

    def stacked(line_numbers):
        return tracks.stacked_pairs(np.where(letter_sized, line_numbers, -1), *box, letter_height)

    stacked_in_profile = stacked(line_of)
    if stacked_in_profile == 0:
        return line_of
    sized_pixel = np.zeros(len(marks["area"]) + 1, bool)
    sized_pixel[kept[letter_sized] + 1] = True
    sized_pixel = sized_pixel[which[select]]
    followed = tracks.follow_tracks(pixel_rows[sized_pixel], xs[sized_pixel].astype(np.float64), letter_height)
    tracked = tracks.lines_along_tracks(centre_rows, marks["cx"][kept], letter_sized, followed,
                                        max_stray_distance=STRAY_LINE_DISTANCE * letter_height)
    return tracked if stacked(tracked) < stacked_in_profile else line_of


def glyph_of_marks(labels, marks, members, col_from=None, col_to=None):
    """A Glyph made of the marks `members` (indices), optionally limited to a column range; None if empty."""
    members = sorted(int(m) for m in members)
    left = int(min(marks["left"][m] for m in members))
    right = int(max(marks["right"][m] for m in members))
    col_from = left if col_from is None else max(left, int(col_from))
    col_to = right if col_to is None else min(right, int(col_to))
    top = int(min(marks["top"][m] for m in members))
    bottom = int(max(marks["bottom"][m] for m in members))
    window = np.isin(labels[top:bottom, col_from:col_to], np.asarray(members) + 1)
    if not window.any():
        return None
    rows = np.flatnonzero(window.any(axis=1))
    cols = np.flatnonzero(window.any(axis=0))
    return Glyph(tuple(members), top + int(rows[0]), top + int(rows[-1]) + 1,
                 col_from + int(cols[0]), col_from + int(cols[-1]) + 1, col_from, col_to,
                 part_sizes=tuple((int(marks["height"][m]), int(marks["width"][m])) for m in members))


def glyph_mask(labels, glyph, top, bottom, left, right):
    """(bottom-top, right-left) bool: the glyph's own ink inside the given window."""
    window = np.isin(labels[top:bottom, left:right], np.asarray(glyph.labels) + 1)
    columns = np.arange(left, right)
    window &= ((columns >= glyph.col_from) & (columns < glyph.col_to))[None, :]
    return window


def arrange_line(labels, marks, glyphs):
    """Merge parts, drop specks and offer cuts of wide marks within one line -> Segments, left to right."""
    glyphs = merge_overlapping(labels, marks, glyphs)
    glyphs = merge_tiny(labels, marks, glyphs)
    glyphs = drop_small(glyphs, marks)
    return sorted(segment_line(labels, marks, glyphs), key=lambda segment: segment.left)


def ink_area(glyph, marks):
    return float(sum(marks["area"][m] for m in glyph.labels))


def merge_overlapping(labels, marks, glyphs):
    """Merge glyphs whose column ranges overlap by MERGE_OVERLAP of the narrower one, until none do."""
    glyphs = sorted(glyphs, key=lambda g: g.left)
    merged = True
    while merged:
        merged = False
        for i in range(len(glyphs)):
            for j in range(i + 1, len(glyphs)):
                a, b = glyphs[i], glyphs[j]
                if b.left >= a.right:
                    break
                overlap = min(a.right, b.right) - max(a.left, b.left)
                if overlap >= MERGE_OVERLAP * min(a.width, b.width):
                    glyphs[i] = glyph_of_marks(labels, marks, a.labels + b.labels)
                    del glyphs[j]
                    merged = True
                    break
            if merged:
                break
    return glyphs


def merge_tiny(labels, marks, glyphs):
    """A tiny mark right next to a letter (a broken-off bit of stroke) joins that letter."""
    if len(glyphs) < 2:
        return glyphs
    areas = np.array([ink_area(g, marks) for g in glyphs])
    heights = np.array([g.height for g in glyphs])
    typical_area, typical_height = np.median(areas), np.median(heights)
    for index in np.argsort(areas):
        glyph = glyphs[index]
        if glyph is None or areas[index] >= TINY_AREA * typical_area or heights[index] >= TINY_HEIGHT * typical_height:
            continue
        # the letter it overlaps most, else the nearest one
        gaps = [horizontal_gap(glyph, other) - overlap_width(glyph, other) if other is not None and k != index
                else np.inf for k, other in enumerate(glyphs)]
        nearest = int(np.argmin(gaps))
        if gaps[nearest] <= TINY_GAP * typical_height:
            glyphs[nearest] = glyph_of_marks(labels, marks, glyphs[nearest].labels + glyph.labels)
            glyphs[index] = None
    return [g for g in glyphs if g is not None]


def overlap_width(a, b):
    """Columns two boxes share (0 when apart)."""
    return max(0, min(a.right, b.right) - max(a.left, b.left))


def horizontal_gap(a, b):
    """Columns of paper between two boxes (0 when they overlap)."""
    return max(0, max(a.left, b.left) - min(a.right, b.right))


def drop_small(glyphs, marks):
    """Remove lone marks far smaller than the line's letters (punctuation, dirt)."""
    if len(glyphs) < 2:
        return glyphs
    areas = np.array([ink_area(g, marks) for g in glyphs])
    heights = np.array([g.height for g in glyphs])
    small = (areas < SMALL_AREA * np.median(areas)) & (heights < SMALL_HEIGHT * np.median(heights))
    return [g for g, s in zip(glyphs, small) if not s]


def typical_letter_width(glyphs):
    """The line's letter width: the median box width, but no more than the median height
    (letters written touching inflate the widths)."""
    widths = np.array([g.width for g in glyphs])
    heights = np.array([g.height for g in glyphs])
    return float(min(np.median(widths), np.median(heights))) if len(glyphs) >= 3 else float(np.median(heights))


def segment_line(labels, marks, glyphs):
    """A Segment per glyph: marks much wider than the line's letters are cut at their thinnest columns
    into as many letters as fit, and also offered with one letter fewer or more (or whole); marks from
    MAYBE_SPLIT_WIDTH to SPLIT_WIDTH letters wide are offered whole, and cut in two as the second choice.
    Both also get a lattice of pieces (cut_lattice), the narrower ones cut in two at most by the network and in
    LANGUAGE_PIECES by the word's language; marks from LANGUAGE_SPLIT_WIDTH to MAYBE_SPLIT_WIDTH wide get a lattice
    of cuts in two for the word's language alone.
    A mark up to SPLIT_WIDTH wide that begins with a lead-in stroke is offered without it last (one letter)."""
    if not glyphs:
        return []
    letter_width = max(1.0, typical_letter_width(glyphs))
    segments = []
    for glyph in glyphs:
        ratio = glyph.width / letter_width
        trimmed = without_lead_in(labels, marks, glyph) if ratio <= SPLIT_WIDTH else None
        extra = [[trimmed]] if trimmed is not None else []
        if ratio <= MAYBE_SPLIT_WIDTH:
            segment = Segment([[glyph]] + extra)
            if ratio >= LANGUAGE_SPLIT_WIDTH:  # two narrow letters touching, or one wide letter: the word decides
                segment.max_pieces, segment.language_pieces = 0, 2
                segment.pieces, segment.n_boundaries = cut_lattice(labels, marks, glyph, letter_width,
                                                                   segment.path_limit(language=True))
            segments.append(segment)
            continue
        if ratio <= SPLIT_WIDTH:
            counts = [1, 2]
        else:
            likely = int(np.clip(round(ratio), 2, MAX_LETTERS_PER_MARK))
            counts = [likely] + [n for n in (likely - 1, likely + 1) if 1 <= n <= MAX_LETTERS_PER_MARK]
        options = [cut_into(labels, marks, glyph, n, letter_width) for n in dict.fromkeys(counts)]
        segment = Segment([option for option in options if option] + extra)
        if ratio <= SPLIT_WIDTH:  # one letter or two to the network, or three narrow ones to the word's language
            segment.max_pieces, segment.language_pieces = 2, LANGUAGE_PIECES
        segment.pieces, segment.n_boundaries = cut_lattice(labels, marks, glyph, letter_width,
                                                           segment.path_limit(language=True))
        segments.append(segment)
    return segments


def cut_lattice(labels, marks, glyph, letter_width, max_pieces=None):
    """The pieces a wide mark may be cut into, between candidate cuts at the local minima of its column ink
    -> ({(i, j): Glyph between boundaries i < j}, number of boundaries), boundary 0 its left edge, the last its
    right edge; a piece spans PIECE_WIDTHS letter widths.  With max_pieces 2 only the pieces that begin or end
    the mark are made (no cut in two uses another: usable_in_paths), sparing their crops."""
    column_ink = glyph_mask(labels, glyph, glyph.top, glyph.bottom, glyph.left, glyph.right).sum(axis=0)
    smooth = np.convolve(column_ink, np.ones(3) / 3, mode="same")
    inner = np.arange(1, len(smooth) - 1)
    minima = inner[(smooth[inner] <= smooth[inner - 1]) & (smooth[inner] <= smooth[inner + 1])]
    kept = []
    limit = int(CUTS_PER_LETTER * (glyph.width / letter_width + 1))
    for column in minima[np.argsort(smooth[minima], kind="stable")]:
        if len(kept) >= limit:
            break
        if all(abs(int(column) - other) >= CUT_SPACING * letter_width for other in kept) \
                and min(column, glyph.width - column) >= PIECE_WIDTHS[0] * letter_width:
            kept.append(int(column))
    boundaries = [glyph.left] + sorted(glyph.left + c for c in kept) + [glyph.right]
    low, high = PIECE_WIDTHS[0] * letter_width, PIECE_WIDTHS[1] * letter_width
    pieces = {}
    for i in range(len(boundaries)):
        for j in range(i + 1, len(boundaries)):
            width = boundaries[j] - boundaries[i]
            if width > high:
                break
            if width >= low and usable_in_paths(i, j, len(boundaries), max_pieces):
                piece = glyph_of_marks(labels, marks, glyph.labels, col_from=boundaries[i], col_to=boundaries[j])
                if piece is not None:
                    pieces[(i, j)] = piece
    return pieces, len(boundaries)


def usable_in_paths(i, j, n_boundaries, most):
    """Whether the lattice piece between boundaries i < j can be in a cut into at most `most` pieces (None: any;
    0: no cut): in two pieces, only one that begins or ends the mark."""
    return most != 0 and (most != 2 or i == 0 or j == n_boundaries - 1)


def pieces_for_paths(segment, most):
    """{(i, j): Glyph}: the pieces of a Segment's lattice that a cut into at most `most` pieces can use."""
    return {(i, j): piece for (i, j), piece in segment.pieces.items()
            if usable_in_paths(i, j, segment.n_boundaries, most)}


def without_lead_in(labels, marks, glyph):
    """The glyph without the stroke many hands begin a word with, or None when it has none.

    A lead-in stroke rises into the letter from low on its left: the mark's leftmost columns hold thin ink in
    the lower half of its box only.  They are cut off at the first column whose ink reaches above the middle,
    when that leaves out at least LEAD_IN_LENGTH of the mark's height and every column left out is thin.
    """
    mask = glyph_mask(labels, glyph, glyph.top, glyph.bottom, glyph.left, glyph.right)
    height = glyph.height
    reaches_up = mask[:height // 2].any(axis=0)
    if not reaches_up.any():
        return None
    start = int(np.argmax(reaches_up))
    if start < LEAD_IN_LENGTH * height or mask[:, :start].sum(axis=0).max() > LEAD_IN_THICKNESS * height:
        return None
    trimmed = glyph_of_marks(labels, marks, glyph.labels, col_from=glyph.left + start, col_to=glyph.col_to)
    return None if trimmed is None else replace(trimmed, lead_in_trimmed=True)


def cut_into(labels, marks, glyph, pieces, letter_width):
    """The glyph cut into `pieces` glyphs at its thinnest columns near the evenly spaced positions."""
    if pieces == 1:
        return [glyph]
    columns = glyph_mask(labels, glyph, glyph.top, glyph.bottom, glyph.left, glyph.right).sum(axis=0)
    cuts = thinnest_columns(columns, pieces, glyph.width / pieces)
    edges = [glyph.left] + [glyph.left + c for c in cuts] + [glyph.right]
    parts = [glyph_of_marks(labels, marks, glyph.labels, col_from=start, col_to=stop)
             for start, stop in zip(edges[:-1], edges[1:])]
    return [part for part in parts if part is not None]


def thinnest_columns(column_ink, pieces, letter_width):
    """Cut positions (offsets into the glyph) near the evenly spaced ones, at the columns with least ink."""
    width = len(column_ink)
    reach = max(1, int(CUT_SEARCH * letter_width))
    cuts = []
    for k in range(1, pieces):
        expected = int(round(k * width / pieces))
        low, high = max(1, expected - reach), min(width - 1, expected + reach + 1)
        if cuts:
            low = max(low, cuts[-1] + 1)
        if low >= high:
            continue
        window = column_ink[low:high].astype(np.float64)
        distance = np.abs(np.arange(low, high) - expected) / (reach + 1)
        cuts.append(low + int(np.argmin(window + 0.5 * distance)))
    return cuts
