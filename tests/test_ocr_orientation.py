"""`ocr --rotate`: a photo turned by hand or read every way, and the note when a reading looks turned."""
import json
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import require_dataset
from nonletter_pages import build_mixed_page, compose
from ocr_pages import PageSpec
from PIL import Image, ImageDraw, ImageFont
from test_ocr_cli import run_ocr, two_line_page

from hdl_native.data import load_dataset
from hdl_native.data.datasets import NOT_A_LETTER
from hdl_native.data.nonletters import framed_digits
from hdl_native.errors import HDLError
from hdl_native.ocr import read_page
from hdl_native.ocr.digits import PRETRAINED_DIGITS, load_digit_reader
from hdl_native.ocr.image_io import TURNS, Photo, turned_photo
from hdl_native.ocr.model import load_letter_classifier
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


def result_of(best_probabilities_per_line, best="a", digit=None):
    """A stand-in OcrResult: one box per probability, read as `best` with that probability (with `best` 'other' and
    a digit given, read by the digit reader as that digit with the same probability)."""
    box = lambda p: SimpleNamespace(letters=[best, "b"], probabilities=[p, 1 - p], is_letter=best != NOT_A_LETTER,
                                    digit=digit, digit_probability=p if digit else 0.0)
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


def test_surety_counts_digits_read_surely_as_sure_characters():
    digits = result_of([[0.9, 0.6, 0.4]], best=NOT_A_LETTER, digit="7")
    assert surety(digits)[0] == pytest.approx(2 / 3)  # the digit read at 0.4 is not sure
    assert surety(digits, with_digits=False)[0] == 0
    note = SimpleNamespace(lines=result_of([[0.9, 0.3]]).lines + digits.lines)  # 1 sure letter, 2 sure digits
    assert surety(note)[0] == pytest.approx(3 / 5)
    unsure_other = result_of([[0.4]], best=NOT_A_LETTER)  # the letter reader unsure it is not a letter ...
    unsure_other.lines[0][0].digit, unsure_other.lines[0][0].digit_probability = "5", 0.99  # ... a sure digit
    assert surety(unsure_other)[0] == 0  # as a letter on its side is often read


def test_a_note_of_numbers_turned_upside_down_by_the_letters_alone_is_kept_upright():
    """Four readings: upright two sure letters and four sure digits, upside down five sure letters (o, l, s, z read
    the same) of seven boxes: counting the letters alone turns the note, counting the digits too keeps it."""
    photo = photo_of()
    upright = SimpleNamespace(lines=result_of([[0.9, 0.9]]).lines + result_of([[0.9] * 4], NOT_A_LETTER, "1").lines)
    readings = {0: upright, 90: result_of([[0.3] * 6]), 180: result_of([[0.8] * 5 + [0.2] * 2]),
                270: result_of([[0.3] * 6])}
    chosen = read_every_way(photo, lambda turned: readings[turn_of(photo, turned)])
    assert chosen.turn == 0 and surety(upright, with_digits=False)[0] < surety(readings[180])[0]


@pytest.mark.skipif(not PRETRAINED_DIGITS.is_file(), reason="the shipped digit reader is not installed")
def test_an_upright_page_of_numbers_between_words_is_read_as_it_is(data_root, tmp_path):
    """Real scanned letters with a number of MNIST test digits after every word, read every way up (--rotate auto):
    counting the sure letters alone, the page was turned (180 degrees: upside down it reads more sure letters than
    the right way up); with the sure digits it is kept as it is and its digits are printed."""
    require_dataset(data_root, "letters")
    require_dataset(data_root, "mnist")
    letters = load_dataset("letters", "test", data_root)
    digits, _ = framed_digits("test", data_root)
    content = compose(letters.images, letters.labels, digits, np.random.default_rng(0), 14, number_share=1.0)
    jpeg, _, used = build_mixed_page(content, PageSpec(width=1000, height=560, seed=0))
    path = tmp_path / "numbers.jpg"
    path.write_bytes(jpeg)
    result = read_page(path, load_letter_classifier(None), digits=load_digit_reader(), turn="auto")
    assert result.turn == 0
    on_page = int((content.kinds[:used] == "digit").sum())
    printed = sum(reading.kind == "digit" for line in result.lines for reading in line)
    assert on_page >= 25 and printed >= 0.8 * on_page


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
    assert turned_hint(result_of([[0.9] * 14 + [0.3] * 7])) == \
        "only 67% of the 21 boxes read as letters with confidence"
    assert turned_hint(result_of([[0.9] * 15 + [0.3] * 6])) is None  # 71%
    some_digits = SimpleNamespace(lines=[result_of([[0.9] * 11 + [0.3] * 6]).lines[0]
                                         + result_of([[0.8] * 4], best=NOT_A_LETTER, digit="3").lines[0]])
    assert surety(some_digits)[0] == pytest.approx(15 / 21)  # 11 sure letters and 4 sure digits of 21 ...
    assert turned_hint(some_digits) == low  # ... but the hint counts the letters alone


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
