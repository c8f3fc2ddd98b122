"""What `hdl-native ocr` writes and names: outputs checked before a photo is read and written in the format their
names say, crops replaced whole by --force, photos named however their file system names them, and a batch whose
notes and --json objects say which photo they are about (defects an audit of odd inputs found)."""
import json
import os
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont, ImageOps
from test_ocr_cli import run_ocr, two_line_page, untrained_model

from hdl_native.cli import main
from hdl_native.ocr.digits import PRETRAINED_DIGITS
from hdl_native.ocr.user_crops import LABELS_FILE, SHEET_FILE, read_labelled_crops


def test_a_loop_of_symbolic_links_is_one_line(tmp_path):
    """A Python traceback (RuntimeError: Symlink loop), exit 1, alone or among other photos."""
    (tmp_path / "loop1").symlink_to(tmp_path / "loop2")
    (tmp_path / "loop2").symlink_to(tmp_path / "loop1")
    page = two_line_page(tmp_path)
    for photos in ([tmp_path / "loop1"], [page, tmp_path / "loop1"]):
        result = run_ocr(*photos, "--model", untrained_model(tmp_path))
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
        assert result.stderr.strip().endswith(f"{tmp_path / 'loop1'}: a loop of symbolic links (each names "
                                              "another, none a file); point it at a file")
        assert len(result.stderr.strip().splitlines()) == 1 and result.stdout == ""


@pytest.mark.parametrize("option, name, message", [
    ("--out", "missing/boxed.png", "cannot write the boxed picture {tmp}/missing/boxed.png: {tmp}/missing does "
                                   "not exist"),
    ("--out", "boxed.txt", "--out {tmp}/boxed.txt: a picture is written as .png, .jpg or .webp (the ending says "
                           "which), not .txt"),
    ("--crop-sheet", "sheet.gif", "--crop-sheet {tmp}/sheet.gif: a picture is written as .png, .jpg or .webp"),
])
def test_an_output_that_cannot_be_written_is_told_before_the_photo_is_read(tmp_path, option, name, message):
    """One photo's --out into a missing folder was found out after the reading (its text printed, then the error);
    and any ending was written as PNG bytes."""
    result = run_ocr(two_line_page(tmp_path), "--model", untrained_model(tmp_path), option, tmp_path / name)
    assert result.returncode == 2 and result.stdout == "", result.stderr
    assert message.format(tmp=tmp_path) in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("ending, picture_format", [(".jpg", "JPEG"), (".JPEG", "JPEG"), (".webp", "WEBP"),
                                                    (".png", "PNG"), ("", "PNG")])
def test_the_boxed_picture_is_written_in_the_format_its_name_says(tmp_path, ending, picture_format):
    out = tmp_path / f"boxed{ending}"
    result = run_ocr(two_line_page(tmp_path), "--model", untrained_model(tmp_path), "--out", out)
    assert result.returncode == 0, result.stderr
    with Image.open(out) as boxed:
        assert boxed.format == picture_format and boxed.size == (1600, 711)
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".")] == []  # no temporary left


@pytest.mark.skipif(not PRETRAINED_DIGITS.is_file(), reason=f"the shipped digit reader {PRETRAINED_DIGITS} is not "
                                                            "installed")
def test_the_digit_reader_is_refused_as_the_letters_model(tmp_path):
    """It read "hello there" as digits, exit 0."""
    result = run_ocr(two_line_page(tmp_path), "--model", PRETRAINED_DIGITS)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == (f"hdl-native ocr: error: {PRETRAINED_DIGITS}: not a letters model: its classes are 0, 1, "
                             "2, 3, 4, 5, 6, 7, 8, 9, other (a digit reader: give it as --digit-model)\n")


def test_photos_of_one_name_are_read_together_when_nothing_is_written(tmp_path):
    page = two_line_page(tmp_path)
    with Image.open(page) as picture:
        picture.save(tmp_path / "page.png")
    model = untrained_model(tmp_path)
    both = run_ocr(page, tmp_path / "page.png", "--model", model)
    assert both.returncode == 0, both.stderr
    assert both.stdout.count("==> ") == 2
    writing = run_ocr(page, tmp_path / "page.png", "--model", model, "--out", tmp_path / "boxed")
    assert writing.returncode == 2 and "would write outputs of the same name (page)" in writing.stderr


def test_a_batch_names_the_photo_of_each_note_and_gives_an_object_for_a_photo_it_cannot_read(tmp_path):
    """The note that a photo was read swapped did not say which photo; a photo that could not be read had no
    --json object, so a program reading them could not tell."""
    page, model = two_line_page(tmp_path), untrained_model(tmp_path)
    with Image.open(page) as picture:
        ImageOps.invert(picture.convert("RGB")).save(tmp_path / "dark.jpg", quality=85)
    Image.new("RGB", (300, 200), "white").save(tmp_path / "blank.png")
    result = run_ocr(page, tmp_path / "blank.png", tmp_path / "dark.jpg", "--model", model, "--json")
    assert result.returncode == 2
    assert f"note: {tmp_path / 'dark.jpg'}: nothing stood out as dark ink" in result.stderr
    objects = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [entry["image"] for entry in objects] == [str(tmp_path / name) for name in ("page.jpg", "blank.png",
                                                                                       "dark.jpg")]
    assert objects[1]["error"].startswith(f"{tmp_path / 'blank.png'}: found no ink") and "text" not in objects[1]
    assert "error" not in objects[0] and "error" not in objects[2]


