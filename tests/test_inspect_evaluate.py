"""`hdl-native evaluate`: a saved model measured on a test split, batched, with augmentation and confusions."""
import json

import numpy as np
import pytest

import hdl_native as hdl
from hdl_native.checkpoint import save_checkpoint
from hdl_native.cli import main
from hdl_native.data import augment, load_dataset, normalize, write_idx
from hdl_native.errors import HDLError
from hdl_native.inspect.evaluation import evaluate_state, most_confused, per_class_accuracy
from hdl_native.models import DigitsMLP


def tiny_mnist(root, n_images=37, seed=0):
    """root/mnist with a small random test split; returns (images, labels)."""
    rng = np.random.default_rng(seed)
    images = (rng.random((n_images, 28, 28)) ** 3 * 255).astype(np.uint8)
    labels = rng.integers(0, 10, n_images).astype(np.uint8)
    (root / "mnist").mkdir(parents=True)
    write_idx(root / "mnist" / "t10k-images-idx3-ubyte.gz", images)
    write_idx(root / "mnist" / "t10k-labels-idx1-ubyte.gz", labels)
    return images, labels.astype(np.int64)


def reference_log_probs(model, images):
    """The model's log-probabilities, one fresh graph over all images at once (no batching)."""
    return model(hdl.Tensor(normalize(images))).numpy()


@pytest.fixture
def setup(tmp_path):
    images, labels = tiny_mnist(tmp_path / "data")
    model = DigitsMLP(seed=3)
    state = save_checkpoint(tmp_path / "digits.hdl", model, dataset="mnist", classes=[str(d) for d in range(10)],
                            normalization={"mean": 0.172575, "std": 0.25})
    return tmp_path, state, model, images, labels


def test_report_matches_an_unbatched_reference(setup):
    tmp_path, state, model, images, labels = setup
    report = evaluate_state(state, tmp_path / "data", batch_size=8, seed=5)  # 37 images: 5 batches, last one short
    log_probs = reference_log_probs(model, images)
    predictions = log_probs.argmax(axis=1)
    assert report.n_images == 37 and report.dataset == "mnist"
    assert report.test_accuracy == pytest.approx(100 * np.mean(predictions == labels))
    top2 = np.argsort(-log_probs, axis=1)[:, :2]
    assert report.top2_accuracy == pytest.approx(100 * np.mean((top2 == labels[:, None]).any(axis=1)))
    augmented = reference_log_probs(model, augment(images, np.random.default_rng(5))).argmax(axis=1)
    assert report.augmented_accuracy == pytest.approx(100 * np.mean(augmented == labels))
    for digit in range(10):
        mine = labels == digit
        if mine.any():
            assert report.per_class[str(digit)] == pytest.approx(100 * np.mean(predictions[mine] == digit))
    assert report.confusion.sum() == 37
    for true, predicted, count in report.confused_pairs:
        assert count == np.sum((labels == int(true)) & (predictions == int(predicted))) and true != predicted


def test_same_seed_same_augmented_accuracy(setup):
    tmp_path, state, *_ = setup
    first = evaluate_state(state, tmp_path / "data", seed=1)
    again = evaluate_state(state, tmp_path / "data", seed=1)
    assert first.augmented_accuracy == again.augmented_accuracy


def test_per_class_and_confused_pairs_from_a_known_matrix():
    confusion = np.array([[5, 2, 0], [0, 3, 1], [4, 0, 0]])
    classes = ["a", "b", "c"]
    per_class = per_class_accuracy(confusion, classes)
    assert per_class["a"] == pytest.approx(500 / 7) and per_class["b"] == pytest.approx(75.0)
    assert per_class["c"] == 0.0
    assert most_confused(confusion, classes) == [["c", "a", 4], ["a", "b", 2], ["b", "c", 1]]
    assert per_class_accuracy(np.zeros((2, 2), dtype=int), ["x", "y"]) == {}  # classes without test images are left out


