"""Versioned state files: a model's parameters, optimiser state and training position.

Layout of a ``.hdl`` file (all integers little-endian)::

    8 bytes   magic b"HDLSTATE"
    uint32    format version (FORMAT_VERSION)
    uint64    header length H
    uint32    CRC-32 of the header (version 2 on; version 1 files have none)
    H bytes   UTF-8 JSON header: architecture, model_args, classes, the other
              entries as a JSON tree in which every array is replaced by
              {"__array__": i}, and the table of arrays (name, dtype, shape,
              offset, nbytes) plus the data length and its CRC-32
    data      the arrays' raw little-endian bytes, back to back

The two checksums cover every byte after the preamble: a flipped bit in the
data or a relabelled dtype or shape in the header is caught.  Reading checks
the preamble and the header before touching the data, so a file that is not a
state file costs 8 bytes of reading whatever its size; a truncated, corrupted
or implausible one (absurd class count or dropout, non-numeric arrays, a
header nested deeper than any real one, garbage RNG state) raises ``HDLError``
naming the file, and so do parameters that are non-finite or do not fit the
architecture.  A state with a "quantized" section (quantize/section.py) stores
its weights as n-bit codes; reading dequantises them into float32 params, so
every caller sees an ordinary state.  Writing goes to a temporary file in the
same directory, which is flushed, fsynced and renamed over the target, so an
interruption at any moment leaves the previous file intact.
"""
import inspect
import io
import json
import math
import os
import re
import zlib
from pathlib import Path

import numpy as np

from .atomic import atomic_output
from .errors import HDLError
from .models import MODELS, TEXT_MODELS
from .quantize.section import dequantized_params

MAGIC = b"HDLSTATE"
FORMAT_VERSION = 2
# Preamble length per readable version: magic, version, header length (+ header CRC-32 from version 2).
_PREAMBLE_BYTES = {1: 20, 2: 24}
_MAGIC_AND_VERSION = len(MAGIC) + 4
# Real headers take a few KB and real data under 2 MB; the bounds stop a hostile file's claims from allocating.
MAX_HEADER_BYTES = 16 << 20
MAX_DATA_BYTES = 1 << 30
MAX_CLASSES = 10_000
# A recurrent layer of 4096 holds 50 M weights per gate set; deeper or wider stacks are not these models.
MAX_HIDDEN = 4096
MAX_LAYERS = 16
# Real trees nest about 5 deep (rng_state -> augment -> state -> dict); JSON itself would recurse a thousand deep.
MAX_TREE_DEPTH = 32
_NUMERIC_KINDS = "biuf"
PRETRAINED_LETTERS = Path(__file__).resolve().parent / "pretrained" / "letters.hdl"
# Every architecture a state file may hold: the image classifiers and the text generators.
ARCHITECTURES = {**MODELS, **TEXT_MODELS}
_ARCHITECTURE_OF = {cls: name for name, cls in ARCHITECTURES.items()}
# A --ema-decay run's entry (training/weight_average.py): {"decay": d, "averages": {parameter name: float64 array}}.
WEIGHT_AVERAGE = "weight_average"


def architecture_of(model):
    """The registered architecture name of `model` (a key of ARCHITECTURES, e.g. 'letters-cnn' or 'char-gru')."""
    try:
        return _ARCHITECTURE_OF[type(model)]
    except KeyError:
        raise HDLError(f"cannot save a {type(model).__name__}: only {', '.join(ARCHITECTURES)} are known") from None


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
    return save_entries(path, entries)


def save_entries(path, entries):
    """Write the state file holding `entries` (see encode) to `path` atomically; returns the path."""
    path = Path(path)
    blob = encode(entries)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as stream:
        stream.write(blob)
    return path


def load_checkpoint(path):
    """Read a state file into a dict: format_version, architecture, model_args, classes, params, optimizer, extras.

    The preamble and header are read and checked first; the data is read only when the header accounts for
    exactly the bytes the file holds.
    """
    path = Path(path)
    try:
        with open(path, "rb") as stream:
            return _read_state(stream, os.fstat(stream.fileno()).st_size, path)
    except FileNotFoundError:
        raise HDLError(f"state file {path} does not exist") from None
    except IsADirectoryError:
        raise HDLError(f"state file {path} is a directory, not a file") from None
    except OSError as error:
        raise HDLError(f"cannot read state file {path}: {error.strerror}") from None


