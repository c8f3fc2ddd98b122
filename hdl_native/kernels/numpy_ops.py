"""NumpyOps: the plain-numpy reference for every hot kernel.

The graph's ops (hdl_native/ops/) do shapes and bookkeeping and call these
methods on the active backend for every piece of array math.  NativeOps (the
Cython kernels) subclasses this and overrides the hot methods with the same
signatures, so tests can compare the two implementations directly.  Methods
named ``*_backward`` return the gradient(s) of the method of the same stem.

Shape legend: N batch, C / C_in input channels, O / C_out output channels,
H, W input height and width, K kernel size, F / G features.
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .numpy_recurrent import NumpyRecurrentOps
from .validation import check_labels

SQRT_HALF = 0.7071067811865476
INV_SQRT_2PI = 0.3989422804014327


class NumpyOps(NumpyRecurrentOps):
    """Reference kernels in numpy; every method is a pure function of its arrays."""

    name = "numpy"

    # ------------------------------------------------------------ elementwise, with broadcasting
    def add(self, a, b):
        return np.add(a, b)

    def subtract(self, a, b):
        return np.subtract(a, b)

    def multiply(self, a, b):
        return np.multiply(a, b)

    def divide(self, a, b):
        return np.divide(a, b)

    def divide_backward(self, grad_output, a, b):
        """(d/da, d/db) of a / b at full broadcast shape: (grad / b, -grad * a / b^2), the latter computed as
        -(grad / b) * (a / b), since b^2 alone underflows to 0 in float32 for |b| < 1e-19."""
        grad_a = grad_output / b
        return grad_a, -grad_a * (a / b)

    def sum_to_shape(self, grad, shape):
        """Sum `grad` over the axes that broadcasting expanded, back to `shape` (the backward of broadcasting)."""
        if grad.shape == shape:
            return grad
        extra = grad.ndim - len(shape)
        if extra:
            grad = grad.sum(axis=tuple(range(extra)))
        axes = tuple(i for i, size in enumerate(shape) if size == 1 and grad.shape[i] != 1)
        if axes:
            grad = grad.sum(axis=axes, keepdims=True)
        return grad.reshape(shape)

    def negative(self, x):
        return np.negative(x)

    def scale(self, x, factor):
        """x * factor for a Python number, in x's dtype."""
        return x * x.dtype.type(factor)

    def shift(self, x, offset):
        """x + offset for a Python number, in x's dtype."""
        return x + x.dtype.type(offset)

    def square_forward(self, x):
        return x * x

    def square_backward(self, x, grad_output):
        return 2 * grad_output * x

    def power(self, x, exponent):
        """x ** exponent for a constant exponent."""
        return np.power(x, x.dtype.type(exponent))

    def power_backward(self, x, exponent, grad_output):
        p = x.dtype.type(exponent)
        if p == 0:  # x ** 0 is 1 everywhere: its gradient is 0, where 0 * x ** -1 would make it NaN at x = 0
            return np.zeros_like(grad_output * x)
        return grad_output * p * np.power(x, p - 1)

    def exp_forward(self, x):
        return np.exp(x)

    def exp_backward(self, output, grad_output):
        """Given output = exp(x): grad * output."""
        return grad_output * output

    def log_forward(self, x):
        return np.log(x)

    def log_backward(self, x, grad_output):
        return grad_output / x

    # ------------------------------------------------------------ reductions
    def sum(self, x, axes, keepdims):
        """Sum over `axes` (a tuple), as an ndarray even when 0-d."""
        return np.asarray(x.sum(axis=axes, keepdims=keepdims))

    def sum_backward(self, grad_output, axes, input_shape):
        """Spread the gradient of a sum over `axes` back over `input_shape` (a read-only broadcast view)."""
        kept = tuple(1 if i in axes else d for i, d in enumerate(input_shape))
        return np.broadcast_to(grad_output.reshape(kept), input_shape)

    # ------------------------------------------------------------ matmul
    def matmul(self, a, b):
        """a @ b. a: (N, F), b: (F, G) -> (N, G)."""
        return a @ b

    def matmul_backward(self, grad_output, a, b, needs=(True, True)):
        """(grad_a (N, F), grad_b (F, G)) of matmul; None where `needs` says no."""
        return (grad_output @ b.T if needs[0] else None,
                a.T @ grad_output if needs[1] else None)

    # ------------------------------------------------------------ conv2d
    def conv2d_forward(self, x, weight, bias=None):
        """Valid cross-correlation, stride 1.

        x: (N, C_in, H, W), weight: (C_out, C_in, K, K), bias: (C_out,) or None
        -> (N, C_out, H-K+1, W-K+1), dtype of x.
        """
        k = weight.shape[2]
        windows = sliding_window_view(x, (k, k), axis=(2, 3))  # (N, C, Ho, Wo, K, K)
        out = np.tensordot(windows, weight, axes=([1, 4, 5], [1, 2, 3]))  # (N, Ho, Wo, O)
        out = np.ascontiguousarray(out.transpose(0, 3, 1, 2))
        if bias is not None:
            out += bias[None, :, None, None]
        return out

    def conv2d_backward_input(self, grad_output, weight, input_shape):
        """d loss / d x: full correlation of grad_output with the flipped kernel.

        grad_output: (N, C_out, Ho, Wo), weight: (C_out, C_in, K, K) -> (N, C_in, H, W).
        """
        k = weight.shape[2]
        padded = np.pad(grad_output, ((0, 0), (0, 0), (k - 1, k - 1), (k - 1, k - 1)))
        flipped = np.ascontiguousarray(weight[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))  # (C_in, C_out, K, K)
        grad_x = self.conv2d_forward(padded, flipped)
        assert grad_x.shape == tuple(input_shape)
        return grad_x

    def conv2d_backward_weight(self, grad_output, x, kernel_size):
        """d loss / d weight. grad_output: (N, C_out, Ho, Wo), x: (N, C_in, H, W) -> (C_out, C_in, K, K)."""
        windows = sliding_window_view(x, (kernel_size, kernel_size), axis=(2, 3))  # (N, C, Ho, Wo, K, K)
        return np.ascontiguousarray(np.tensordot(grad_output, windows, axes=([0, 2, 3], [0, 2, 3])))

    def conv2d_backward(self, grad_output, x, weight, needs=(True, True, True)):
        """(grad_x, grad_weight, grad_bias) of conv2d_forward; None where `needs` says no.

        One call so a backend can share work between the three (NativeOps does).
        """
        grad_x = self.conv2d_backward_input(grad_output, weight, x.shape) if needs[0] else None
        grad_w = self.conv2d_backward_weight(grad_output, x, weight.shape[2]) if needs[1] else None
        grad_b = self.conv2d_backward_bias(grad_output) if len(needs) > 2 and needs[2] else None
        return grad_x, grad_w, grad_b

    def conv2d_backward_bias(self, grad_output):
        """d loss / d bias. grad_output: (N, C_out, Ho, Wo) -> (C_out,)."""
        return grad_output.sum(axis=(0, 2, 3))

    # ------------------------------------------------------------ max-pool
    def maxpool2d_forward(self, x, kernel_size):
        """Max over k x k windows, stride k, ceil mode (a partial edge window is pooled).

        x: (N, C, H, W) -> (out (N, C, ceil(H/k), ceil(W/k)), argmax int32 of the
        same shape holding the flat index h*W+w of each maximum in its input plane).
        """
        n, c, h, w = x.shape
        k = kernel_size
        ho, wo = -(-h // k), -(-w // k)
        padded = np.full((n, c, ho * k, wo * k), -np.inf, dtype=x.dtype)
        padded[:, :, :h, :w] = x
        blocks = padded.reshape(n, c, ho, k, wo, k).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, ho, wo, k * k)
        local = blocks.argmax(axis=-1)
        out = np.take_along_axis(blocks, local[..., None], axis=-1)[..., 0]
        rows = np.arange(ho)[:, None] * k + local // k
        cols = np.arange(wo)[None, :] * k + local % k
        argmax = (rows * w + cols).astype(np.int32)
        return np.ascontiguousarray(out), argmax

    def maxpool2d_backward(self, grad_output, argmax, input_shape):
        """Scatter grad_output (N, C, Ho, Wo) to the argmax positions -> (N, C, H, W)."""
        n, c, h, w = input_shape
        grad_x = np.zeros((n * c, h * w), dtype=grad_output.dtype)
        flat_idx = argmax.reshape(n * c, -1)
        np.add.at(grad_x, (np.arange(n * c)[:, None], flat_idx), grad_output.reshape(n * c, -1))
        return grad_x.reshape(input_shape)

    # ------------------------------------------------------------ linear
    def linear_forward(self, x, weight, bias=None):
        """x @ weight.T + bias. x: (N, F), weight: (G, F), bias: (G,) -> (N, G)."""
        out = x @ weight.T
        if bias is not None:
            out += bias
        return out

    def linear_backward(self, grad_output, x, weight, needs=(True, True, True)):
        """Gradients of linear_forward: (grad_x (N, F), grad_weight (G, F), grad_bias (G,)); None where not needed."""
        grad_x = grad_output @ weight if needs[0] else None
        grad_w = grad_output.T @ x if needs[1] else None
        grad_b = grad_output.sum(axis=0) if len(needs) > 2 and needs[2] else None
        return grad_x, grad_w, grad_b

    # ------------------------------------------------------------ batch normalisation
    def channel_sums(self, a, b):
        """Per channel of (N, C, L) arrays a and b: (sum of a, sum of a * b), float64 (C,) each."""
        return a.sum(axis=(0, 2), dtype=np.float64), np.einsum("ncl,ncl->c", a, b, dtype=np.float64)

    def channel_affine(self, a, b, p, q, r):
        """(N, C, L): p[c] a + q[c] b + r[c], with p, q, r (C,) of a's dtype."""
        return (p[:, None] * a + q[:, None] * b + r[:, None]).astype(a.dtype, copy=False)

    # ------------------------------------------------------------ activations
    def relu_forward(self, x):
        # np.maximum is one pass; np.where(x > 0, ...) took three times as long at (64, 128).
        return np.maximum(x, x.dtype.type(0))

    def relu_backward(self, output, grad_output):
        """Given output = relu(x): grad where output > 0, else 0."""
        return grad_output * (output > 0)

    def sigmoid_forward(self, x):
        """1 / (1 + e^-x), in two branches so exp never overflows: e^x / (1 + e^x) for x < 0."""
        e = np.exp(-np.abs(x))
        return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)

    def sigmoid_backward(self, output, grad_output):
        """Given output = sigmoid(x): grad * output * (1 - output)."""
        return grad_output * output * (1 - output)

    def tanh_forward(self, x):
        return np.tanh(x)

    def tanh_backward(self, output, grad_output):
        """Given output = tanh(x): grad * (1 - output^2)."""
        return grad_output * (1 - output * output)

    def gelu_forward(self, x):
        """Exact GELU: x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2))."""
        from scipy.special import erf  # here, not at the top: importing scipy.special takes ~0.35 s of every start

        return (0.5 * x * (1.0 + erf(x * SQRT_HALF))).astype(x.dtype, copy=False)

    def gelu_backward(self, x, grad_output):
        """d GELU / dx = Phi(x) + x phi(x), times grad_output."""
        from scipy.special import erf

        cdf = 0.5 * (1.0 + erf(x * SQRT_HALF))
        pdf = INV_SQRT_2PI * np.exp(-0.5 * x * x)
        return (grad_output * (cdf + x * pdf)).astype(x.dtype, copy=False)

    def log_softmax_forward(self, x):
        """Row-wise log-softmax, stable: x - max - log(sum(exp(x - max))). x: (N, F) -> (N, F)."""
        shifted = x - x.max(axis=-1, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))

    def log_softmax_backward(self, output, grad_output):
        """Given output = log_softmax(x): grad - softmax * rowsum(grad)."""
        return grad_output - np.exp(output) * grad_output.sum(axis=-1, keepdims=True)

    def cross_entropy_forward(self, logits, labels):
        """Mean negative log-likelihood of integer `labels` under softmax(logits).

        logits: (N, F), labels: (N,) ints in [0, F) -> (loss 0-d array, softmax (N, F) saved for backward).
        """
        labels = check_labels("cross_entropy", labels, logits.shape[0], logits.shape[1])
        log_probs = self.log_softmax_forward(logits)
        n = logits.shape[0]
        loss = -log_probs[np.arange(n), labels].sum() / n
        return np.asarray(loss, dtype=logits.dtype), np.exp(log_probs)

    def cross_entropy_backward(self, probs, labels, grad_output):
        """d mean-NLL / d logits = (softmax - onehot) / N * grad_output."""
        n = probs.shape[0]
        grad = probs.copy()
        grad[np.arange(n), labels] -= 1.0
        grad *= grad_output / n
        return grad

    def uniform_cross_entropy(self, logits):
        """Mean over the batch of the cross-entropy against the uniform target, the mean over the F classes of
        -log softmax(logits), from the log-softmax itself (no log of a probability that underflowed).
        logits: (N, F) -> float (label smoothing's second term)."""
        return -float(self.log_softmax_forward(logits).mean())

    def smooth_cross_entropy_grad(self, grad_nll, probs, smoothing, grad_output):
        """(1 - e) x grad_nll + e x d uniform_cross_entropy / d logits, whose second part is (softmax - 1/F) / N
        x grad_output: the gradient of a label-smoothed cross-entropy.  grad_nll, probs: (N, F) -> (N, F)."""
        n, classes = probs.shape
        grad_uniform = (probs - probs.dtype.type(1.0 / classes)) * probs.dtype.type(grad_output / n)
        return ((1.0 - smoothing) * grad_nll + smoothing * grad_uniform).astype(grad_nll.dtype, copy=False)

    def nll_loss_forward(self, log_probs, labels):
        """Mean of -log_probs[i, labels[i]]. log_probs: (N, F), labels: (N,) ints in [0, F) -> 0-d."""
        labels = check_labels("nll_loss", labels, log_probs.shape[0], log_probs.shape[1])
        n = log_probs.shape[0]
        return np.asarray(-log_probs[np.arange(n), labels].sum() / n, dtype=log_probs.dtype)

    def nll_loss_backward(self, labels, input_shape, grad_output):
        """d mean-NLL / d log_probs: -grad / N at each row's label, 0 elsewhere -> input_shape."""
        n = input_shape[0]
        grad = np.zeros(input_shape, dtype=np.result_type(grad_output))
        grad[np.arange(n), labels] = -grad_output / n
        return grad

    # ------------------------------------------------------------ dropout
    def dropout_forward(self, x, uniform, p):
        """Zero x where uniform < p and divide the rest by 1 - p.

        uniform: draws in [0, 1) of x's shape -> (out, scale) with scale = kept / (1 - p), for backward.
        """
        keep = 1.0 - p
        scale = (uniform < keep).astype(x.dtype) / x.dtype.type(keep)
        return x * scale, scale

    def dropout_backward(self, scale, grad_output):
        return grad_output * scale

    # ------------------------------------------------------------ optimisers
    def adam_update(self, param, grad, exp_avg, exp_avg_sq, lr, beta1, beta2, eps, step):
        """One bias-corrected Adam step, in place on param, exp_avg and exp_avg_sq.

        m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
        param -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)
        """
        exp_avg *= beta1
        exp_avg += (1.0 - beta1) * grad
        exp_avg_sq *= beta2
        exp_avg_sq += (1.0 - beta2) * grad * grad
        m_hat = exp_avg / (1.0 - beta1 ** step)
        v_hat = exp_avg_sq / (1.0 - beta2 ** step)
        param -= (lr * m_hat / (np.sqrt(v_hat) + eps)).astype(param.dtype, copy=False)

    def sgd_update(self, param, grad, velocity, lr, momentum):
        """SGD with (PyTorch-style) momentum, in place: v = momentum v + g; param -= lr v.

        With momentum 0 `velocity` may be None and param -= lr g.
        """
        if momentum == 0.0 or velocity is None:
            param -= (lr * grad).astype(param.dtype, copy=False)
            return
        velocity *= momentum
        velocity += grad
        param -= (lr * velocity).astype(param.dtype, copy=False)