def test_cli_json_on_the_last_line(setup, capsys):
    tmp_path, state, *_ = setup
    code = main(["evaluate", str(state), "--data", str(tmp_path / "data"), "--json", "--threads", "1",
                 "--plot", str(tmp_path / "pictures")])
    assert code == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for key in ("test_accuracy", "top2_accuracy", "augmented_accuracy", "per_class", "confused_pairs"):
        assert key in summary
    assert sorted(summary["per_class"]) == [str(d) for d in range(10)]
    assert 0 <= summary["test_accuracy"] <= summary["top2_accuracy"] <= 100
    assert (tmp_path / "pictures" / "confusion.png").stat().st_size > 1000
    assert [layer["layer"] for layer in summary["weights"]] == ["fc1", "fc2", "fc3"]
    assert summary["weights"][0]["values"] == 784 * 128 and summary["weights"][0]["full_rank"] == 128


def test_errors_are_clear(setup, capsys):
    tmp_path, state, model, *_ = setup
    assert main(["evaluate", str(tmp_path / "missing.hdl"), "--data", str(tmp_path / "data")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["evaluate", str(state), "--data", str(tmp_path / "data"), "--dataset", "letters"]) == 2
    assert "letters" in capsys.readouterr().err  # not present under this root
    unnamed = save_checkpoint(tmp_path / "unnamed.hdl", model)
    with pytest.raises(HDLError, match="--dataset"):
        evaluate_state(unnamed, tmp_path / "data")


def test_a_plot_folder_that_is_a_file_is_reported_before_evaluating(setup, capsys):
    tmp_path, state, *_ = setup
    (tmp_path / "in.jpg").write_bytes(b"a picture")
    for plot in (tmp_path / "in.jpg", state):
        # a data root that does not exist shows that the check comes before any test image is read
        assert main(["evaluate", str(state), "--data", str(tmp_path / "nowhere"), "--plot", str(plot)]) == 2
        assert capsys.readouterr().err.strip() == (f"hdl-native evaluate: error: --plot {plot} is a file, not a "
                                                   "folder; give a folder for the PNG pictures")


def test_mismatched_classes(setup, tmp_path):
    _, _, _, images, _ = setup
    (tmp_path / "data" / "letters").mkdir()
    write_idx(tmp_path / "data" / "letters" / "letters-test-images-idx3-ubyte.gz", images)
    write_idx(tmp_path / "data" / "letters" / "letters-test-labels-idx1-ubyte.gz", np.zeros(len(images), np.uint8))
    state = save_checkpoint(tmp_path / "d.hdl", DigitsMLP(seed=0), dataset="letters")
    with pytest.raises(HDLError, match=r"10 outputs \(0, 1, 2, 3, 4, \.\.\.\) but dataset 'letters' has 26 classes "
                                       "it does not know"):
        evaluate_state(state, tmp_path / "data")


def test_real_letters_test_split_by_default(data_root, tmp_path):
    from conftest import require_dataset
    from hdl_native.models import LettersCNN

    require_dataset(data_root, "letters")
    state = save_checkpoint(tmp_path / "untrained.hdl", LettersCNN(seed=0), dataset="letters",
                            classes=[chr(ord("a") + i) for i in range(26)])
    report = evaluate_state(state, data_root)
    assert report.dataset == "letters" and report.n_images == 984
    assert list(report.per_class) == [chr(ord("a") + i) for i in range(26)]
    test_labels = load_dataset("letters", "test", data_root).labels
    assert report.confusion.sum(axis=1).tolist() == np.bincount(test_labels, minlength=26).tolist()


def test_a_reader_with_the_class_other_is_tested_on_a_letters_only_split(tiny_data):
    from hdl_native.checkpoint import save_checkpoint
    from hdl_native.data.datasets import LETTERS, NOT_A_LETTER
    from hdl_native.models import LettersCNN

    path = tiny_data / "reader.hdl"
    save_checkpoint(path, LettersCNN(n_classes=27, seed=0), classes=LETTERS + [NOT_A_LETTER], dataset="letters")
    report = evaluate_state(path, tiny_data)
    assert report.classes[-1] == NOT_A_LETTER and report.confusion.shape == (27, 27)
    assert report.confusion[:, :26].sum(axis=1)[:26].sum() + report.confusion[:26, 26].sum() == report.n_images
    assert NOT_A_LETTER not in report.per_class  # no test image of it
    with pytest.raises(HDLError, match="10 classes it does not know"):
        evaluate_state(path, tiny_data, dataset="mnist")


def test_best_letter_scores_leave_other_aside():
    from dataclasses import replace

    from hdl_native.data.datasets import NOT_A_LETTER
    from hdl_native.inspect.evaluation import best_letter_scores
    from tiny_sets import bar_images

    images, _ = bar_images(4, 3, 0)
    test = hdl.data.Dataset("mix", "test", images, np.array([0, 1, 2, 1]), ["a", "b", NOT_A_LETTER], None, None,
                            sources=np.array([0, 0, 1, 1]), source_names=("letters", "other-set"))
    log_probs = np.log(np.array([[0.2, 0.1, 0.7],    # a, 'other' first, a next: right once 'other' is aside
                                 [0.6, 0.3, 0.1],    # b read as a: wrong either way
                                 [0.1, 0.1, 0.8],    # a true 'other': not a letter, not scored
                                 [0.1, 0.5, 0.4]]))  # b: right
    accuracy, per_source, interval = best_letter_scores(test, log_probs)
    assert accuracy == pytest.approx(100 * 2 / 3)
    assert {name: (part["accuracy"], part["images"]) for name, part in per_source.items()} == {
        "letters": (50.0, 2), "other-set": (100.0, 1)}
    assert per_source["other-set"]["interval"] == [100.0, 100.0]  # its one letter, read right in every draw
    assert interval[0] <= accuracy <= interval[1] and interval[0] < interval[1]
    # One writer wrote both letters of the first set: resampled whole, the pair is right half the time in every draw
    _, per_writer, _ = best_letter_scores(test, log_probs, writers=np.array([4, 4, -1, 9]))
    assert per_writer["letters"]["interval"] == [50.0, 50.0] and per_writer["letters"]["interval_over"] == "1 writer"
    assert best_letter_scores(replace(test, classes=["a", "b", "c"]), log_probs) == (None, {}, None)


def test_a_mixtures_calibration_error_is_measured_on_each_source_alone():
    from hdl_native.calibration import expected_calibration_error
    from hdl_native.inspect.evaluation import with_calibration_per_source
    from tiny_sets import bar_images

    images, _ = bar_images(6, 3, 0)
    labels, sources = np.array([0, 1, 2, 0, 1, 2]), np.array([0, 0, 0, 1, 1, 1])
    test = hdl.data.Dataset("mix", "test", images, labels, ["a", "b", "c"], None, None, sources=sources,
                            source_names=("sure-and-right", "sure-and-wrong"))
    probabilities = np.array([np.eye(3)[i] * 0.9 + 0.1 / 3 for i in (0, 1, 2, 1, 2, 0)])  # 0.933 sure each time
    per_source = with_calibration_per_source({"sure-and-right": {"images": 3}, "sure-and-wrong": {"images": 3}},
                                             test, probabilities)
    assert per_source["sure-and-right"]["calibration_error"] == pytest.approx(1 - 0.9 - 0.1 / 3)
    assert per_source["sure-and-wrong"]["calibration_error"] == pytest.approx(0.9 + 0.1 / 3)
    whole = expected_calibration_error(probabilities, labels)
    assert whole == pytest.approx(0.5 * (0.9 + 0.1 / 3) - 0.5 * (1 - 0.9 - 0.1 / 3))  # one bin: the gaps cancel