def load_model(path, architectures=MODELS):
    """Rebuild the saved model in eval mode and return (model, meta); meta is the rest of the checkpoint.

    architectures: the kinds the caller can use (default: the image classifiers); a state of another
    kind (a text generator given to `evaluate`) is an HDLError naming both.
    """
    checkpoint = load_checkpoint(path)
    model = build_model(checkpoint, path, architectures)
    meta = {key: value for key, value in checkpoint.items() if key != "params"}
    return model, meta


def build_model(checkpoint, path="<state>", architectures=MODELS):
    """A model of the checkpoint's architecture, one of `architectures`, in eval mode, holding the weights its run
    reported on (reported_params)."""
    _check_model_description(checkpoint, path)
    architecture = checkpoint["architecture"]
    if architecture not in architectures:
        raise HDLError(f"{path} holds a {architecture} model, {_KIND_OF[architecture]}; "
                       f"this command takes {' or '.join(architectures)} states")
    model = architectures[architecture](**checkpoint.get("model_args") or {})
    load_params(model, reported_params(checkpoint, path), path)
    return model.eval()


def reported_params(checkpoint, path="<state>"):
    """The parameters the state's readers use (evaluate, ocr, calibrate, quantize, prune): a run with --ema-decay
    validated, tested and exported the moving average its state keeps under WEIGHT_AVERAGE, so each averaged
    parameter is that average in its own dtype, as the run held it then (the running statistics of a batch
    normalisation are not averaged); otherwise the trained weights.  Training goes on from the trained weights
    (training/start.py)."""
    params = checkpoint["params"]
    entry = checkpoint.get(WEIGHT_AVERAGE)
    if entry is None:
        return params
    averages = entry.get("averages") if isinstance(entry, dict) else None
    if not isinstance(averages, dict) or not averages:
        raise HDLError(f"{path}: its {WEIGHT_AVERAGE} entry holds no arrays (got {type(averages).__name__})")
    check_arrays(averages, {name: np.shape(params[name]) for name in averages if name in params},
                 "state's parameters", path, what="weight average")
    return {**params, **{name: np.asarray(average).astype(np.asarray(params[name]).dtype)
                         for name, average in averages.items()}}


def load_params(model, params, path="<state>"):
    """Copy saved parameters into `model`; HDLError on any missing, extra, misshapen, non-float or non-finite one.

    Every user of a state's weights (evaluate, ocr, resuming or --init) comes through here, so a state
    saved from a diverged run is refused in this one place.
    """
    check_arrays(params, {name: tuple(tensor.shape) for name, tensor in model.named_arrays().items()},
                 type(model).__name__, path)
    model.load_state_dict(params)


def check_arrays(arrays, shapes, owner, path="<state>", what="parameter"):
    """HDLError unless `arrays` ({name: array} read from the state at `path`) holds exactly the names of `shapes`
    ({name: shape} of the `owner` model's arrays), each of its shape, floating-point and finite.
    what: how messages name one array ('parameter'; plural with an s)."""
    missing = sorted(set(shapes) - set(arrays))
    unexpected = sorted(set(arrays) - set(shapes))
    if missing or unexpected:
        raise HDLError(f"{path}: {what}s do not match the {owner}: "
                       f"missing {missing or 'none'}, unexpected {unexpected or 'none'}")
    for name, expected in shapes.items():
        array = np.asarray(arrays[name])
        if array.shape != expected:
            raise HDLError(f"{path}: {what} {name} has shape {array.shape}, the {owner} expects {expected}")
        if array.dtype.kind != "f":
            raise HDLError(f"{path}: {what} {name} holds {array.dtype} values, expected floating-point numbers")
        bad = array.size - int(np.count_nonzero(np.isfinite(array)))
        if bad:
            raise HDLError(f"{path}: {what} {name} holds {bad} non-finite value{'s' if bad != 1 else ''} "
                           f"(NaN or inf): the state comes from a diverged run and cannot be used")


