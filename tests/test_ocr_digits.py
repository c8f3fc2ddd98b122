"""Digits in the text (hdl_native/ocr/digits.py): the digit reader's training set, its pass over the glyphs the
letters model leaves out, how digits print, draw and list, and `ocr` end to end with the shipped readers."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

import hdl_native
from hdl_native.checkpoint import save_checkpoint
from hdl_native.data import load_dataset
from hdl_native.data import framed_digits as framed_digits_module
from hdl_native.data.datasets import DIGITS, LETTERS, NOT_A_LETTER
from hdl_native.errors import DataError, HDLError
from hdl_native.models import LettersCNN
from hdl_native.ocr.digits import (DIGIT_CLASSES, PRETRAINED_DIGITS, digit_candidates, load_digit_reader,
                                   read_digits)
from hdl_native.ocr.recognize import Reading, line_text
from hdl_native.ocr.render import OTHER_COLOUR, render_boxes


def test_the_digits_set_holds_every_mnist_digit_by_its_label_and_drawn_marks_as_other(tiny_data, monkeypatch):
    monkeypatch.setitem(framed_digits_module.MARK_COUNT, "train", 28)
    digits = framed_digits_module.load_framed_digits("train", tiny_data)
    mnist = load_dataset("mnist", "train", tiny_data)
    assert digits.classes == DIGITS + [NOT_A_LETTER]
    assert len(digits) == len(mnist) + 28 and digits.images.shape[1:] == (28, 28) and digits.images.dtype == np.uint8
    assert np.array_equal(digits.labels[:len(mnist)], mnist.labels) and set(digits.labels[len(mnist):]) == {10}
    assert digits.images[:, :2].max() == 0 and digits.images[:, :, -2:].max() == 0  # framed like the letters


def test_a_mixture_of_the_digits_keeps_their_classes_and_letters_cannot_join_it(tiny_data, monkeypatch):
    monkeypatch.setitem(framed_digits_module.MARK_COUNT, "test", 14)
    assert load_dataset("digits", "test", tiny_data).classes == DIGIT_CLASSES  # as `letters --dataset digits` loads
    with pytest.raises(DataError, match=r"dataset 'digits' has classes \['0', .*a letters mixture cannot hold"):
        load_dataset("letters,digits", "test", tiny_data)


class DigitReaderStandIn:
    """Reads a crop whose pixels all hold k as class k of DIGIT_CLASSES at probability `sure` (k = 10: 'other')."""

    classes = DIGIT_CLASSES

    def __init__(self, sure=0.8):
        self.sure, self.calls = sure, []

    def probabilities(self, crops):
        self.calls.append(len(crops))
        probabilities = np.full((len(crops), 11), (1 - self.sure) / 10)
        probabilities[np.arange(len(crops)), crops[:, 0, 0]] = self.sure
        return probabilities


def other(box_left=0):
    return Reading((0, 20, box_left, box_left + 10), [NOT_A_LETTER, "l", "i"], [0.8, 0.1, 0.05])


def letter(name, box_left=0):
    return Reading((0, 20, box_left, box_left + 10), [name, "o", NOT_A_LETTER], [0.9, 0.05, 0.05])


def test_only_offered_glyphs_get_a_digit_and_only_those_read_as_digits_surely_enough():
    lines = [[letter("a"), other(20), other(40)], [other(0), other(20)]]
    crops = [np.stack([np.full((28, 28), k, np.uint8) for k in (3, 7, 10)]),  # a, 7, a mark
             np.stack([np.full((28, 28), k, np.uint8) for k in (5, 2)])]
    offered = [np.array([False, True, True]), np.array([True, False])]  # the 2 is tiny: not offered
    reader = DigitReaderStandIn()
    read_digits(lines, crops, offered, reader, min_confidence=0.5)
    assert reader.calls == [3]  # the page's offered crops in one batch
    assert [r.digit for r in lines[0]] == [None, "7", None] and [r.digit for r in lines[1]] == ["5", None]
    assert lines[0][1].digit_probability == pytest.approx(0.8)
    unsure = [[other(0)]]
    read_digits(unsure, [np.full((1, 28, 28), 4, np.uint8)], [np.array([True])], DigitReaderStandIn(0.4), 0.5)
    assert unsure[0][0].digit is None  # read as 4 at 0.4 < 0.5: left out, as a mark is
    read_digits(unsure, [np.full((1, 28, 28), 4, np.uint8)], [np.array([False])], reader, 0.5)  # none offered
    assert reader.calls == [3]


def test_the_digit_reader_reads_what_is_not_a_letter_and_not_tiny():
    from types import SimpleNamespace

    lefts = [0, 12, 24, 36, 80, 92, 104, 150, 162]  # "hel?" "??." "a?"
    glyphs = [SimpleNamespace(top=0, bottom=4 if k == 6 else 20, left=x, right=x + 4 if k == 6 else x + 10)
              for k, x in enumerate(lefts)]
    readings = [letter("h"), letter("e"), letter("l"), other(), other(), other(), other(), letter("a"), other()]
    assert list(digit_candidates(glyphs, readings)) == [False] * 3 + [True] * 3 + [False, False, True]


def test_digits_print_in_the_text_and_list_as_their_kind_where_marks_stay_out():
    seven, mark = other(60), other(134)
    seven.digit, seven.digit_probability = "7", 0.91234
    line = [letter("a", 0), letter("t", 12), seven, letter("p", 110), letter("q", 122), mark]
    assert line_text(line) == "at 7 pq"
    assert seven.as_dict()["kind"] == "digit" and seven.as_dict()["digit"] == "7"
    assert seven.as_dict()["digit_probability"] == 0.9123 and seven.as_dict()["letter"] is None
    assert mark.as_dict()["kind"] == "other" and "digit" not in mark.as_dict()
    assert line[0].as_dict()["kind"] == "letter"


def test_the_boxed_picture_writes_a_digit_under_its_box_and_nothing_under_a_mark():
    rgb = np.full((80, 60, 3), 255, np.uint8)
    below = (slice(32, 80), slice(0, 60))
    read, left_out = other(20), other(20)
    read.box = left_out.box = (10, 30, 20, 35)
    read.digit, read.digit_probability = "4", 0.9
    with_digit = np.asarray(render_boxes(rgb, [[read]], 1.0))[below]
    without = np.asarray(render_boxes(rgb, [[left_out]], 1.0))[below]
    assert (np.abs(with_digit.astype(int) - OTHER_COLOUR).sum(axis=2) < 60).sum() > 10  # the digit, in blue
    assert (without != 255).sum() == 0


def letters_state(tmp_path):
    path = tmp_path / "letters.hdl"
    save_checkpoint(path, LettersCNN(n_classes=27, seed=3), classes=LETTERS + [NOT_A_LETTER],
                    normalization={"mean": 0.17, "std": 0.25})
    return path


def test_a_letters_model_is_refused_as_the_digit_reader(tmp_path):
    with pytest.raises(HDLError, match=r"letters.hdl: not a digit reader: its classes are a, b, .*not 0-9 and other"):
        load_digit_reader(letters_state(tmp_path))


def test_without_the_shipped_digit_reader_ocr_says_how_to_read_without_it(monkeypatch, tmp_path):
    from hdl_native.ocr import digits

    monkeypatch.setattr(digits, "PRETRAINED_DIGITS", tmp_path / "missing.hdl")
    with pytest.raises(HDLError, match="digit reader .*missing.hdl is not installed; pass --no-digits"):
        load_digit_reader()


def run_ocr(*args):
    return subprocess.run([sys.executable, "-m", "hdl_native", "ocr", *map(str, args)], capture_output=True,
                          text=True, timeout=300, cwd=Path(hdl_native.__file__).parent.parent)


def test_ocr_refuses_a_digit_model_that_is_not_one_and_one_with_no_digits(tmp_path):
    page = tmp_path / "page.png"
    Image.new("RGB", (200, 100), "white").save(page)
    wrong = run_ocr(page, "--digit-model", letters_state(tmp_path))
    assert wrong.returncode == 2 and "not a digit reader" in wrong.stderr and len(wrong.stderr.splitlines()) == 1
    both = run_ocr(page, "--digit-model", letters_state(tmp_path), "--no-digits")
    assert both.returncode == 2 and "--no-digits leaves digits out" in both.stderr


def note_page(tmp_path):
    """'room 347' written in Pillow's font (no dataset involved), as a photo of a note."""
    page = Image.new("RGB", (900, 260), (236, 226, 204))
    ImageDraw.Draw(page).text((60, 70), "room 347", font=ImageFont.load_default(size=96), fill=(35, 40, 95))
    path = tmp_path / "note.jpg"
    page.save(path, quality=90)
    return path


