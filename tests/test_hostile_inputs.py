"""Hostile or broken input files: each is one clear error naming the file, never a traceback or a memory blow-up.

Every file is built here in tmp_path.  The CLI cases run `python -m hdl_native` in a subprocess and expect
exit code 2, exactly one line on stderr and no traceback.
"""
import gzip
import json
import math
import os
import struct
import subprocess
import sys
import time
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import hdl_native
from hdl_native.checkpoint import (MAGIC, check_rng_state, encode, load_checkpoint, load_model,
                                   load_optimizer_state, save_checkpoint)
from hdl_native.data import load_dataset, read_idx, write_idx
from hdl_native.errors import DataError, HDLError
from hdl_native.models import DigitsMLP, LettersCNN
from hdl_native.optim import SGD, Adam
from test_checkpoint import trained_a_little

REPO = Path(hdl_native.__file__).resolve().parent.parent
LETTERS = [chr(ord("a") + i) for i in range(26)]
IMAGE_BYTES = 28 * 28


def run_cli(*args, data=None):
    env = {**os.environ, "PYTHONPATH": str(REPO), "HDL_DATA": str(data or "/nonexistent")}
    return subprocess.run([sys.executable, "-m", "hdl_native", *map(str, args)], capture_output=True, text=True,
                          timeout=300, cwd=REPO, env=env)


def assert_one_line_error(result, *fragments):
    """Exit code 2, one stderr line holding every fragment, no traceback."""
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert str(fragment) in lines[0], lines[0]


def peak_traced_bytes(function):
    """(what function raised, the peak bytes Python allocated while it ran)."""
    tracemalloc.start()
    try:
        function()
    except HDLError as error:
        raised = error
    else:
        raised = None
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return raised, peak


# ---------------------------------------------------------------- IDX files
def gzip_member(data):
    return gzip.compress(data, compresslevel=9, mtime=0)


def test_gzip_inflating_to_a_gigabyte_after_its_data_fails_fast_in_bounded_memory(tmp_path):
    """A header for 10 images, their 7840 bytes, then 1 GiB of zeros: a 1 MB file (1024 gzip members of 1 MiB)."""
    path = tmp_path / "bomb-images-idx3-ubyte.gz"
    header = struct.pack(">IIII", 2051, 10, 28, 28)
    path.write_bytes(gzip_member(header + bytes(10 * IMAGE_BYTES)) + gzip_member(bytes(1 << 20)) * 1024)
    assert path.stat().st_size < 2 << 20

    started = time.perf_counter()
    tracemalloc.start()
    try:
        with pytest.raises(DataError) as info:
            read_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    seconds = time.perf_counter() - started
    message = str(info.value)
    assert str(path) in message and "unexpected trailing data" in message and "7840 data bytes" in message
    assert peak < 16 << 20, f"peak {peak / 2 ** 20:.1f} MiB while reading"  # measured: 4 MiB
    assert seconds < 30, f"took {seconds:.1f} s"  # measured: 0.4-0.7 s; counting stops after 64 MiB


def test_gzip_promising_far_more_than_it_can_hold_is_refused_before_inflating(tmp_path):
    """A header promising 784 MB behind 9 KB of gzip: refused from the header, nothing inflated."""
    path = tmp_path / "liar-images-idx3-ubyte.gz"
    header = struct.pack(">IIII", 2051, 1_000_000, 28, 28)
    path.write_bytes(gzip_member(header) + gzip_member(bytes(1 << 20)) * 8)
    raised, peak = peak_traced_bytes(lambda: read_idx(path))
    assert isinstance(raised, DataError)
    assert str(path) in str(raised) and "784000000 bytes" in str(raised) and "decompression bomb" in str(raised)
    assert peak < 1 << 20


def small_split(n):
    images = np.random.default_rng(n).integers(0, 256, (n, 28, 28), dtype=np.uint8)
    return images, (np.arange(n) % 26).astype(np.uint8)


def letters_root(tmp_path, train=20, test=20):
    """A data root whose letters/ splits hold `train` and `test` images."""
    root = tmp_path / "data"
    (root / "letters").mkdir(parents=True)
    for split, n in (("train", train), ("test", test)):
        images, labels = small_split(n)
        write_idx(root / "letters" / f"letters-{split}-images-idx3-ubyte.gz", images)
        write_idx(root / "letters" / f"letters-{split}-labels-idx1-ubyte.gz", labels)
    return root


