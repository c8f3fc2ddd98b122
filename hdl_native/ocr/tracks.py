"""Text lines followed along the page, for writing whose lines wander.

lines.py finds the lines from one row profile of the whole page: right for lines that run straight (even
askew or converging), but a hand writing on unruled paper lets each line drift up and down on its own, and
where two neighbouring lines drift towards each other their peaks in the page's profile run together.  The
writing of both is then one "line", and a letter of the upper one sits above a letter of the lower one in it
(the line's boxes are merged into tall nonsense).  Here the profile is taken in narrow strips instead, a few
letters wide, in which a wandering line is still nearly straight; the peaks of neighbouring strips are linked
into tracks from left to right, each track following its line's drift, and every mark joins the track nearest
to it where it stands.

The boxes use this only where the page's profile evidently failed: when letters of one line stack above one
another (stacked_pairs), and the tracks stack fewer.
"""
import numpy as np
from scipy import ndimage

from .lines import profile_peaks, smoothed_profile

STRIP_WIDTH = 4.0  # letter heights: narrow enough that a wandering line is nearly straight across a strip
STRIP_STEP = 2.0  # letter heights between strip centres (strips overlap by half)
MIN_PEAK_SPACING = 1.0  # letter heights: two lines' centres are never closer
MAX_LINK_SHARE = 0.45  # a strip's peak continues a track when it lies within this share of the line pitch of it
MAX_SLOPE = 0.3  # rows per column a track may be extrapolated with
MAX_STRIPS_MISSED = 3  # a track unseen in this many strips in a row has ended (a short line, a wide margin)
OUTSIDE_WEIGHT = 0.25  # row-distance per column a mark lies beyond a track's ends (tracks do not reach far)
REFIT_LETTERS = 5  # a line's track through its own letters follows the median row of this many
STACK_OVERLAP = 0.5  # two letters of one line overlapping by this share of the narrower one's width are stacked
PAIR_BLOCK = 1024  # marks compared with all the line's others at a time (memory BLOCK x n, not n x n)


def stacked_pairs(line_of, top, bottom, left, right, letter_height):
    """How many pairs of marks in one line sit one above the other (overlapping by STACK_OVERLAP of the narrower
    one's width, their rows apart, their centres MIN_PEAK_SPACING letter heights apart or more): letters of two
    lines taken for one.  (The two parts of a letter broken where the pen skipped are nearer.)

    line_of: (n,) int line numbers (-1: none); top, bottom, left, right: (n,) boxes (bottom, right exclusive).
    """
    count = 0
    for line in np.unique(line_of[line_of >= 0]):
        members = np.flatnonzero(line_of == line)
        t, b, lft, rgt = top[members], bottom[members], left[members], right[members]
        centre, width, index = (t + b) / 2, rgt - lft, np.arange(len(members))
        for start in range(0, len(members), PAIR_BLOCK):  # the pairs (i, j > i), their rows i a block at a time
            i, j = slice(start, start + PAIR_BLOCK), slice(start, None)  # (the columns before the block: no j > i)
            overlap = np.minimum(rgt[i, None], rgt[None, j]) - np.maximum(lft[i, None], lft[None, j])
            narrower = np.minimum(width[i, None], width[None, j])
            apart = ((b[i, None] <= t[None, j]) | (b[None, j] <= t[i, None])) & (
                np.abs(centre[i, None] - centre[None, j]) >= MIN_PEAK_SPACING * letter_height)
            stacked = (overlap >= STACK_OVERLAP * np.maximum(narrower, 1)) & apart
            count += int((stacked & (index[None, j] > index[i, None])).sum())
    return count


def follow_tracks(pixel_rows, pixel_columns, letter_height):
    """The lines' tracks from strip profiles of the letters' ink, linked from left to right.

    pixel_rows, pixel_columns: (p,) float, each ink pixel's row along the page's lines and its column;
    letter_height: px, the typical letter's height.
    -> [(columns (k,), rows (k,))] one per track: where it was seen, left to right.
    """
    strips = strip_peaks(pixel_rows, pixel_columns, letter_height)
    spacings = np.concatenate([np.diff(peaks) for _, peaks in strips] + [np.empty(0)])
    pitch = float(np.median(spacings)) if len(spacings) else 2.0 * letter_height
    step = STRIP_STEP * letter_height
    tracks, ended = [], []
    for centre, peaks in strips:
        tracks, newly_ended = link_peaks(tracks, centre, peaks, MAX_LINK_SHARE * pitch, step)
        ended += newly_ended
    return [(np.asarray(track["columns"]), np.asarray(track["rows"])) for track in ended + tracks]


