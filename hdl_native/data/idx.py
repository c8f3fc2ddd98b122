"""Read and write IDX files (LeCun's MNIST layout, also used by NIST for EMNIST), gzip-compressed or plain.

An IDX file is a big-endian header followed by raw uint8 data:

    bytes 0-1   zero
    byte  2     element type (0x08 = unsigned byte, the only one used here)
    byte  3     number of dimensions D
    then D      uint32 sizes, e.g. (count,) for labels or (count, rows, cols) for images

so the magic number ``int.from_bytes(bytes[0:4], "big")`` is 2049 for labels
and 2051 for images.  Every defect (missing file, bad magic, wrong dimensions,
truncated or over-long data, broken gzip stream) raises ``DataError`` naming
the file and what is wrong; nothing else escapes and nothing can hang, because
the data is read in bounded chunks and never beyond the size the header promises.
Memory stays bounded too: a gzip file whose header promises far more data than
its compressed size can hold (a corrupt header or a decompression bomb) is
refused before anything is inflated, and trailing data is counted chunk by
chunk, never kept.
"""
import contextlib
import gzip
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from ..atomic import atomic_output
from ..errors import DataError

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049
_UBYTE = 0x08
_GZIP_SIGNATURE = b"\x1f\x8b"
_CHUNK = 1 << 20
# The largest real IDX file (EMNIST byclass, 697932 images) holds 0.55 GB; 4 GiB leaves room and stops absurd headers.
MAX_DATA_BYTES = 4 << 30
# Level 6 rather than gzip's default 9: nearly the same size, ten times faster on 40 MB of pixels.
GZIP_LEVEL = 6
# Real IDX images gzip at about 5:1 (MNIST: 47 MB -> 9.9 MB); deflate's ceiling is about 1032:1, reached only by
# runs of one byte.  Promising more than 100 times the compressed size (beyond a 64 MiB floor that any small file
# may use) is refused before inflating.
MAX_GZIP_RATIO = 100
_RATIO_FLOOR_BYTES = 64 << 20


def read_idx(path, expected_magic=None):
    """The array stored in an IDX file (gzip or plain, detected from its first bytes).

    path: file name.  expected_magic: 2051 (images), 2049 (labels) or None (either).
    Returns uint8 (count,) for labels, (count, rows, cols) for images.
    Raises DataError naming the file for anything missing, truncated or malformed.
    """
    path = Path(path)
    compressed = False
    try:
        with open(path, "rb") as raw:
            compressed = raw.read(2) == _GZIP_SIGNATURE
            raw.seek(0)
            if compressed:
                compressed_bytes = os.fstat(raw.fileno()).st_size
                with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                    return _read_stream(stream, path, expected_magic, compressed_bytes)
            return _read_stream(raw, path, expected_magic)
    except DataError:
        raise
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a directory, expected an IDX file") from None
    except PermissionError:
        raise DataError(f"{path}: permission denied") from None
    except (OSError, EOFError, zlib.error) as error:
        what = "corrupt gzip stream" if compressed else "cannot be read"
        raise DataError(f"{path}: {what} ({error})") from None


# A labelled image set as `hdl-native synth-letters --out DIR` writes it: two IDX files in one directory.
IMAGES_FILE = "synth-letters-train-images-idx3-ubyte.gz"
LABELS_FILE = "synth-letters-train-labels-idx1-ubyte.gz"


def read_labelled_images(directory):
    """The images and labels in `directory`: (uint8 (N, 28, 28), int64 (N,)).

    Reads IMAGES_FILE and LABELS_FILE; raises DataError naming the labels file when the counts differ.
    """
    directory = Path(directory)
    images = read_idx(directory / IMAGES_FILE, expected_magic=IMAGES_MAGIC)
    labels = read_idx(directory / LABELS_FILE, expected_magic=LABELS_MAGIC).astype(np.int64)
    if len(images) != len(labels):
        raise DataError(f"{directory / LABELS_FILE}: {len(labels)} labels but {IMAGES_FILE} holds {len(images)} images")
    return images, labels


