"""The accuracy's bootstrap interval: whole writers resampled, single images where no writer is recorded."""
import gzip
import json
from dataclasses import replace

import numpy as np
import pytest

from hdl_native.checkpoint import save_checkpoint
from hdl_native.cli import main
from hdl_native.data.datasets import LETTERS, clear_cache
from hdl_native.inspect.evaluation import compare_reports, evaluate_state
from hdl_native.intervals import accuracy_interval, describe_groups, difference_interval, writer_groups
from hdl_native.models import LettersCNN
from test_data_mixture import write_letter_set


@pytest.fixture
def letter_sets(tmp_path):
    """Tiny letters/ (52 letters, no writers) and unipen/ (30 letters of 3 writers) folders in the shared layout."""
    clear_cache()
    root = tmp_path / "data"
    write_letter_set(root, "letters", 52, seed=0)
    unipen = write_letter_set(root, "unipen", 30, seed=2)
    for split in ("train", "test"):
        with gzip.open(unipen / f"unipen-{split}-meta.tsv.gz", "wt") as meta:
            meta.writelines(f"ibm\tr{i // 10}\tf.dat\t1\ta\n" for i in range(30))
    yield root
    clear_cache()


def test_all_right_or_all_wrong_leaves_no_room():
    assert accuracy_interval(np.ones(40, dtype=bool)) == (100.0, 100.0)
    assert accuracy_interval(np.zeros(40, dtype=bool), writers=np.repeat([0, 1], 20)) == (0.0, 0.0)


def test_a_writer_who_gets_everything_wrong_counts_as_one_writer_not_fifty_images():
    correct = np.repeat([True, False], 50)  # writer 0 reads perfectly, writer 1 never
    writers = np.repeat([0, 1], 50)
    by_writer = accuracy_interval(correct, writers)
    by_image = accuracy_interval(correct)
    assert by_writer == (0.0, 100.0)  # two writers drawn again: both the good one, both the bad one, or one each
    assert 38 < by_image[0] < 50 < by_image[1] < 62  # as if 100 independent images: about 50 +- 10


def test_independent_images_give_the_binomial_width():
    rng = np.random.default_rng(7)
    correct = rng.random(1000) < 0.9
    low, high = accuracy_interval(correct)
    accuracy = 100 * correct.mean()
    assert low < accuracy < high
    expected = 2 * 1.96 * 100 * np.sqrt(correct.mean() * (1 - correct.mean()) / 1000)  # 3.7 points
    assert abs((high - low) - expected) < 0.6
    narrower = accuracy_interval(correct, level=0.5)
    assert low < narrower[0] < narrower[1] < high


def test_the_same_seed_gives_the_same_interval_and_another_one_nearly_it():
    rng = np.random.default_rng(1)
    correct, writers = rng.random(600) < 0.8, rng.integers(0, 30, 600)
    assert accuracy_interval(correct, writers, seed=3) == accuracy_interval(correct, writers, seed=3)
    other = accuracy_interval(correct, writers, seed=4)
    assert other != accuracy_interval(correct, writers, seed=3)
    assert np.allclose(other, accuracy_interval(correct, writers, seed=3), atol=1.0)


def test_images_without_a_writer_are_writers_of_one():
    np.testing.assert_array_equal(writer_groups(np.array([5, 5, -1, 7, -1, 5]), 6), [0, 0, 2, 1, 3, 0])
    np.testing.assert_array_equal(writer_groups(None, 3), [0, 1, 2])
    correct = np.random.default_rng(2).random(200) < 0.7
    assert accuracy_interval(correct, np.full(200, -1)) == accuracy_interval(correct, None)


@pytest.mark.parametrize("writers, phrase", [
    (None, "984 images"), (np.full(984, -1), "984 images"), (np.arange(984) % 61, "61 writers"),
    (np.where(np.arange(984) < 900, np.arange(984) % 3, -1), "3 writers and 84 images"),
    (np.where(np.arange(984) < 983, 7, -1), "1 writer and 1 image"),
])
def test_what_was_resampled_is_named(writers, phrase):
    assert describe_groups(writers, 984) == phrase


