"""NativeOps: the hot kernels in Cython + OpenMP, same signatures as NumpyOps.

Each method checks its arguments once, with validation.check_arrays (float32
or float64, all the same dtype, C-contiguous, sizes that agree; a ValueError
or TypeError names the argument), allocates the output and calls a nogil
kernel from hdl_native._native.  Kernels raise nothing: one that can meet a
bad index returns how many it skipped, and the method raises.  Per-thread
scratch for the conv kernels is kept per Python thread and reused across
calls while it is large enough.

Shape legend, also the letters given to check_arrays: N batch, C input
channels, O output channels, H, W image size, K kernel size, P, Q output
image size, F / G features.
"""
import threading

import numpy as np

from .._native import activations, conv2d, matmul, maxpool, normalization, optim
from ..threads import get_num_threads, threads_for
from .blas_threads import pin_single_threaded_blas
from .conv_lanes import conv_lanes  # noqa: F401  (applies HDL_NATIVE_CONV_LANES as the kernels load)
from .native_recurrent import NativeRecurrentOps
from .numpy_ops import NumpyOps
from .validation import check_arrays, check_labels, label_range_error, optional, shape_sizes

# A conv tile (im2col columns + GEMM product of a few images) aims at this many
# bytes, so it stays in one core's L2 cache between im2col and the GEMM.
TILE_BYTES = 512 * 1024
# Matrix products split over threads from this many multiply-adds on.
MIN_PARALLEL_MACS = 1 << 21


def conv_geometry(sizes):
    """Add the output size P x Q = (H-K+1) x (W-K+1) to conv sizes, after checking the kernel fits."""
    h, w, k = sizes["H"], sizes["W"], sizes["K"]
    if k < 1 or h < k or w < k:
        raise ValueError(f"the {k}x{k} kernel does not fit the {h}x{w} image")
    return dict(sizes, P=h - k + 1, Q=w - k + 1)


