"""The user's crops: `ocr --crops DIR` writes the network's exact input as PNGs with an editable labels file, and
reading the corrected file back refuses anything it cannot use with one line naming the file (and line)."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from ocr_pages import printed_page
from PIL import Image

import hdl_native
from hdl_native.checkpoint import PRETRAINED_LETTERS
from hdl_native.errors import HDLError
from hdl_native.ocr import read_page
from hdl_native.ocr.model import load_letter_classifier
from hdl_native.ocr.recognize import Reading
from hdl_native.ocr.render import (SHEET_CELL, SHEET_COLUMNS, SHEET_HEADER, SHEET_MARGIN, SHEET_SCALE, labels_sheet,
                                   reading_caption)
from hdl_native.ocr.user_crops import (LABELS_FILE, SHEET_FILE, crop_names, joined_crops, read_labelled_crops,
                                       write_corrected_sheet, write_crops)

LETTERS = [chr(ord("a") + i) for i in range(26)]
WITH_OTHER = LETTERS + ["other"]


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "hdl_native", *map(str, args)], capture_output=True, text=True,
                          timeout=300, cwd=Path(hdl_native.__file__).parent.parent)


def test_names_sort_in_reading_order_however_many_lines_and_boxes():
    names = crop_names([3, 12])
    assert names[:2] == ["line01-box001.png", "line01-box002.png"] and names[-1] == "line02-box012.png"
    assert sorted(names) == names
    many = crop_names([1] * 120 + [1500])
    assert sorted(many) == many and many[0] == "line001-box0001.png" and len(set(many)) == 121 + 1499


@pytest.fixture(scope="module")
def page_read(tmp_path_factory):
    """(OcrResult of the shipped model on a printed page, its classes)."""
    if not PRETRAINED_LETTERS.is_file():
        pytest.skip(f"the shipped model {PRETRAINED_LETTERS} is not installed")
    path, _ = printed_page(tmp_path_factory.mktemp("page"))
    classifier = load_letter_classifier()
    return read_page(path, classifier), classifier.classes


def test_crops_are_the_networks_input_bit_for_bit_with_the_letters_read(page_read, tmp_path):
    result, classes = page_read
    assert write_crops(tmp_path / "new" / "crops", result, classes) == 18
    directory = tmp_path / "new" / "crops"
    rows = [line.split("\t") for line in (directory / LABELS_FILE).read_text().splitlines()
            if not line.startswith("#")]
    readings = [reading for line in result.lines for reading in line]
    assert [row[0] for row in rows] == sorted(path.name for path in directory.glob("line*.png"))
    assert sorted(path.name for path in directory.glob("*.png")) == sorted([row[0] for row in rows] + [SHEET_FILE])
    assert [row[1] for row in rows] == [reading.letter for reading in readings]
    assert [float(row[2]) for row in rows] == pytest.approx([r.confidence for r in readings], abs=5e-4)
    for row, crop in zip(rows, [crop for line in result.crops for crop in line]):
        with Image.open(directory / row[0]) as picture:
            assert picture.format == "PNG" and picture.mode == "L"
            assert np.array_equal(np.asarray(picture), crop)
    crops = read_labelled_crops(directory, classes)
    assert crops.names == [row[0] for row in rows]
    assert np.array_equal(crops.images, np.concatenate(result.crops))
    assert [classes[i] for i in crops.labels] == [reading.letter for reading in readings]
    with Image.open(directory / SHEET_FILE) as picture:  # the picture to correct the labels by: every crop in it
        sheet = np.asarray(picture.convert("RGB"))
    for line, crops_of_line in enumerate(result.crops):
        for column, crop in enumerate(crops_of_line):
            assert np.array_equal(cell_crop(sheet, line, column), crop)


def cell_crop(sheet, row, column):
    """The crop a labels sheet (H, W, 3) shows in a cell, at its own size (28, 28)."""
    top, left = SHEET_HEADER + row * SHEET_CELL[1] + 18, SHEET_MARGIN + column * SHEET_CELL[0] + 5
    cell = sheet[top:top + 28 * SHEET_SCALE:SHEET_SCALE, left:left + 28 * SHEET_SCALE:SHEET_SCALE]
    assert (cell == cell[..., :1]).all()  # grey, as the network saw it
    return cell[..., 0]


def reading(letter, confidence=0.9, unsure=False):
    return Reading((0, 10, 0, 10), [letter, "x"], [confidence, 0.05], unsure)


def label_pixels(sheet, row, column):
    """The pixels (n, 3) int under a sheet's cell, where its label is written."""
    top, left = SHEET_HEADER + row * SHEET_CELL[1] + 18 + 28 * SHEET_SCALE, SHEET_MARGIN + column * SHEET_CELL[0]
    return sheet[top:SHEET_HEADER + (row + 1) * SHEET_CELL[1], left:left + SHEET_CELL[0]].reshape(-1, 3).astype(int)


