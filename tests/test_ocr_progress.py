"""A page of many boxes shows a progress bar over its lines while `ocr` reads it; an ordinary page shows none."""
import re

from test_ocr_cli import two_line_page

from hdl_native.data.datasets import LETTERS
from hdl_native.models import LettersCNN
from hdl_native.ocr import pipeline
from hdl_native.ocr.recognize import LetterClassifier


def random_reader():
    return LetterClassifier(LettersCNN(seed=3).eval(), LETTERS, 0.172575, 0.25, shifts=1)


def test_a_page_of_more_boxes_than_the_limit_shows_a_bar_on_a_terminal(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(pipeline, "stderr_is_terminal", lambda: True)
    page = two_line_page(tmp_path)  # "hello there" / "big world": 18 or so boxes
    monkeypatch.setattr(pipeline, "LONG_PAGE_BOXES", 10)
    result = pipeline.read_page(page, random_reader(), turn=0, progress=True)
    assert len(result.lines) == 2
    bar = capsys.readouterr().err
    boxes = re.search(r"reading (\d+) boxes", bar)
    assert boxes and int(boxes.group(1)) > 10 and "0/2" in bar and "line" in bar  # later updates depend on speed


def test_no_bar_for_an_ordinary_page_without_asking_or_without_a_terminal(tmp_path, capsys, monkeypatch):
    page = two_line_page(tmp_path)
    monkeypatch.setattr(pipeline, "LONG_PAGE_BOXES", 10)
    monkeypatch.setattr(pipeline, "stderr_is_terminal", lambda: True)
    pipeline.read_page(page, random_reader(), turn=0)  # progress not asked for (the library's default)
    monkeypatch.setattr(pipeline, "LONG_PAGE_BOXES", 1500)
    pipeline.read_page(page, random_reader(), turn=0, progress=True)  # fewer boxes than the limit
    monkeypatch.setattr(pipeline, "LONG_PAGE_BOXES", 10)
    monkeypatch.setattr(pipeline, "stderr_is_terminal", lambda: False)
    pipeline.read_page(page, random_reader(), turn=0, progress=True)  # stderr is a file or a pipe
    assert capsys.readouterr().err == ""
