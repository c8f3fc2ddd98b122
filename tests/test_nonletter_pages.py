"""The page builder and scoring of benchmarks/ocr_nonletters.py, checked with fake classifiers and hand-made boxes."""
from dataclasses import replace

import numpy as np
from conftest import require_dataset
from nonletter_pages import (OTHER, DigitScore, MixedScore, build_mixed_page, compose, found_boxes, page_mark,
                             letters_read, printed_as_digits, printed_as_letters, score_digits, score_mixed_page)
from ocr_pages import PageSpec, Truth, match_boxes

from hdl_native.data import load_dataset
from hdl_native.data.datasets import LETTERS, NOT_A_LETTER
from hdl_native.data.nonletters import MARKS, framed_digits
from hdl_native.ocr import read_page


class AlwaysSays:
    """A stand-in classifier that reads every crop as the same class."""

    classes = LETTERS + [NOT_A_LETTER]

    def __init__(self, name):
        self.answer = self.classes.index(name)

    def probabilities(self, crops):
        probabilities = np.full((len(crops), len(self.classes)), 0.1 / (len(self.classes) - 1))
        probabilities[:, self.answer] = 0.9
        return probabilities


def test_scoring_counts_digits_and_marks_printed_as_letters_by_the_rules():
    truths = [Truth((0, 20, 0, 10), 0, 0), Truth((0, 20, 20, 30), 1, 0),  # "ab"
              Truth((0, 20, 50, 60), OTHER, 0), Truth((0, 20, 62, 72), OTHER, 0),  # "12": read as one letter
              Truth((15, 20, 74, 77), OTHER, 0),  # "." swallowed by the next letter's box
              Truth((0, 20, 76, 86), 2, 0), Truth((0, 20, 100, 110), OTHER, 0),  # "c", then "-" left out
              Truth((0, 20, 120, 130), OTHER, 0), Truth((0, 20, 140, 150), 3, 0),  # "(" read as a letter, "d" lost
              Truth((0, 20, 160, 170), 4, 0)]  # "e" read as not a letter
    found = [((0, 20, 0, 10), 0), ((0, 20, 20, 30), 4),  # a right, b read as e
             ((0, 20, 50, 72), 11),  # both digits in one box, printed as l
             ((0, 20, 73, 86), 2), ((0, 20, 100, 110), OTHER), ((0, 20, 120, 130), 2), ((0, 20, 160, 170), OTHER),
             ((0, 20, 180, 186), 11), ((0, 20, 190, 196), OTHER)]  # a stroke alone printed as l; another left out
    score = score_mixed_page(truths, found)
    assert score == MixedScore(letters=5, letters_found=4, letters_read=2, letters_left_out=1, others=5,
                               others_printed=3, extra_letters=1)
    assert score.percentages() == {"letters_found": 80.0, "letters_read": 40.0, "letters_left_out": 20.0,
                                   "others_not_printed": 40.0, "extra_letters": 20.0}
    tiled = [replace(truth, tile=k) for k, truth in enumerate(truths)]  # each letter's own reading, for intervals
    assert letters_read(tiled, found) == {0: True, 1: False, 5: True, 8: False, 9: False}
    assert sum(letters_read(tiled, found).values()) == score.letters_read


def test_page_letters_are_found_again_by_their_tiles_so_each_reading_keeps_its_writer():
    module = benchmark_module()
    rng = np.random.default_rng(0)
    letters = rng.integers(0, 256, (60, 28, 28), dtype=np.uint8)
    digits = rng.integers(0, 256, (20, 28, 28), dtype=np.uint8)
    first = 7  # the page begins at the eighth letter, as the second page of a benchmark does
    content = compose(letters[first:], rng.integers(0, 26, 60)[first:], digits, rng, 8)
    of_tile = module.letters_of_tiles(content.kinds, first)
    assert len(of_tile) == int((content.kinds == "letter").sum()) > 10 and "digit" in set(content.kinds)
    for tile, index in of_tile.items():
        assert np.array_equal(content.images[tile], letters[index])


