"""IDX reader and writer: round trips, clear errors for every defect, and a fuzz over random and truncated bytes."""
import gzip
import struct

import numpy as np
import pytest

from hdl_native.data import read_idx, write_idx
from hdl_native.data.idx import IMAGES_MAGIC, LABELS_MAGIC
from hdl_native.errors import DataError


def small_images(n=5, rows=4, cols=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(n, rows, cols), dtype=np.uint8)


@pytest.mark.parametrize("file_name", ["images-idx3-ubyte", "images-idx3-ubyte.gz"])
def test_images_round_trip_plain_and_gzip(tmp_path, file_name):
    images = small_images()
    path = write_idx(tmp_path / file_name, images)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == file_name.endswith(".gz")
    loaded = read_idx(path, IMAGES_MAGIC)
    assert loaded.dtype == np.uint8 and loaded.shape == (5, 4, 3)
    np.testing.assert_array_equal(loaded, images)


@pytest.mark.parametrize("compress", [False, True])
def test_labels_round_trip(tmp_path, compress):
    labels = np.array([5, 0, 4, 1, 9], dtype=np.uint8)
    path = write_idx(tmp_path / "labels", labels, compress=compress)
    np.testing.assert_array_equal(read_idx(path, LABELS_MAGIC), labels)
    np.testing.assert_array_equal(read_idx(path), labels)


def test_header_layout_is_lecuns(tmp_path):
    path = write_idx(tmp_path / "x", small_images(n=2, rows=28, cols=28))
    header = path.read_bytes()[:16]
    assert struct.unpack(">IIII", header) == (2051, 2, 28, 28)


def test_empty_file_counts_zero_items(tmp_path):
    path = write_idx(tmp_path / "labels", np.zeros(0, dtype=np.uint8))
    assert read_idx(path).shape == (0,)


def test_gzip_output_depends_only_on_the_array(tmp_path):
    first = write_idx(tmp_path / "a-images.gz", small_images()).read_bytes()
    second = write_idx(tmp_path / "b-images.gz", small_images()).read_bytes()
    assert first == second  # no file name or time in the gzip header
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-images.gz", "b-images.gz"]  # no temporary left


