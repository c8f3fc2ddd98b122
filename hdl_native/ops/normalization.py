"""Batch normalisation over the channels of a (N, C, H, W) batch.

Training: each channel is standardised by the mean and variance of the batch itself, over N, H and W, then
scaled by gamma and shifted by beta (Ioffe and Szegedy, 2015).  Evaluation: by a stored mean and variance, the
statistics of the training images, so one image reads the same alone as in a batch.  The same graph does both:
a 0-d `training` flag leaf switches it, as it does dropout.
"""
import numpy as np

from ..kernels import get_ops
from ..tensor import contiguous
from .layers import LayerOp


class BatchNorm2d(LayerOp):
    """y = gamma * (x - mean) / sqrt(var + eps) + beta, per channel.

    Inputs: x (N, C, H, W), gamma (C,), beta (C,), mean (C,) and var (C,) (used when not training), and the 0-d
    training flag.  While training, the batch's own mean and (biased) variance are used, and with a `momentum`
    the stored mean and var arrays are moved towards them in place (running averages, as PyTorch keeps them,
    with the unbiased variance); nothing reads them while training, and the leaves' versions are left alone:
    switching to eval mode assigns the flag, which makes every node reading them compute again.  No gradient
    reaches them.
    """

    name = "batch_norm2d"

    def __init__(self, eps=1e-5, momentum=None):
        self.eps = float(eps)
        self.momentum = momentum

    def infer(self, x, gamma, beta, mean, var, training):
        parents = (x, gamma, beta, mean, var)
        if x.ndim != 4:
            raise self.shape_error("expects x (N, C, H, W)", *parents)
        channels = (x.shape[1],)
        if any(p.shape != channels for p in (gamma, beta, mean, var)):
            raise self.shape_error("gamma, beta, mean and var must be (C,)", *parents)
        if training.shape != ():
            raise self.shape_error("the training flag must be 0-d", x, training)
        return x.shape, self.same_float_dtype(*parents)

    def forward(self, x, gamma, beta, mean, var, training):
        ops = get_ops()
        stored_mean, stored_var = mean, var
        self.x = x.reshape(x.shape[0], x.shape[1], -1)
        self.training = bool(training)
        if self.training:
            total, squares = ops.channel_sums(self.x, self.x)
            count = self.x.shape[0] * self.x.shape[2]
            mean = total / count
            var = np.maximum(squares / count - mean * mean, 0.0)  # sums in float64: E[x^2] - mean^2 is safe here
            if self.momentum:  # running averages, in the stored arrays (they are not read while training)
                stored_mean *= 1 - self.momentum
                stored_mean += self.momentum * mean
                stored_var *= 1 - self.momentum
                stored_var += self.momentum * var * count / max(count - 1, 1)
        mean, var = np.asarray(mean, dtype=np.float64), np.asarray(var, dtype=np.float64)
        inv_std = 1.0 / np.sqrt(var + self.eps)
        self.mean, self.inv_std, self.gamma = mean, inv_std, gamma.astype(np.float64)
        scale = self.gamma * inv_std
        dtype = x.dtype
        zeros = np.zeros_like(scale, dtype=dtype)
        out = ops.channel_affine(self.x, self.x, scale.astype(dtype), zeros, (beta - mean * scale).astype(dtype))
        return out.reshape(x.shape)

    def backward(self, grad, needs):
        """With x_hat = (x - mean) inv_std: grad_gamma = sum(grad x_hat), grad_beta = sum(grad), and while
        training grad_x = gamma inv_std (grad - grad_beta / M - x_hat grad_gamma / M), M = N H W (the batch
        statistics depend on x); in eval mode grad_x = gamma inv_std grad."""
        ops = get_ops()
        dtype = grad.dtype
        rows = contiguous(grad).reshape(self.x.shape)
        grad_beta, grad_x_sum = ops.channel_sums(rows, self.x)
        grad_gamma = self.inv_std * (grad_x_sum - self.mean * grad_beta)
        grad_x = None
        if needs[0]:
            scale = self.gamma * self.inv_std
            q = np.zeros_like(scale)
            r = np.zeros_like(scale)
            if self.training:
                count = self.x.shape[0] * self.x.shape[2]
                q = -scale * self.inv_std * grad_gamma / count
                r = -scale * grad_beta / count - q * self.mean
            grad_x = ops.channel_affine(rows, self.x, scale.astype(dtype), q.astype(dtype), r.astype(dtype))
            grad_x = grad_x.reshape(grad.shape)
        return (grad_x, grad_gamma.astype(dtype), grad_beta.astype(dtype), None, None, None)
