"""One int8 layer: packed int8 weights, the per-channel requantisation and the activation table.

A layer maps uint8 codes (N, H, W, C) to codes (N, Hp, Wp, O) through
table[floor(clip(acc * multiplier + offset, 0, 255) + 0.5)], where acc is the int32
conv of the codes with the int8 weights, max-pooled (pyx/int8.pyx).  A linear layer is
the conv whose kernel covers its whole input.
"""
from dataclasses import dataclass, field

import numpy as np

from .._native import int8
from ..quantize.schemes import linear_levels
from .aligned import aligned_empty

# Weights are quantize.schemes' linear per-channel 8-bit levels: -127..127 (symmetric: -128 is never
# used, so negating a weight cannot overflow).
CHANNEL_MULTIPLE = 16  # the GEMM's vectors hold 16 int32 channels
DEPTH_MULTIPLE = 4  # vpdpbusd adds groups of four products
# The int32 accumulators wrap silently (vpdpbusd does not saturate): a channel's sum over codes up to 255 must
# stay within int32, so 255 * sum |weight codes| may not pass this (e.g. at most 66,311 codes of magnitude 127).
MAX_ACCUMULATOR = 2 ** 31 - 1


@dataclass(frozen=True)
class Int8Conv:
    """weight (K4, OP, 4) int8 packed; multiplier, offset (O,) float32; table (256,) uint8.

    weight_wide, made here, is the weight in int16 for the AVX2 path (pyx/int8_dot.h): packed for a
    kernel_size x wide_kernel_width kernel whose patches it reads in place, or, when wide_kernel_width
    is 0, as `weight` for a matrix of patches (see widen_weight).  So that the two cannot disagree, the
    layer is frozen and both weights are read-only copies: a new weight means a new Int8Conv."""

    weight: np.ndarray
    multiplier: np.ndarray
    offset: np.ndarray
    table: np.ndarray
    in_channels: int
    kernel_size: int
    pool_size: int = 1
    weight_wide: np.ndarray = field(init=False, repr=False, compare=False)
    wide_kernel_width: int = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        depth = self.in_channels * self.kernel_size ** 2
        n_k4, n_out_padded, four = self.weight.shape
        if (self.weight.dtype != np.int8 or four != DEPTH_MULTIPLE or n_k4 != -(-depth // DEPTH_MULTIPLE)
                or n_out_padded % CHANNEL_MULTIPLE or not self.weight.flags.c_contiguous):
            raise ValueError(f"weight must be packed int8 ({-(-depth // 4)}, O rounded up to 16, 4), "
                             f"got {self.weight.dtype} {self.weight.shape}")
        for name in ("multiplier", "offset"):
            array = getattr(self, name)
            if array.dtype != np.float32 or array.shape != (self.n_out,) or self.n_out > n_out_padded:
                raise ValueError(f"{name} must be float32 (O,) with O <= {n_out_padded}, got {array.dtype} "
                                 f"{array.shape}")
            if not np.isfinite(array).all():  # a NaN code would index the table far out of bounds
                raise ValueError(f"{name} holds {int(np.count_nonzero(~np.isfinite(array)))} non-finite values")
        if self.table.dtype != np.uint8 or self.table.shape != (256,):
            raise ValueError(f"table must be uint8 (256,), got {self.table.dtype} {self.table.shape}")
        if self.pool_size < 1 or self.kernel_size < 1:
            raise ValueError("kernel and pool sizes must be >= 1")
        reach = 255 * np.abs(self.weight.astype(np.int64)).sum(axis=(0, 2))  # each channel's largest |acc|
        if reach.size and reach.max() > MAX_ACCUMULATOR:
            raise ValueError(f"weight: channel {int(reach.argmax())}'s int32 sums could reach {int(reach.max()):,} "
                             f"and overflow (255 * sum |codes| must stay <= {MAX_ACCUMULATOR:,})")
        weight = read_only_copy(self.weight)
        weight_wide, wide_kernel_width = widen_weight(weight, self.in_channels, self.kernel_size)
        for name, value in (("weight", weight), ("weight_wide", read_only_copy(weight_wide)),
                            ("wide_kernel_width", wide_kernel_width)):
            object.__setattr__(self, name, value)  # frozen: set once, here

    @property
    def n_out(self):
        return self.multiplier.shape[0]

    def scratch_bytes(self, h, w):
        return int8.conv_scratch_size(h, w, self.in_channels, self.kernel_size, self.weight.shape[1])


def read_only_copy(array):
    """A read-only copy of `array` whose data starts on a cache line (aligned.py); the caller's array is untouched."""
    copy = aligned_empty(np.shape(array), np.asarray(array).dtype)
    copy[...] = array
    copy.flags.writeable = False
    return copy


def quantize_weight(weight):
    """Per-output-channel symmetric int8 of a conv weight (O, C, k, k) float.

    Returns (packed (K4, OP, 4) int8, codes (O, k*k*C) int64 in patch order (kh, kw, c),
    scales (O,) float64), with weight[o] ~ scales[o] * codes[o] and scale = max|w| / 127.
    """
    n_out = weight.shape[0]
    levels, scales = linear_levels(np.asarray(weight).transpose(0, 2, 3, 1), 8, per_channel=True)
    codes = levels.reshape(n_out, -1).astype(np.int64)
    # An all-zero channel has codes 0 and scale 0; any scale serves it, and 1 keeps divisions finite.
    return pack_codes(codes), codes, np.where(scales > 0, scales, 1.0).astype(np.float64)


def pack_codes(codes):
    """Weight codes (O, depth) -> the GEMM's layout (K4, OP, 4) int8, zero-padded: [k4, o, j] = codes[o, 4 k4 + j]."""
    n_out, depth = codes.shape
    padded = np.zeros((-(-n_out // CHANNEL_MULTIPLE) * CHANNEL_MULTIPLE,
                       -(-depth // DEPTH_MULTIPLE) * DEPTH_MULTIPLE), np.int8)
    padded[:n_out, :depth] = codes
    return np.ascontiguousarray(padded.reshape(padded.shape[0], -1, DEPTH_MULTIPLE).transpose(1, 0, 2))


def widen_weight(packed, in_channels, kernel_size):
    """The AVX2 path's int16 weight: (weight_wide (K4', OP, 4) int16, kernel width kw, or 0).

    The AVX2 convolution reads each patch where it lies, as kernel_size runs of kw*C codes, which
    needs kw*C to be a multiple of 4.  kw is kernel_size when that holds, else the next width that
    adds no multiply-adds to the im2col layout's padding (the 1-channel 3x3 kernel: 3x4, 12
    weights either way), the extra columns zero.  Failing both, kw is 0 and the weight stays in
    the im2col layout, for a matrix of patches."""
    depth = kernel_size * kernel_size * in_channels
    padded_depth = 4 * packed.shape[0]
    for width in range(kernel_size, kernel_size + DEPTH_MULTIPLE):
        if width * in_channels % DEPTH_MULTIPLE == 0 and kernel_size * width * in_channels <= padded_depth:
            codes = packed.transpose(1, 0, 2).reshape(packed.shape[1], -1)[:, :depth]
            kernel = codes.reshape(-1, kernel_size, kernel_size, in_channels)
            wider = np.zeros((kernel.shape[0], kernel_size, width, in_channels), np.int16)
            wider[:, :, :kernel_size] = kernel
            flat = wider.reshape(kernel.shape[0], -1)
            return np.ascontiguousarray(flat.reshape(flat.shape[0], -1, DEPTH_MULTIPLE).transpose(1, 0, 2)), width
    return packed.astype(np.int16), 0