@pytest.mark.parametrize("call, message", [
    (lambda: accuracy_interval(np.zeros(0, dtype=bool)), "at least one image"),
    (lambda: accuracy_interval(np.ones(4, dtype=bool), level=1.0), "level"),
    (lambda: accuracy_interval(np.ones(4, dtype=bool), writers=np.zeros(3)), r"\(4,\)"),
])
def test_bad_arguments_say_what_is_wrong(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_evaluate_resamples_unipens_writers_and_a_mixtures_sources_apart(letter_sets, tmp_path):
    state = save_checkpoint(tmp_path / "reader.hdl", LettersCNN(n_classes=26, seed=0), classes=LETTERS,
                            dataset="unipen")
    report = evaluate_state(state, letter_sets)
    assert report.interval_over == "3 writers"
    low, high = report.accuracy_interval
    assert low <= report.test_accuracy <= high
    mixed = evaluate_state(state, letter_sets, dataset="letters,unipen")
    assert mixed.interval_over == "3 writers and 52 images"
    assert mixed.per_source["unipen"]["interval_over"] == "3 writers"
    assert mixed.per_source["letters"]["interval_over"] == "52 images"
    for part in mixed.per_source.values():
        assert part["interval"][0] <= part["accuracy"] <= part["interval"][1]


def test_evaluate_prints_the_interval_and_puts_it_in_the_json(letter_sets, tmp_path, capsys):
    state = save_checkpoint(tmp_path / "reader.hdl", LettersCNN(n_classes=26, seed=0), classes=LETTERS,
                            dataset="letters")
    assert main(["evaluate", str(state), "--data", str(letter_sets), "--threads", "1", "--json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    summary = json.loads(lines[-1])
    low, high = summary["accuracy_interval"]
    assert low <= summary["test_accuracy"] <= high and summary["interval_level"] == 0.95
    assert summary["interval_over"] == "52 images"
    assert (f"  95% interval of the accuracy, resampling 52 images (the split records no writers): "
            f"{low:.2f} to {high:.2f}%") in lines


def test_a_paired_difference_is_narrower_than_either_accuracy_and_has_the_right_sign():
    rng = np.random.default_rng(5)
    writers = np.repeat(np.arange(40), 50)
    hard = rng.random(40)[writers] * 0.6  # some writers are hard for both readers
    first = rng.random(2000) > hard
    second = first & (rng.random(2000) > 0.04)  # the second reader loses a few more, on the same writers
    low, high = difference_interval(first, second, writers)
    difference = 100 * (first.mean() - second.mean())
    assert 0 < low < difference < high
    assert high - low < 0.5 * np.subtract(*accuracy_interval(first, writers)[::-1])
    assert difference_interval(second, first, writers) == pytest.approx((-high, -low))
    assert difference_interval(first, first, writers) == (0.0, 0.0)
    with pytest.raises(ValueError, match="same images"):
        difference_interval(first, second[:-1], writers)


def test_evaluate_against_another_reader_of_the_same_images(letter_sets, tmp_path, capsys):
    first = save_checkpoint(tmp_path / "first.hdl", LettersCNN(n_classes=26, seed=0), classes=LETTERS,
                            dataset="letters,unipen")
    second = save_checkpoint(tmp_path / "second.hdl", LettersCNN(n_classes=26, seed=1), classes=LETTERS,
                             dataset="letters,unipen")
    a, b = evaluate_state(first, letter_sets), evaluate_state(second, letter_sets)
    compared = compare_reports(a, b, second)
    assert compared["difference"] == pytest.approx(a.test_accuracy - b.test_accuracy)
    assert compared["difference_interval"] == list(difference_interval(a.correct, b.correct, a.writers))
    assert a.writers is not None and (a.writers >= 0).sum() == 30  # unipen's three writers, resampled whole
    for source in ("letters", "unipen"):
        part = compared["per_source"][source]
        assert part["difference"] == pytest.approx(a.per_source[source]["accuracy"] - b.per_source[source]["accuracy"])
    assert compare_reports(a, a, first)["difference_interval"] == [0.0, 0.0]
    unaugmented = evaluate_state(second, letter_sets, augmented=False)  # as --against reads the second reader
    assert unaugmented.augmented_accuracy is None and b.augmented_accuracy is not None
    assert np.array_equal(unaugmented.correct, b.correct) and compare_reports(a, unaugmented, second) == compared
    everything = replace(a, correct=np.ones_like(a.correct), test_accuracy=100.0)
    two_in_three = np.arange(len(a.correct)) % 3 != 0
    thirds = replace(b, correct=two_in_three, test_accuracy=100 * two_in_three.mean())
    low, high = compare_reports(everything, thirds, second)["difference_interval"]
    assert 0 < low <= high  # reading everything is better than missing every third image
    low, high = compare_reports(thirds, everything, first)["difference_interval"]
    assert low <= high < 0
    assert main(["evaluate", str(first), "--against", str(second), "--data", str(letter_sets), "--threads", "1",
                 "--json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert json.loads(lines[-1])["against"]["difference"] == pytest.approx(compared["difference"])
    assert any(line.startswith(f"  against {second} ") for line in lines)


def test_evaluate_against_a_reader_of_other_classes_is_one_line(letter_sets, tmp_path, capsys):
    letters = save_checkpoint(tmp_path / "letters.hdl", LettersCNN(n_classes=26, seed=0), classes=LETTERS,
                              dataset="letters")
    digits = save_checkpoint(tmp_path / "digits.hdl", LettersCNN(n_classes=10, seed=0),
                             classes=[str(d) for d in range(10)], dataset="mnist")
    assert main(["evaluate", str(letters), "--against", str(digits), "--data", str(letter_sets)]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and str(digits) in error
