"""Lines that wander: followed along the page in strips where the page's row profile ran them together."""
import numpy as np
import pytest
from PIL import Image, ImageDraw

from hdl_native.ocr import tracks
from hdl_native.ocr.boxes import find_segments


PITCH = 90  # px between rows of blocks 41 px tall


def wavy_blocks(wave, seed, rows=5, columns=22, width=1200, height=900):
    """(H, W) bool mask of `rows` rows of letter-sized blocks (26 x 41 px, rows PITCH px apart) whose baselines
    wander up and down by `wave` x 40 px along a sine of their own, and (rows * columns,) the row each block is in."""
    rng = np.random.default_rng(seed)
    picture = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(picture)
    row_of = []
    for row in range(rows):
        period, phase = rng.uniform(0.6, 1.2) * width, rng.uniform(0, 2 * np.pi)
        for column in range(columns):
            left = 100 + column * 45
            top = 150 + row * PITCH + wave * 40 * np.sin(2 * np.pi * left / period + phase)
            draw.rectangle((left, top, left + 25, top + 40), fill=255)
            row_of.append(row)
    return np.asarray(picture) > 0, np.array(row_of)



@pytest.mark.parametrize("seed", [1, 2, 4])
def test_lines_that_wander_into_each_other_are_kept_apart(seed):
    """Baselines wandering by 0.6 of a letter height, rows 2.2 letter heights apart: in places neighbouring rows
    overlap in the page's row profile, which runs them together (on these seeds, checked: blocks of two rows end
    up in one line and are merged).  Followed in strips, every block is found and every line holds the blocks of
    one row, one per column, top to bottom."""
    mask, row_of_block = wavy_blocks(0.6, seed)
    _, lines = find_segments(mask)
    assert sum(len(line) for line in lines) == len(row_of_block)
    assert len(lines) == 5
    for number, line in enumerate(lines):
        tops = np.array([segment.options[0][0].top for segment in line])
        lefts = np.array([segment.options[0][0].left for segment in line])
        assert len(line) == 22 and len(np.unique((lefts - 100) // 45)) == 22  # one block per column: no stack
        assert np.all(np.abs(tops - (150 + number * PITCH)) <= 0.6 * 40 + 1)  # all of row `number`


def test_straight_lines_are_found_from_the_profile_as_before():
    mask, _ = wavy_blocks(0.0, 0)
    _, lines = find_segments(mask)
    assert [len(line) for line in lines] == [22] * 5


def test_stacked_pairs_counts_letters_of_two_lines_taken_for_one():
    #              top bottom left right
    boxes = np.array([[0, 40, 0, 25],     # a letter
                      [60, 100, 5, 30],   # a letter of the next line, below it
                      [0, 40, 40, 65],    # the first one's neighbour
                      [0, 18, 80, 105],   # the upper part of a letter broken where the pen skipped ...
                      [22, 40, 80, 105]])  # ... and its lower part: near, not stacked
    top, bottom, left, right = boxes.T
    assert tracks.stacked_pairs(np.zeros(5, int), top, bottom, left, right, letter_height=40) == 1
    assert tracks.stacked_pairs(np.array([0, 1, 0, 0, 0]), top, bottom, left, right, letter_height=40) == 0
    assert tracks.stacked_pairs(np.array([0, -1, 0, 0, 0]), top, bottom, left, right, letter_height=40) == 0


def test_stacked_pairs_are_counted_a_block_at_a_time_as_all_at_once(monkeypatch):
    """A page of dots (a dithered picture) put 15,661 marks in one line: their pairs, all at once, took 24 GB."""
    rng = np.random.default_rng(0)
    top = rng.integers(0, 300, 700)
    left = rng.integers(0, 3000, 700)
    bottom, right = top + rng.integers(5, 45, 700), left + rng.integers(5, 30, 700)
    line_of = rng.integers(-1, 3, 700)
    whole = tracks.stacked_pairs(line_of, top, bottom, left, right, letter_height=40)
    monkeypatch.setattr(tracks, "PAIR_BLOCK", 64)
    assert tracks.stacked_pairs(line_of, top, bottom, left, right, letter_height=40) == whole > 100


def test_marks_join_the_nearest_track_and_lines_are_numbered_top_down():
    track_columns = np.array([0.0, 500.0])
    upper = (track_columns, np.array([100.0, 160.0]))  # descends to the right
    lower = (track_columns, np.array([200.0, 170.0]))  # rises to the right
    rows = np.array([105.0, 195.0, 158.0, 175.0, 400.0])
    columns = np.array([10.0, 10.0, 490.0, 490.0, 250.0])
    letter_sized = np.array([True, True, True, True, False])
    # the tracks pass each other closely at the right: each mark still joins the one nearest where it stands;
    # the speck far below every line is not writing
    lines = tracks.lines_along_tracks(rows, columns, letter_sized, [lower, upper], max_stray_distance=60)
    assert list(lines) == [0, 1, 0, 1, -1]
