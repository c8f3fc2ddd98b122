"""Named datasets: EMNIST's transposition and label shift undone, consistency checks, missing-data
messages, the data root's precedence, and the real MNIST and letters sets when HDL_DATA is set."""
import argparse

import numpy as np
import pytest
from conftest import require_dataset

from hdl_native.data import DATASETS, add_data_arguments, find_data_root, load_dataset, write_idx
from hdl_native.data.datasets import clear_cache
from hdl_native.errors import DataError


@pytest.fixture(autouse=True)
def fresh_cache():
    clear_cache()
    yield
    clear_cache()


def upright_images(n, seed=0):
    """uint8 (n, 28, 28) that are visibly not symmetric: a bright bar in the top rows, at a per-image column."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 40, size=(n, 28, 28), dtype=np.uint8)
    for i in range(n):
        images[i, 2:5, 3 + i % 20] = 255
    return images


def build_emnist(root, kind, split, images_upright, nist_labels):
    """Write NIST-style files (images transposed, as NIST stores them) under root/emnist/."""
    folder = root / "emnist"
    folder.mkdir(parents=True, exist_ok=True)
    write_idx(folder / f"emnist-{kind}-{split}-images-idx3-ubyte.gz", images_upright.transpose(0, 2, 1).copy())
    write_idx(folder / f"emnist-{kind}-{split}-labels-idx1-ubyte.gz", np.asarray(nist_labels, dtype=np.uint8))


def test_emnist_letters_upright_and_labels_from_zero(tmp_path):
    images = upright_images(26)
    build_emnist(tmp_path, "letters", "train", images, np.arange(1, 27))
    ds = load_dataset("emnist-letters", "train", tmp_path)
    np.testing.assert_array_equal(ds.images, images)
    np.testing.assert_array_equal(ds.labels, np.arange(26))
    assert ds.images.dtype == np.uint8 and ds.labels.dtype == np.int64
    assert ds.n_classes == 26 and ds.classes[0] == "a" and ds.classes[25] == "z"
    assert (ds.name, ds.split, len(ds)) == ("emnist-letters", "train", 26)


def test_emnist_digits_upright_labels_unchanged(tmp_path):
    images = upright_images(10, seed=1)
    build_emnist(tmp_path, "digits", "test", images, np.arange(10)[::-1])
    ds = load_dataset("emnist-digits", "test", tmp_path)
    np.testing.assert_array_equal(ds.images, images)
    np.testing.assert_array_equal(ds.labels, np.arange(10)[::-1])
    assert ds.classes == [str(d) for d in range(10)]


def test_emnist_letters_label_zero_is_rejected(tmp_path):
    build_emnist(tmp_path, "letters", "train", upright_images(3), [0, 1, 2])
    with pytest.raises(DataError, match=r"labels run from 0 to 2, expected 1\.\.26"):
        load_dataset("emnist-letters", "train", tmp_path)


def test_mismatched_counts(tmp_path):
    build_emnist(tmp_path, "digits", "train", upright_images(5), [1, 2, 3, 4])
    with pytest.raises(DataError, match="holds 5 images but .* holds 4 labels"):
        load_dataset("emnist-digits", "train", tmp_path)


def test_wrong_image_size(tmp_path):
    (tmp_path / "mnist").mkdir()
    write_idx(tmp_path / "mnist" / "t10k-images-idx3-ubyte.gz", np.zeros((2, 20, 20), dtype=np.uint8))
    write_idx(tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz", np.zeros(2, dtype=np.uint8))
    with pytest.raises(DataError, match="20x20, expected 28x28"):
        load_dataset("mnist", "test", tmp_path)


def test_uncompressed_files_are_found_too(tmp_path):
    (tmp_path / "mnist").mkdir()
    images = upright_images(3)
    write_idx(tmp_path / "mnist" / "t10k-images-idx3-ubyte", images)
    write_idx(tmp_path / "mnist" / "t10k-labels-idx1-ubyte", np.array([7, 2, 1], dtype=np.uint8))
    ds = load_dataset("mnist", "test", tmp_path)
    np.testing.assert_array_equal(ds.images, images)
    assert ds.labels.tolist() == [7, 2, 1]


def test_missing_dataset_says_where_and_how(tmp_path):
    with pytest.raises(DataError) as info:
        load_dataset("mnist", "train", tmp_path)
    message = str(info.value)
    assert str(tmp_path / "mnist" / "train-images-idx3-ubyte.gz") in message
    assert str(tmp_path / "mnist" / "train-images-idx3-ubyte") in message
    assert f"hdl-native download mnist --dest {tmp_path}" in message
    assert "HDL_DATA" in message and "--data" in message


def test_a_data_root_that_cannot_be_looked_into_is_a_data_error(tmp_path):
    """pathlib's is_file() raises, not answers False, where a folder may not be searched or a name is too long
    (which root meets too): learn37 --data with such a folder ended in a traceback."""
    root = tmp_path / ("x" * 300)
    with pytest.raises(DataError, match="cannot look for .*train-images-idx3-ubyte.gz: File name too long"):
        load_dataset("mnist", "train", root)


def test_emnist_with_labels_only_names_missing_images(tmp_path):
    folder = tmp_path / "emnist"
    folder.mkdir()
    write_idx(folder / "emnist-letters-test-labels-idx1-ubyte.gz", np.ones(3, dtype=np.uint8))
    with pytest.raises(DataError, match="emnist-letters-test-images-idx3-ubyte.gz.*hdl-native download emnist"):
        load_dataset("emnist-letters", "test", tmp_path)


def test_unknown_names(tmp_path):
    with pytest.raises(DataError, match="unknown dataset 'fashion'"):
        load_dataset("fashion", "train", tmp_path)
    with pytest.raises(DataError, match="unknown split 'valid'"):
        load_dataset("mnist", "valid", tmp_path)


def test_arrays_are_cached_and_read_only(tmp_path):
    build_emnist(tmp_path, "digits", "train", upright_images(4), [0, 1, 2, 3])
    first = load_dataset("emnist-digits", "train", tmp_path)
    assert load_dataset("emnist-digits", "train", tmp_path) is first
    with pytest.raises(ValueError):
        first.images[0, 0, 0] = 1
    build_emnist(tmp_path, "digits", "train", upright_images(4), [3, 2, 1, 0])
    assert load_dataset("emnist-digits", "train", tmp_path).labels.tolist() == [3, 2, 1, 0]


def test_root_precedence(tmp_path, monkeypatch):
    monkeypatch.setenv("HDL_DATA", str(tmp_path / "env"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert find_data_root(str(tmp_path / "cli")) == tmp_path / "cli"
    assert find_data_root(None) == tmp_path / "env"
    monkeypatch.delenv("HDL_DATA")
    assert find_data_root(None) == tmp_path / "cache" / "hdl_native"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert find_data_root(None) == tmp_path / "home" / ".cache" / "hdl_native"


def test_default_root_named_in_missing_message(tmp_path, monkeypatch):
    monkeypatch.delenv("HDL_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    with pytest.raises(DataError, match="default cache dir"):
        load_dataset("letters", "train")


def test_add_data_arguments():
    parser = add_data_arguments(argparse.ArgumentParser(), default_dataset="letters")
    args = parser.parse_args([])
    assert (args.data, args.dataset, args.seed) == (None, "letters", 0)
    args = parser.parse_args(["--data", "/x", "--dataset", "emnist-digits", "--seed", "7"])
    assert (args.data, args.dataset, args.seed) == ("/x", "emnist-digits", 7)
    with pytest.raises(SystemExit):
        parser.parse_args(["--dataset", "cifar"])
    assert sorted(DATASETS) == ["chars74k", "emnist-digits", "emnist-letters", "letters", "mnist", "nistvowels",
                                "unipen"]
    assert parser.parse_args(["--dataset", "letters:2,unipen"]).dataset == "letters:2,unipen"


def test_real_mnist(data_root):
    require_dataset(data_root, "mnist")
    train = load_dataset("mnist", "train", data_root)
    test = load_dataset("mnist", "test", data_root)
    assert train.images.shape == (60000, 28, 28) and test.images.shape == (10000, 28, 28)
    assert train.labels[:3].tolist() == [5, 0, 4]
    assert np.bincount(train.labels).tolist()[:3] == [5923, 6742, 5958]
    assert train.images.max() == 255
    mean_one = train.images[train.labels == 1].mean(axis=0)
    rows_with_ink, cols_with_ink = (mean_one.max(axis=1) > 64).sum(), (mean_one.max(axis=0) > 64).sum()
    assert rows_with_ink > 1.5 * cols_with_ink, "an upright '1' is a tall stroke, not a wide one"


def test_real_letters(data_root):
    require_dataset(data_root, "letters")
    train = load_dataset("letters", "train", data_root)
    test = load_dataset("letters", "test", data_root)
    assert (len(train), len(test)) == (3820, 984)
    for split in (train, test):
        assert split.labels.min() == 0 and split.labels.max() == 25
        assert len(np.unique(split.labels)) == 26
    assert train.n_classes == 26 and train.classes[0] == "a"


@pytest.mark.parametrize("name, train_count, test_count, classes_seen", [
    ("unipen", 69224, 18229, 26), ("nistvowels", 8000, 2000, 5), ("chars74k", 1934, 484, 26)])
def test_real_letter_sets(data_root, name, train_count, test_count, classes_seen):
    require_dataset(data_root, name)
    train, test = load_dataset(name, "train", data_root), load_dataset(name, "test", data_root)
    assert (len(train), len(test)) == (train_count, test_count)
    assert len(np.unique(train.labels)) == classes_seen and train.classes[0] == "a"
    assert train.images.max() == 255 and (train.images[:, :2, :] == 0).all()
