"""`ocr --rotate`: a photo turned by hand or read every way, and the note when a reading looks turned."""
import json
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont
from test_ocr_cli import run_ocr, two_line_page

from hdl_native.data.datasets import NOT_A_LETTER
from hdl_native.errors import HDLError
from hdl_native.ocr.image_io import TURNS, Photo, turned_photo
from hdl_native.ocr.orientation import read_every_way, surety, turned_hint


def photo_of(height=3, width=5):
    rgb = np.arange(height * width * 3, dtype=np.uint8).reshape(height, width, 3)
    return Photo("p.jpg", rgb, rgb[..., 0].astype(np.float32) / 255, 2.0, (2 * width, 2 * height))


def test_turned_photo_turns_clockwise_and_swaps_the_sides():
    photo = photo_of()
    quarter = turned_photo(photo, 90)
    assert quarter.rgb.shape == (5, 3, 3) and quarter.original_size == (6, 10) and quarter.scale == 2.0
    np.testing.assert_array_equal(quarter.rgb[0, :, 0], photo.rgb[::-1, 0, 0])  # the left column, read upwards,
    # becomes the top row: a clockwise turn
    np.testing.assert_array_equal(quarter.grey, quarter.rgb[..., 0].astype(np.float32) / 255)
    np.testing.assert_array_equal(turned_photo(quarter, 270).rgb, photo.rgb)
    np.testing.assert_array_equal(turned_photo(photo, 180).rgb, photo.rgb[::-1, ::-1])
    assert turned_photo(photo, 180).original_size == photo.original_size and turned_photo(photo, 0) is photo
    with pytest.raises(ValueError, match="turn must be one of"):
        turned_photo(photo, 45)


def result_of(best_probabilities_per_line, best="a"):
    """A stand-in OcrResult: one box per probability, read as `best` with that probability."""
    box = lambda p: SimpleNamespace(letters=[best, "b"], probabilities=[p, 1 - p], is_letter=best != NOT_A_LETTER)
    return SimpleNamespace(lines=[[box(p) for p in line] for line in best_probabilities_per_line], turn=0,
                           turned_because=None)


def test_surety_is_the_share_of_boxes_read_as_sure_letters_then_the_mean_confidence():
    letters = result_of([[0.9, 0.6], [0.4]])
    assert surety(letters) == (pytest.approx(2 / 3), pytest.approx(np.log([0.9, 0.6, 0.4]).mean()))
    marks = result_of([[0.99, 0.99, 0.99]], best=NOT_A_LETTER)  # read surely, but not as letters
    assert surety(marks)[0] == 0 and surety(result_of([])) == (0, -np.inf)
    assert surety(letters) > surety(marks) > surety(result_of([]))
    cut_up = result_of([[0.9, 0.9, 0.2, 0.2, 0.2]])  # more sure letters in more boxes: a smaller share
    assert surety(cut_up) < surety(result_of([[0.9, 0.2]]))


def turn_of(photo, turned):
    """Which of TURNS made `turned` from `photo`."""
    return next(turn for turn in TURNS if np.array_equal(turned_photo(photo, turn).rgb, turned.rgb))


def test_read_every_way_keeps_the_surest_reading_and_the_first_of_equals():
    photo = photo_of()
    best_at = {0: [[0.5, 0.4]], 90: [[0.9, 0.8, 0.3]], 180: [[0.3]], 270: [[0.95, 0.2]]}
    chosen = read_every_way(photo, lambda turned: result_of(best_at[turn_of(photo, turned)]))
    assert chosen.turn == 90 and surety(chosen)[0] == pytest.approx(2 / 3)  # 0 and 270: half their boxes
    same = read_every_way(photo, lambda turned: result_of([[0.7]]))
    assert same.turn == 0  # nothing better than as it is
    surer = {0: [[0.3, 0.3]], 90: [[0.4, 0.4]], 180: [[0.2]], 270: [[0.45]]}  # no sure letter anywhere
    kept = read_every_way(photo, lambda turned: result_of(surer[turn_of(photo, turned)]))
    assert kept.turn == 0  # a surer mean alone does not turn the photo


def test_read_every_way_reraises_when_no_turn_reads():
    def blank(turned):
        raise HDLError("p.jpg: found no ink")
    with pytest.raises(HDLError, match="found no ink"):
        read_every_way(photo_of(), blank)
    calls = []

    def only_upright(turned):
        calls.append(turned.grey.shape)
        if len(calls) > 1:
            raise HDLError("p.jpg: found no ink")
        return result_of([[0.4]])
    assert read_every_way(photo_of(), only_upright).turn == 0 and len(calls) == len(TURNS)