@pytest.mark.skipif(not PRETRAINED_DIGITS.is_file(), reason="the shipped digit reader is not installed")
def test_ocr_prints_the_digits_of_a_note_and_leaves_them_out_with_no_digits(tmp_path):
    page = note_page(tmp_path)
    read = run_ocr(page, "--json")
    assert read.returncode == 0, read.stderr
    assert read.stdout.splitlines()[0] == "room 347"
    summary = json.loads(read.stdout.splitlines()[-1])
    boxes = summary["lines"][0]["boxes"]
    assert [b["kind"] for b in boxes] == ["letter"] * 4 + ["digit"] * 3
    assert [b["digit"] for b in boxes[4:]] == ["3", "4", "7"] and summary["digit_model"].endswith("digits.hdl")
    assert summary["n_digits"] == 3 and summary["n_not_letters"] == 3
    without = run_ocr(page, "--no-digits")
    assert without.returncode == 0 and without.stdout.splitlines()[0] == "room"


def run_cli(*args, data):
    import os

    return subprocess.run([sys.executable, "-m", "hdl_native", *map(str, args)], capture_output=True, text=True,
                          timeout=600, cwd=Path(hdl_native.__file__).parent.parent,
                          env={**os.environ, "HDL_DATA": str(data)})


@pytest.mark.skipif(not PRETRAINED_DIGITS.is_file(), reason="the shipped digit reader is not installed")
def test_the_crops_label_digits_and_the_digit_reader_learns_them_with_finetune_digits(tmp_path):
    """`ocr --crops` labels a box read as a digit with that digit and says how to teach the digit reader;
    `letters --finetune DIR --digits` fine-tunes the shipped digit reader on those crops (the letters left to the
    letter reader), and `ocr --digit-model` reads with the result.  No data: the crops alone, with a warning."""
    from hdl_native.checkpoint import load_checkpoint
    from hdl_native.ocr.user_crops import LABELS_FILE

    page, crops = note_page(tmp_path), tmp_path / "crops"
    written = run_ocr(page, "--crops", crops)
    assert written.returncode == 0, written.stderr
    assert "(and with --digits --out mydigits.hdl for the digits)" in written.stderr
    text = (crops / LABELS_FILE).read_text()
    assert f"hdl-native letters --finetune {crops} --digits --out mydigits.hdl" in text
    labels = [line.split("\t")[1] for line in text.splitlines() if not line.startswith("#")]
    assert labels == ["r", "o", "o", "m", "3", "4", "7"]
    (tmp_path / "no-data").mkdir()
    mine = tmp_path / "mydigits.hdl"
    tuned = run_cli("letters", "--finetune", crops, "--digits", "--out", mine, "--threads", "1", "--no-db", "--quiet",
                    "--json", "--max-batches", "5", data=tmp_path / "no-data")
    assert tuned.returncode == 0, tuned.stderr
    assert "no replay data" in tuned.stderr and "4 crops labelled with letters left out" in tuned.stdout
    summary = json.loads(tuned.stdout.strip().splitlines()[-1])
    assert list(summary["accuracy_after"]) == ["your crops, 3 trained on"]
    state = load_checkpoint(mine)
    assert state["classes"] == DIGIT_CLASSES and state["finetuned_on"]["from"] == str(PRETRAINED_DIGITS)
    read = run_ocr(page, "--digit-model", mine, "--json")
    assert read.returncode == 0, read.stderr
    assert json.loads(read.stdout.splitlines()[-1])["digit_model"] == str(mine)


