"""State files: round trips, atomic writes, and clear errors for every kind of bad file."""
import os

import numpy as np
import pytest

from hdl_native.checkpoint import (FORMAT_VERSION, MAGIC, PRETRAINED_LETTERS, load_checkpoint, load_model,
                                   save_checkpoint)
from hdl_native.errors import HDLError
from hdl_native.data.datasets import NOT_A_LETTER, PAIR
from hdl_native.models import DigitsMLP, LettersCNN, LettersVGG
from hdl_native.optim import SGD, Adam
from hdl_native.tensor import Tensor


def trained_a_little(model, optimizer, steps=2, seed=0):
    """Take a few optimiser steps on random data so the optimiser has buffers."""
    from hdl_native import functional as F

    rng = np.random.default_rng(seed)
    images = Tensor.placeholder((None, 1, 28, 28))
    labels = Tensor.placeholder((None,), dtype=np.int64)
    loss = F.cross_entropy(model.logits(images), labels)
    for _ in range(steps):
        images.assign(rng.standard_normal((4, 1, 28, 28)).astype(np.float32))
        labels.assign(rng.integers(0, model.n_classes, 4))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


@pytest.mark.parametrize("make", [lambda: DigitsMLP(seed=1), lambda: LettersCNN(n_classes=5, seed=1)])
def test_round_trip_restores_parameters_optimizer_and_extras(tmp_path, make):
    model = make()
    optimizer = Adam(model, lr=0.003)
    trained_a_little(model, optimizer)
    rng = np.random.default_rng(7)
    rng.random(3)
    extras = {"classes": list("abcdefghij")[:model.n_classes], "batch_counter": 12,
              "rng_state": {"augment": rng.bit_generator.state, "dropout": None},
              "batcher_state": {"epoch": 2, "position": 64}, "normalization": {"mean": 0.17, "std": 0.25},
              "dataset": "letters", "history": [(1, 2.5), (3, 4.5)]}
    path = save_checkpoint(tmp_path / "s.hdl", model, optimizer, **extras)
    state = load_checkpoint(path)

    assert state["format_version"] == FORMAT_VERSION
    assert state["architecture"] == ("digits-mlp" if isinstance(model, DigitsMLP) else "letters-cnn")
    assert state["model_args"] == {"n_classes": model.n_classes}
    for name, array in model.state_dict().items():
        np.testing.assert_array_equal(state["params"][name], array)
        assert state["params"][name].dtype == np.float32
    for key, buffer in optimizer.state_dict()["buffers"].items():
        np.testing.assert_array_equal(state["optimizer"]["buffers"][key], buffer)
    assert state["optimizer"]["step_count"] == 2
    assert state["batch_counter"] == 12 and state["batcher_state"] == {"epoch": 2, "position": 64}
    assert state["history"] == [(1, 2.5), (3, 4.5)]
    restored = np.random.default_rng()
    restored.bit_generator.state = state["rng_state"]["augment"]
    np.testing.assert_array_equal(restored.random(5), rng.random(5))

    loaded, meta = load_model(path)
    assert type(loaded) is type(model) and not loaded.training
    assert "params" not in meta and meta["classes"] == extras["classes"]
    x = np.random.default_rng(1).standard_normal((3, 1, 28, 28)).astype(np.float32)
    np.testing.assert_allclose(loaded(Tensor(x)).value, model(Tensor(x)).value, rtol=1e-6, atol=1e-6)


def test_resumed_optimizer_continues_identically(tmp_path):
    model_a = DigitsMLP(seed=3)
    sgd_a = SGD(model_a, lr=0.05, momentum=0.9)
    trained_a_little(model_a, sgd_a, steps=2)
    save_checkpoint(tmp_path / "m.hdl", model_a, sgd_a)
    trained_a_little(model_a, sgd_a, steps=2, seed=5)

    state = load_checkpoint(tmp_path / "m.hdl")
    model_b = DigitsMLP(seed=99)
    model_b.load_state_dict(state["params"])
    sgd_b = SGD(model_b, lr=0.05, momentum=0.9)
    sgd_b.load_state_dict(state["optimizer"])
    trained_a_little(model_b, sgd_b, steps=2, seed=5)
    for name, array in model_a.state_dict().items():
        np.testing.assert_allclose(model_b.state_dict()[name], array, rtol=1e-6, atol=1e-7)