def test_digit_scoring_tells_digits_read_right_wrong_and_left_out_from_marks_and_letters_printed_as_digits():
    truths = [Truth((0, 20, 0, 10), 0, 0, tile=0), Truth((0, 20, 20, 30), OTHER, 0, tile=1),  # "a", digit 4
              Truth((0, 20, 40, 50), OTHER, 0, tile=2), Truth((0, 20, 60, 70), OTHER, 0, tile=3),  # digits 7 and 1
              Truth((0, 20, 80, 90), OTHER, 0, tile=4), Truth((0, 20, 100, 110), OTHER, 0, tile=5),  # 0, then "("
              Truth((0, 20, 120, 130), 1, 0, tile=6), Truth((0, 20, 140, 150), OTHER, 0, tile=7)]  # "b", digit 2
    digit_of_tile = {1: "4", 2: "7", 3: "1", 4: "0", 7: "2"}
    found = [((0, 20, 0, 10), 0, None),  # a read as a
             ((0, 20, 20, 30), OTHER, "4"), ((0, 20, 40, 50), OTHER, "1"),  # 4 right, 7 printed as 1
             ((0, 20, 60, 70), 11, None), ((0, 20, 80, 90), OTHER, None),  # 1 printed as l, 0 left out
             ((0, 20, 100, 110), OTHER, "1"), ((0, 20, 120, 130), OTHER, "6"),  # "(" and b printed as digits
             ((0, 20, 160, 170), OTHER, "3")]  # the 2 not found; a digit for nothing
    score = score_digits(truths, found, digit_of_tile)
    assert score == DigitScore(digits=5, digits_right=1, digits_wrong=1, digits_left_out=2, marks=1,
                               marks_as_digits=1, letters=2, letters_as_digits=1, extra_digits=1)
    assert score.percentages()["digits_right"] == 20.0 and score.percentages()["letters_as_digits"] == 50.0
    names = ["a", "digit", "digit", "digit", "digit", "(", "b", "digit"]
    assert printed_as_digits(truths, found, names, digit_of_tile) == [("(", "1"), ("b", "6")]


def test_lone_and_closing_marks_keep_a_letters_scale_and_their_height_on_the_line():
    rng = np.random.default_rng(0)
    comma, quote, bracket = (page_mark(MARKS[name], rng) for name in (",", '"', "("))
    rows = [np.flatnonzero((tile > 64).any(axis=1)) for tile in (comma, quote, bracket)]
    assert rows[0][0] > 16 and rows[0][-1] <= 26  # low on the line, a few pixels tall
    assert rows[1][0] >= 2 and rows[1][-1] < 10  # at the top
    assert rows[2][-1] - rows[2][0] >= 18  # a bracket spans the line
    assert all(r[0] >= 2 and r[-1] <= 26 for r in rows)  # where the letters' ink is


def test_pages_hold_numbers_and_marks_between_words_and_fake_readers_score_as_they_must(data_root, tmp_path):
    require_dataset(data_root, "letters")
    require_dataset(data_root, "mnist")
    letters = load_dataset("letters", "test", data_root)
    digits, _ = framed_digits("test", data_root)
    content = compose(letters.images, letters.labels, digits, np.random.default_rng(1), 25)
    assert sum(content.word_lengths) == len(content.images) == len(content.labels) == len(content.kinds)
    start = 0
    for length in content.word_lengths:  # a word is letters with perhaps one closing mark, a number, or one mark
        kinds = list(content.kinds[start:start + length])
        start += length
        assert (kinds in (["digit"] * length, ["mark"]) or kinds[:-1] == ["letter"] * (length - 1)), kinds
    assert {"digit", "mark"} <= set(content.kinds)
    for kind, label, name in zip(content.kinds, content.labels, content.names):
        assert name == {"letter": LETTERS[label] if label < len(LETTERS) else None, "digit": "digit"}.get(kind, name)
        assert (kind == "mark") == (name in MARKS)

    jpeg, truths, used = build_mixed_page(content, PageSpec(width=1000, height=560, seed=3))
    path = tmp_path / "page.jpg"
    path.write_bytes(jpeg)
    assert len(truths) == used and [t.label for t in truths] == list(content.labels[:used])
    rejecting = score_mixed_page(truths, found_boxes(read_page(path, AlwaysSays(NOT_A_LETTER))))
    assert rejecting.others >= 5 and rejecting.letters >= 20
    assert rejecting.letters_found >= 0.9 * rejecting.letters and rejecting.letters_read == 0
    assert rejecting.letters_left_out == rejecting.letters_found
    assert rejecting.others_printed == 0
    found = found_boxes(read_page(path, AlwaysSays("e")))
    printing = score_mixed_page(truths, found)
    assert printing.letters_found == rejecting.letters_found and printing.letters_left_out == 0
    found_es = [t for t in match_boxes(truths, [box for box, _ in found]) if truths[t].label == LETTERS.index("e")]
    assert printing.letters_read == len(found_es) > 0
    assert printing.others_printed >= 0.5 * printing.others
    printed = printed_as_letters(truths, found, content.names)  # which, counted as the score counts them
    assert len(printed) == printing.others_printed and {letter for _, letter in printed} == {"e"}
    assert {what for what, _ in printed} <= {"digit", *MARKS} and "digit" in {what for what, _ in printed}
    assert printed_as_letters(truths, found_boxes(read_page(path, AlwaysSays(NOT_A_LETTER))), content.names) == []