def test_the_hint_when_most_lines_hold_one_or_two_boxes_or_few_boxes_are_sure_letters():
    assert turned_hint(result_of([[0.9], [0.9, 0.8], [0.7], [0.5, 0.5, 0.5]])) == \
        "most of the 4 lines found hold one or two characters"
    assert turned_hint(result_of([[0.9], [0.9]])) is None  # two lines: too few to say
    assert turned_hint(result_of([[0.9] * 5, [0.9] * 4, [0.8]])) is None
    assert turned_hint(result_of([[0.9] * 11 + [0.3] * 8])) is None  # 58% sure, but 20 boxes are needed to say
    low = "only 52% of the 21 boxes read as letters with confidence"
    assert turned_hint(result_of([[0.9] * 11 + [0.3] * 10])) == low
    assert turned_hint(result_of([[0.9] * 13 + [0.3] * 8])) is None  # 62%


def test_a_page_on_its_side_is_read_back_upright(tmp_path):
    """The shipped reader, a printed two-line page turned a quarter counter-clockwise: --rotate auto finds the
    clockwise turn that undoes it and reads what the upright page reads; --rotate 90 does the same by hand."""
    upright = two_line_page(tmp_path)
    side = tmp_path / "side.png"
    with Image.open(upright) as page:
        page.rotate(90, expand=True).save(side)
    as_is = run_ocr(upright, "--json")
    assert as_is.returncode == 0, as_is.stderr
    expected = json.loads(as_is.stdout.strip().splitlines()[-1])
    auto = run_ocr(side, "--rotate", "auto", "--json")
    assert auto.returncode == 0, auto.stderr
    summary = json.loads(auto.stdout.strip().splitlines()[-1])
    assert summary["turn"] == 90 and summary["text"] == expected["text"]
    assert (summary["width"], summary["height"]) == (expected["width"], expected["height"])
    assert "read the photo turned 90 degrees clockwise" in auto.stderr
    by_hand = json.loads(run_ocr(side, "--rotate", "90", "--json").stdout.strip().splitlines()[-1])
    assert by_hand["text"] == expected["text"] and by_hand["turn"] == 90 and expected["turn"] == 0


def test_a_line_on_its_side_is_read_every_way_up_by_default_and_only_noted_at_rotate_0(tmp_path):
    page = Image.new("RGB", (900, 200), (235, 225, 205))
    ImageDraw.Draw(page).text((60, 60), "abcdefgh", font=ImageFont.load_default(size=60), fill=(30, 30, 80))
    upright, side = tmp_path / "upright.png", tmp_path / "side.png"
    page.save(upright)
    page.rotate(90, expand=True).save(side)
    as_is = run_ocr(upright, "--json")
    assert as_is.returncode == 0, as_is.stderr
    assert "note" not in as_is.stderr and json.loads(as_is.stdout.splitlines()[-1])["turn"] == 0
    checked = run_ocr(side, "--json")  # the default, --rotate check
    assert checked.returncode == 0, checked.stderr
    assert "so it was read every way up: read turned 90 degrees clockwise" in checked.stderr
    summary = json.loads(checked.stdout.splitlines()[-1])
    assert summary["turn"] == 90 and summary["text"] == json.loads(as_is.stdout.splitlines()[-1])["text"]
    by_hand = run_ocr(side, "--rotate", "0")
    assert "note: most of the" in by_hand.stderr and "if it is turned, try --rotate auto" in by_hand.stderr


def test_checking_reads_the_other_ways_only_when_the_reading_as_it_is_looks_turned():
    photo = photo_of()
    read = []

    def reader(best):
        def read_turn(turned):
            read.append(turn_of(photo, turned))
            return result_of(best(read[-1]))
        return read_turn
    upright = read_every_way(photo, reader(lambda turn: [[0.9] * 6]), only_if_turned=True)
    assert read == [0] and upright.turn == 0 and upright.turned_because is None
    read.clear()
    column = [[0.4]] * 4  # four lines of one unsure box: looks turned, reads badly
    chosen = read_every_way(photo, reader(lambda turn: [[0.9] * 6] if turn == 270 else column), only_if_turned=True)
    assert read == list(TURNS) and chosen.turn == 270
    assert chosen.turned_because == "most of the 4 lines found hold one or two characters"

    def blank(turned):
        raise HDLError("p.jpg: found no ink")
    with pytest.raises(HDLError, match="found no ink"):
        read_every_way(photo, blank, only_if_turned=True)
