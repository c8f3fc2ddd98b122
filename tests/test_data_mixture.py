"""Mixtures of letter sets: loading by class name, writers, sampling weights, writer hold-out, per-source reports."""
import gzip
from dataclasses import replace

import numpy as np
import pytest

from hdl_native.data import Batcher, load_dataset, write_idx
from hdl_native.data.datasets import DATASETS, clear_cache
from hdl_native.data.mixture import load_mixture, parse_mixture, sampling_weights
from hdl_native.errors import DataError
from hdl_native.training.start import held_out
from tiny_sets import bar_images


def write_letter_set(root, name, n, labels=None, seed=0):
    """A tiny {name}/ folder in the shared data's layout; labels default to the bar images' own."""
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    for split in ("train", "test"):
        images, bar_labels = bar_images(n, 26, seed)
        chosen = bar_labels if labels is None else np.asarray(labels, dtype=np.uint8)
        write_idx(folder / f"{name}-{split}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{name}-{split}-labels-idx1-ubyte.gz", chosen)
    return folder


@pytest.fixture
def letter_sets(tmp_path):
    clear_cache()
    root = tmp_path / "data"
    write_letter_set(root, "letters", 52, seed=0)
    write_letter_set(root, "nistvowels", 10, labels=[0, 4, 8, 14, 20] * 2, seed=1)
    unipen = write_letter_set(root, "unipen", 30, seed=2)
    for split in ("train", "test"):  # 3 writers of 10 letters; writer id r1 repeats across contributors
        lines = [f"{'ibm' if i < 20 else 'apa'}\tr{1 if i % 20 < 10 else 2}\tf.dat\t1\ta\n" for i in range(30)]
        with gzip.open(unipen / f"unipen-{split}-meta.tsv.gz", "wt") as meta:
            meta.writelines(lines)
    yield root
    clear_cache()


def test_a_mixture_is_its_sources_one_after_the_other(letter_sets):
    mixture = load_dataset("letters,nistvowels:3,unipen", "train", letter_sets)
    letters = load_dataset("letters", "train", letter_sets)
    vowels = load_dataset("nistvowels", "train", letter_sets)
    assert len(mixture) == 52 + 10 + 30
    assert mixture.source_names == ("letters", "nistvowels", "unipen")
    np.testing.assert_array_equal(mixture.sources, np.repeat([0, 1, 2], [52, 10, 30]))
    np.testing.assert_array_equal(mixture.images[52:62], vowels.images)
    np.testing.assert_array_equal(mixture.labels[:52], letters.labels)
    assert mixture.classes == letters.classes


def test_source_masks_say_which_images_came_from_each_source(letter_sets):
    mixture = load_dataset("letters,nistvowels:3,unipen", "train", letter_sets)
    masks = mixture.source_masks()
    assert [name for name, _ in masks] == ["letters", "nistvowels", "unipen"]
    for i, (_, mask) in enumerate(masks):
        np.testing.assert_array_equal(mask, mixture.sources == i)
    no_vowels = replace(mixture, sources=np.where(mixture.sources == 1, 2, mixture.sources))
    assert [name for name, _ in no_vowels.source_masks()] == ["letters", "unipen"]  # a source without images
    assert load_dataset("letters", "train", letter_sets).source_masks() == []


def test_writers_come_from_unipen_meta_and_stay_apart_across_contributors(letter_sets):
    mixture = load_mixture("letters,unipen", "train", letter_sets)
    assert (mixture.writers[:52] == -1).all()
    unipen = mixture.writers[52:]
    assert len(np.unique(unipen)) == 3  # ibm/r1, ibm/r2, apa/r1
    assert unipen[0] == unipen[9] != unipen[10]
    assert unipen[0] != unipen[20]  # same writer id "r1", other contributor


def test_sampling_weights_follow_source_weights_and_balance_classes(letter_sets):
    mixture = load_dataset("letters,nistvowels:3", "train", letter_sets)
    weights = sampling_weights(mixture, {"nistvowels": 3.0})
    assert weights.sum() == pytest.approx(1.0)
    share = weights[52:].sum() / weights[:52].sum()
    assert share == pytest.approx(3 * 10 / 52)
    letters = load_dataset("letters", "train", letter_sets)
    skewed = replace(letters, labels=np.where(np.arange(52) < 30, 0, letters.labels))  # 'a' is most of the set
    balanced = sampling_weights(skewed, {}, balance_classes=True)
    per_class = np.bincount(skewed.labels, weights=balanced, minlength=26)
    present = np.unique(skewed.labels)
    np.testing.assert_allclose(per_class[present], 1 / len(present))
    assert len(present) < 26 and per_class.sum() == pytest.approx(1.0)


def test_a_weighted_batcher_draws_in_proportion_and_resumes_exactly():
    weights = np.array([0.7, 0.1, 0.1, 0.1])
    batcher = Batcher(4, 4, seed=5, weights=weights)
    drawn = np.concatenate([np.concatenate(list(batcher.epoch())) for _ in range(500)])
    assert np.mean(drawn == 0) == pytest.approx(0.7, abs=0.03)
    again = Batcher(4, 4, seed=5, weights=weights)
    np.testing.assert_array_equal(again.order(3), batcher.order(3))
    with pytest.raises(ValueError, match="summing to 1"):
        Batcher(4, 4, weights=[0.5, 0.5, 0.5, 0.5])