def strip_peaks(pixel_rows, pixel_columns, letter_height):
    """[(strip centre column, (k,) rows of its lines' peaks)] for strips STRIP_WIDTH letter heights wide,
    STRIP_STEP apart, across the ink; the profiles smoothed and their peaks found as lines.line_borders does."""
    width, step = STRIP_WIDTH * letter_height, STRIP_STEP * letter_height
    offset = np.floor(pixel_rows.min())
    bins = (pixel_rows - offset).astype(np.int64)
    first, last = float(pixel_columns.min()), float(pixel_columns.max())
    strips = []
    for centre in np.arange(first + width / 2, max(last - width / 2, first + width / 2) + step, step):
        inside = np.abs(pixel_columns - centre) <= width / 2
        if not inside.any():
            continue
        profile = smoothed_profile(bins[inside], letter_height, length=int(bins.max()) + 1)
        peaks = profile_peaks(profile, min_distance=max(2, int(MIN_PEAK_SPACING * letter_height)))
        strips.append((float(centre), offset + peaks[profile[peaks] > 0]))
    return strips


def link_peaks(tracks, column, peaks, max_link, step):
    """Continue each track with the strip's peak nearest to where it is heading (nearest pairs first); peaks
    left over begin tracks.  -> (tracks still going, tracks that ended)."""
    predicted = np.array([predict(track, column) for track in tracks])
    pairs = sorted((abs(p - peak), t, k) for t, p in enumerate(predicted) for k, peak in enumerate(peaks)
                   if abs(p - peak) <= max_link)
    used_tracks, used_peaks = set(), set()
    for _, t, k in pairs:
        if t in used_tracks or k in used_peaks:
            continue
        used_tracks.add(t)
        used_peaks.add(k)
        tracks[t]["columns"].append(float(column))
        tracks[t]["rows"].append(float(peaks[k]))
    for k, peak in enumerate(peaks):
        if k not in used_peaks:
            tracks.append({"columns": [float(column)], "rows": [float(peak)]})
    going = [track for track in tracks if column - track["columns"][-1] <= MAX_STRIPS_MISSED * step]
    ended = [track for track in tracks if column - track["columns"][-1] > MAX_STRIPS_MISSED * step]
    return going, ended


def predict(track, column):
    """The row a track reaches at `column`, carried on along its last two points' slope (bounded)."""
    columns, rows = track["columns"], track["rows"]
    if len(columns) < 2 or columns[-1] == columns[-2]:
        return rows[-1]
    slope = np.clip((rows[-1] - rows[-2]) / (columns[-1] - columns[-2]), -MAX_SLOPE, MAX_SLOPE)
    return rows[-1] + slope * (column - columns[-1])


def refitted_tracks(rows, columns, is_letter_sized, nearest):
    """Tracks drawn through the letters that joined each track (nearest: (n,) its index per mark), their rows
    smoothed by a running median of REFIT_LETTERS letters: the line as its own letters run, between and beyond
    the strips' peaks."""
    refitted = []
    for track in np.unique(nearest[is_letter_sized]):
        members = np.flatnonzero((nearest == track) & is_letter_sized)
        members = members[np.argsort(columns[members], kind="stable")]
        smooth = ndimage.median_filter(rows[members], size=REFIT_LETTERS, mode="nearest")
        refitted.append((columns[members], smooth))
    return refitted


def distances_to_tracks(rows, columns, tracks):
    """(n, T) how far each mark (its centre's row along the lines and column, (n,) each) lies from each track:
    the row distance where the mark stands, plus OUTSIDE_WEIGHT per column beyond the track's ends."""
    result = np.empty((len(rows), len(tracks)))
    for t, (track_columns, track_rows) in enumerate(tracks):
        beyond = np.maximum(track_columns[0] - columns, 0) + np.maximum(columns - track_columns[-1], 0)
        result[:, t] = np.abs(rows - np.interp(columns, track_columns, track_rows)) + OUTSIDE_WEIGHT * beyond
    return result


def lines_along_tracks(rows, columns, is_letter_sized, tracks, max_stray_distance=None):
    """Line index per mark from the tracks: each mark joins its nearest track, the tracks are drawn again through
    the letters that joined them (refitted_tracks) and the marks join again; tracks no letter-sized mark joins are
    dropped and their marks join the nearest track left, or get -1 when farther than max_stray_distance (as
    lines.assign_lines).  Lines are numbered from top to bottom by their letters' median row.

    rows, columns: (n,) each mark's centre; is_letter_sized: (n,) bool; tracks: follow_tracks' -> (n,) int.
    """
    if not is_letter_sized.any() or not tracks:
        return np.zeros(len(rows), dtype=np.int64)
    nearest = np.argmin(distances_to_tracks(rows, columns, tracks), axis=1)
    tracks = refitted_tracks(rows, columns, is_letter_sized, nearest)
    distances = distances_to_tracks(rows, columns, tracks)
    nearest = np.argmin(distances, axis=1)
    real = np.unique(nearest[is_letter_sized])
    line = real[np.argmin(distances[:, real], axis=1)]
    rank = np.empty(len(real), dtype=np.int64)
    rank[np.argsort([np.median(rows[(line == track) & is_letter_sized]) for track in real])] = np.arange(len(real))
    numbers = rank[np.searchsorted(real, line)]
    if max_stray_distance is not None:
        own = distances[np.arange(len(rows)), line]
        numbers[~is_letter_sized & (own > max_stray_distance)] = -1
    return numbers
