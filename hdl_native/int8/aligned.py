"""Arrays whose data starts on a cache line (64 bytes), for the int8 kernels' weights and scratch.

numpy starts an array's data on a 16-byte boundary, so a kernel's 32-byte vector loads from it
straddle two cache lines every other time, and on the Zen 2 the AVX2 convolution's 3x3 layer ran
12% slower on numpy-placed weights and scratch than on 64-byte-aligned ones (BENCHMARKS.md, "int8 on
an AVX2 CPU without VNNI").
"""
import numpy as np

CACHE_LINE = 64


def aligned_empty(shape, dtype):
    """An uninitialised C-contiguous array of `shape` and `dtype` whose data starts on a CACHE_LINE boundary."""
    dtype = np.dtype(dtype)
    n_bytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    raw = np.empty(n_bytes + CACHE_LINE, np.uint8)
    start = -raw.ctypes.data % CACHE_LINE
    return raw[start:start + n_bytes].view(dtype).reshape(shape)

