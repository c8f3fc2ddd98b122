"""NativeOps: the hot kernels in Cython + OpenMP, same signatures as NumpyOps.

Each method checks its arguments once (float32 or float64, all the same
dtype, C-contiguous, consistent shapes; a ValueError or TypeError names the
argument), allocates the output and calls a nogil kernel from
hdl_native._native.  Per-thread scratch for the conv kernels is kept per
Python thread and reused across calls while it is large enough.

Shape legend as in numpy_ops: N batch, C / C_in input channels, O / C_out
output channels, H, W image size, K kernel size, F / G features.
"""
import threading

import numpy as np

from .._native import activations, conv2d, linear, maxpool, optim, optim_kernels
from ..threads import get_num_threads
from .blas_threads import pin_single_threaded_blas
from .native_recurrent import NativeRecurrentOps
from .numpy_ops import NumpyOps

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
# A conv tile (im2col columns + GEMM product of a few images) aims at this many
# bytes, so it stays in one core's L2 cache between im2col and the GEMM.
TILE_BYTES = 512 * 1024
# Elementwise kernels on fewer elements than this run on one thread: starting
# the team would cost more than the work.
MIN_PARALLEL_ELEMENTS = 32768
# Linear layers split over threads from this many multiply-adds (N*F*G) on.
MIN_PARALLEL_MACS = 1 << 21


def describe(array):
    return f"shape {tuple(array.shape)} dtype {array.dtype}"


