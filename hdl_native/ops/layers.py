"""The layer ops: linear, conv2d, max-pool 2d and dropout.

The arithmetic runs on the active kernel backend (Cython + OpenMP when
built, numpy otherwise); these classes do shape checking and bookkeeping.
"""
import numpy as np

from ..kernels import get_ops
from ..tensor import contiguous
from .base import FLOAT_DTYPES, FloatOp, Op


class LayerOp(Op):
    """A layer's inputs must all be float32, or all float64, as its kernels (and PyTorch's) require;
    anything else is a TypeError naming the op and the dtypes, raised when the node is built."""

    def same_float_dtype(self, *parents):
        dtypes = {p.dtype for p in parents}
        if len(dtypes) != 1 or not dtypes <= set(FLOAT_DTYPES):
            given = ", ".join(str(p.dtype) for p in parents)
            raise TypeError(f"{self.name}: inputs must all be float32 or all float64, got {given}")
        return parents[0].dtype


class Linear(LayerOp):
    """x @ weight.T + bias.  x: (N, F), weight: (G, F), bias: (G,) -> (N, G)."""

    name = "linear"

    def infer(self, x, weight, bias=None):
        parents = (x, weight) + ((bias,) if bias is not None else ())
        if x.ndim != 2 or weight.ndim != 2:
            raise self.shape_error("expects x (N, F) and weight (G, F)", *parents)
        if x.shape[1] != weight.shape[1]:
            raise self.shape_error("x features differ from weight's second dimension", *parents)
        if bias is not None and bias.shape != (weight.shape[0],):
            raise self.shape_error("bias must be (G,)", *parents)
        return (x.shape[0], weight.shape[0]), self.same_float_dtype(*parents)

    def forward(self, x, weight, bias=None):
        self.x, self.weight, self.has_bias = x, weight, bias is not None
        return get_ops().linear_forward(x, weight, bias)

    def backward(self, grad, needs):
        grads = get_ops().linear_backward(contiguous(grad), self.x, self.weight,
                                          needs + (False,) * (3 - len(needs)))
        return grads[: 3 if self.has_bias else 2]


class Conv2d(LayerOp):
    """Valid 2-d cross-correlation, stride 1.

    x: (N, C_in, H, W), weight: (C_out, C_in, K, K), bias: (C_out,) -> (N, C_out, H-K+1, W-K+1).
    """

    name = "conv2d"

    def infer(self, x, weight, bias=None):
        parents = (x, weight) + ((bias,) if bias is not None else ())
        if x.ndim != 4 or weight.ndim != 4:
            raise self.shape_error("expects x (N, C_in, H, W) and weight (C_out, C_in, K, K)", *parents)
        c_out, c_in, k, k2 = weight.shape
        if k != k2:
            raise self.shape_error("kernel must be square", *parents)
        if x.shape[1] != c_in:
            raise self.shape_error(f"x has {x.shape[1]} channels, weight expects {c_in}", *parents)
        if bias is not None and bias.shape != (c_out,):
            raise self.shape_error("bias must be (C_out,)", *parents)
        h, w = x.shape[2], x.shape[3]
        if (h is not None and h < k) or (w is not None and w < k):
            raise self.shape_error(f"image smaller than the {k}x{k} kernel", *parents)
        out_h = None if h is None else h - k + 1
        out_w = None if w is None else w - k + 1
        return (x.shape[0], c_out, out_h, out_w), self.same_float_dtype(*parents)

    def forward(self, x, weight, bias=None):
        self.x, self.weight, self.has_bias = x, weight, bias is not None
        return get_ops().conv2d_forward(x, weight, bias)

    def backward(self, grad, needs):
        grads = get_ops().conv2d_backward(contiguous(grad), self.x, self.weight,
                                          needs + (False,) * (3 - len(needs)))
        return grads[: 3 if self.has_bias else 2]


class MaxPool2d(LayerOp):
    """Max over k x k windows with stride k, ceil mode: (N, C, H, W) -> (N, C, ceil(H/k), ceil(W/k))."""

    name = "maxpool2d"

    def __init__(self, kernel_size):
        if kernel_size != int(kernel_size) or kernel_size < 1:  # int(2.5) would pool 2x2 without a word
            raise ValueError(f"maxpool2d: kernel_size must be a whole number >= 1, got {kernel_size}")
        self.kernel_size = int(kernel_size)

    def infer(self, x):
        if x.ndim != 4:
            raise self.shape_error("expects (N, C, H, W)", x)
        k = self.kernel_size
        h, w = x.shape[2], x.shape[3]
        out_h = None if h is None else -(-h // k)
        out_w = None if w is None else -(-w // k)
        return (x.shape[0], x.shape[1], out_h, out_w), self.same_float_dtype(x)

    def forward(self, x):
        self.input_shape = x.shape
        out, self.argmax = get_ops().maxpool2d_forward(x, self.kernel_size)
        return out

    def backward(self, grad, needs):
        return (get_ops().maxpool2d_backward(contiguous(grad), self.argmax, self.input_shape),)


class Dropout(FloatOp):
    """Zero each value with probability p and divide the kept ones by 1-p; identity when not training.
    x (any shape) -> the same shape, a float (integers become float32, as every elementwise op makes them).

    Inputs: x, and a 0-d `training` flag leaf (nonzero: drop), so switching
    between training and evaluation is a change of a leaf like any other.
    `rng` supplies ``random(shape, dtype=...)`` draws in [0, 1).
    """

    name = "dropout"

    def __init__(self, p, rng):
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout: p must be in [0, 1), got {p}")
        self.p, self.rng = float(p), rng

    def infer(self, x, training):
        if training.shape != ():
            raise self.shape_error("the training flag must be 0-d", x, training)
        return x.shape, self.infer_dtype(x)

    def forward(self, x, training):
        x = self.as_float(x)
        if not training or self.p == 0.0:
            self.scale = None
            return x
        out, self.scale = get_ops().dropout_forward(x, self.rng.random(x.shape, dtype=np.float32), self.p)
        return out

    def backward(self, grad, needs):
        return (grad if self.scale is None else get_ops().dropout_backward(self.scale, grad), None)
