"""Classification losses against integer labels, averaged over the batch."""
import numpy as np

from ..kernels import get_ops
from .base import Op, float_result_dtype


def check_labels(op_name, labels, n_rows, n_classes):
    """Labels must be integers in [0, n_classes), one per row."""
    if labels.dtype.kind not in "iu":
        raise TypeError(f"{op_name}: labels must be integers, got dtype {labels.dtype}")
    if labels.shape != (n_rows,):
        raise ValueError(f"{op_name}: labels shape {labels.shape} does not match batch of {n_rows} rows")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        bad = labels[(labels < 0) | (labels >= n_classes)][0]
        raise ValueError(f"{op_name}: label {bad} is outside [0, {n_classes})")


class LossOp(Op):
    def infer(self, scores, labels):
        if scores.ndim != 2 or labels.ndim != 1:
            raise self.shape_error("expects scores (N, F) and labels (N,)", scores, labels)
        if None not in (scores.shape[0], labels.shape[0]) and scores.shape[0] != labels.shape[0]:
            raise self.shape_error("batch sizes differ", scores, labels)
        if labels.dtype.kind not in "iu":
            raise TypeError(f"{self.name}: labels must be an integer tensor, got {labels.dtype}")
        return (), float_result_dtype(scores)


class CrossEntropy(LossOp):
    """Fused log-softmax + mean NLL: scores are raw logits (N, F), labels (N,) -> 0-d."""

    name = "cross_entropy"

    def forward(self, logits, labels):
        check_labels(self.name, labels, logits.shape[0], logits.shape[1])
        self.labels = labels
        loss, self.probs = get_ops().cross_entropy_forward(logits, labels)
        return loss

    def backward(self, grad, needs):
        return get_ops().cross_entropy_backward(self.probs, self.labels, float(grad)), None


class NLLLoss(LossOp):
    """Mean negative log-likelihood: scores are log-probabilities (N, F), labels (N,) -> 0-d."""

    name = "nll_loss"

    def forward(self, log_probs, labels):
        check_labels(self.name, labels, log_probs.shape[0], log_probs.shape[1])
        self.labels, self.shape = labels, log_probs.shape
        n = log_probs.shape[0]
        return np.asarray(-log_probs[np.arange(n), labels].sum() / n, dtype=log_probs.dtype)

    def backward(self, grad, needs):
        n = self.shape[0]
        grad_scores = np.zeros(self.shape, dtype=grad.dtype)
        grad_scores[np.arange(n), self.labels] = -grad / n
        return grad_scores, None