def label_colours(sheet, row, column):
    """The set of non-grey colours under a sheet's cell (where its label is written)."""
    return {tuple(c) for c in label_pixels(sheet, row, column) if c.max() - c.min() > 60}


def test_the_labels_sheet_wraps_long_lines_and_colours_unsure_and_other_labels():
    crops = [np.full((28, 28), 10 * k, np.uint8) for k in range(SHEET_COLUMNS + 5)]
    printed_digit = reading("other")
    printed_digit.digit, printed_digit.digit_probability = "7", 0.9
    long_line = [(k + 1, crop, *reading_caption(reading("a"))) for k, crop in enumerate(crops)]
    short_line = [(1, crops[3], *reading_caption(reading("b", 0.3, unsure=True))),
                  (2, crops[4], *reading_caption(reading("other"))),
                  (3, crops[5], *reading_caption(printed_digit))]
    sheet = np.asarray(labels_sheet([("line 1", long_line), ("line 2", short_line)], "what the colours mean"))
    assert sheet.shape == (SHEET_HEADER + 3 * SHEET_CELL[1], SHEET_MARGIN + SHEET_COLUMNS * SHEET_CELL[0], 3)
    assert np.array_equal(cell_crop(sheet, 0, SHEET_COLUMNS - 1), crops[SHEET_COLUMNS - 1])
    assert np.array_equal(cell_crop(sheet, 1, 4), crops[SHEET_COLUMNS + 4])  # the long line goes on below
    assert np.array_equal(cell_crop(sheet, 2, 0), crops[3]) and np.array_equal(cell_crop(sheet, 2, 1), crops[4])
    sure, unsure, other = label_colours(sheet, 0, 0), label_colours(sheet, 2, 0), label_colours(sheet, 2, 1)
    assert sure and unsure and other
    assert all(g > r and g > b for r, g, b in sure)  # green
    assert all(r > g and r > b for r, g, b in unsure)  # red
    assert all(b > r and b > g for r, g, b in other)  # blue
    assert reading_caption(printed_digit) == ("7", reading_caption(reading("other"))[1])  # the digit, blue


def test_a_labels_file_is_not_replaced_without_force(page_read, tmp_path):
    result, classes = page_read
    write_crops(tmp_path, result, classes)
    (tmp_path / LABELS_FILE).write_text("line01-box001.png x\n")
    with pytest.raises(HDLError, match="already holds labels.tsv.*--force"):
        write_crops(tmp_path, result, classes)
    assert (tmp_path / LABELS_FILE).read_text() == "line01-box001.png x\n"
    assert write_crops(tmp_path, result, classes, force=True) == 18
    (tmp_path / "file").write_text("")
    with pytest.raises(HDLError, match="is a file"):
        write_crops(tmp_path / "file", result, classes)


def crops_dir(tmp_path, lines, crops=None):
    """A directory with crops a.png (a letter on black) and the labels file `lines` (a list of lines)."""
    for name, pixels in (crops or {"a.png": letter_crop()}).items():
        Image.fromarray(pixels).save(tmp_path / name)
    (tmp_path / LABELS_FILE).write_text("\n".join(lines) + "\n")
    return tmp_path


def letter_crop(side=28):
    pixels = np.zeros((side, side), np.uint8)
    pixels[6:22, 12:16] = 255
    return pixels


def test_corrected_labels_either_case_comments_and_left_out_crops(tmp_path):
    crops = {"a.png": letter_crop(), "b.png": letter_crop(), "c.png": letter_crop(), "d.png": letter_crop()}
    directory = crops_dir(tmp_path, ["# a comment", "", "a.png\tL\t0.5", "b.png l", "c.png -", "d.png other 0.1"],
                          crops)
    read = read_labelled_crops(directory, WITH_OTHER)
    assert read.names == ["a.png", "b.png", "d.png"] and list(read.labels) == [11, 11, 26]
    assert read.images.dtype == np.uint8 and read.images.shape == (3, 28, 28)