def test_holdout_takes_whole_writers_and_single_unknown_images():
    writers = np.array([-1] * 10 + [0] * 5 + [1] * 5 + [2] * 5 + [3] * 5)
    held = held_out(8, writers, len(writers), np.random.default_rng(0))
    assert held.sum() >= 8
    for writer in range(4):
        part = held[writers == writer]
        assert part.all() or not part.any()
    assert held[:10].sum() == round(8 * 10 / 30)


def prolific_and_modest_writers():
    """int (1,000,): one writer of 600 images (id 0) and 40 writers of 10 (ids 1..40)."""
    return np.concatenate([np.zeros(600, dtype=np.int64), np.repeat(np.arange(1, 41), 10)])


def test_a_prolific_writer_stays_in_training_while_smaller_ones_can_be_held_out():
    writers = prolific_and_modest_writers()
    for seed in range(20):
        held = held_out(200, writers, len(writers), np.random.default_rng(seed), writer_share=0.05)
        assert not held[writers == 0].any() and held.sum() >= 200
        assert len(np.unique(writers[held])) >= 20
    drawn_as_they_come = [held_out(200, writers, len(writers), np.random.default_rng(seed))[0] for seed in range(20)]
    assert any(drawn_as_they_come)  # without the share, the 600-image writer is often the whole holdout


def test_the_prolific_writers_are_held_out_only_when_the_others_fall_short():
    writers = prolific_and_modest_writers()
    held = held_out(500, writers, len(writers), np.random.default_rng(0), writer_share=0.05)
    assert held[writers > 0].all() and held[writers == 0].all()  # 400 modest letters are too few for 500


def test_a_share_of_one_draws_writers_as_runs_before_the_share_did():
    writers = np.concatenate([prolific_and_modest_writers(), np.full(50, -1)])
    for seed in range(5):
        before = held_out(200, writers, len(writers), np.random.default_rng(seed))
        assert np.array_equal(held_out(200, writers, len(writers), np.random.default_rng(seed), writer_share=1),
                              before)
        assert np.array_equal(held_out(200, writers, len(writers), np.random.default_rng(seed), writer_share=None),
                              before)


def test_states_from_before_the_share_rebuild_their_holdout_as_drawn_then():
    from hdl_native.commands.cmd_calibrate import run_config_of
    from hdl_native.training.config import DEFAULT_HOLDOUT_WRITER_SHARE

    assert run_config_of({"holdout": 6000, "seed": 0}).holdout_writer_share is None
    assert run_config_of({"holdout": 6000, "holdout_writer_share": 0.05}).holdout_writer_share == 0.05
    assert DEFAULT_HOLDOUT_WRITER_SHARE == 0.05


def test_resuming_a_run_from_before_the_share_says_its_holdout_changes():
    from hdl_native.training.start import changed_settings

    old = {"holdout": 6000, "seed": 0}  # saved before --holdout-writer-share existed: writers drawn as they came
    now = {"holdout": 6000, "seed": 0, "holdout_writer_share": 0.05}
    assert changed_settings(old, now) == ["--holdout-writer-share off -> 0.05"]
    assert changed_settings(old, dict(now, holdout_writer_share=None)) == []
    assert changed_settings(old, dict(now, holdout_writer_share=1.0)) == []  # 1: drawn as they came, as before
    assert changed_settings(dict(old, holdout=0), dict(now, holdout=0)) == []  # nothing held out: no matter
    assert changed_settings(dict(now), now) == []


def test_holdout_seed_holds_out_the_same_images_whatever_the_seed(letter_sets):
    from hdl_native.training.config import RunConfig
    from hdl_native.training.start import training_data

    train_set, test_set = (load_dataset("letters", split, letter_sets) for split in ("train", "test"))

    def held(**settings):
        (_, kept_labels, _, _), (images, labels) = training_data(RunConfig(holdout=20, **settings), train_set, test_set)
        assert len(kept_labels) + len(labels) == len(train_set)
        return images
    assert np.array_equal(held(seed=1, holdout_seed=0), held(seed=0))
    assert np.array_equal(held(seed=1, holdout_seed=None), held(seed=1))
    assert not np.array_equal(held(seed=1), held(seed=0))


@pytest.mark.parametrize("name, message", [
    ("letters,klingon", "unknown dataset 'klingon'"),
    ("letters:0", "must be a positive number"),
    ("letters:x,unipen", "must be a positive number"),
    ("letters,letters", "appears twice"),
])
def test_bad_mixtures_are_named(name, message):
    with pytest.raises(DataError, match=message):
        parse_mixture(name)


def test_a_mixture_with_a_missing_source_says_which(letter_sets):
    with pytest.raises(DataError, match="chars74k"):
        load_dataset("letters,chars74k", "test", letter_sets)