@pytest.mark.parametrize("split", ["train", "test"])
def test_empty_split_is_a_clear_error(tmp_path, split):
    root = letters_root(tmp_path, **{split: 0})
    with pytest.raises(DataError, match=rf"letters-{split}-images-idx3-ubyte.gz: the {split} split .* holds no images"):
        load_dataset("letters", split, root)


def test_empty_splits_through_the_cli(tmp_path):
    state = save_checkpoint(tmp_path / "letters.hdl", LettersCNN(seed=3), classes=LETTERS, dataset="letters")
    empty_test = letters_root(tmp_path / "a", test=0)
    assert_one_line_error(run_cli("evaluate", state, "--data", empty_test), "letters-test-images", "holds no images")
    empty_train = letters_root(tmp_path / "b", train=0)
    assert_one_line_error(run_cli("letters", "--data", empty_train, "--max-batches", "1", "--no-db",
                                  "--out", tmp_path / "out.hdl"), "letters-train-images", "holds no images")


# ---------------------------------------------------------------- state files: size, header, checksum
def test_huge_file_that_is_no_state_is_refused_after_reading_its_first_bytes(tmp_path):
    path = tmp_path / "holiday.mkv"
    with open(path, "wb") as stream:
        stream.write(b"\x1aE\xdf\xa3 not a state")
        stream.truncate(6 << 30)  # sparse: 6 GiB on paper, nothing on disk
    raised, peak = peak_traced_bytes(lambda: load_checkpoint(path))
    assert f"{path} is not an hdl_native state file" in str(raised)
    assert peak < 1 << 20
    assert_one_line_error(run_cli("evaluate", path), path, "not an hdl_native state file")


def test_state_with_gigabytes_of_tail_is_refused_before_its_data_is_read(tmp_path):
    path = tmp_path / "padded.hdl"
    blob = encode(saved_entries(tmp_path))
    with open(path, "wb") as stream:
        stream.write(blob)
        stream.truncate(len(blob) + (3 << 30))
    raised, peak = peak_traced_bytes(lambda: load_checkpoint(path))
    assert f"{path} is longer than its header says" in str(raised)
    assert peak < 1 << 20


def test_header_claiming_gigabytes_of_data_is_refused(tmp_path):
    path = tmp_path / "claims.hdl"
    header = {"tree": {"__dict__": []}, "arrays": [], "data_bytes": 3 << 30, "data_crc32": 0}
    with open(path, "wb") as stream:
        stream.write(state_bytes(header))
        stream.truncate(stream.tell() + (3 << 30))
    raised, peak = peak_traced_bytes(lambda: load_checkpoint(path))
    assert f"{path}: 3221225472 data bytes is more than the 1 GiB" in str(raised)
    assert peak < 1 << 20


def saved_entries(tmp_path, model=None, **extras):
    """The entries of a freshly saved state (format_version dropped), to spoil and encode again."""
    path = save_checkpoint(tmp_path / "good.hdl", model or DigitsMLP(seed=1), **extras)
    entries = load_checkpoint(path)
    entries.pop("format_version")
    return entries


def split_state(blob):
    """(header dict, data bytes) of a version 2 state file's bytes."""
    header_length = int.from_bytes(blob[12:20], "little")
    return json.loads(blob[24:24 + header_length]), blob[24 + header_length:]


def state_bytes(header, data=b"", version=2, header_crc=None):
    """A state file's bytes from a header (dict or raw JSON bytes) and data; the header CRC is right unless given."""
    header_bytes = header if isinstance(header, bytes) else json.dumps(header).encode()
    crc = zlib.crc32(header_bytes) if header_crc is None else header_crc
    preamble = MAGIC + version.to_bytes(4, "little") + len(header_bytes).to_bytes(8, "little")
    if version >= 2:
        preamble += crc.to_bytes(4, "little")
    return preamble + header_bytes + data


def test_relabelled_dtype_is_caught_by_the_header_checksum(tmp_path):
    blob = encode(saved_entries(tmp_path))
    header, data = split_state(blob)
    original_crc = int.from_bytes(blob[20:24], "little")
    header["arrays"][0]["dtype"] = "<i4"
    path = tmp_path / "relabelled.hdl"
    path.write_bytes(state_bytes(header, data, header_crc=original_crc))
    with pytest.raises(HDLError, match=f"{path} is corrupt: the checksum of its header does not match"):
        load_checkpoint(path)
    old = tmp_path / "relabelled-v1.hdl"  # version 1 has no header checksum: the parameter check still refuses it
    old.write_bytes(state_bytes(header, data, version=1))
    with pytest.raises(HDLError, match=rf"{old}: parameter fc1.weight holds int32 values, expected floating-point"):
        load_model(old)