def test_finetune_digits_refuses_what_does_not_go_with_it(tmp_path):
    crops = tmp_path / "crops"
    crops.mkdir()
    for args, message in ((("--digits",), "--digits goes with --finetune DIR"),
                          (("--finetune", crops, "--digits", "--model", letters_state(tmp_path)),
                           "--digits fine-tunes the shipped digit reader, and --model")):
        result = run_cli("letters", *args, "--out", tmp_path / "mine.hdl", data=tmp_path)
        assert result.returncode == 2 and message in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.skipif(not PRETRAINED_DIGITS.is_file(), reason="the shipped digit reader is not installed")
def test_the_crops_of_several_photos_say_how_to_teach_the_digit_reader_too(tmp_path):
    first = note_page(tmp_path)
    second = tmp_path / "second.jpg"
    second.write_bytes(first.read_bytes())
    written = run_ocr(first, second, "--crops", tmp_path / "crops")
    assert written.returncode == 0, written.stderr
    assert f"crops of 2 photos written under {tmp_path / 'crops'}" in written.stderr
    assert f"--finetune {tmp_path / 'crops'}/*/ --out mine.hdl (and with --digits --out mydigits.hdl" in written.stderr
    without = run_ocr(first, second, "--crops", tmp_path / "plain", "--no-digits")
    assert without.returncode == 0 and "--digits" not in without.stderr