def _read_stream(stream, path, expected_magic, compressed_bytes=None):
    """Parse header and payload from an open binary stream; see read_idx.

    compressed_bytes: the gzip file's size, or None for a plain file.
    """
    magic_bytes = _read_exactly(stream, 4, path, "the 4-byte magic number")
    magic = int.from_bytes(magic_bytes, "big")
    zeros, type_code, n_dims = magic_bytes[:2], magic_bytes[2], magic_bytes[3]
    if zeros != b"\0\0" or magic not in (IMAGES_MAGIC, LABELS_MAGIC):
        if zeros == b"\0\0" and type_code != _UBYTE:
            raise DataError(f"{path}: magic number {magic} (0x{magic:08x}) declares IDX element type "
                            f"0x{type_code:02x}; only unsigned bytes (0x08: 2051 images, 2049 labels) are supported")
        raise DataError(f"{path}: bad magic number {magic} (0x{magic:08x}); expected 2051 for images "
                        f"or 2049 for labels - not an IDX file")
    if expected_magic is not None and magic != expected_magic:
        expected_kind = "images" if expected_magic == IMAGES_MAGIC else "labels"
        actual_kind = "images" if magic == IMAGES_MAGIC else "labels"
        raise DataError(f"{path}: holds {actual_kind} (magic {magic}) but {expected_kind} "
                        f"(magic {expected_magic}) were expected")
    shape = struct.unpack(f">{n_dims}I", _read_exactly(stream, 4 * n_dims, path, f"{n_dims} dimension sizes"))
    if n_dims == 3 and (shape[1] == 0 or shape[2] == 0):
        raise DataError(f"{path}: image size {shape[1]}x{shape[2]} is empty")
    n_bytes = math.prod(shape)
    if n_bytes > MAX_DATA_BYTES:
        raise DataError(f"{path}: header promises shape {tuple(shape)} = {n_bytes} bytes, more than the "
                        f"{MAX_DATA_BYTES >> 30} GiB this reader accepts; the header is probably corrupt")
    if compressed_bytes is not None and n_bytes > max(_RATIO_FLOOR_BYTES, MAX_GZIP_RATIO * compressed_bytes):
        raise DataError(f"{path}: header promises shape {tuple(shape)} = {n_bytes} bytes, but the gzip file holds "
                        f"only {compressed_bytes} bytes (more than {MAX_GZIP_RATIO}:1, real IDX data compresses "
                        f"about 5:1); the header is corrupt or the file is a decompression bomb, "
                        f"refused before inflating")
    payload = _read_payload(stream, n_bytes, path, shape)
    return np.frombuffer(payload, dtype=np.uint8).reshape(shape)


def _read_exactly(stream, n_bytes, path, what):
    """n_bytes from the stream, or DataError saying the file ends inside `what`."""
    data = stream.read(n_bytes)
    if len(data) != n_bytes:
        raise DataError(f"{path}: truncated: the file ends inside {what} (header)")
    return data


def _read_payload(stream, n_bytes, path, shape):
    """Exactly n_bytes of data and then end-of-file, read in bounded chunks.

    Chunks keep a corrupt header that promises terabytes from allocating them.
    """
    buffer = bytearray()
    while len(buffer) < n_bytes:
        chunk = stream.read(min(_CHUNK, n_bytes - len(buffer)))
        if not chunk:
            raise DataError(f"{path}: truncated: header promises {n_bytes} data bytes for shape "
                            f"{tuple(shape)} but the file holds only {len(buffer)}")
        buffer += chunk
    if stream.read(1):
        raise DataError(f"{path}: {_describe_extra(stream)} after the {n_bytes} data bytes that the header "
                        f"(shape {tuple(shape)}) promises")
    return buffer


def _describe_extra(stream):
    """'N unexpected bytes' for trailing data (counted up to a bound so it cannot hang on huge streams)."""
    extra = 1
    for _ in range(64):
        chunk = stream.read(_CHUNK)
        if not chunk:
            return f"{extra} unexpected trailing byte{'s' if extra != 1 else ''}"
        extra += len(chunk)
    return "more than 64 MiB of unexpected trailing data"


def write_idx(path, array, compress=None):
    """Write a uint8 array (count,) or (count, rows, cols) as an IDX file; gzip when path ends in .gz.

    The inverse of read_idx.  The data goes to a temporary file beside `path` that is then renamed,
    so an interruption never leaves a half-written file under the final name.  Returns the path.
    Raises DataError naming the file when it cannot be written.
    """
    array = np.ascontiguousarray(array)
    if array.dtype != np.uint8 or array.ndim not in (1, 3):
        raise ValueError(f"write_idx needs uint8 with 1 or 3 dimensions, got {array.dtype} {array.shape}")
    header = bytes([0, 0, _UBYTE, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    path = Path(path)
    gzipped = compress if compress is not None else path.suffix == ".gz"
    try:
        with atomic_output(path) as raw:
            # filename="" and mtime=0: the same array always gives the same bytes, whatever the temporary's name
            writer = (gzip.GzipFile(filename="", fileobj=raw, mode="wb", compresslevel=GZIP_LEVEL, mtime=0)
                      if gzipped else contextlib.nullcontext(raw))
            with writer as stream:
                stream.write(header)
                stream.write(array.tobytes())
    except OSError as error:
        raise DataError(f"cannot write {path}: {error.strerror}") from None
    return path
