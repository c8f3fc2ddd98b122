"""Checked calls of the int8 kernels (pyx/int8.pyx) and the choice of their GEMM path.

The path is the fastest the CPU supports (amx, avx512vnni, avxvnni, avx2, else portable) unless
HDL_NATIVE_INT8_PATH names one at import, or ``use_path(name)`` is called.  Every path
gives the same int32 accumulations, so the outputs do not depend on it.
Per-thread scratch is kept per Python thread and grown when a call needs more.
"""
import threading

import numpy as np

from .._native import int8
from ..errors import apply_environment_setting
from ..kernels.validation import check_arrays
from .aligned import CACHE_LINE, aligned_empty

PATHS = tuple(int8.PATHS)
_local = threading.local()


def use_path(name):
    """Run the int8 GEMM on `name` (one of PATHS); returns the previous one.  ValueError when the CPU cannot."""
    if name not in PATHS:
        raise ValueError(f"unknown int8 path {name!r}; choose one of {', '.join(PATHS)}")
    if not int8.path_supported(name):
        raise ValueError(f"this CPU cannot run the int8 path {name!r}; it can run: {', '.join(supported_paths())}")
    return int8.set_path(name)


def current_path():
    return int8.get_path()


def supported_paths():
    return [name for name in PATHS if int8.path_supported(name)]


def scratch(n_threads, n_bytes):
    """(n_threads, n_bytes) uint8 scratch of the calling Python thread, reused while large enough; every row
    starts on a cache line (its length is rounded up to a multiple of 64 bytes).  ValueError unless n_threads >= 1:
    every thread of the kernel's team writes the row of its number, and a team asked for 0 or -1 threads gets some."""
    if n_threads < 1:
        raise ValueError(f"n_threads must be >= 1, got {n_threads}")
    buffer = getattr(_local, "scratch", None)
    if buffer is None or buffer.shape[0] < n_threads or buffer.shape[1] < n_bytes:
        rows = max(n_threads, buffer.shape[0] if buffer is not None else 0)
        columns = max(n_bytes, buffer.shape[1] if buffer is not None else 0)
        buffer = _local.scratch = aligned_empty((rows, -(-columns // CACHE_LINE) * CACHE_LINE), np.uint8)
    return buffer


def quantize(x, inverse_scale, zero_point, n_threads):
    """x (N, F) float32 -> (N, F) uint8 codes floor(clip(x * inverse_scale + zero_point, 0, 255) + 0.5)."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    out = np.empty(x.shape, np.uint8)
    int8.quantize_u8(x, np.float32(inverse_scale), np.float32(zero_point), out, n_threads)
    return out


def check_layer_call(x, layer):
    """(N, H, W, C) of codes x after checking them against `layer` (an Int8Conv)."""
    sizes = check_arrays(("x", x, "NHWC"), dtype=np.uint8, sizes={"C": layer.in_channels},
                         sizes_from="the layer's input channels")
    if min(sizes["H"], sizes["W"]) < layer.kernel_size:
        raise ValueError(f"the {layer.kernel_size}x{layer.kernel_size} kernel does not fit the "
                         f"{sizes['H']}x{sizes['W']} image")
    return sizes["N"], sizes["H"], sizes["W"], sizes["C"]


def conv2d(x, layer, n_threads):
    """One int8 layer on codes x (N, H, W, C) uint8: conv, max-pool, requantise, table -> (N, Hp, Wp, O) uint8."""
    n, h, w, _ = check_layer_call(x, layer)
    ho, wo = h - layer.kernel_size + 1, w - layer.kernel_size + 1
    p = layer.pool_size
    out = np.empty((n, -(-ho // p), -(-wo // p), layer.n_out), np.uint8)
    buffer = scratch(n_threads, layer.scratch_bytes(h, w))
    int8.conv2d_u8(x, layer, out, None, buffer, n_threads)
    return out


def conv2d_dequantize(x, layer, n_threads):
    """The last layer on codes x (N, H, W, C) uint8: its real outputs (N, Ho, Wo, O) float32, no pool or table."""
    n, h, w, _ = check_layer_call(x, layer)
    out = np.empty((n, h - layer.kernel_size + 1, w - layer.kernel_size + 1, layer.n_out), np.float32)
    buffer = scratch(n_threads, layer.scratch_bytes(h, w))
    int8.conv2d_u8(x, layer, None, out, buffer, n_threads)
    return out


def network(images, input_codes, layers, n_threads):
    """Images (N, H, W, C) float32 through all `layers` in one parallel region: quantised on
    `input_codes`, each layer as conv2d, the last as conv2d_dequantize -> (N, O) float32.
    The layers must chain, and the last one's output must be 1 x 1."""
    images = np.ascontiguousarray(images, dtype=np.float32)
    if images.ndim != 4:
        raise ValueError(f"images must be (N, H, W, C), got shape {images.shape}")
    if not 1 <= len(layers) <= int8.MAX_LAYERS:
        raise ValueError(f"the int8 network runs 1 to {int8.MAX_LAYERS} layers, got {len(layers)}")
    n, h, w, c = images.shape
    h0, w0, c0 = h, w, c
    for number, layer in enumerate(layers):
        if layer.in_channels != c or min(h, w) < layer.kernel_size:
            raise ValueError(f"layer {number} reads {layer.in_channels} channels with a {layer.kernel_size}x"
                             f"{layer.kernel_size} kernel but gets {h}x{w}x{c}")
        h, w = -(-(h - layer.kernel_size + 1) // layer.pool_size), -(-(w - layer.kernel_size + 1) // layer.pool_size)
        c = layer.n_out
    if (h, w) != (1, 1) or layers[-1].pool_size != 1:
        raise ValueError(f"the last layer must give 1 x 1 outputs without pooling, got {h}x{w}")
    out = np.empty((n, c), np.float32)
    buffer = scratch(n_threads, int8.network_scratch_size(*images.shape[1:], list(layers)))
    done = int8.network_u8(images.reshape(n, h0 * w0 * c0), np.float32(1.0 / input_codes.scale),
                           np.float32(input_codes.zero_point), h0, w0, c0, list(layers), out, buffer, n_threads)
    assert done, "network_u8 refused the layers or the scratch that network() checked and sized"
    return out


apply_environment_setting("HDL_NATIVE_INT8_PATH", use_path)
