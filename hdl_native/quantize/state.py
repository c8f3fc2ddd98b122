"""Quantise a float32 state file into a quantised one (see section.py for what it holds).

The quantised state keeps what a reader of the model needs (architecture, model arguments, class names,
dataset, input normalisation, calibration temperatures) and drops what only training uses (optimiser
moments, RNG and batcher state, settings), so its size is that of the weights.
"""
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..calibration import CALIBRATION_ENTRIES
from ..checkpoint import build_model, encode, load_checkpoint, save_entries
from ..errors import HDLError
from ..weights import named_weights
from .section import build_section, dequantized_params

# What a reader of the model needs besides its parameters.
_KEPT_ENTRIES = ("architecture", "model_args", "classes", "dataset", "normalization") + CALIBRATION_ENTRIES


@dataclass
class TensorError:
    """How far one dequantised weight tensor is from the float32 one."""

    name: str
    shape: tuple
    max_abs: float
    rms: float
    rms_weight: float  # root mean square of the float32 weights, to put rms in proportion

    def as_json(self):
        return {"name": self.name, "shape": list(self.shape), "max_abs_error": self.max_abs,
                "rms_error": self.rms, "rms_weight": self.rms_weight}


@dataclass
class QuantizedState:
    """What quantize_state wrote: the file, its size beside the float32 state's, and each tensor's error."""

    path: str
    scheme: str
    bits: int
    per_channel: bool
    n_bytes: int
    float_bytes: int   # the same state with float32 weights (what --out would be without quantising)
    source_bytes: int  # the source file as given (it may hold optimiser moments as well)
    n_float_values: int  # the values kept as float32 (biases; a batch normalisation's scales, shifts, statistics)
    float_kinds: tuple  # what those are, by the last part of their names: ('bias',) or ('bias', 'gamma', ...)
    source_test_accuracy: float  # percent, as the source's training run measured it (None if unknown)
    errors: list  # [TensorError]

    def as_json(self):
        return {"path": self.path, "scheme": self.scheme, "bits": self.bits, "per_channel": self.per_channel,
                "bytes": self.n_bytes, "float32_bytes": self.float_bytes,
                "percent_of_float32": 100.0 * self.n_bytes / self.float_bytes, "source_bytes": self.source_bytes,
                "float32_values": self.n_float_values, "source_test_accuracy": self.source_test_accuracy,
                "tensors": [error.as_json() for error in self.errors]}


def quantize_state(source_path, out_path, scheme, bits, per_channel=False, tune=None, checkpoint=None):
    """Write the weights of the float32 state at source_path quantised by `scheme` to `bits` bits to out_path.

    Biases stay float32.  tune: optional callable(model) -> dict that changes the float32 model before it is
    quantised (aware.py's fine-tune) and returns what to record of it (the section's source["finetune"]); the
    errors reported stay those against the source's weights.  checkpoint: the source already loaded, if it is.
    Returns a QuantizedState; HDLError when the source is not a float32 state.
    """
    checkpoint = checkpoint if checkpoint is not None else load_checkpoint(source_path)
    if "quantized" in checkpoint:
        raise HDLError(f"{source_path} is already quantised; quantise the float32 state it came from")
    model = build_model(checkpoint, source_path)
    source_weights = {name: parameter.value.copy() for name, parameter in named_weights(model)}
    kept = {key: checkpoint[key] for key in _KEPT_ENTRIES if checkpoint.get(key) is not None}
    float_bytes = len(encode({**kept, "params": model.state_dict(), "optimizer": None}))  # before any tuning
    tuning = tune(model) if tune is not None else None
    weights = {name: parameter.value for name, parameter in named_weights(model)}
    float_params = {name: value for name, value in model.state_dict().items() if name not in weights}
    report = checkpoint.get("test_report") if isinstance(checkpoint.get("test_report"), dict) else {}
    source = {"file": Path(source_path).name, "bytes": os.path.getsize(source_path),
              "test_accuracy": report.get("test_accuracy"), "dataset": checkpoint.get("dataset")}
    if tuning is not None:
        source["finetune"] = tuning
    entries = {**kept, "params": float_params, "optimizer": None,
               "quantized": build_section(weights, scheme, bits, per_channel, source)}
    save_entries(out_path, entries)
    restored = dequantized_params(entries["quantized"], float_params, out_path)
    return QuantizedState(
        path=str(out_path), scheme=scheme, bits=bits, per_channel=per_channel,
        n_bytes=os.path.getsize(out_path), float_bytes=float_bytes,
        source_bytes=source["bytes"], n_float_values=sum(value.size for value in float_params.values()),
        float_kinds=tuple(dict.fromkeys(name.rsplit(".", 1)[-1] for name in float_params)),
        source_test_accuracy=source["test_accuracy"],
        errors=[tensor_error(name, weight, restored[name]) for name, weight in source_weights.items()])


def tensor_error(name, weight, restored):
    """The TensorError of `restored` against `weight` (same shape)."""
    difference = restored.astype(np.float64) - weight
    return TensorError(name, weight.shape, float(np.abs(difference).max()), float(np.sqrt(np.mean(difference ** 2))),
                       float(np.sqrt(np.mean(np.square(weight, dtype=np.float64)))))