def check_float(name, array, ndim=None, dtype=None):
    """`array` must be a C-contiguous float32/float64 ndarray (of `ndim` dims, of `dtype`)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(array).__name__}")
    if array.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name} must be float32 or float64, got {describe(array)}")
    if dtype is not None and array.dtype != dtype:
        raise TypeError(f"{name} must have dtype {dtype} like the other inputs, got {describe(array)}")
    if ndim is not None and array.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got {describe(array)}")
    if not array.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous, got a strided view with {describe(array)}")
    return array


def check_shape(name, array, expected):
    if tuple(array.shape) != tuple(expected):
        raise ValueError(f"{name} must have shape {tuple(expected)}, got {describe(array)}")


def check_labels(labels, n_rows, n_classes):
    """Integer labels (n_rows,) in [0, n_classes) -> contiguous int64."""
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"labels must be integers, got dtype {labels.dtype}")
    if labels.shape != (n_rows,):
        raise ValueError(f"labels must have shape ({n_rows},), got {labels.shape}")
    if n_rows and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"labels must lie in [0, {n_classes}), got values {labels.min()}..{labels.max()}")
    return np.ascontiguousarray(labels, dtype=np.int64)


def threads_for(n_elements, minimum=MIN_PARALLEL_ELEMENTS):
    return get_num_threads() if n_elements >= minimum else 1


class NativeOps(NativeRecurrentOps, NumpyOps):
    """Cython + OpenMP kernels; anything not overridden falls back to NumpyOps."""

    name = "native"

    def __init__(self):
        self._local = threading.local()

    # ------------------------------------------------------------ scratch
    def scratch(self, role, dtype, n_threads, size):
        """A (n_threads, >= size) scratch array of `dtype`, reused per Python thread and role."""
        cache = getattr(self._local, "scratch", None)
        if cache is None:
            cache = self._local.scratch = {}
        key = (role, dtype)
        buf = cache.get(key)
        if buf is None or buf.shape[0] < n_threads or buf.shape[1] < size:
            rows = max(n_threads, 0 if buf is None else buf.shape[0])
            cols = max(size, 0 if buf is None else buf.shape[1])
            buf = cache[key] = np.empty((rows, cols), dtype=dtype)
        return buf[:n_threads]

    @staticmethod
    def conv_tile(n_batch, bytes_per_image, n_threads):
        """Images per tile: about TILE_BYTES of scratch, and a tile count that splits evenly over threads."""
        if n_batch < 1:
            return 1
        tile = max(1, min(n_batch, TILE_BYTES // max(1, bytes_per_image)))
        n_tiles = -(-n_batch // tile)
        rounds = -(-n_tiles // n_threads)
        return max(1, -(-n_batch // (rounds * n_threads)))

    # ------------------------------------------------------------ conv2d
    def _check_conv(self, x, weight):
        check_float("x", x, 4)
        check_float("weight", weight, 4, x.dtype)
        c_out, c_in, k, k2 = weight.shape
        if k != k2 or k < 1:
            raise ValueError(f"weight must be (C_out, C_in, K, K) with a square kernel, got {describe(weight)}")
        if x.shape[1] != c_in:
            raise ValueError(f"x has {x.shape[1]} channels but weight expects {c_in}: "
                             f"x {describe(x)}, weight {describe(weight)}")
        if x.shape[2] < k or x.shape[3] < k:
            raise ValueError(f"x image {x.shape[2]}x{x.shape[3]} is smaller than the {k}x{k} kernel")
        return c_out, c_in, k

    def conv2d_forward(self, x, weight, bias=None):
        c_out, c_in, k = self._check_conv(x, weight)
        if bias is not None:
            check_float("bias", bias, 1, x.dtype)
            check_shape("bias", bias, (c_out,))
        n, _, h, w = x.shape
        p = (h - k + 1) * (w - k + 1)
        out = np.empty((n, c_out, h - k + 1, w - k + 1), dtype=x.dtype)
        n_threads = get_num_threads()
        per_image = conv2d.forward_scratch_size(c_in, c_out, k, p, 1)
        tile = self.conv_tile(n, per_image * x.itemsize, n_threads)
        scratch = self.scratch("conv", x.dtype, n_threads, conv2d.forward_scratch_size(c_in, c_out, k, p, tile))
        pin_single_threaded_blas()
        conv2d.conv2d_forward(x, weight.reshape(c_out, -1), bias, out, scratch, k, tile, n_threads)
        return out

    def conv2d_backward(self, grad_output, x, weight, needs=(True, True, True)):
        """(grad_x, grad_weight, grad_bias) in one pass over the images; None where not needed."""
        self._check_conv(x, weight)
        return self._conv2d_backward(grad_output, x, weight, x.shape, needs)

    def conv2d_backward_input(self, grad_output, weight, input_shape):
        check_float("weight", weight, 4)
        return self._conv2d_backward(grad_output, None, weight, input_shape, (True, False, False))[0]

    def conv2d_backward_weight(self, grad_output, x, kernel_size):
        check_float("x", x, 4)
        check_float("grad_output", grad_output, 4, x.dtype)
        k = int(kernel_size)
        if k < 1 or x.shape[2] < k or x.shape[3] < k:
            raise ValueError(f"kernel_size {kernel_size} does not fit x {describe(x)}")
        weight_shape = (grad_output.shape[1], x.shape[1], k, k)
        return self._conv2d_backward(grad_output, x, weight_shape, x.shape, (False, True, False))[1]

    def _conv2d_backward(self, grad_output, x, weight, input_shape, needs):
        """The kernel call behind the conv gradients; `weight` may be just its shape tuple when
        grad_x is not needed, `x` None when grad_weight is not."""
        c_out, c_in, k, k2 = weight if isinstance(weight, tuple) else weight.shape
        n, c, h, w = (int(s) for s in input_shape)
        if k != k2 or c != c_in or h < k or w < k:
            raise ValueError(f"input shape {tuple(input_shape)} does not fit weight shape {tuple(weight.shape)}")
        dtype = x.dtype if x is not None else weight.dtype
        check_float("grad_output", grad_output, 4, dtype)
        check_shape("grad_output", grad_output, (n, c_out, h - k + 1, w - k + 1))
        want_x, want_w = bool(needs[0]), bool(needs[1])
        want_b = len(needs) > 2 and bool(needs[2])
        grad_x = np.empty((n, c, h, w), dtype=dtype) if want_x else None
        grad_w = np.empty((c_out, c_in * k * k), dtype=dtype) if want_w else None
        grad_b = np.empty(c_out, dtype=dtype) if want_b else None
        weight_rows = weight.reshape(c_out, -1) if want_x else None
        n_threads = get_num_threads()
        p = (h - k + 1) * (w - k + 1)
        fixed = conv2d.backward_scratch_size(c_in, c_out, k, p, 0)
        tile = self.conv_tile(n, (conv2d.backward_scratch_size(c_in, c_out, k, p, 1) - fixed) * grad_output.itemsize,
                              n_threads)
        scratch = self.scratch("conv", dtype, n_threads, conv2d.backward_scratch_size(c_in, c_out, k, p, tile))
        pin_single_threaded_blas()
        conv2d.conv2d_backward(grad_output, x, weight_rows, grad_x, grad_w, grad_b, scratch,
                               c_in, h, w, tile, n_threads)
        return grad_x, None if grad_w is None else grad_w.reshape(c_out, c_in, k, k), grad_b

    def conv2d_backward_bias(self, grad_output):
        check_float("grad_output", grad_output, 4)
        n, c_out = grad_output.shape[:2]
        grad_bias = np.empty(c_out, dtype=grad_output.dtype)
        conv2d.conv2d_backward_bias(grad_output.reshape(n, c_out, -1), grad_bias,
                                    threads_for(grad_output.size))
        return grad_bias

    # ------------------------------------------------------------ max-pool
    def maxpool2d_forward(self, x, kernel_size):
        check_float("x", x, 4)
        k = int(kernel_size)
        if k < 1:
            raise ValueError(f"kernel_size must be >= 1, got {kernel_size}")
        n, c, h, w = x.shape
        out_shape = (n, c, -(-h // k), -(-w // k))
        out = np.empty(out_shape, dtype=x.dtype)
        argmax = np.empty(out_shape, dtype=np.int32)
        maxpool.maxpool2d_forward(x, out, argmax, k, threads_for(x.size))
        return out, argmax

    def maxpool2d_backward(self, grad_output, argmax, input_shape):
        check_float("grad_output", grad_output, 4)
        if not isinstance(argmax, np.ndarray) or argmax.dtype != np.int32 or not argmax.flags.c_contiguous:
            raise TypeError(f"argmax must be a C-contiguous int32 array from maxpool2d_forward, got "
                            f"{describe(argmax) if isinstance(argmax, np.ndarray) else type(argmax).__name__}")
        check_shape("argmax", argmax, grad_output.shape)
        n, c, h, w = (int(s) for s in input_shape)
        if (n, c) != grad_output.shape[:2]:
            raise ValueError(f"input_shape {tuple(input_shape)} does not match grad_output {describe(grad_output)}")
        grad_input = np.empty((n, c, h, w), dtype=grad_output.dtype)
        n_bad = maxpool.maxpool2d_backward(grad_output, argmax, grad_input, threads_for(grad_input.size))
        if n_bad:
            raise ValueError(f"argmax holds {n_bad} indices outside the {h}x{w} input plane")
        return grad_input

    # ------------------------------------------------------------ linear
    def linear_forward(self, x, weight, bias=None):
        check_float("x", x, 2)
        check_float("weight", weight, 2, x.dtype)
        if x.shape[1] != weight.shape[1]:
            raise ValueError(f"x {describe(x)} and weight {describe(weight)} differ in features")
        if bias is not None:
            check_float("bias", bias, 1, x.dtype)
            check_shape("bias", bias, (weight.shape[0],))
        out = np.empty((x.shape[0], weight.shape[0]), dtype=x.dtype)
        pin_single_threaded_blas()
        linear.linear_forward(x, weight, bias, out, threads_for(x.size * weight.shape[0], MIN_PARALLEL_MACS))
        return out

    def linear_backward(self, grad_output, x, weight, needs=(True, True, True)):
        check_float("x", x, 2)
        check_float("weight", weight, 2, x.dtype)
        check_float("grad_output", grad_output, 2, x.dtype)
        check_shape("grad_output", grad_output, (x.shape[0], weight.shape[0]))
        if x.shape[1] != weight.shape[1]:
            raise ValueError(f"x {describe(x)} and weight {describe(weight)} differ in features")
        grad_x = grad_w = grad_b = None
        n_threads = threads_for(x.size * weight.shape[0], MIN_PARALLEL_MACS)
        pin_single_threaded_blas()
        if needs[0]:
            grad_x = np.empty_like(x)
            linear.linear_backward_input(grad_output, weight, grad_x, n_threads)
        if needs[1]:
            grad_w = np.empty_like(weight)
            linear.linear_backward_weight(grad_output, x, grad_w, n_threads)
        if len(needs) > 2 and needs[2]:
            grad_b = np.empty(weight.shape[0], dtype=x.dtype)
            linear.column_sums(grad_output, grad_b)
        return grad_x, grad_w, grad_b

    # ------------------------------------------------------------ activations
    def gelu_forward(self, x):
        check_float("x", x)
        out = np.empty_like(x)
        activations.gelu_forward(x.reshape(-1), out.reshape(-1), threads_for(x.size))
        return out

    def gelu_backward(self, x, grad_output):
        check_float("x", x)
        check_float("grad_output", grad_output, None, x.dtype)
        check_shape("grad_output", grad_output, x.shape)
        grad_input = np.empty_like(x)
        activations.gelu_backward(x.reshape(-1), grad_output.reshape(-1), grad_input.reshape(-1),
                                  threads_for(x.size))
        return grad_input

    def log_softmax_forward(self, x):
        check_float("x", x, 2)
        out = np.empty_like(x)
        activations.log_softmax_forward(x, out, threads_for(x.size))
        return out

    def log_softmax_backward(self, output, grad_output):
        check_float("output", output, 2)
        check_float("grad_output", grad_output, 2, output.dtype)
        check_shape("grad_output", grad_output, output.shape)
        grad_input = np.empty_like(output)
        activations.log_softmax_backward(output, grad_output, grad_input, threads_for(output.size))
        return grad_input

    def cross_entropy_forward(self, logits, labels):
        check_float("logits", logits, 2)
        n, n_classes = logits.shape
        labels = check_labels(labels, n, n_classes)
        probs = np.empty_like(logits)
        total, _ = activations.cross_entropy_forward(logits, labels, probs)
        loss = total / n if n else float("nan")
        return np.asarray(loss, dtype=logits.dtype), probs

    def cross_entropy_backward(self, probs, labels, grad_output):
        check_float("probs", probs, 2)
        n, n_classes = probs.shape
        labels = check_labels(labels, n, n_classes)
        grad_logits = np.empty_like(probs)
        if n:
            activations.cross_entropy_backward(probs, labels, float(grad_output) / n, grad_logits)
        return grad_logits

    # ------------------------------------------------------------ optimisers
    def adam_update(self, param, grad, exp_avg, exp_avg_sq, lr, beta1, beta2, eps, step):
        check_float("param", param)
        for name, array in (("grad", grad), ("exp_avg", exp_avg), ("exp_avg_sq", exp_avg_sq)):
            check_float(name, array, None, param.dtype)
            check_shape(name, array, param.shape)
        if step < 1:
            raise ValueError(f"Adam step must be >= 1, got {step}")
        optim_kernels.adam_update_flat(param.reshape(-1), grad.reshape(-1), exp_avg.reshape(-1),
                                       exp_avg_sq.reshape(-1), float(lr), float(beta1), float(beta2), float(eps),
                                       int(step), get_num_threads())

    def sgd_update(self, param, grad, velocity, lr, momentum):
        check_float("param", param)
        check_float("grad", grad, None, param.dtype)
        check_shape("grad", grad, param.shape)
        if momentum == 0.0 or velocity is None:
            optim.sgd_update(param.reshape(-1), grad.reshape(-1), None, float(lr), 0.0, threads_for(param.size))
            return
        check_float("velocity", velocity, None, param.dtype)
        check_shape("velocity", velocity, param.shape)
        optim.sgd_update(param.reshape(-1), grad.reshape(-1), velocity.reshape(-1), float(lr), float(momentum),
                         threads_for(param.size))