def load_optimizer_state(optimizer, state, path="<state>"):
    """optimizer.load_state_dict(state), with any mismatch (buffers, shapes, step count) as HDLError naming `path`."""
    try:
        optimizer.load_state_dict(state)
    except ValueError as error:
        raise HDLError(f"{path}: {error}") from None


def check_rng_state(rng_state, path="<state>"):
    """`rng_state` if it is what a trainer saves: {'augment': PCG64 state, 'dropout': PCG64 state or None}.

    numpy accepts some garbage (a float counter) silently and answers other garbage with TypeError or
    OverflowError, so the structure is checked here; anything else raises HDLError naming `path`.
    """
    if not isinstance(rng_state, dict) or "augment" not in rng_state or set(rng_state) - {"augment", "dropout"}:
        raise HDLError(f"{path}: rng_state must hold 'augment' (and optionally 'dropout') generator states, "
                       f"got {_abbreviate(rng_state)}")
    for name, state in rng_state.items():
        if not (name == "dropout" and state is None) and not _is_pcg64_state(state):
            raise HDLError(f"{path}: rng_state[{name!r}] is not a PCG64 generator state: {_abbreviate(state)}")
    return rng_state


def _is_pcg64_state(state):
    """True for {'bit_generator': 'PCG64', 'state': {'state': u128, 'inc': u128}, 'has_uint32': 0 or 1,
    'uinteger': u32}, the state numpy's default generator saves."""
    if not isinstance(state, dict) or set(state) != {"bit_generator", "state", "has_uint32", "uinteger"}:
        return False
    inner = state["state"]
    return (state["bit_generator"] == "PCG64" and isinstance(inner, dict) and set(inner) == {"state", "inc"}
            and all(_is_int_in(inner[key], 0, 2 ** 128 - 1) for key in ("state", "inc"))
            and _is_int_in(state["has_uint32"], 0, 1) and _is_int_in(state["uinteger"], 0, 2 ** 32 - 1))


def _is_int_in(value, low, high):
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _is_finite_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _abbreviate(value, limit=80):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


# Each model argument a state may set: (is it acceptable?, what is acceptable).
_MODEL_ARG_RULES = {
    "n_classes": (lambda v: _is_int_in(v, 1, MAX_CLASSES), f"a whole number from 1 to {MAX_CLASSES}"),
    "dropout": (lambda v: _is_finite_number(v) and 0 <= v < 1, "a number from 0 up to (not including) 1"),
    "seed": (lambda v: _is_int_in(v, 0, 2 ** 63 - 1), "a non-negative whole number"),
    "vocab": (lambda v: _is_int_in(v, 1, MAX_CLASSES), f"a whole number from 1 to {MAX_CLASSES}"),
    "hidden": (lambda v: _is_int_in(v, 1, MAX_HIDDEN), f"a whole number from 1 to {MAX_HIDDEN}"),
    "layers": (lambda v: _is_int_in(v, 1, MAX_LAYERS), f"a whole number from 1 to {MAX_LAYERS}"),
}
_KIND_OF = {**{name: "an image classifier" for name in MODELS},
            **{name: "a text generator (see `hdl-native textgen`)" for name in TEXT_MODELS}}


def _check_model_description(entries, path):
    """HDLError unless architecture, model_args and classes describe a model that can be built and used."""
    architecture = entries.get("architecture")
    if not isinstance(architecture, str) or architecture not in ARCHITECTURES:
        raise HDLError(f"{path}: unknown architecture {_abbreviate(architecture)}; known: {', '.join(ARCHITECTURES)}")
    model_args = entries.get("model_args") or {}
    if not isinstance(model_args, dict):
        raise HDLError(f"{path}: model_args must be a mapping, got {_abbreviate(model_args)}")
    parameters = inspect.signature(ARCHITECTURES[architecture]).parameters
    defaults = {name: parameter.default for name, parameter in parameters.items()}
    accepted = [name for name in defaults if name in _MODEL_ARG_RULES]
    for name, value in model_args.items():
        if name not in accepted:
            raise HDLError(f"{path}: model_args has {name!r}, which {architecture} does not take "
                           f"(it takes {', '.join(accepted)})")
        acceptable, wanted = _MODEL_ARG_RULES[name]
        if not acceptable(value):
            raise HDLError(f"{path}: model_args {name} is {_abbreviate(value)}, expected {wanted}")
    classes = entries.get("classes")
    if classes is not None:
        outputs = "vocab" if "vocab" in defaults else "n_classes"  # a text generator's classes are its characters
        n_classes = model_args.get(outputs, defaults[outputs])
        if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes) or len(classes) != n_classes:
            raise HDLError(f"{path}: classes must be a list of {n_classes} names (one per model output), "
                           f"got {_abbreviate(classes)}")