@pytest.mark.parametrize("dtype", ["<U1", "|S4", "|V4", "|O"])
def test_non_numeric_dtype_is_refused(tmp_path, dtype):
    header, data = split_state(encode(saved_entries(tmp_path)))
    header["arrays"][0]["dtype"] = dtype
    path = tmp_path / "text.hdl"
    path.write_bytes(state_bytes(header, data))
    with pytest.raises(HDLError, match=rf"{path}: the state file's array table is corrupt \(dtype .* is not numeric"):
        load_checkpoint(path)


def test_deeply_nested_header_is_refused(tmp_path):
    path = tmp_path / "deep.hdl"
    depth = 100_000  # beyond the JSON parser's recursion limit
    path.write_bytes(state_bytes(b'{"tree":' + b"[" * depth + b"]" * depth
                                 + b',"arrays":[],"data_bytes":0,"data_crc32":0}'))
    with pytest.raises(HDLError, match=f"{path}: the state file header is corrupt \\(nested too deeply\\)"):
        load_checkpoint(path)

    header, data = split_state(encode(saved_entries(tmp_path)))
    nested = []
    for _ in range(200):  # parses as JSON, but deeper than any state
        nested = [nested]
    header["tree"]["__dict__"].append(["history", nested])
    path.write_bytes(state_bytes(header, data))
    with pytest.raises(HDLError, match=f"{path}: .*nest deeper than 32 levels"):
        load_checkpoint(path)


# ---------------------------------------------------------------- state files: implausible contents
@pytest.mark.parametrize("model_args, fragment", [
    ({"n_classes": 10 ** 9}, "model_args n_classes is 1000000000, expected a whole number from 1 to 10000"),
    ({"n_classes": -3}, "model_args n_classes is -3"),
    ({"n_classes": 2.5}, "model_args n_classes is 2.5"),
    ({"n_classes": "26"}, "model_args n_classes is '26'"),
    ({"n_classes": 26, "dropout": 1.0}, "model_args dropout is 1.0, expected a number from 0 up to"),
    ({"n_classes": 26, "dropout": -0.5}, "model_args dropout is -0.5"),
    ({"n_classes": 26, "dropout": math.nan}, "model_args dropout is nan"),
    ({"n_classes": 26, "dropout": 1e300}, "model_args dropout is 1e+300"),
    ({"n_classes": 26, "width": 4}, "model_args has 'width', which letters-cnn does not take"),
])
def test_absurd_model_args_are_refused(tmp_path, model_args, fragment):
    entries = saved_entries(tmp_path, LettersCNN(seed=1), classes=LETTERS)
    entries["model_args"] = model_args
    path = tmp_path / "absurd.hdl"
    path.write_bytes(encode(entries))
    with pytest.raises(HDLError) as info:
        load_checkpoint(path)
    assert str(info.value).startswith(f"{path}: ") and fragment in str(info.value)


def test_dropout_on_the_mlp_and_mismatched_classes_are_refused(tmp_path):
    entries = saved_entries(tmp_path)
    entries["model_args"] = {"n_classes": 10, "dropout": 0.5}
    path = tmp_path / "mlp.hdl"
    path.write_bytes(encode(entries))
    with pytest.raises(HDLError, match=f"{path}: model_args has 'dropout', which digits-mlp does not take"):
        load_checkpoint(path)
    entries["model_args"] = {"n_classes": 10}
    entries["classes"] = ["a", "b", "c"]
    path.write_bytes(encode(entries))
    with pytest.raises(HDLError, match=f"{path}: classes must be a list of 10 names"):
        load_checkpoint(path)


@pytest.mark.parametrize("spoil, fragment", [
    (lambda e: e.update(normalization={"mean": 0.1, "std": 0.0}), "normalization must be"),
    (lambda e: e.update(normalization={"mean": "x", "std": 1.0}), "normalization must be"),
    (lambda e: e.update(dataset=["letters"]), "dataset must be a name"),
    (lambda e: e.update(optimizer=5), "optimizer state must be a mapping"),
    (lambda e: e.update(params={"fc1.weight": [1, 2]}), "params must map parameter names to arrays"),
])
def test_garbage_metadata_is_refused(tmp_path, spoil, fragment):
    entries = saved_entries(tmp_path)
    spoil(entries)
    path = tmp_path / "garbage.hdl"
    path.write_bytes(encode(entries))
    with pytest.raises(HDLError, match=f"{path}: {fragment}"):
        load_checkpoint(path)


