"""A reader of the capitals apart (--model letters-vgg-cases): the case files it learns from, the columns each
label allows, reading a letter as p(small) + p(capital), and a run that learns what the case files say.

The two graph ops it rests on (F.group_logsumexp, F.cross_entropy_among) are checked with every other op
(tests/opinfo.py: float64 references and finite differences).
"""
import re

import numpy as np
import pytest

from hdl_native.checkpoint import load_model
from hdl_native.cli import main
from hdl_native.data import load_dataset, normalize, write_idx
from hdl_native.data.cases import CAPITAL, SMALL, UNKNOWN, source_cases
from hdl_native.data.datasets import clear_cache
from hdl_native.errors import DataError
from hdl_native.models import LettersVGGCases
from hdl_native.tensor import Tensor
from hdl_native.training.cases import allowed_columns, read_classes
from hdl_native.training.config import RunConfig
from hdl_native.training.start import training_data
from tiny_sets import bar_images, write_tiny_data

NOT = np.float32(-1e30)


def write_cased_set(root, name, n, cases_of=lambda labels: labels % 2, seed=0):
    """A {name}/ folder of bar images with a case file (default: odd labels capitals) for both splits."""
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    for split in ("train", "test"):
        images, labels = bar_images(n, 26, seed)
        write_idx(folder / f"{name}-{split}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{name}-{split}-labels-idx1-ubyte.gz", labels)
        write_idx(folder / f"{name}-{split}-case-idx1-ubyte.gz", np.asarray(cases_of(labels), np.uint8))
    return folder


@pytest.fixture
def cased_root(tmp_path):
    clear_cache()
    root = write_tiny_data(tmp_path / "data")
    write_cased_set(root, "unipen", 130)
    yield root
    clear_cache()


def test_a_mixture_carries_the_case_of_the_sets_that_record_it(cased_root):
    mixture = load_dataset("letters,unipen", "train", cased_root)
    unipen = load_dataset("unipen", "train", cased_root)
    np.testing.assert_array_equal(mixture.cases[:260], UNKNOWN)  # letters/ ships no case file
    np.testing.assert_array_equal(mixture.cases[260:], unipen.labels % 2)
    np.testing.assert_array_equal(source_cases(unipen), unipen.labels % 2)
    assert source_cases(mixture) is mixture.cases


def test_the_kept_training_letters_keep_their_cases(cased_root):
    train, test = (load_dataset("letters,unipen", split, cased_root) for split in ("train", "test"))
    (images, labels, _, cases), _ = training_data(RunConfig(dataset="letters,unipen", holdout=60), train, test)
    index_of = {image.tobytes(): i for i, image in enumerate(train.images)}
    from_unipen = np.array([index_of[image.tobytes()] >= 260 for image in images])
    assert len(cases) == len(labels) < 390 and from_unipen.any() and not from_unipen.all()
    np.testing.assert_array_equal(cases[from_unipen], labels[from_unipen] % 2)
    np.testing.assert_array_equal(cases[~from_unipen], UNKNOWN)


@pytest.mark.parametrize("cases, wanted", [(np.zeros(7), "7 cases for 130 images"),
                                           (np.full(130, 2), "case 2, expected 0 (small) or 1 (capital)")])
def test_a_case_file_that_does_not_fit_is_named(cased_root, cases, wanted):
    path = cased_root / "unipen" / "unipen-train-case-idx1-ubyte.gz"
    write_idx(path, cases.astype(np.uint8))
    with pytest.raises(DataError, match=re.escape(wanted)) as error:
        source_cases(load_dataset("unipen", "train", cased_root))
    assert str(path) in str(error.value)


def test_each_label_allows_its_own_column_or_both_cases_when_unknown():
    model = LettersVGGCases(n_classes=27)
    labels = np.array([0, 0, 0, 25, 26, 26])
    cases = np.array([SMALL, CAPITAL, UNKNOWN, CAPITAL, UNKNOWN, CAPITAL], np.int8)
    allowed = allowed_columns(labels, cases, model) == 0
    want = np.zeros((6, 53), bool)
    for row, columns in enumerate([[0], [27], [0, 27], [52], [26], [26]]):  # 'other' (26) has no capital
        want[row, columns] = True
    np.testing.assert_array_equal(allowed, want)
    assert set(np.unique(allowed_columns(labels, cases, model))) == {0.0, NOT}


def test_the_reader_reads_a_letter_as_its_small_and_capital_summed():
    model = LettersVGGCases(n_classes=27, seed=3).eval()
    images = np.random.default_rng(0).standard_normal((5, 1, 28, 28)).astype(np.float32)
    logits = model.logits(Tensor(images)).numpy().astype(np.float64)
    log_probs = model(Tensor(images)).numpy()
    probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    merged = probabilities[:, :27].copy()
    merged[:, :26] += probabilities[:, 27:]
    assert logits.shape == (5, 53) and log_probs.shape == (5, 27)
    np.testing.assert_allclose(np.exp(log_probs), merged, rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(read_classes(logits, model), merged.argmax(axis=1))


def test_a_run_learns_the_case_its_set_records_and_reads_27_classes(cased_root, tmp_path, monkeypatch):
    """unipen here is all capitals: trained on it, the capitals' columns take the probability; the state reads
    as 27 classes in float32 and in int8."""
    write_cased_set(cased_root, "unipen", 130, cases_of=lambda labels: np.ones_like(labels))
    clear_cache()
    monkeypatch.chdir(tmp_path)
    assert main(["letters", "--model", "letters-vgg-cases", "--dataset", "unipen", "--data", str(cased_root),
                 "--adam", "--epochs", "20", "--threads", "1", "--quiet", "--no-db", "--out", "cases.hdl"]) == 0
    model, meta = load_model(tmp_path / "cases.hdl")
    assert isinstance(model, LettersVGGCases) and len(meta["classes"]) == 26
    images, labels = bar_images(130, 26, 0)
    normalised = normalize(images, meta["normalization"]["mean"], meta["normalization"]["std"])  # (130, 1, 28, 28)
    logits = model.eval().logits(Tensor(normalised)).numpy().astype(np.float64)
    probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    capitals = probabilities[:, 26:].sum(axis=1)
    assert np.median(capitals) > 0.9, np.median(capitals)
    assert np.mean(read_classes(logits, model) == labels) > 0.75  # chance: 1 in 26
    from hdl_native.int8 import Int8Classifier

    int8 = Int8Classifier.from_float(model, normalised)
    read = int8(normalised)
    assert read.shape == (130, 26)
    assert np.mean(read.argmax(axis=1) == read_classes(logits, model)) > 0.95


@pytest.mark.parametrize("option", [["--mixup", "0.2"], ["--label-smoothing", "0.1"]])
def test_options_that_take_a_label_as_one_column_are_refused(tiny_data, tmp_path, capsys, option):
    code = main(["letters", "--model", "letters-vgg-cases", "--data", str(tiny_data), *option, "--epochs", "1",
                 "--quiet", "--no-db", "--out", str(tmp_path / "x.hdl")])
    assert code == 2
    err = capsys.readouterr().err
    assert f"{option[0]} does not combine with --model letters-vgg-cases" in err and "Traceback" not in err
    assert not (tmp_path / "x.hdl").exists()


def test_a_dataset_without_the_letters_is_refused(tiny_data, tmp_path, capsys):
    code = main(["letters", "--model", "letters-vgg-cases", "--dataset", "mnist", "--data", str(tiny_data),
                 "--epochs", "1", "--quiet", "--no-db", "--out", str(tmp_path / "x.hdl")])
    assert code == 2 and "reads the letters a..z with their capitals" in capsys.readouterr().err