def test_a_16_bit_crop_is_read_at_its_levels_not_clipped(tmp_path):
    """A crop of one's own saved as a 16-bit greyscale PNG: every level above 255 of 65535 was read as full ink."""
    pixels = letter_crop()
    pixels[6:22, 13] = 100  # a stroke of grey inside the white one
    deep = pixels.astype(np.uint16) * 257
    directory = crops_dir(tmp_path, ["deep.png a"], {"deep.png": deep})
    assert Image.open(directory / "deep.png").mode in ("I;16", "I")
    np.testing.assert_array_equal(read_labelled_crops(directory, LETTERS).images[0], pixels)


def test_the_corrected_sheet_shows_the_labels_as_corrected_and_marks_what_the_model_reads_otherwise(tmp_path):
    """`letters --finetune` draws the sheet again: a row per line in box order whatever the file's order, the user's
    own crops under 'added', left-out crops in grey (an unreadable one skipped), a label the model reads
    otherwise in orange, one it agrees with in black."""
    pictures = {name: np.full((28, 28), value, np.uint8) for name, value in
                (("line01-box002.png", 20), ("line01-box001.png", 40), ("mine.png", 60), ("line02-box001.png", 80))}
    directory = crops_dir(tmp_path, ["line01-box002.png b", "line01-box001.png A", "mine.png q",
                                     "line02-box001.png -", "broken.png -"], pictures)
    (directory / "broken.png").write_text("not a picture")
    crops = read_labelled_crops(directory, LETTERS)
    assert crops.names == ["line01-box002.png", "line01-box001.png", "mine.png"]
    assert crops.left_out == ["line02-box001.png", "broken.png"]
    read = np.array([LETTERS.index("b"), LETTERS.index("c"), LETTERS.index("q")])  # the model misreads the a
    write_corrected_sheet(directory, crops, read, "reader.hdl")
    with Image.open(directory / SHEET_FILE) as picture:
        sheet = np.asarray(picture.convert("RGB"))
    assert sheet.shape[0] == SHEET_HEADER + 3 * SHEET_CELL[1]  # line 1, line 2, added
    for (row, column), name in {(0, 0): "line01-box001.png", (0, 1): "line01-box002.png",
                                (1, 0): "line02-box001.png", (2, 0): "mine.png"}.items():
        assert np.array_equal(cell_crop(sheet, row, column), pictures[name]), name
    taught = label_colours(sheet, 0, 0)
    assert taught and all(r > g > b for r, g, b in taught)  # orange: labelled a, read c
    for row, column, darkest in ((0, 1, (0, 60)), (2, 0, (0, 60)), (1, 0, (150, 200))):  # agreed black, left out grey
        pixels = label_pixels(sheet, row, column)
        assert not label_colours(sheet, row, column) and darkest[0] <= pixels.min() < darkest[1], (row, column)


def test_digits_are_other_to_the_letter_reader_and_letters_are_left_to_it_by_the_digit_reader(tmp_path):
    from hdl_native.ocr.digits import DIGIT_CLASSES

    crops = {name: letter_crop() for name in ("a.png", "b.png", "c.png", "d.png")}
    directory = crops_dir(tmp_path, ["a.png 7", "b.png Q", "c.png other", "d.png -"], crops)
    letters = read_labelled_crops(directory, WITH_OTHER)
    assert letters.names == ["a.png", "b.png", "c.png"] and list(letters.labels) == [26, 16, 26]
    digits = read_labelled_crops(directory, DIGIT_CLASSES)
    assert digits.names == ["a.png", "c.png"] and list(digits.labels) == [7, 10]
    assert digits.not_for_model == ["b.png"] and digits.left_out == ["d.png"] and letters.not_for_model == []
    joined = joined_crops(["one", "two"], [digits, digits])
    assert joined.not_for_model == ["one/b.png", "two/b.png"]
    (tmp_path / "letters").mkdir()
    only_letters = crops_dir(tmp_path / "letters", ["a.png a", "b.png -"], crops)
    with pytest.raises(HDLError, match="no crop is labelled with a digit or 'other'.*1 letters are the letter"):
        read_labelled_crops(only_letters, DIGIT_CLASSES)
    with pytest.raises(HDLError, match="unknown label '%'; use a digit 0-9, 'other', a letter"):
        read_labelled_crops(crops_dir(tmp_path, ["a.png %"], crops), DIGIT_CLASSES)


