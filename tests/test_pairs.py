"""Two letters written touching and left whole as a class of their own (--pairs): how the pairs are made, how a
reader of pairs is trained, calibrated and evaluated, and how `ocr` reads its class as 'other'."""
import json
from types import SimpleNamespace

import numpy as np
import pytest

from hdl_native.calibration import pair_read_as_other
from hdl_native.checkpoint import load_checkpoint
from hdl_native.cli import main
from hdl_native.data.datasets import LETTERS, NOT_A_LETTER, PAIR
from hdl_native.data.touching import whole_pairs
from hdl_native.errors import HDLError
from hdl_native.ocr.recognize import ShiftedReader, pairs_as_other
from hdl_native.training.feed import TrainingFeed, pair_label

PAIR_READER_CLASSES = LETTERS + [NOT_A_LETTER, PAIR]


def ring(left=4, right=16, top=4, bottom=24):
    """uint8 (28, 28): a hollow box of 2-pixel strokes, an 'o' taller than wide."""
    image = np.zeros((28, 28), np.uint8)
    image[top:bottom, left:right] = 255
    image[top + 2:bottom - 2, left + 2:right - 2] = 0
    return image


def ink_extent(image):
    """(rows, columns) the ink above a quarter of full brightness spans."""
    strong = image > 64
    rows, cols = np.flatnonzero(strong.any(axis=1)), np.flatnonzero(strong.any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def test_a_pair_is_two_letters_framed_whole_and_labelled_with_the_pair_class():
    images = np.stack([ring(left=9, right=19, top=9, bottom=19) for _ in range(8)])  # square 'o's, 10 pixels
    labels = np.arange(8)
    paired, paired_labels = whole_pairs(images, labels, np.random.default_rng(0), 1.0, 27)
    assert paired.dtype == np.uint8 and paired.shape == images.shape
    assert list(paired_labels) == [27] * 8 and list(labels) == list(range(8))  # the input is left alone
    for image in paired:
        height, width = ink_extent(image)
        assert width >= 23 and height <= 18  # side by side, framed whole: the frame's 24 pixels wide, not tall


def test_pairs_are_drawn_at_the_share_and_leave_the_rest_and_blank_images_as_they_are():
    images = np.stack([ring() for _ in range(200)])
    images[::10] = 0  # no ink: neither a letter nor a neighbour of a pair
    labels = np.arange(200) % 26
    paired, paired_labels = whole_pairs(images, labels, np.random.default_rng(1), 0.25, 99)
    changed = paired_labels == 99
    assert 25 <= changed.sum() <= 75  # about a quarter, less the blank ones and those beside one
    assert np.array_equal(paired[~changed], images[~changed]) and np.array_equal(paired_labels[~changed],
                                                                                 labels[~changed])
    assert not changed[::10].any()
    again = whole_pairs(images, labels, np.random.default_rng(1), 0.25, 99)
    assert np.array_equal(again[0], paired) and np.array_equal(again[1], paired_labels)
    untouched = whole_pairs(images, labels, np.random.default_rng(1), 0.0, 99)
    assert np.array_equal(untouched[0], images) and np.array_equal(untouched[1], labels)
    single = whole_pairs(images[:1], labels[:1], np.random.default_rng(1), 1.0, 99)
    assert np.array_equal(single[0], images[:1]) and list(single[1]) == [0]


@pytest.mark.parametrize("images, share", [(np.zeros((4, 28, 28), np.float32), 0.5),
                                           (np.zeros((4, 28, 28), np.uint8), -0.1)])
def test_whole_pairs_refuses_bad_input(images, share):
    with pytest.raises(ValueError, match="whole_pairs"):
        whole_pairs(images, np.zeros(4, np.int64), np.random.default_rng(0), share, 1)


def feed_config(pairs, dataset="letters,nonletters"):
    return SimpleNamespace(distort=0.0, distort_look=None, augment=False, seed=7, touching=0.0, lead_in=0.0,
                           pairs=pairs, dataset=dataset)


def test_the_feed_makes_pairs_before_anything_else_and_labels_them():
    images = np.stack([ring() for _ in range(16)])
    labels = np.arange(16) % 3
    plain_images, plain_labels = TrainingFeed(images, labels, feed_config(0.0)).batch(np.arange(16))
    assert np.array_equal(plain_labels, labels)
    paired_images, paired_labels = TrainingFeed(images, labels, feed_config(1.0), pair=3).batch(np.arange(16))
    assert list(paired_labels) == [3] * 16 and not np.array_equal(paired_images, plain_images)
    with pytest.raises(ValueError, match="pair_label"):
        TrainingFeed(images, labels, feed_config(1.0))


def test_pair_label_is_the_last_class_and_needs_other_and_pair():
    assert pair_label(feed_config(0.0), LETTERS) is None
    assert pair_label(feed_config(0.5), PAIR_READER_CLASSES) == 27
    with pytest.raises(HDLError, match="dataset 'letters' has no class 'other'"):
        pair_label(feed_config(0.5, "letters"), LETTERS + [PAIR])
    with pytest.raises(HDLError, match="the model has no class 'pair' \\(27 classes, the last 'other'\\)"):
        pair_label(feed_config(0.5), LETTERS + [NOT_A_LETTER])


class FixedReader(ShiftedReader):
    """A reader whose network says the same log-probabilities of every crop."""

    def __init__(self, classes, probabilities, other_offset=0.0):
        super().__init__(classes, 0.0, 1.0, shifts=1, other_offset=other_offset)
        self.row = np.log(np.asarray(probabilities, np.float64))

    def log_probabilities_of(self, images):
        return np.repeat(self.row[None], len(images), axis=0)


def pair_heavy_row(pair=0.6, a=0.3):
    """Probabilities over PAIR_READER_CLASSES: `pair` on PAIR, `a` on 'a', the rest spread evenly."""
    row = np.full(len(PAIR_READER_CLASSES), (1 - pair - a) / (len(PAIR_READER_CLASSES) - 2))
    row[-1], row[0] = pair, a
    return row


def test_a_reader_of_pairs_drops_the_column_and_pairs_as_other_gives_its_share_to_other():
    reader = FixedReader(PAIR_READER_CLASSES, pair_heavy_row())
    assert reader.reads_pairs and reader.classes == LETTERS + [NOT_A_LETTER]
    rows = reader.probabilities(np.zeros((2, 28, 28), np.uint8))
    assert rows.shape == (2, 27) and rows.sum(axis=1) == pytest.approx([0.4, 0.4])
    assert rows[0, 0] == pytest.approx(0.3)  # the letters' probabilities as they are: not renormalised
    read = pairs_as_other(rows, reader.classes)
    assert read.sum(axis=1) == pytest.approx([1.0, 1.0]) and read[0, 26] == pytest.approx(0.6 + 0.1 / 26)
    assert rows[0, 26] == pytest.approx(0.1 / 26)  # a new array: the reader's rows are not changed
    plain = FixedReader(LETTERS + [NOT_A_LETTER], np.full(27, 1 / 27))
    assert not plain.reads_pairs and plain.probabilities(np.zeros((1, 28, 28), np.uint8)).shape == (1, 27)
    with pytest.raises(ValueError, match="'pair' must be the last"):
        FixedReader(LETTERS + [PAIR, NOT_A_LETTER], pair_heavy_row())


def test_the_offset_on_other_is_applied_over_all_classes_before_the_pair_column_is_dropped():
    row = pair_heavy_row()
    reader = FixedReader(PAIR_READER_CLASSES, row, other_offset=1.0)
    weighted = row.copy()
    weighted[26] *= np.e
    weighted /= weighted.sum()
    assert reader.probabilities(np.zeros((1, 28, 28), np.uint8))[0] == pytest.approx(weighted[:-1])


def test_pair_read_as_other_adds_the_pair_probability_to_other_in_log_space():
    probabilities = np.array([[0.5, 0.2, 0.1, 0.2], [0.1, 0.1, 0.1, 0.7]])
    read = pair_read_as_other(np.log(probabilities), ["a", "b", NOT_A_LETTER, PAIR])
    assert np.exp(read) == pytest.approx(np.array([[0.5, 0.2, 0.3, 0.0], [0.1, 0.1, 0.8, 0.0]]))
    assert np.array_equal(pair_read_as_other(np.log(probabilities), ["a", "b", "c", "d"]), np.log(probabilities))


def test_a_page_read_by_a_reader_of_pairs_leaves_out_the_marks_it_calls_pairs(tmp_path):
    from test_ocr_cli import two_line_page

    from hdl_native.ocr import read_page

    page = two_line_page(tmp_path)
    pairs = read_page(page, FixedReader(PAIR_READER_CLASSES, pair_heavy_row(pair=0.6, a=0.3)), turn=0)
    letters = read_page(page, FixedReader(PAIR_READER_CLASSES, pair_heavy_row(pair=0.3, a=0.6)), turn=0)
    assert letters.texts[0] == "aaaaa aaaaa" and set(letters.texts[1]) == {"a", " "}  # 'a' 0.6 is sure enough
    assert [len(line) for line in pairs.lines] == [len(line) for line in letters.lines]  # the same boxes...
    assert all(not reading.is_letter for line in pairs.lines for reading in line)  # ... each read as 'other'
    assert "".join(pairs.texts).strip() == ""  # where 'a' 0.3 alone would be printed as '?'


def last_json(out):
    return json.loads(out.strip().splitlines()[-1])


def test_a_reader_trained_with_pairs_learns_the_class_and_calibrate_evaluate_prune_and_resume_know_it(
        tiny_data, tmp_path, capsys):
    common = ["--data", str(tiny_data), "--threads", "1"]
    state = tmp_path / "pairs.hdl"
    assert main(["letters", *common, "--dataset", "letters,nonletters", "--pairs", "0.5", "--holdout", "60",
                 "--adam", "--quiet", "--no-db", "--max-batches", "12", "--out", str(state)]) == 0
    saved = load_checkpoint(state)
    assert saved["classes"] == PAIR_READER_CLASSES and saved["settings"]["pairs"] == 0.5
    calibrated = tmp_path / "calibrated.hdl"
    capsys.readouterr()
    assert main(["calibrate", str(state), *common, "--out", str(calibrated), "--json"]) == 0
    assert last_json(capsys.readouterr().out)["fitted_on"].startswith("60 training images")  # its held-out writers
    from hdl_native.inspect.evaluation import evaluate_state

    report = evaluate_state(calibrated, root=tiny_data, shifts=1)
    assert report.classes == PAIR_READER_CLASSES and report.confusion[:, -1].sum() == 0  # read as `ocr` reads
    pruned = tmp_path / "pruned.hdl"
    assert main(["prune", str(state), "--sparsity", "0.5", "--finetune-epochs", "1", *common, "--quiet",
                 "--out", str(pruned)]) == 0
    assert load_checkpoint(pruned)["classes"] == PAIR_READER_CLASSES
    capsys.readouterr()
    assert main(["letters", *common, "--dataset", "letters,nonletters", "--init", str(state), "--quiet", "--no-db",
                 "--max-batches", "2", "--out", str(tmp_path / "again.hdl")]) == 2
    err = capsys.readouterr().err
    assert "was trained for 28 classes" in err and "it learned the class 'pair' of --pairs" in err
    assert len(err.strip().splitlines()) == 1


def test_pairs_without_a_class_other_is_refused_in_one_line(tiny_data, tmp_path, capsys):
    out = tmp_path / "p.hdl"
    assert main(["letters", "--data", str(tiny_data), "--threads", "1", "--pairs", "0.1", "--quiet", "--no-db",
                 "--max-batches", "2", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "--pairs 0.1: dataset 'letters' has no class 'other'" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
