"""The "quantized" section of a state file: which scheme and width, the source it came from, and every
quantised weight tensor.

A quantised state is an ordinary state file (checkpoint.py: versioned, CRC-32 of header and data, written
atomically) whose "params" hold only what stays float32 (the biases: 442 of the LettersCNN's 137,178
numbers, too few to be worth quantising, and an error in them shifts a whole channel) and whose
"quantized" entry is::

    {"format": 1, "scheme": "equal-population" | "linear", "bits": 8 | 4 | 2, "per_channel": bool,
     "source": {"file": name, "bytes": size, "test_accuracy": percent or None, "dataset": name or None},
     "tensors": {parameter name: entry of schemes.py}}

checkpoint.py calls dequantized_params() when it reads such a file, so the model is rebuilt in float32.
"""
import math

from ..errors import HDLError
from .schemes import SCHEMES

SECTION_FORMAT = 1
QUANTIZED_BITS = (8, 4, 2)


def build_section(weights, scheme_name, bits, per_channel, source):
    """The section for `weights` ({name: float32 array}) quantised by `scheme_name` to `bits` bits."""
    scheme = SCHEMES[scheme_name]
    tensors = {name: scheme.quantize(weight, bits, per_channel) for name, weight in weights.items()}
    return {"format": SECTION_FORMAT, "scheme": scheme_name, "bits": bits, "per_channel": per_channel,
            "source": source, "tensors": tensors}


def dequantized_params(section, float_params, path="<state>"):
    """float_params with every tensor of the section added back as float32; HDLError naming `path` on a defect."""
    if not isinstance(section, dict):
        raise HDLError(f"{path}: the quantized section must be a mapping")
    version = section.get("format")
    if version != SECTION_FORMAT:
        raise HDLError(f"{path}: quantized section format {version!r} is not supported "
                       f"(this hdl_native reads {SECTION_FORMAT})")
    scheme, bits, per_channel = SCHEMES.get(section.get("scheme")), section.get("bits"), section.get("per_channel")
    if scheme is None:
        raise HDLError(f"{path}: unknown quantisation scheme {section.get('scheme')!r}; known: {', '.join(SCHEMES)}")
    if bits not in QUANTIZED_BITS or isinstance(bits, bool):
        raise HDLError(f"{path}: quantised to {bits!r} bits; this hdl_native reads "
                       f"{', '.join(map(str, QUANTIZED_BITS))}")
    if not isinstance(per_channel, bool) or (per_channel and not scheme.per_channel_allowed):
        raise HDLError(f"{path}: per_channel {per_channel!r} is not possible with the {scheme.name} scheme")
    source = section.get("source")
    if not (isinstance(source, dict) and isinstance(source.get("file"), str)
            and _is_number_or_none(source.get("test_accuracy"))):
        raise HDLError(f"{path}: the quantized section's source must name a file and its test accuracy (or None)")
    tensors = section.get("tensors")
    if not isinstance(tensors, dict) or not tensors:
        raise HDLError(f"{path}: the quantized section holds no tensors")
    params = dict(float_params)
    for name, entry in tensors.items():
        if name in params:
            raise HDLError(f"{path}: parameter {name} is stored both as float32 and quantised")
        try:
            if not isinstance(entry, dict):
                raise ValueError("it is not a mapping")
            params[name] = scheme.dequantize(entry, bits, per_channel)
        except ValueError as error:
            raise HDLError(f"{path}: quantised tensor {name} is corrupt: {error}") from None
    return params


def _is_number_or_none(value):
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value))


def quantization_of(meta):
    """What a loaded state's "quantized" section says, without its tensors: {scheme, bits, per_channel,
    source}; None for a float32 state."""
    section = meta.get("quantized")
    if section is None:
        return None
    return {key: section[key] for key in ("scheme", "bits", "per_channel", "source")}