def test_the_corrected_sheet_of_a_digit_reader_shows_the_letters_left_to_the_letter_reader_in_grey(tmp_path):
    from hdl_native.ocr.digits import DIGIT_CLASSES

    pictures = {name: np.full((28, 28), value, np.uint8) for name, value in
                (("line01-box001.png", 40), ("line01-box002.png", 20))}
    directory = crops_dir(tmp_path, ["line01-box001.png a", "line01-box002.png 7"], pictures)
    crops = read_labelled_crops(directory, DIGIT_CLASSES)
    write_corrected_sheet(directory, crops, np.array([7]), "digits.hdl")
    with Image.open(directory / SHEET_FILE) as picture:
        sheet = np.asarray(picture.convert("RGB"))
    assert np.array_equal(cell_crop(sheet, 0, 0), pictures["line01-box001.png"])  # the letter, drawn ...
    assert not label_colours(sheet, 0, 0) and 150 <= label_pixels(sheet, 0, 0).min() < 200  # ... captioned in grey
    assert np.array_equal(cell_crop(sheet, 0, 1), pictures["line01-box002.png"])


def test_several_directories_join_with_their_names():
    first = read_labelled_crops_of(["a.png a", "b.png -"])
    second = read_labelled_crops_of(["a.png b"])
    joined = joined_crops(["one", "two"], [first, second])
    assert joined.names == ["one/a.png", "two/a.png"] and joined.left_out == ["one/b.png"]
    assert list(joined.labels) == [0, 1] and joined.images.shape == (2, 28, 28)
    assert joined_crops(["one"], [first]) is first


def read_labelled_crops_of(lines):
    from hdl_native.ocr.user_crops import LabelledCrops

    labelled = [line.split() for line in lines if not line.endswith(" -")]
    return LabelledCrops(np.stack([letter_crop() for _ in labelled]),
                         np.array([LETTERS.index(label) for _, label in labelled]), [name for name, _ in labelled],
                         LETTERS, [line.split()[0] for line in lines if line.endswith(" -")])


@pytest.mark.parametrize("lines, crops, message", [
    (["a.png"], None, f"{LABELS_FILE}:1: expected 'file label"),
    (["# c", "a.png a 0.5 extra"], None, f"{LABELS_FILE}:2: expected"),
    (["a.png %"], None, f"{LABELS_FILE}:1: unknown label '%'; use a letter a-z or '-'"),
    (["a.png 7"], None, f"{LABELS_FILE}:1: unknown label '7': this model has no 'other' class"),
    (["a.png other"], None, "has no 'other' class"),
    (["a.png a", "a.png b"], None, f"{LABELS_FILE}:2: a.png is listed twice \\(also on line 1\\)"),
    (["a.png a", "z.png b"], None, f"{LABELS_FILE}:2: the crop .*z.png does not exist"),
    (["big.png a"], {"big.png": letter_crop(32)}, "is 32x32; crops must be 28x28"),
    (["paper.png a"], {"paper.png": 255 - letter_crop()}, "dark ink on light paper"),
    (["text.png a"], {}, "cannot read the crop"),
    (["a.png -", "# all left out"], None, f"{LABELS_FILE}: no crop is labelled"),
])
def test_bad_labels_files_name_the_file_and_line(tmp_path, lines, crops, message):
    directory = crops_dir(tmp_path, lines, crops)
    (tmp_path / "text.png").write_text("not a picture")
    with pytest.raises(HDLError, match=message):
        read_labelled_crops(directory, LETTERS)


def test_missing_directory_or_labels_file(tmp_path):
    with pytest.raises(HDLError, match="no such directory"):
        read_labelled_crops(tmp_path / "none", LETTERS)
    with pytest.raises(HDLError, match=f"no {LABELS_FILE} in it"):
        read_labelled_crops(tmp_path, LETTERS)
    (tmp_path / LABELS_FILE).write_text("")  # the labels file itself given for its folder
    with pytest.raises(HDLError, match=f"a file; give the folder of crops that holds {LABELS_FILE} \\({tmp_path}\\)"):
        read_labelled_crops(tmp_path / LABELS_FILE, LETTERS)


def test_command_line_errors_are_one_line_exit_2(tmp_path):
    directory = crops_dir(tmp_path, ["a.png q", "a.png?"])
    for args, message in ((("letters", "--finetune", directory, "--out", tmp_path / "mine.hdl"), ":2: expected"),
                          (("letters", "--finetune", tmp_path / "none"), "no such directory"),
                          (("ocr", "page.jpg", "--crops", directory), "already holds labels.tsv")):
        result = run_cli(*args)
        assert result.returncode == 2, result.stderr
        assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "mine.hdl").exists()
