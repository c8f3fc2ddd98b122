"""`hdl-native splice`: the reader, the gene-family split (no family and no sequence on two sides), and a
short run on the real data (skipped without HDL_DATA)."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import hdl_native
from hdl_native.dna.classifier import confusion_matrix
from hdl_native.dna.data import CLASSES, read_splice, splice_path
from hdl_native.dna.split import family_ids, family_of, split_by_family
from hdl_native.errors import DataError

REPO = Path(hdl_native.__file__).resolve().parent.parent  # the installed package's parent, never a bare checkout


def write_csv(path, rows):
    path.write_text("Class, Donor, Sequence\n" + "".join(f"{c},  {n},   {s}\n" for c, n, s in rows))
    return path


def sequence(seed):
    return "".join(np.random.default_rng(seed).choice(list("ACGT"), 60))


def assert_sides_disjoint(names, sequences, sides):
    families = family_ids(names, sequences)
    seen = {}
    for side, rows in sides.items():
        for family in set(families[rows]):
            assert seen.setdefault(family, side) == side, f"family {family} is in {seen[family]} and {side}"
    assert sorted(np.concatenate(list(sides.values()))) == list(range(len(names)))


def test_reader_strips_the_padding(tmp_path):
    rows = [("EI", "HUMA-DONOR-1", sequence(0)), ("N", "HUMB-NEG-2", "N" + sequence(1)[1:])]
    path = write_csv(tmp_path / "splice.csv", rows)
    data = read_splice(path)
    assert data.names == ["HUMA-DONOR-1", "HUMB-NEG-2"]
    assert data.sequences.shape == (2, 60) and data.labels.tolist() == [0, 2]
    assert "ACGT"[data.sequences[0, 0]] == sequence(0)[0]


@pytest.mark.parametrize("row", [("XX", "HUMA-1", sequence(0)), ("EI", "HUMA-1", sequence(0)[:59]),
                                 ("EI", "HUMA-1", "Q" + sequence(0)[1:])], ids=["class", "length", "base"])
def test_reader_names_a_malformed_line(tmp_path, row):
    path = write_csv(tmp_path / "splice.csv", [("IE", "HUMA-2", sequence(1)), row])
    with pytest.raises(DataError, match="line 3"):
        read_splice(path)


def test_variants_of_a_gene_and_shared_sequences_form_one_family():
    assert family_of("HUMAPOC2G-DONOR-12") == family_of("HUMAPOCII-NEG-3") == "HUMAPOC"
    names = ["HUMAPOC2-DONOR-1", "HUMAPOCII-NEG-5", "HUMXYZ1-NEG-2", "CHKINS-DONOR-3"]
    sequences = np.array([[0] * 60, [1] * 60, [2] * 60, [2] * 60])  # the last two share a sequence
    families = family_ids(names, sequences)
    assert families[0] == families[1] and families[2] == families[3] and families[0] != families[2]


def test_split_keeps_every_family_on_one_side():
    rng = np.random.default_rng(0)
    names = [f"HUMG{gene:03d}{variant}-NEG-{i}" for i, (gene, variant) in   # 40 genes in variants
             enumerate(zip(rng.integers(0, 40, 300), rng.choice(["A", "B", "2G", ""], 300)))]
    sequences = rng.integers(0, 4, (300, 60))
    sequences[10] = sequences[200]  # an exact duplicate across two families
    sides = split_by_family(names, sequences, seed=3)
    assert_sides_disjoint(names, sequences, sides)
    assert all(len(rows) for rows in sides.values())
    side_of = {row: side for side, rows in sides.items() for row in rows}
    assert side_of[10] == side_of[200]


def test_confusion_matrix_counts_true_rows_and_predicted_columns():
    confusion = confusion_matrix(np.array([0, 0, 1, 2, 2]), np.array([0, 2, 1, 2, 0]))
    np.testing.assert_array_equal(confusion, [[1, 0, 1], [0, 1, 0], [1, 0, 1]])


def test_an_ensemble_predicts_the_class_of_its_mean_probabilities():
    from hdl_native.dna.classifier import SpliceRNN, predict, predict_ensemble, probabilities
    sequences = np.random.default_rng(0).integers(0, 4, (7, 60))
    models = [SpliceRNN(hidden=6, seed=seed) for seed in (1, 2, 3)]
    for model in models:  # opinionated untrained networks, so that they disagree
        model.head_forwards.weight.data[...] *= 30
    each = [probabilities(model, sequences) for model in models]
    for p in each:
        np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(predict_ensemble(models, sequences), np.argmax(sum(each), axis=1))
    np.testing.assert_array_equal(predict_ensemble(models[:1], sequences), predict(models[0], sequences))
    assert len({tuple(np.argmax(p, axis=1)) for p in each}) > 1  # the members disagree somewhere: a real test


def test_real_data_split_is_disjoint_and_classified(data_root):
    if not (data_root / "dna" / "splice.csv").is_file():
        pytest.skip(f"{data_root / 'dna' / 'splice.csv'} not found")
    data = read_splice(splice_path(data_root))
    assert len(data.names) == 3190 and np.bincount(data.labels).tolist() == [767, 768, 1655]
    sides = split_by_family(data.names, data.sequences)
    assert_sides_disjoint(data.names, data.sequences, sides)
    test_sequences = {data.sequences[i].tobytes() for i in sides["test"]}
    assert not test_sequences & {data.sequences[i].tobytes() for i in sides["train"]}
    result = subprocess.run([sys.executable, "-m", "hdl_native", "splice", "--epochs", "3", "--threads", "1",
                             "--ensemble", "2", "--data", str(data_root), "--quiet", "--json"],
                            capture_output=True, text=True, timeout=600, cwd=REPO)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    confusion = np.array(summary["confusion"])
    assert summary["classes"] == CLASSES and confusion.sum() == len(sides["test"])
    assert summary["test_accuracy"] == pytest.approx(100 * np.trace(confusion) / confusion.sum())
    assert summary["test_accuracy"] > 51.9 + 10  # well above always guessing N, even after 3 epochs
    assert summary["ensemble"] == 2 and len(summary["best_epochs"]) == 2
    assert all(1 <= epoch <= 3 for epoch in summary["best_epochs"])


def test_missing_data_is_one_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "hdl_native", "splice", "--data", str(tmp_path)],
                            capture_output=True, text=True, timeout=300, cwd=REPO)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "dna/splice.csv" in result.stderr and len(result.stderr.strip().splitlines()) == 1



@pytest.mark.parametrize("rows, message", [
    (3, "its 3 sequences leave the validation split empty"),
    (20, "sequences, fewer than a batch of 32; use a smaller --batch-size"),
], ids=["a-side-empty", "less-than-a-batch"])
def test_a_file_too_small_to_split_or_batch_is_one_line(tmp_path, rows, message):
    """A splice.csv cut short ended in a traceback (no validation epoch was best) or trained on no batch at all,
    numpy warning of empty means and the run reporting NaN."""
    (tmp_path / "dna").mkdir()
    path = write_csv(tmp_path / "dna" / "splice.csv",
                     [(CLASSES[i % 3], f"HUM{i:04d}-{i}", sequence(i)) for i in range(rows)])
    result = subprocess.run([sys.executable, "-m", "hdl_native", "splice", "--data", str(tmp_path), "--epochs", "1",
                             "--ensemble", "1", "--hidden", "4", "--threads", "1"],
                            capture_output=True, text=True, timeout=300, cwd=REPO)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert f"{path} is too small" in result.stderr and message in result.stderr


def test_an_unreadable_file_is_one_data_error(tmp_path):
    """open() failing (no permission, a read error) reached the user as a traceback; the directory stands in
    for it, since root (which runs these tests in places) may read any file."""
    with pytest.raises(DataError, match=f"cannot read {tmp_path}: Is a directory"):
        read_splice(tmp_path)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a POSIX user that permissions apply to")
def test_a_file_without_read_permission_is_one_data_error(tmp_path):
    path = write_csv(tmp_path / "splice.csv", [("EI", "HUMA-1", sequence(0))])
    path.chmod(0)
    with pytest.raises(DataError, match="cannot read .*: Permission denied"):
        read_splice(path)


def test_a_file_without_the_header_keeps_its_first_row(tmp_path):
    """The first line was skipped as the header whatever it held, losing a row of a file written without one."""
    path = tmp_path / "splice.csv"
    path.write_text(f"EI,  HUMA-DONOR-1,  {sequence(0)}\nN,  HUMB-NEG-2,  {sequence(1)}\n")
    assert read_splice(path).names == ["HUMA-DONOR-1", "HUMB-NEG-2"]


def test_a_file_whose_training_split_lacks_a_class_is_one_line(tmp_path):
    """The rows are sorted by class: splice.csv cut at a line held only EI rows, and a run reported 'test accuracy
    100.00%' on them."""
    (tmp_path / "dna").mkdir()
    path = write_csv(tmp_path / "dna" / "splice.csv", [("EI", f"HUM{i:04d}-{i}", sequence(i)) for i in range(120)])
    result = subprocess.run([sys.executable, "-m", "hdl_native", "splice", "--data", str(tmp_path), "--epochs", "1",
                             "--ensemble", "1", "--hidden", "4", "--threads", "1"],
                            capture_output=True, text=True, timeout=300, cwd=REPO)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert f"{path} gives the training split no sequence of class IE or N (the file holds 120 EI, 0 IE, 0 N)" \
        in result.stderr


def test_a_data_root_that_cannot_be_looked_into_is_one_data_error(tmp_path):
    """splice --data with a folder that may not be searched (or, as here, a name too long) ended in a traceback
    from pathlib's is_file()."""
    with pytest.raises(DataError, match="cannot look for .*dna/splice.csv: File name too long"):
        splice_path(tmp_path / ("x" * 300))


@pytest.mark.parametrize("row, problem", [
    (("EI", "HUMA-1", sequence(0)[:59] + "X"), "base 60 is 'X'"),
    (("EI", "HUMA-1", sequence(0)[:40]), "got 40 bases"),
    (("EU", "HUMA-1", sequence(0)), "got the class 'EU'"),
], ids=["last-base", "short", "class"])
def test_a_malformed_line_is_named_with_what_is_wrong_in_it(tmp_path, row, problem):
    """The message quoted the line's first 90 characters, which end before the last bases: a bad base there was
    not shown, and the user was left to find it."""
    path = write_csv(tmp_path / "splice.csv", [("IE", "HUMA-2", sequence(1)), row])
    with pytest.raises(DataError, match=f"line 3: .*; {re.escape(problem)}"):
        read_splice(path)