def test_write_errors_name_the_file_and_leave_nothing_behind(tmp_path, monkeypatch):
    with pytest.raises(DataError, match="cannot write .*missing"):
        write_idx(tmp_path / "missing" / "labels", np.zeros(3, dtype=np.uint8))
    with pytest.raises(ValueError, match="uint8 with 1 or 3 dimensions"):
        write_idx(tmp_path / "labels", np.zeros((3, 2), dtype=np.uint8))

    def interrupted(source, target):
        raise KeyboardInterrupt

    monkeypatch.setattr("hdl_native.data.idx.os.replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_idx(tmp_path / "images.gz", small_images())
    assert not list(tmp_path.iterdir())


def expect_error(path, *fragments, expected_magic=None):
    """read_idx raises DataError whose message names the file and every fragment."""
    with pytest.raises(DataError) as info:
        read_idx(path, expected_magic)
    message = str(info.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_missing_file(tmp_path):
    expect_error(tmp_path / "nope.gz", "not found")


def test_directory_instead_of_file(tmp_path):
    expect_error(tmp_path, "directory")


def test_bad_magic(tmp_path):
    path = tmp_path / "bad"
    path.write_bytes(struct.pack(">II", 0x12345678, 1) + b"\0")
    expect_error(path, f"bad magic number {0x12345678}", "2051")


def test_wrong_element_type(tmp_path):
    path = tmp_path / "floats"
    path.write_bytes(bytes([0, 0, 0x0D, 1]) + struct.pack(">I", 1) + b"\0\0\0\0")
    expect_error(path, "element type 0x0d")


def test_labels_where_images_expected(tmp_path):
    path = write_idx(tmp_path / "labels", np.zeros(3, dtype=np.uint8))
    expect_error(path, "labels", "images", expected_magic=IMAGES_MAGIC)


def test_truncated_header(tmp_path):
    path = tmp_path / "short"
    path.write_bytes(struct.pack(">II", 2051, 10))
    expect_error(path, "truncated", "header")


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_truncated_data(tmp_path, suffix):
    full = tmp_path / "full"
    write_idx(full, small_images(n=4), compress=False)
    path = tmp_path / f"cut{suffix}"
    data = full.read_bytes()[:-7]
    path.write_bytes(gzip.compress(data) if suffix else data)
    expect_error(path, "truncated", "promises 48 data bytes", "only 41")


def test_trailing_bytes(tmp_path):
    path = write_idx(tmp_path / "labels", np.arange(4, dtype=np.uint8))
    path.write_bytes(path.read_bytes() + b"xyz")
    expect_error(path, "3 unexpected trailing bytes")


def test_cut_gzip_stream(tmp_path):
    path = write_idx(tmp_path / "images.gz", small_images(n=50))
    path.write_bytes(path.read_bytes()[:-20])
    expect_error(path)


def test_corrupt_gzip_stream(tmp_path):
    path = write_idx(tmp_path / "images.gz", small_images(n=50))
    data = bytearray(path.read_bytes())
    data[30:40] = b"\xff" * 10
    path.write_bytes(bytes(data))
    expect_error(path)


def test_huge_promised_size_fails_fast_without_allocating(tmp_path):
    path = tmp_path / "liar"
    path.write_bytes(struct.pack(">IIII", 2051, 0xFFFFFFFF, 0xFFFF, 0xFFFF) + b"\0" * 100)
    expect_error(path, "header is probably corrupt")


def test_large_but_plausible_promise_reads_to_the_end(tmp_path):
    path = tmp_path / "liar"
    path.write_bytes(struct.pack(">IIII", 2051, 1_000_000, 28, 28) + b"\0" * 100)
    expect_error(path, "truncated", "holds only 100")


def fuzz_cases(tmp_path):
    """Random bytes, random bytes behind a valid magic, and truncations/bit flips of valid plain and gzip files."""
    rng = np.random.default_rng(1234)
    images = write_idx(tmp_path / "valid-images", small_images(n=6, rows=5, cols=5)).read_bytes()
    labels = write_idx(tmp_path / "valid-labels", np.arange(9, dtype=np.uint8)).read_bytes()
    valid = [images, labels, gzip.compress(images), gzip.compress(labels)]
    cases = []
    for _ in range(80):
        cases.append(rng.integers(0, 256, size=int(rng.integers(0, 64)), dtype=np.uint8).tobytes())
    for magic in (IMAGES_MAGIC, LABELS_MAGIC):
        for _ in range(30):
            cases.append(struct.pack(">I", magic) + rng.integers(0, 256, size=int(rng.integers(0, 40)),
                                                                dtype=np.uint8).tobytes())
    for data in valid:
        for cut in rng.choice(len(data), size=min(len(data), 30), replace=False):
            cases.append(data[:cut])
        for _ in range(20):
            corrupted = bytearray(data)
            corrupted[int(rng.integers(0, len(data)))] ^= 1 << int(rng.integers(0, 8))
            cases.append(bytes(corrupted))
    cases.append(b"\x1f\x8b" + rng.integers(0, 256, size=200, dtype=np.uint8).tobytes())
    return cases


def test_fuzz_only_clean_errors(tmp_path):
    """Every mangled input either parses to a uint8 array or raises DataError; nothing else escapes."""
    cases = fuzz_cases(tmp_path)
    assert len(cases) > 300
    path = tmp_path / "fuzz"
    outcomes = {"parsed": 0, "rejected": 0}
    for data in cases:
        path.write_bytes(data)
        try:
            array = read_idx(path)
        except DataError as error:
            assert str(path) in str(error)
            outcomes["rejected"] += 1
        else:
            assert array.dtype == np.uint8 and array.ndim in (1, 3)
            outcomes["parsed"] += 1
    assert outcomes["rejected"] > 250