def gemm(a, b, out, trans_a=False, trans_b=False, bias=None):
    """out (M, P) = op(a) @ op(b) (+ bias) on the row-sliced kernel, op(x) = x^T when trans_x; returns out."""
    inner = a.shape[0] if trans_a else a.shape[1]
    matmul.matmul(trans_a, trans_b, a, b, bias, out, threads_for(out.size * inner, MIN_PARALLEL_MACS))
    return out


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
    def conv2d_forward(self, x, weight, bias=None):
        sizes = conv_geometry(check_arrays(("x", x, "NCHW"), ("weight", weight, "OCKK"),
                                           *optional("bias", bias, "O")))
        n, c_in, c_out, k = (sizes[d] for d in "NCOK")
        p = sizes["P"] * sizes["Q"]
        out = np.empty((n, c_out, sizes["P"], sizes["Q"]), dtype=x.dtype)
        n_threads = get_num_threads()
        per_image = conv2d.forward_scratch_size(c_in, c_out, k, p, 1)
        tile = self.conv_tile(n, per_image * x.itemsize, n_threads)
        scratch = self.scratch("conv", x.dtype, n_threads, max(conv2d.forward_scratch_size(c_in, c_out, k, p, tile),
                                                               conv2d.packed_weights_size(c_in, c_out, k)))
        pin_single_threaded_blas()
        conv2d.conv2d_forward(x, weight.reshape(c_out, -1), bias, out, scratch, k, tile, n_threads)
        return out

    def conv2d_backward(self, grad_output, x, weight, needs=(True, True, True)):
        """(grad_x, grad_weight, grad_bias) in one pass over the images; None where not needed."""
        sizes = conv_geometry(check_arrays(("x", x, "NCHW"), ("weight", weight, "OCKK")))
        return self._conv2d_gradients(grad_output, x, weight, sizes, needs)

    def conv2d_backward_input(self, grad_output, weight, input_shape):
        sizes = conv_geometry(check_arrays(("weight", weight, "OCKK"), sizes_from="input_shape",
                                           sizes=shape_sizes("input_shape", input_shape, "NCHW")))
        return self._conv2d_gradients(grad_output, None, weight, sizes, (True, False, False))[0]

    def conv2d_backward_weight(self, grad_output, x, kernel_size):
        sizes = conv_geometry(check_arrays(("x", x, "NCHW"), sizes={"K": int(kernel_size)},
                                           sizes_from="kernel_size"))
        return self._conv2d_gradients(grad_output, x, None, sizes, (False, True, False))[1]

    def _conv2d_gradients(self, grad_output, x, weight, sizes, needs):
        """The kernel call behind the conv gradients, once x and/or weight are checked.

        sizes: N C H W K P Q (and O unless only x is known) of the conv; x is None
        when grad_weight is not needed, weight None when grad_x is not.
        """
        dtype = (x if x is not None else weight).dtype
        sizes = check_arrays(("grad_output", grad_output, "NOPQ"), dtype=dtype, sizes=sizes,
                             sizes_from="the conv's input and kernel")
        n, c_in, h, w, c_out, k = (sizes[d] for d in "NCHWOK")
        want_x, want_w = bool(needs[0]), bool(needs[1])
        want_b = len(needs) > 2 and bool(needs[2])
        grad_x = np.empty((n, c_in, h, w), dtype=dtype) if want_x else None
        grad_w = np.empty((c_out, c_in * k * k), dtype=dtype) if want_w else None
        grad_b = np.empty(c_out, dtype=dtype) if want_b else None
        weight_rows = weight.reshape(c_out, -1) if want_x else None
        n_threads = get_num_threads()
        p = sizes["P"] * sizes["Q"]
        fixed = conv2d.backward_scratch_size(c_in, c_out, k, p, 0)
        tile = self.conv_tile(n, (conv2d.backward_scratch_size(c_in, c_out, k, p, 1) - fixed) * grad_output.itemsize,
                              n_threads)
        scratch = self.scratch("conv", dtype, n_threads, conv2d.backward_scratch_size(c_in, c_out, k, p, tile))
        pin_single_threaded_blas()
        conv2d.conv2d_backward(grad_output, x if want_w else None, weight_rows, grad_x, grad_w, grad_b, scratch,
                               c_in, h, w, tile, n_threads)
        return grad_x, None if grad_w is None else grad_w.reshape(c_out, c_in, k, k), grad_b

    def conv2d_backward_bias(self, grad_output):
        sizes = check_arrays(("grad_output", grad_output, "NOPQ"))
        grad_bias = np.empty(sizes["O"], dtype=grad_output.dtype)
        conv2d.conv2d_backward_bias(grad_output.reshape(sizes["N"], sizes["O"], sizes["P"] * sizes["Q"]), grad_bias,
                                    threads_for(grad_output.size))
        return grad_bias

    # ------------------------------------------------------------ max-pool
    def maxpool2d_forward(self, x, kernel_size):
        check_arrays(("x", x, "NCHW"))
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
        sizes = check_arrays(("grad_output", grad_output, "NCPQ"),
                             sizes=shape_sizes("input_shape", input_shape, "NCHW"), sizes_from="input_shape")
        check_arrays(("argmax", argmax, "NCPQ"), dtype=np.int32, sizes=sizes, sizes_from="grad_output")
        n, c, h, w = (sizes[d] for d in "NCHW")
        grad_input = np.empty((n, c, h, w), dtype=grad_output.dtype)
        n_bad = maxpool.maxpool2d_backward(grad_output, argmax, grad_input, threads_for(grad_input.size))
        if n_bad:
            raise ValueError(f"argmax holds {n_bad} indices outside the {h}x{w} input plane")
        return grad_input

    # ------------------------------------------------------------ matmul and linear: one GEMM kernel
    def matmul(self, a, b):
        sizes = check_arrays(("a", a, "NF"), ("b", b, "FG"))
        pin_single_threaded_blas()
        return gemm(a, b, np.empty((sizes["N"], sizes["G"]), dtype=a.dtype))

    def matmul_backward(self, grad_output, a, b, needs):
        check_arrays(("grad_output", grad_output, "NG"), ("a", a, "NF"), ("b", b, "FG"))
        pin_single_threaded_blas()
        grad_a = gemm(grad_output, b, np.empty_like(a), trans_b=True) if needs[0] else None
        grad_b = gemm(a, grad_output, np.empty_like(b), trans_a=True) if needs[1] else None
        return grad_a, grad_b

    def linear_forward(self, x, weight, bias=None):
        sizes = check_arrays(("x", x, "NF"), ("weight", weight, "GF"), *optional("bias", bias, "G"))
        pin_single_threaded_blas()
        return gemm(x, weight, np.empty((sizes["N"], sizes["G"]), dtype=x.dtype), trans_b=True, bias=bias)

    def linear_backward(self, grad_output, x, weight, needs=(True, True, True)):
        check_arrays(("grad_output", grad_output, "NG"), ("x", x, "NF"), ("weight", weight, "GF"))
        pin_single_threaded_blas()
        grad_x = gemm(grad_output, weight, np.empty_like(x)) if needs[0] else None
        grad_w = gemm(grad_output, x, np.empty_like(weight), trans_a=True) if needs[1] else None
        grad_b = None
        if len(needs) > 2 and needs[2]:
            grad_b = np.empty(weight.shape[0], dtype=x.dtype)
            matmul.column_sums(grad_output, grad_b, threads_for(grad_output.size))
        return grad_x, grad_w, grad_b

    # ------------------------------------------------------------ batch normalisation
    def channel_sums(self, a, b):
        check_arrays(("a", a, "NCL"), ("b", b, "NCL"))
        sum_a, sum_ab = np.empty(a.shape[1]), np.empty(a.shape[1])
        normalization.channel_sums(a, b, sum_a, sum_ab, threads_for(a.size))
        return sum_a, sum_ab

    def channel_affine(self, a, b, p, q, r):
        check_arrays(("a", a, "NCL"), ("b", b, "NCL"), ("p", p, "C"), ("q", q, "C"), ("r", r, "C"))
        out = np.empty_like(a)
        normalization.channel_affine(a, b, p, q, r, out, threads_for(a.size))
        return out

    # ------------------------------------------------------------ activations
    def gelu_forward(self, x):
        check_arrays(("x", x, None))
        out = np.empty_like(x)
        activations.gelu_forward(x.reshape(-1), out.reshape(-1), threads_for(x.size))
        return out

    def gelu_backward(self, x, grad_output):
        check_arrays(("x", x, None))
        check_arrays(("grad_output", grad_output, x.shape), dtype=x.dtype)
        grad_input = np.empty_like(x)
        activations.gelu_backward(x.reshape(-1), grad_output.reshape(-1), grad_input.reshape(-1),
                                  threads_for(x.size))
        return grad_input

    def log_softmax_forward(self, x):
        check_arrays(("x", x, "NF"))
        out = np.empty_like(x)
        activations.log_softmax_forward(x, out, threads_for(x.size))
        return out

    def log_softmax_backward(self, output, grad_output):
        check_arrays(("output", output, "NF"), ("grad_output", grad_output, "NF"))
        grad_input = np.empty_like(output)
        activations.log_softmax_backward(output, grad_output, grad_input, threads_for(output.size))
        return grad_input

    def cross_entropy_forward(self, logits, labels):
        """The labels' range is checked once, by the kernel as it reads them."""
        sizes = check_arrays(("logits", logits, "NF"))
        n, n_classes = sizes["N"], sizes["F"]
        labels = check_labels("cross_entropy", labels, n)
        probs = np.empty_like(logits)
        total, n_bad = activations.cross_entropy_forward(logits, labels, probs, threads_for(logits.size))
        if n_bad:
            raise label_range_error("cross_entropy", labels, n_classes)
        loss = total / n if n else float("nan")
        return np.asarray(loss, dtype=logits.dtype), probs

    def cross_entropy_backward(self, probs, labels, grad_output):
        sizes = check_arrays(("probs", probs, "NF"))
        n = sizes["N"]
        labels = check_labels("cross_entropy", labels, n)
        grad_logits = np.empty_like(probs)
        if n and activations.cross_entropy_backward(probs, labels, float(grad_output) / n, grad_logits):
            raise label_range_error("cross_entropy", labels, sizes["F"])
        return grad_logits

    # ------------------------------------------------------------ optimisers
    def adam_update(self, param, grad, exp_avg, exp_avg_sq, lr, beta1, beta2, eps, step):
        check_arrays(("param", param, None))
        shape = param.shape
        check_arrays(("grad", grad, shape), ("exp_avg", exp_avg, shape), ("exp_avg_sq", exp_avg_sq, shape),
                     dtype=param.dtype)
        if step < 1:
            raise ValueError(f"Adam step must be >= 1, got {step}")
        optim.adam_update(param.reshape(-1), grad.reshape(-1), exp_avg.reshape(-1), exp_avg_sq.reshape(-1),
                          float(lr), float(beta1), float(beta2), float(eps), int(step), threads_for(param.size))

    def sgd_update(self, param, grad, velocity, lr, momentum):
        if momentum == 0.0:
            velocity = None
        check_arrays(("param", param, None))
        check_arrays(("grad", grad, param.shape), *optional("velocity", velocity, param.shape), dtype=param.dtype)
        optim.sgd_update(param.reshape(-1), grad.reshape(-1), None if velocity is None else velocity.reshape(-1),
                         float(lr), float(momentum), threads_for(param.size))