def test_given_word_lengths_keep_the_random_pages_digits_and_marks():
    rng_images = np.random.default_rng(0)
    letters = rng_images.integers(0, 256, (200, 28, 28), dtype=np.uint8)
    labels = np.arange(200) % 26
    digits = rng_images.integers(0, 256, (60, 28, 28), dtype=np.uint8)
    random_page = compose(letters, labels, digits, np.random.default_rng(5), 12)
    given = [4, 2, 7, 3, 3, 5, 2, 6, 2, 3, 4, 2]
    spelt = compose(letters, labels, digits, np.random.default_rng(5), 12, given)
    assert [n for n, k in zip(spelt.word_lengths, words_kinds(spelt)) if k == "letter"] == \
        [n + (1 if closing else 0) for n, closing in zip(given, closing_marks(spelt))]
    assert np.array_equal(spelt.images[spelt.kinds != "letter"], random_page.images[random_page.kinds != "letter"])
    assert list(spelt.kinds[spelt.kinds != "letter"]) == list(random_page.kinds[random_page.kinds != "letter"])
    assert np.array_equal(spelt.images[spelt.kinds == "letter"], letters[:sum(given)])
    short = compose(letters[:10], labels[:10], digits, np.random.default_rng(5), 12, given)
    assert (short.kinds == "letter").sum() == 4 + 2  # the third word (7 letters) no longer fits: the page ends


def words_kinds(content):
    """The kind of each word of a PageContent ('letter' for a word of letters, with or without its closing mark)."""
    kinds, start = [], 0
    for length in content.word_lengths:
        kinds.append(content.kinds[start])
        start += length
    return kinds


def closing_marks(content):
    """For each word of letters of a PageContent: does a mark close it?"""
    closing, start = [], 0
    for length in content.word_lengths:
        if content.kinds[start] == "letter":
            closing.append(content.kinds[start + length - 1] == "mark")
        start += length
    return closing


def test_lead_in_strokes_widen_only_the_first_letter_of_words_of_letters_and_leave_other_pages_alone():
    from test_data_lead_in import bar

    letters = np.stack([bar(left=10 + k % 8) for k in range(80)])
    labels = np.arange(80) % 26
    digits = np.stack([bar(left=12, width=2)] * 30)
    content = compose(letters, labels, digits, np.random.default_rng(5), 20)
    spec = PageSpec(width=900, height=500, rotation_degrees=0.0, noise_sigma=0.0, seed=3)
    plain_jpeg, plain, used = build_mixed_page(content, spec)
    assert build_mixed_page(content, spec)[0] == plain_jpeg  # no strokes asked for: the page as before
    stroked_jpeg, stroked, stroked_used = build_mixed_page(content, replace(spec, lead_in=1.0))
    assert stroked_used == used and len(stroked) == len(plain)
    starts, position = set(), 0
    for length in content.word_lengths:
        starts.add(position)
        position += length
    widened = [i for i, (a, b) in enumerate(zip(plain, stroked)) if b.box[2] < a.box[2] - 5]
    assert widened and all(i in starts and content.kinds[i] == "letter" for i in widened)
    assert all(a.box[3] == b.box[3] for a, b in zip(plain, stroked)), "strokes come from the left"
    word_starting_letters = [i for i in starts if i < used and content.kinds[i] == "letter"]
    assert len(widened) == len(word_starting_letters)
    # the letter's own box is kept beside, and a box around the letter alone finds it as well as one around both
    assert all((stroked[i].letter_box == plain[i].box) == (i in widened) for i in range(len(plain)))
    letter_only = [stroked[i].letter_box for i in widened]
    assert set(match_boxes([stroked[i] for i in widened], letter_only)) == set(range(len(widened)))


