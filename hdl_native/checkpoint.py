"""Versioned state files: a model's parameters, optimiser state and training position.

Layout of a ``.hdl`` file (all integers little-endian)::

    8 bytes   magic b"HDLSTATE"
    uint32    format version (FORMAT_VERSION)
    uint64    header length H
    H bytes   UTF-8 JSON header: architecture, model_args, classes, the other
              entries as a JSON tree in which every array is replaced by
              {"__array__": i}, and the table of arrays (name, dtype, shape,
              offset, nbytes) plus the data length and its CRC-32
    data      the arrays' raw little-endian bytes, back to back

A file that is not a state file, a truncated or corrupted one, or one whose
parameters do not fit the architecture it names raises ``HDLError`` naming
the file.  Writing goes to a temporary file in the same directory, which is
flushed, fsynced and renamed over the target, so an interruption at any
moment leaves the previous file intact.
"""
import json
import os
import re
import tempfile
import zlib
from pathlib import Path

import numpy as np

from .errors import HDLError
from .models import MODELS

MAGIC = b"HDLSTATE"
FORMAT_VERSION = 1
PRETRAINED_LETTERS = Path(__file__).resolve().parent / "pretrained" / "letters.hdl"
_PREAMBLE = len(MAGIC) + 4 + 8
_ARCHITECTURE_OF = {cls: name for name, cls in MODELS.items()}


def architecture_of(model):
    """The registered architecture name of `model` ('letters-cnn' or 'digits-mlp')."""
    try:
        return _ARCHITECTURE_OF[type(model)]
    except KeyError:
        raise HDLError(f"cannot save a {type(model).__name__}: only {', '.join(MODELS)} are known") from None


def save_checkpoint(path, model, optimizer=None, **extra):
    """Write `model`'s parameters (and `optimizer`'s state, and `extra` entries) to `path` atomically.

    extra: JSON-able values or numpy arrays, possibly nested in dicts/lists
    (e.g. classes=[...], batch_counter=12, rng_state={...}, normalization={...}).
    'model_args' defaults to {'n_classes': model.n_classes}.
    """
    path = Path(path)
    entries = {
        "architecture": architecture_of(model),
        "model_args": {"n_classes": int(model.n_classes)},
        "params": model.state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "classes": [str(i) for i in range(int(model.n_classes))],
    }
    entries.update(extra)
    blob = encode(entries)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as stream:
            if hasattr(os, "fchmod"):  # mkstemp makes 0600; give the file the mode open() would
                os.fchmod(stream.fileno(), 0o666 & ~_current_umask())
            stream.write(blob)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)
    return path


def load_checkpoint(path):
    """Read a state file into a dict: format_version, architecture, model_args, classes, params, optimizer, extras."""
    path = Path(path)
    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        raise HDLError(f"state file {path} does not exist") from None
    except IsADirectoryError:
        raise HDLError(f"state file {path} is a directory, not a file") from None
    except OSError as error:
        raise HDLError(f"cannot read state file {path}: {error.strerror}") from None
    return decode(blob, path)


def load_model(path):
    """Rebuild the saved model in eval mode and return (model, meta); meta is the rest of the checkpoint."""
    checkpoint = load_checkpoint(path)
    model = build_model(checkpoint, path)
    meta = {key: value for key, value in checkpoint.items() if key != "params"}
    return model, meta


def build_model(checkpoint, path="<state>"):
    """A model of the checkpoint's architecture with its parameters loaded, in eval mode."""
    architecture = checkpoint.get("architecture")
    if architecture not in MODELS:
        raise HDLError(f"{path}: unknown architecture {architecture!r}; known: {', '.join(MODELS)}")
    model_args = checkpoint.get("model_args") or {}
    try:
        model = MODELS[architecture](**model_args)
    except (TypeError, ValueError) as error:
        raise HDLError(f"{path}: cannot build {architecture} with {model_args}: {error}") from None
    load_params(model, checkpoint["params"], path)
    return model.eval()


def load_params(model, params, path="<state>"):
    """Copy saved parameters into `model`, raising HDLError on any missing, extra or misshapen one."""
    expected = dict(model.named_parameters())
    missing = sorted(set(expected) - set(params))
    unexpected = sorted(set(params) - set(expected))
    if missing or unexpected:
        raise HDLError(f"{path}: parameters do not match the {type(model).__name__}: "
                       f"missing {missing or 'none'}, unexpected {unexpected or 'none'}")
    for name, tensor in expected.items():
        shape = tuple(np.shape(params[name]))
        if shape != tuple(tensor.shape):
            raise HDLError(f"{path}: parameter {name} has shape {shape}, "
                           f"the {type(model).__name__} expects {tuple(tensor.shape)}")
    model.load_state_dict(params)


# ---------------------------------------------------------------- encoding
def encode(entries):
    """The bytes of a state file holding `entries` (a dict of JSON-able values and arrays)."""
    arrays = []
    tree = _to_tree(entries, arrays)
    table, offset = [], 0
    for array in arrays:
        table.append({"dtype": array.dtype.str, "shape": list(array.shape), "offset": offset, "nbytes": array.nbytes})
        offset += array.nbytes
    data = b"".join(array.tobytes() for array in arrays)
    header = {"tree": tree, "arrays": table, "data_bytes": len(data), "data_crc32": zlib.crc32(data)}
    header_bytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    preamble = MAGIC + FORMAT_VERSION.to_bytes(4, "little") + len(header_bytes).to_bytes(8, "little")
    return preamble + header_bytes + data


