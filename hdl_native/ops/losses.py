"""Classification losses against integer labels, averaged over the batch.

The label range is checked once, by the backend's loss kernel; ``infer``
checks shapes and that the labels are an integer tensor.
"""
import numpy as np

from ..kernels import get_ops
from .base import FloatOp


class LossOp(FloatOp):
    """A loss of scores (N, F) against integer labels (N,): a 0-d mean over the batch."""

    def infer(self, scores, labels):
        if scores.ndim != 2 or labels.ndim != 1:
            raise self.shape_error("expects scores (N, F) and labels (N,)", scores, labels)
        if None not in (scores.shape[0], labels.shape[0]) and scores.shape[0] != labels.shape[0]:
            raise self.shape_error("batch sizes differ", scores, labels)
        if labels.dtype.kind not in "iu":
            raise TypeError(f"{self.name}: labels must be an integer tensor, got {labels.dtype} (a Python list "
                            "becomes float32, as every Tensor made from numbers: give np.array(labels) instead)")
        return (), self.infer_dtype(scores)


class CrossEntropy(LossOp):
    """Fused log-softmax + mean NLL: scores are raw logits (N, F), labels (N,) -> 0-d.

    With label_smoothing e the target is (1 - e) x one-hot + e / F spread over every class, as PyTorch's
    ``cross_entropy(..., label_smoothing=e)``: loss = (1 - e) x NLL + e x mean over the F classes of -log p,
    gradient (softmax - target) / N.
    """

    name = "cross_entropy"

    def __init__(self, label_smoothing=0.0):
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1), got {label_smoothing}")
        self.smoothing = float(label_smoothing)

    def forward(self, logits, labels):
        self.labels = labels
        logits = self.as_float(logits)
        loss, self.probs = get_ops().cross_entropy_forward(logits, labels)
        if not self.smoothing:
            return loss
        uniform = get_ops().uniform_cross_entropy(logits)
        return np.asarray((1.0 - self.smoothing) * loss + self.smoothing * uniform, dtype=loss.dtype)

    def backward(self, grad, needs):
        grad_nll = get_ops().cross_entropy_backward(self.probs, self.labels, float(grad))
        if not self.smoothing:
            return grad_nll, None
        return get_ops().smooth_cross_entropy_grad(grad_nll, self.probs, self.smoothing, float(grad)), None


class NLLLoss(LossOp):
    """Mean negative log-likelihood: scores are log-probabilities (N, F), labels (N,) -> 0-d."""

    name = "nll_loss"

    def forward(self, log_probs, labels):
        self.labels, self.input_shape = labels, log_probs.shape
        return get_ops().nll_loss_forward(self.as_float(log_probs), labels)

    def backward(self, grad, needs):
        return get_ops().nll_loss_backward(self.labels, self.input_shape, grad), None
