"""The two ways a float32 weight tensor becomes n-bit codes, and back.

equal-population (the tutorial's chapter 7: "divides values into 2^n bins of equal population"):
    the tensor's values are ranked and the ranks cut into 2^n runs of equal length, so every bin holds
    N / 2^n values (floor or ceil when 2^n does not divide N).  Ties are cut by rank like any other values
    (a stable sort orders equal values by position), so the counts stay equal even when many weights are
    exactly equal; two neighbouring bins may then share a value.  Each bin's codebook value is the mean of
    the values in it: for a fixed assignment of values to bins that is the value with the smallest squared
    error (the centroid, as in one Lloyd step), and unlike the bin's midpoint it follows the skew of the bin.
    Stored: the n-bit bin index of every value and a 2^n-entry float32 codebook per tensor.

linear (symmetric, per tensor or per output channel):
    scale = max|w| / (2^(n-1) - 1), q = round(w / scale), a signed integer in [-(2^(n-1) - 1), 2^(n-1) - 1]
    stored as its n-bit two's complement (so 8-bit codes are int8 bytes); w is read back as q * scale, off
    by at most scale / 2.  With 2 bits that is ternary: q in {-1, 0, 1}, the code for -2 is never used.
    Per channel, every output channel (axis 0 of a Conv2d's (C_out, C_in, K, K) or a Linear's (out, in)
    weight) gets its own scale.  An all-zero tensor or channel gets scale 0 and reads back as zeros.

Each scheme turns a weight into an entry {"shape": [...], "codes": packed uint8, plus "codebook" or
"scales" float32} and an entry back into the float32 weight, checking the entry as it goes (a state file
may hold anything): a defect raises ValueError saying what is wrong.
"""
import math

import numpy as np

from .packing import pack_codes, packed_length, unpack_codes


class EqualPopulation:
    """2^n bins of equal population per tensor, each read back as the mean of its values."""

    name = "equal-population"
    per_channel_allowed = False

    def quantize(self, weight, bits, per_channel=False):
        """weight: float32 array of any shape -> entry with 'codes' and a (2**bits,) float32 'codebook'."""
        codes, codebook = equal_population_bins(np.asarray(weight).ravel(), bits)
        return {"shape": list(np.shape(weight)), "codes": pack_codes(codes, bits), "codebook": codebook}

    def dequantize(self, entry, bits, per_channel=False):
        """The float32 weight an entry from quantize() stands for."""
        shape, codes = _shape_and_codes(entry, bits)
        codebook = _float_array(entry, "codebook", 1 << bits)
        return codebook[codes].reshape(shape)


class LinearSymmetric:
    """round(w / scale) as signed n-bit integers, one scale per tensor or per output channel."""

    name = "linear"
    per_channel_allowed = True

    def quantize(self, weight, bits, per_channel=False):
        """weight: float32 (C_out, ...) -> entry with 'codes' and float32 'scales', (C_out,) or (1,)."""
        levels, scales = linear_levels(weight, bits, per_channel)
        codes = levels.ravel() & ((1 << bits) - 1)  # two's complement in n bits
        return {"shape": list(np.shape(weight)), "codes": pack_codes(codes, bits), "scales": scales}

    def dequantize(self, entry, bits, per_channel=False):
        """The float32 weight an entry from quantize() stands for."""
        shape, codes = _shape_and_codes(entry, bits)
        n_scales = shape[0] if per_channel and shape else 1
        scales = _float_array(entry, "scales", n_scales)
        if np.any(scales < 0):
            raise ValueError("its scales must not be negative")
        levels = codes.astype(np.int16)
        levels[levels >= 1 << (bits - 1)] -= 1 << bits
        levels = levels.reshape(n_scales, -1)
        return (levels * scales[:, None].astype(np.float64)).astype(np.float32).reshape(shape)


SCHEMES = {scheme.name: scheme for scheme in (EqualPopulation(), LinearSymmetric())}


def equal_population_bins(values, bits):
    """values: (N,) -> (codes (N,) uint8 bin of each value, codebook (2**bits,) float32 mean of each bin).

    Bin b holds the values of rank floor(b * N / 2^n) up to (not including) floor((b + 1) * N / 2^n).
    With fewer values than bins some bins stay empty; their codebook entries (never referred to) are
    interpolated between their neighbours so the codebook stays sorted.
    """
    n_bins = 1 << bits
    values = np.asarray(values, dtype=np.float64)
    order = np.argsort(values, kind="stable")
    bin_of_rank = np.arange(values.size) * n_bins // max(values.size, 1)
    codes = np.empty(values.size, np.uint8)
    codes[order] = bin_of_rank
    counts = np.bincount(bin_of_rank, minlength=n_bins)
    sums = np.bincount(bin_of_rank, weights=values[order], minlength=n_bins)
    filled = counts > 0
    if not filled.any():
        return codes, np.zeros(n_bins, np.float32)
    means = sums[filled] / counts[filled]
    codebook = np.interp(np.arange(n_bins), np.flatnonzero(filled), means)
    return codes, codebook.astype(np.float32)


def linear_levels(weight, bits, per_channel):
    """weight: (C_out, ...) -> (levels int16 like weight, in [-(2^(n-1)-1), 2^(n-1)-1]; scales float32 (C,) or (1,)).

    The scale is rounded to float32 before dividing, so levels * scale (the value read back) is within
    scale / 2 of the weight up to float32 rounding.
    """
    weight = np.asarray(weight, dtype=np.float64)
    rows = weight.reshape(weight.shape[0] if per_channel else 1, -1)
    top_level = (1 << (bits - 1)) - 1
    scales = (np.abs(rows).max(axis=1) / top_level).astype(np.float32)
    divisor = np.where(scales > 0, scales, 1).astype(np.float64)[:, None]
    levels = np.clip(np.rint(rows / divisor), -top_level, top_level).astype(np.int16)
    return levels.reshape(weight.shape), scales


def _shape_and_codes(entry, bits):
    """(shape tuple, unpacked codes) of an entry; ValueError when they do not fit each other."""
    shape = entry.get("shape")
    if not (isinstance(shape, list) and all(isinstance(s, int) and not isinstance(s, bool) and 0 <= s < 2 ** 31
                                            for s in shape)):
        raise ValueError(f"its shape {shape!r} is not a list of sizes")
    codes = entry.get("codes")
    if not (isinstance(codes, np.ndarray) and codes.dtype == np.uint8 and codes.ndim == 1):
        raise ValueError("its codes are not a flat uint8 array")
    n_values = math.prod(shape)
    if codes.size != packed_length(n_values, bits):
        raise ValueError(f"its {codes.size} code bytes do not hold {n_values} values of {bits} bits "
                         f"({packed_length(n_values, bits)} bytes)")
    return tuple(shape), unpack_codes(codes, bits, n_values)


def _float_array(entry, key, length):
    """entry[key] as a finite float32 (length,) array; ValueError otherwise."""
    array = entry.get(key)
    if not (isinstance(array, np.ndarray) and array.dtype.kind == "f" and array.shape == (length,)):
        raise ValueError(f"its {key} must be {length} floating-point numbers")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"its {key} hold NaN or inf")
    return array.astype(np.float32)