def test_not_a_state_file_is_a_clear_error(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello, this is not a model")
    with pytest.raises(HDLError, match="notes.txt is not an hdl_native state file"):
        load_checkpoint(path)
    with pytest.raises(HDLError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.hdl")
    with pytest.raises(HDLError, match="directory"):
        load_checkpoint(tmp_path)


def test_every_truncation_is_a_clear_error(tmp_path):
    blob = (save_checkpoint(tmp_path / "full.hdl", DigitsMLP(n_classes=3))).read_bytes()
    cut = tmp_path / "cut.hdl"
    for length in sorted({0, 5, 8, 12, 19, 20, 100, len(blob) // 2, len(blob) - 1}):
        cut.write_bytes(blob[:length])
        with pytest.raises(HDLError, match="cut.hdl"):
            load_checkpoint(cut)


def test_corruption_and_unknown_version_are_clear_errors(tmp_path):
    blob = bytearray(save_checkpoint(tmp_path / "x.hdl", DigitsMLP()).read_bytes())
    flipped = bytearray(blob)
    flipped[-10] ^= 0xFF
    (tmp_path / "flipped.hdl").write_bytes(bytes(flipped))
    with pytest.raises(HDLError, match="flipped.hdl is corrupt"):
        load_checkpoint(tmp_path / "flipped.hdl")
    future = bytearray(blob)
    future[len(MAGIC):len(MAGIC) + 4] = (FORMAT_VERSION + 1).to_bytes(4, "little")
    (tmp_path / "future.hdl").write_bytes(bytes(future))
    with pytest.raises(HDLError, match="future.hdl: state file format version"):
        load_checkpoint(tmp_path / "future.hdl")
    garbled = bytearray(blob)
    garbled[20:30] = b"\xff" * 10
    (tmp_path / "garbled.hdl").write_bytes(bytes(garbled))
    with pytest.raises(HDLError, match="garbled.hdl"):
        load_checkpoint(tmp_path / "garbled.hdl")


def test_mismatched_architecture_or_shapes_are_clear_errors(tmp_path):
    from hdl_native.checkpoint import decode, encode

    path = save_checkpoint(tmp_path / "mlp.hdl", DigitsMLP())
    state = load_checkpoint(path)
    state.pop("format_version")
    state["architecture"] = "letters-cnn"
    (tmp_path / "liar.hdl").write_bytes(encode(state))
    with pytest.raises(HDLError, match="liar.hdl: parameters do not match the LettersCNN"):
        load_model(tmp_path / "liar.hdl")

    state["architecture"] = "digits-mlp"
    state["params"]["fc2.weight"] = np.zeros((3, 3), dtype=np.float32)
    (tmp_path / "shape.hdl").write_bytes(encode(state))
    with pytest.raises(HDLError, match=r"shape.hdl: parameter fc2.weight has shape \(3, 3\)"):
        load_model(tmp_path / "shape.hdl")

    state["architecture"] = "transformer"
    with pytest.raises(HDLError, match="unknown architecture 'transformer'"):
        from hdl_native.checkpoint import build_model
        build_model(decode(encode(state), "t.hdl"), "t.hdl")


def test_save_is_atomic_and_leaves_no_temporary_files(tmp_path, monkeypatch):
    path = save_checkpoint(tmp_path / "keep.hdl", DigitsMLP(seed=1))
    good = path.read_bytes()

    def failing_fsync(fd):
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="disk on fire"):
        save_checkpoint(path, DigitsMLP(seed=2))
    monkeypatch.undo()
    assert path.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.hdl"]


def test_pretrained_letters_model_loads_when_shipped():
    if not PRETRAINED_LETTERS.exists():
        pytest.skip(f"{PRETRAINED_LETTERS} has not been trained yet")
    assert PRETRAINED_LETTERS.stat().st_size < 2_000_000  # issue 13: the shipped reader stays under 2 MB
    model, meta = load_model(PRETRAINED_LETTERS)
    assert isinstance(model, LettersVGG) and model.n_classes == 28  # two letters left whole: tools/train_reader.sh
    assert meta["classes"] == list("abcdefghijklmnopqrstuvwxyz") + [NOT_A_LETTER, PAIR]
    assert set(meta["normalization"]) == {"mean", "std"}
    assert set(meta["data_credits"]) == {"letters", "unipen", "nistvowels", "chars74k", "nonletters"}
    assert "CC BY 4.0" in meta["data_credits"]["unipen"] and 1 < meta["temperature"] < 2


def test_version_1_files_without_a_header_checksum_still_load(tmp_path):
    """Format 2 only adds the header's CRC-32 after the header length; format 1 files (the shipped model) still load."""
    model = DigitsMLP(seed=4)
    blob = save_checkpoint(tmp_path / "new.hdl", model).read_bytes()
    assert int.from_bytes(blob[8:12], "little") == FORMAT_VERSION == 2
    old = tmp_path / "old.hdl"
    old.write_bytes(MAGIC + (1).to_bytes(4, "little") + blob[12:20] + blob[24:])
    loaded, meta = load_model(old)
    assert meta["format_version"] == 1
    for name, array in model.state_dict().items():
        np.testing.assert_array_equal(loaded.state_dict()[name], array)