def pcg64_state():
    generator = np.random.default_rng(5)
    generator.random(3)
    return generator.bit_generator.state


@pytest.mark.parametrize("spoil", [
    lambda s: "garbage",
    lambda s: {"dropout": None},
    lambda s: {"augment": s, "dropout": None, "extra": 1},
    lambda s: {"augment": {**s, "bit_generator": "MT19937"}},
    lambda s: {"augment": {**s, "state": {"state": 1.5, "inc": 1}}},  # numpy itself accepts this one silently
    lambda s: {"augment": {**s, "state": {"state": -1, "inc": 1}}},
    lambda s: {"augment": {**s, "state": {"state": 2 ** 200, "inc": 1}}},
    lambda s: {"augment": {**s, "has_uint32": 7}},
    lambda s: {"augment": s, "dropout": [1, 2, 3]},
])
def test_garbage_rng_state_is_refused_at_load(tmp_path, spoil):
    entries = saved_entries(tmp_path)
    entries["rng_state"] = spoil(pcg64_state())
    path = tmp_path / "rng.hdl"
    path.write_bytes(encode(entries))
    with pytest.raises(HDLError, match=f"{path}: rng_state"):
        load_checkpoint(path)


def test_a_real_rng_state_passes_and_restores(tmp_path):
    state = {"augment": pcg64_state(), "dropout": None}
    path = save_checkpoint(tmp_path / "ok.hdl", DigitsMLP(), rng_state=state)
    loaded = load_checkpoint(path)["rng_state"]
    assert check_rng_state(loaded, path) == state


def test_non_finite_weights_are_refused_naming_the_parameter(tmp_path):
    model = DigitsMLP(seed=1)
    model.fc2.bias.data[3] = np.nan
    model.fc2.bias.data[5] = np.inf
    path = save_checkpoint(tmp_path / "diverged.hdl", model)
    with pytest.raises(HDLError, match=f"{path}: parameter fc2.bias holds 2 non-finite values"):
        load_model(path)


# ---------------------------------------------------------------- optimiser state
def adam_state_after_steps(steps=2):
    model = DigitsMLP(seed=2)
    optimizer = Adam(model, lr=1e-3)
    trained_a_little(model, optimizer, steps=steps)
    return optimizer.state_dict()


@pytest.mark.parametrize("spoil, fragment", [
    (lambda s: s["buffers"].update({"exp_avg/fc1.bias": np.zeros(1, np.float32)}),
     "optimizer buffer exp_avg/fc1.bias is float32 (1,), the parameter is float32 (128,)"),  # would broadcast
    (lambda s: s["buffers"].update({"exp_avg/fc1.bias": np.zeros(128, np.float64)}),
     "exp_avg/fc1.bias is float64 (128,)"),
    (lambda s: s["buffers"].pop("exp_avg_sq/fc2.weight"), "missing exp_avg_sq/fc2.weight, unexpected none"),
    (lambda s: s["buffers"].clear(), "after 2 steps do not fit this Adam (it keeps exp_avg and exp_avg_sq per"),
    (lambda s: s["buffers"].update({"exp_avg/ghost": np.zeros(3, np.float32)}), "unexpected exp_avg/ghost"),
    (lambda s: s["buffers"]["exp_avg/fc3.bias"].__setitem__(0, np.nan), "exp_avg/fc3.bias holds non-finite"),
    (lambda s: s.update(step_count=-1), "step_count must be a whole number >= 0, got -1"),
    (lambda s: s.update(step_count=2.5), "got 2.5"),
    (lambda s: s.update(step_count=True), "got True"),
    (lambda s: s.update(buffers=[1, 2]), "optimizer buffers must be a mapping"),
    (lambda s: s.pop("step_count"), "must be a mapping with kind, step_count and buffers"),
    (lambda s: s.update(kind="SGD"), "optimizer state is for SGD, not Adam"),
])
def test_garbage_optimizer_state_is_refused_not_broadcast_or_zeroed(spoil, fragment):
    state = adam_state_after_steps()
    spoil(state)
    fresh = Adam(DigitsMLP(seed=2), lr=1e-3)
    with pytest.raises(ValueError) as info:
        fresh.load_state_dict(state)
    assert fragment in str(info.value)
    assert fresh.step_count == 0 and fresh.buffers() == {}