def decode(blob, path="<state>"):
    """The entries of a state file's bytes, with 'format_version' added; HDLError names `path` on any defect."""
    if len(blob) < _PREAMBLE or not blob.startswith(MAGIC):
        raise HDLError(f"{path} is not an hdl_native state file (it does not start with {MAGIC!r})")
    version = int.from_bytes(blob[8:12], "little")
    if version != FORMAT_VERSION:
        raise HDLError(f"{path}: state file format version {version} is not supported (this hdl_native reads {FORMAT_VERSION})")
    header_length = int.from_bytes(blob[12:20], "little")
    if _PREAMBLE + header_length > len(blob):
        raise HDLError(f"{path} is truncated: its header needs {header_length} bytes, the file has {len(blob) - _PREAMBLE}")
    try:
        header = json.loads(blob[_PREAMBLE:_PREAMBLE + header_length].decode("utf-8"))
        table, tree = header["arrays"], header["tree"]
        data_bytes, data_crc = int(header["data_bytes"]), int(header["data_crc32"])
    except (UnicodeDecodeError, ValueError, KeyError, TypeError) as error:
        raise HDLError(f"{path}: the state file header is corrupt ({error})") from None
    data = memoryview(blob)[_PREAMBLE + header_length:]
    if len(data) != data_bytes:
        kind = "truncated" if len(data) < data_bytes else "longer than its header says"
        raise HDLError(f"{path} is {kind}: {len(data)} data bytes, expected {data_bytes}")
    if zlib.crc32(data) != data_crc:
        raise HDLError(f"{path} is corrupt: the checksum of its data does not match")
    try:
        arrays = [_read_array(data, entry) for entry in table]
        entries = _from_tree(tree, arrays)
    except (ValueError, KeyError, TypeError, IndexError) as error:
        raise HDLError(f"{path}: the state file's array table is corrupt ({error})") from None
    if not isinstance(entries, dict) or "params" not in entries or "architecture" not in entries:
        raise HDLError(f"{path}: the state file holds no model (no architecture or params)")
    entries["format_version"] = version
    return entries


def _read_array(data, entry):
    dtype = np.dtype(entry["dtype"])
    if dtype.hasobject:
        raise ValueError(f"object dtype {dtype} is not allowed")
    shape, offset, nbytes = tuple(entry["shape"]), int(entry["offset"]), int(entry["nbytes"])
    if int(np.prod(shape, dtype=np.int64)) * dtype.itemsize != nbytes or offset < 0 or offset + nbytes > len(data):
        raise ValueError(f"array entry {entry} does not fit the data")
    array = np.frombuffer(data, dtype=dtype, count=nbytes // dtype.itemsize if dtype.itemsize else 0, offset=offset)
    return array.reshape(shape).astype(dtype.newbyteorder("="), copy=True)


def _to_tree(value, arrays):
    """A JSON-able copy of `value` with arrays moved into `arrays` and replaced by {'__array__': index}."""
    if isinstance(value, np.ndarray):
        arrays.append(np.ascontiguousarray(value).astype(value.dtype.newbyteorder("<"), copy=False))
        return {"__array__": len(arrays) - 1}
    if isinstance(value, dict):
        return {"__dict__": [[_to_tree(key, arrays), _to_tree(item, arrays)] for key, item in value.items()]}
    if isinstance(value, tuple):
        return {"__tuple__": [_to_tree(item, arrays) for item in value]}
    if isinstance(value, list):
        return [_to_tree(item, arrays) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot store a {type(value).__name__} in a state file")


def _from_tree(tree, arrays):
    if isinstance(tree, list):
        return [_from_tree(item, arrays) for item in tree]
    if isinstance(tree, dict):
        if "__array__" in tree:
            return arrays[tree["__array__"]]
        if "__tuple__" in tree:
            return tuple(_from_tree(item, arrays) for item in tree["__tuple__"])
        return {_from_tree(key, arrays): _from_tree(item, arrays) for key, item in tree["__dict__"]}
    return tree


def _current_umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_directory(directory):
    """Make the rename durable (POSIX); harmless where directories cannot be opened."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def remove_stale_temp_files(path):
    """Delete the temporary files that save_checkpoint(path) leaves beside `path` when killed mid-write.

    They are named '.NAME.XXXXXXXX.tmp' (mkstemp's 8 random characters); returns the paths removed.
    """
    path = Path(path)
    pattern = re.compile(rf"\.{re.escape(path.name)}\.[a-z0-9_]{{8}}\.tmp")
    if not path.parent.is_dir():
        return []
    stale = [candidate for candidate in path.parent.iterdir()
             if pattern.fullmatch(candidate.name) and candidate.is_file()]
    for candidate in stale:
        candidate.unlink(missing_ok=True)
    return stale