def crops_of(tmp_path, page, crops, *more):
    return main(["ocr", str(page), "--model", str(untrained_model(tmp_path)), "--crops", str(crops), *more])


def one_line_page(tmp_path):
    """A page of one printed line, "hello there": 10 boxes."""
    page = Image.new("RGB", (900, 200), (235, 225, 205))
    ImageDraw.Draw(page).text((60, 60), "hello there", font=ImageFont.load_default(size=60), fill=(30, 30, 80))
    page.save(tmp_path / "line.jpg", quality=85)
    return tmp_path / "line.jpg"


def test_force_replaces_the_crops_whole_and_an_interrupted_write_leaves_no_labels(tmp_path, monkeypatch, capsys):
    """An interrupted --crops --force left the labels corrected by hand beside the new page's crops, which
    `letters --finetune` then learnt from; the earlier page's other crops stayed too."""
    import hdl_native.ocr.user_crops as user_crops

    crops = tmp_path / "crops"
    assert crops_of(tmp_path, two_line_page(tmp_path), crops) == 0
    assert len(list(crops.glob("line*-box*.png"))) == 18
    (crops / LABELS_FILE).write_text("line01-box001.png h\n")  # corrected by hand
    letter = np.zeros((28, 28), np.uint8)
    letter[6:22, 12:16] = 255
    Image.fromarray(letter).save(crops / "my-own-l.png")  # a crop of the user's, named otherwise

    def interrupted(*args, **kwargs):  # Ctrl-C once the crops are written, before the sheet and the labels
        raise KeyboardInterrupt

    monkeypatch.setattr(user_crops, "labels_sheet", interrupted)
    assert crops_of(tmp_path, one_line_page(tmp_path), crops, "--force") == 130
    assert not (crops / LABELS_FILE).exists() and not (crops / SHEET_FILE).exists()
    assert sorted(path.name for path in crops.iterdir()) == [f"line01-box{k:03d}.png" for k in range(1, 11)] + [
        "my-own-l.png"]
    monkeypatch.undo()
    capsys.readouterr()
    assert crops_of(tmp_path, one_line_page(tmp_path), crops, "--force") == 0
    assert len(list(crops.glob("line*-box*.png"))) == 10 and (crops / "my-own-l.png").exists()
    rows = [line for line in (crops / LABELS_FILE).read_text().splitlines() if not line.startswith("#")]
    assert [row.split("\t")[0] for row in rows] == [f"line01-box{k:03d}.png" for k in range(1, 11)]


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="a file name that is not UTF-8 needs a POSIX file "
                                                                "system that takes any bytes")
def test_a_photo_whose_name_is_not_utf8_writes_crops_and_json_that_read_back(tmp_path):
    """`ocr caf\\xe9.png --crops DIR` crashed (UnicodeEncodeError) writing the labels file, half-way."""
    name = os.fsdecode(b"caf\xe9.jpg")
    page = two_line_page(tmp_path)
    try:
        page.rename(tmp_path / name)
    except (OSError, UnicodeEncodeError) as error:
        pytest.skip(f"this file system does not take the name: {error}")
    result = run_ocr(tmp_path / name, "--model", untrained_model(tmp_path), "--crops", tmp_path / "crops", "--json")
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "crops" / LABELS_FILE).read_text(encoding="utf-8")
    assert "found in " + str(tmp_path / "caf\\xe9.jpg") in text
    assert len(read_labelled_crops(tmp_path / "crops", [chr(ord("a") + k) for k in range(26)])) == 18
    assert json.loads(result.stdout.splitlines()[-1])["image"] == str(tmp_path / "caf\\xe9.jpg")


def test_a_photo_past_pillows_warning_size_counts_its_pages_without_a_warning(tmp_path, monkeypatch):
    """A 108 MP phone photo printed Pillow's DecompressionBombWarning (two lines) before it was read: counting its
    pages opened it under Pillow's default limit.  Here the limit is lowered instead of making a 108 MP file."""
    from hdl_native.ocr.image_io import page_count

    Image.new("L", (100, 100), 255).save(tmp_path / "big.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 6000)  # 10,000 pixels: past it, short of twice it
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert page_count(tmp_path / "big.png") == 1
        with Image.open(tmp_path / "big.png"):  # the check this test relies on: Pillow does warn here
            pass
    assert [warning.category for warning in caught] == [Image.DecompressionBombWarning]
    assert Path(tmp_path / "big.png").is_file()