def test_fresh_optimizer_state_loads_and_momentum_mismatch_is_refused():
    model = DigitsMLP(seed=2)
    Adam(model).load_state_dict(Adam(model).state_dict())  # before any step there are no buffers yet
    plain = SGD(model, lr=0.1)
    trained_a_little(model, plain, steps=1)
    with pytest.raises(ValueError, match="do not fit this SGD \\(it keeps velocity per parameter\\): missing"):
        SGD(model, lr=0.1, momentum=0.9).load_state_dict(plain.state_dict())


def test_load_optimizer_state_names_the_file():
    state = adam_state_after_steps()
    state["step_count"] = -4
    with pytest.raises(HDLError, match="run.hdl: optimizer step_count must be a whole number >= 0, got -4"):
        load_optimizer_state(Adam(DigitsMLP(seed=2)), state, "run.hdl")


# ---------------------------------------------------------------- the CLI on bad state files
def page(tmp_path):
    path = tmp_path / "page.png"
    Image.new("L", (200, 80), 255).save(path)
    return path


def test_evaluate_and_ocr_refuse_bad_states_in_one_line(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("hello, this is not a model\n")
    model = LettersCNN(seed=3)
    model.fc1.weight.data[0, 0] = np.nan
    diverged = save_checkpoint(tmp_path / "diverged.hdl", model, classes=LETTERS, dataset="letters")
    entries = saved_entries(tmp_path, LettersCNN(seed=3), classes=LETTERS, dataset="letters")
    entries["model_args"] = {"n_classes": 10 ** 9}
    absurd = tmp_path / "absurd.hdl"
    absurd.write_bytes(encode(entries))

    assert_one_line_error(run_cli("evaluate", notes), notes, "is not an hdl_native state file")
    assert_one_line_error(run_cli("evaluate", diverged), diverged, "parameter fc1.weight holds 1 non-finite value")
    assert_one_line_error(run_cli("evaluate", absurd), absurd, "model_args n_classes is 1000000000")
    image = page(tmp_path)
    assert_one_line_error(run_cli("ocr", "--model", notes, image), notes, "is not an hdl_native state file")
    assert_one_line_error(run_cli("ocr", "--model", diverged, image), diverged, "fc1.weight holds 1 non-finite")


def resumable_letters_state(tmp_path, name, **changes):
    """A letters state with a training position, as `hdl-native letters` saves it, with `changes` applied."""
    model = LettersCNN(seed=3)
    optimizer = SGD(model, lr=0.01, momentum=0.9)
    trained_a_little(model, optimizer, steps=1)
    position = {"batch_counter": 1, "epoch": 0, "train_seconds": 0.1,
                "batcher_state": {"n_items": 20, "batch_size": 64, "seed": 1, "shuffle": True, "epoch": 0,
                                  "position": 20},
                "rng_state": {"augment": pcg64_state(), "dropout": None}}
    entries = {**saved_entries(tmp_path, model, optimizer=optimizer, classes=LETTERS, dataset="letters", **position),
               **changes}
    path = tmp_path / name
    path.write_bytes(encode(entries))
    return path


def test_resume_refuses_non_finite_weights_and_garbage_rng(tmp_path):
    root = letters_root(tmp_path)
    state = resumable_letters_state(tmp_path, "good.hdl")
    params = load_checkpoint(state)["params"]
    params["fc3.bias"][0] = np.inf
    diverged = resumable_letters_state(tmp_path, "diverged.hdl", params=params)
    garbage_rng = resumable_letters_state(tmp_path, "rng.hdl", rng_state={"augment": "garbage"})
    for path, fragment in ((diverged, "parameter fc3.bias holds 1 non-finite value"),
                           (garbage_rng, "rng_state['augment'] is not a PCG64 generator state")):
        assert_one_line_error(run_cli("letters", path, "--data", root, "--momentum", "0.9", "--max-batches", "2",
                                      "--no-db", "--threads", "1"), path, fragment)


def test_resume_refuses_garbage_optimizer_state(tmp_path):
    root = letters_root(tmp_path)
    optimizer = load_checkpoint(resumable_letters_state(tmp_path, "good.hdl"))["optimizer"]
    optimizer["buffers"]["velocity/fc1.bias"] = np.zeros(1, np.float32)
    path = resumable_letters_state(tmp_path, "optimizer.hdl", optimizer=optimizer)
    assert_one_line_error(run_cli("letters", path, "--data", root, "--momentum", "0.9", "--max-batches", "2",
                                  "--no-db", "--threads", "1"), path, "velocity/fc1.bias is float32 (1,)")