def _check_entries(entries, path):
    """HDLError unless the decoded entries are a usable state (see the module docstring)."""
    if not isinstance(entries, dict) or "params" not in entries or "architecture" not in entries:
        raise HDLError(f"{path}: the state file holds no model (no architecture or params)")
    _check_model_description(entries, path)
    params = entries["params"]
    if not isinstance(params, dict) or not all(isinstance(value, np.ndarray) for value in params.values()):
        raise HDLError(f"{path}: params must map parameter names to arrays")
    normalization = entries.get("normalization")
    if normalization is not None and not (
            isinstance(normalization, dict) and set(normalization) == {"mean", "std"}
            and all(_is_finite_number(value) for value in normalization.values()) and normalization["std"] > 0):
        raise HDLError(f"{path}: normalization must be {{'mean': number, 'std': positive number}}, "
                       f"got {_abbreviate(normalization)}")
    dataset = entries.get("dataset")
    if dataset is not None and not isinstance(dataset, str):
        raise HDLError(f"{path}: dataset must be a name, got {_abbreviate(dataset)}")
    optimizer = entries.get("optimizer")
    if optimizer is not None and not (isinstance(optimizer, dict) and isinstance(optimizer.get("kind"), str)):
        raise HDLError(f"{path}: optimizer state must be a mapping with a 'kind', got {_abbreviate(optimizer)}")
    if "rng_state" in entries:
        check_rng_state(entries["rng_state"], path)


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
    preamble = (MAGIC + FORMAT_VERSION.to_bytes(4, "little") + len(header_bytes).to_bytes(8, "little")
                + zlib.crc32(header_bytes).to_bytes(4, "little"))
    return preamble + header_bytes + data


def decode(blob, path="<state>"):
    """The entries of a state file's bytes, with 'format_version' added; HDLError names `path` on any defect."""
    return _read_state(io.BytesIO(blob), len(blob), path)


def _read_state(stream, total_bytes, path):
    """The checked entries of a state file of total_bytes open as `stream`; see load_checkpoint."""
    start = stream.read(_MAGIC_AND_VERSION)
    if len(start) < _MAGIC_AND_VERSION or not start.startswith(MAGIC):
        raise HDLError(f"{path} is not an hdl_native state file (it does not start with {MAGIC!r})")
    version = int.from_bytes(start[len(MAGIC):], "little")
    if version not in _PREAMBLE_BYTES:
        raise HDLError(f"{path}: state file format version {version} is not supported "
                       f"(this hdl_native reads {', '.join(map(str, _PREAMBLE_BYTES))})")
    rest = stream.read(_PREAMBLE_BYTES[version] - _MAGIC_AND_VERSION)
    if len(rest) < _PREAMBLE_BYTES[version] - _MAGIC_AND_VERSION:
        raise HDLError(f"{path} is truncated: it ends inside its {_PREAMBLE_BYTES[version]}-byte preamble")
    header_length = int.from_bytes(rest[:8], "little")
    after_preamble = total_bytes - _PREAMBLE_BYTES[version]
    if header_length > after_preamble:
        raise HDLError(f"{path} is truncated: its header needs {header_length} bytes, the file has {after_preamble}")
    if header_length > MAX_HEADER_BYTES:
        raise HDLError(f"{path} is corrupt: its header claims {header_length} bytes, "
                       f"more than the {MAX_HEADER_BYTES >> 20} MiB any state file needs")
    header_bytes = stream.read(header_length)
    if version >= 2 and zlib.crc32(header_bytes) != int.from_bytes(rest[8:12], "little"):
        raise HDLError(f"{path} is corrupt: the checksum of its header does not match")
    table, tree, data_bytes, data_crc = _parse_header(header_bytes, path)
    held = after_preamble - header_length
    if held != data_bytes:
        kind = "truncated" if held < data_bytes else "longer than its header says"
        raise HDLError(f"{path} is {kind}: {held} data bytes, expected {data_bytes}")
    if data_bytes > MAX_DATA_BYTES:
        raise HDLError(f"{path}: {data_bytes} data bytes is more than the {MAX_DATA_BYTES >> 30} GiB "
                       f"this reader accepts; the file is not a state of these models")
    data = stream.read(data_bytes)
    if len(data) != data_bytes or zlib.crc32(data) != data_crc:
        raise HDLError(f"{path} is corrupt: the checksum of its data does not match")
    try:
        arrays = [_read_array(data, entry) for entry in table]
        entries = _from_tree(tree, arrays)
    except (ValueError, KeyError, TypeError, IndexError) as error:
        raise HDLError(f"{path}: the state file's array table is corrupt ({error})") from None
    _check_entries(entries, path)
    if "quantized" in entries:  # a quantised state: its weights are read back as float32 here, for every reader
        entries["params"] = dequantized_params(entries["quantized"], entries["params"], path)
    entries["format_version"] = version
    return entries