def benchmark_script():
    from pathlib import Path

    import pytest

    script = Path(__file__).resolve().parent.parent / "benchmarks" / "ocr_nonletters.py"
    if not script.exists():
        pytest.skip("benchmarks/ocr_nonletters.py is not beside these tests (a copy of tests/ alone)")
    return script


def benchmark_module():
    """benchmarks/ocr_nonletters.py loaded as a module, without its checkout left first on sys.path."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("ocr_nonletters_under_test", benchmark_script())
    module = importlib.util.module_from_spec(spec)
    saved_path = list(sys.path)
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path[:] = saved_path  # the script puts its checkout first, which must not shadow an installed wheel
    return module


def test_english_pages_leave_out_words_of_one_letter_unless_asked(tmp_path):
    import subprocess
    import sys

    script = benchmark_script()
    module = benchmark_module()
    text = tmp_path / "text.txt"
    text.write_text("I saw a cat, and a dog; I ran. Extraordinarily so.")
    default = module.english_words(text, 0, 40)
    assert set(default) == {"saw", "cat", "and", "dog", "ran", "so"}
    with_one = module.english_words(text, 0, 40, shortest=1)
    assert set(with_one) == set(default) | {"i", "a"}
    refused = subprocess.run([sys.executable, str(script), "--one-letter-words"], capture_output=True, text=True)
    assert refused.returncode == 2 and "--one-letter-words needs --words english" in refused.stderr


def test_mixed_heldout_pages_take_each_source_in_turn_and_find_where_each_image_came_from():
    from types import SimpleNamespace

    module = benchmark_module()
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (9, 28, 28), dtype=np.uint8)
    sources = np.array([0, 0, 0, 0, 0, 1, 1, 2, 0])  # a big source, a small one and a smaller one
    mixture = SimpleNamespace(images=images, sources=sources)
    held = images[[8, 6, 7, 0]]
    found = module.indices_in(held, mixture)
    assert sources[found].tolist() == [0, 1, 2, 0]
    writers = np.arange(9) * 10
    assert writers[found].tolist() == [80, 60, 70, 0]
    groups = [(images[sources == k], np.full(int((sources == k).sum()), k), writers[sources == k]) for k in range(3)]
    taken, labels, taken_writers = module.taken_in_turn(groups, np.random.default_rng(1))
    assert labels.tolist() == [0, 1, 2, 0, 1, 0, 0, 0, 0]  # one of each in turn; a source that runs out drops out
    assert sorted(map(bytes, taken)) == sorted(map(bytes, images))  # every image once
    for image, writer in zip(taken, taken_writers):  # each image keeps its own writer through the shuffles
        assert writer == writers[[bytes(i) for i in images].index(bytes(image))]


def test_a_page_where_no_ink_is_found_counts_as_nothing_found_and_other_errors_still_stop(tmp_path):
    import pytest
    from PIL import Image

    from hdl_native.errors import HDLError
    from hdl_native.ocr.pipeline import NoInkFound

    module = benchmark_module()
    blank = tmp_path / "blank.jpg"
    Image.new("L", (400, 300), 230).save(blank)
    with pytest.raises(NoInkFound, match="found no ink"):
        read_page(blank, AlwaysSays("e"))
    assert found_boxes(module.read_or_nothing(blank, AlwaysSays("e"))) == []
    with pytest.raises(HDLError) as missing:
        module.read_or_nothing(tmp_path / "missing.jpg", AlwaysSays("e"))
    assert not isinstance(missing.value, NoInkFound)