def test_every_source_carries_its_credit():
    from hdl_native.data.mixture import data_credits

    credits = data_credits("letters,unipen:2,nistvowels,chars74k,nonletters")
    assert "CC BY 4.0" in credits["unipen"] and "ICPR 1994" in credits["unipen"]
    assert "Special Database 19" in credits["nistvowels"] and "VISAPP 2009" in credits["chars74k"]
    assert "MNIST" in credits["nonletters"] and all(credits.values())
    assert data_credits("mnist") == {"mnist": DATASETS["mnist"].credit}


def test_available_part_keeps_the_sources_that_are_there(letter_sets):
    from hdl_native.data.mixture import available_part

    found, missing = available_part("letters:4,chars74k,unipen", letter_sets)
    assert found == "letters:4,unipen"
    assert [source for source, _ in missing] == ["chars74k"] and "not found" in missing[0][1]
    assert available_part("chars74k", letter_sets)[0] is None


@pytest.mark.parametrize("content, message", [
    (gzip.compress(b"ibm\tr1\tf.dat\t1\ta\n" * 30)[:20], "cannot be read"),
    (gzip.compress(b"no tabs here\n" * 30), "a line lacks the writer field"),
])
def test_a_broken_meta_file_is_named(letter_sets, content, message):
    meta = letter_sets / "unipen" / "unipen-train-meta.tsv.gz"
    meta.write_bytes(content)
    with pytest.raises(DataError, match=f"unipen-train-meta.tsv.gz: {message}"):
        load_mixture("letters,unipen", "train", letter_sets)


def test_a_val_size_asked_for_past_the_test_split_validates_on_all_of_it_and_says_so(capsys):
    from pathlib import Path

    from hdl_native.data.datasets import Dataset
    from hdl_native.training.config import DEFAULT_VAL_SIZE, RunConfig
    from hdl_native.training.start import training_data

    rng = np.random.default_rng(0)
    classes = [chr(ord("a") + i) for i in range(26)]

    def split(name, n):
        return Dataset("letters", name, rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), np.arange(n) % 26,
                       classes, Path("images"), Path("labels"))

    train, test = split("train", 30), split("test", 12)
    _, (images, labels) = training_data(RunConfig(val_size=50), train, test)
    assert len(images) == len(labels) == 12
    assert "--val-size 50 is more than the 12 images of the test split" in capsys.readouterr().err
    for size, validated in ((DEFAULT_VAL_SIZE, 12), (5, 5)):  # the default is silent: "or the whole split"
        _, (images, _) = training_data(RunConfig(val_size=size), train, test)
        assert len(images) == validated and capsys.readouterr().err == ""


@pytest.mark.parametrize("weight", ["1e308", "1001", "inf", "nan", "-2"])
def test_a_weight_past_the_largest_is_refused_when_the_options_are_read(weight, capsys):
    """letters:1e308,unipen passed the name check and overflowed the sampling probabilities: a traceback."""
    from hdl_native.cli import main

    with pytest.raises(DataError, match=r"must be a positive number up to 1000"):
        parse_mixture(f"letters:{weight},unipen")
    with pytest.raises(SystemExit) as stopped:
        main(["letters", "--dataset", f"letters:{weight},unipen", "--max-batches", "1"])
    assert stopped.value.code == 2 and "up to 1000" in capsys.readouterr().err
    assert parse_mixture("letters:1000,unipen:0.001") == [("letters", 1000.0), ("unipen", 0.001)]


def test_a_digits_mixture_takes_the_class_other_whichever_set_comes_first(tiny_data, tmp_path, monkeypatch, capsys):
    """`digits --dataset mnist,nonletters` was refused ("classes ['other'] that a mixture of 'mnist' cannot hold")
    while `--dataset nonletters,mnist` was not: the first set's classes were the mixture's."""
    from hdl_native.cli import main

    first = load_dataset("mnist,nonletters", "test", tiny_data)
    second = load_dataset("nonletters,mnist", "test", tiny_data)
    assert first.classes == second.classes == [str(d) for d in range(10)] + ["other"]
    monkeypatch.chdir(tmp_path)
    assert main(["digits", "--data", str(tiny_data), "--dataset", "mnist,nonletters", "--max-batches", "1",
                 "--quiet", "--no-db", "--model", "cnn", "--out", "d.hdl"]) == 0, capsys.readouterr().err


def test_training_on_one_class_is_refused(tiny_data, tmp_path, monkeypatch, capsys):
    """`letters --dataset nonletters` trained a reader of one class and reported 100% on its test split."""
    from hdl_native.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["letters", "--data", str(tiny_data), "--dataset", "nonletters", "--max-batches", "1",
                 "--no-db"]) == 2
    assert capsys.readouterr().err == (
        "hdl-native letters: error: dataset 'nonletters' holds one class ('other'): a reader learns to tell classes "
        "apart; mix it with a set of others, e.g. --dataset letters,nonletters\n")
    assert not (tmp_path / "letters.hdl").exists()