def _parse_header(header_bytes, path):
    """(array table, tree, data length, data CRC-32) from the header's JSON; HDLError when malformed."""
    try:
        header = json.loads(header_bytes.decode("utf-8"))
        table, tree = header["arrays"], header["tree"]
        data_bytes, data_crc = header["data_bytes"], header["data_crc32"]
    except RecursionError:
        raise HDLError(f"{path}: the state file header is corrupt (nested too deeply)") from None
    except (UnicodeDecodeError, ValueError, KeyError, TypeError) as error:
        raise HDLError(f"{path}: the state file header is corrupt ({error})") from None
    if not isinstance(table, list) or not _is_int_in(data_bytes, 0, 2 ** 64) or not _is_int_in(data_crc, 0, 2 ** 32):
        raise HDLError(f"{path}: the state file header is corrupt (bad array table, data length or checksum)")
    return table, tree, data_bytes, data_crc


def _read_array(data, entry):
    """The array `entry` (dtype, shape, offset, nbytes) of the table describes in `data`, as a native-order copy."""
    if not isinstance(entry, dict) or not isinstance(entry.get("dtype"), str):
        raise ValueError(f"array entry {_abbreviate(entry)} has no dtype name")
    dtype = np.dtype(entry["dtype"])
    if dtype.kind not in _NUMERIC_KINDS:
        raise ValueError(f"dtype {entry['dtype']!r} is not numeric")
    shape, offset, nbytes = entry["shape"], entry["offset"], entry["nbytes"]
    if not (isinstance(shape, list) and all(_is_int_in(size, 0, 2 ** 63 - 1) for size in shape)
            and _is_int_in(offset, 0, len(data)) and _is_int_in(nbytes, 0, len(data) - offset)
            and math.prod(shape) * dtype.itemsize == nbytes):
        raise ValueError(f"array entry {_abbreviate(entry)} does not fit the data")
    array = np.frombuffer(data, dtype=dtype, count=nbytes // dtype.itemsize, offset=offset)
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


def _from_tree(tree, arrays, depth=0):
    """The value `tree` (from _to_tree) stands for; ValueError when nested deeper than MAX_TREE_DEPTH."""
    if depth > MAX_TREE_DEPTH:
        raise ValueError(f"the entries nest deeper than {MAX_TREE_DEPTH} levels")
    if isinstance(tree, list):
        return [_from_tree(item, arrays, depth + 1) for item in tree]
    if isinstance(tree, dict):
        if "__array__" in tree:
            index = tree["__array__"]
            if not _is_int_in(index, 0, len(arrays) - 1):
                raise ValueError(f"the entries refer to array {_abbreviate(index)}, the table has {len(arrays)}")
            return arrays[index]
        if "__tuple__" in tree:
            return tuple(_from_tree(item, arrays, depth + 1) for item in tree["__tuple__"])
        return {_from_tree(key, arrays, depth + 1): _from_tree(item, arrays, depth + 1)
                for key, item in tree["__dict__"]}
    return tree


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
