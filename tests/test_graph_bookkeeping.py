"""The graph's bookkeeping that keeps a step cheap: weak child lists that stay bounded,
and a backward plan computed once that still accumulates shared parents correctly."""
import gc

import numpy as np

from hdl_native import functional as F
from hdl_native.tensor import Tensor


def test_graphs_built_and_dropped_do_not_pile_up_on_a_parameter():
    weight = Tensor(np.ones((3, 3), dtype=np.float32), requires_grad=True)
    for _ in range(1000):  # e.g. an evaluation graph built per call
        x = Tensor(np.ones((2, 3), dtype=np.float32))
        F.sum(F.matmul(x, weight)).item()
    gc.collect()
    assert len(weight._children) < 64  # pruned as it grows, not 1000 dead references


def test_invalidation_reaches_every_descendant_once_values_change():
    x = Tensor.placeholder((None, 2), name="x")
    w = Tensor(np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32), requires_grad=True)
    y = F.sum(F.matmul(x, w) * F.matmul(x, w))
    x.assign(np.ones((1, 2), dtype=np.float32))
    first = y.item()
    w.value[...] *= 2
    w.invalidate_downstream()
    assert np.isclose(y.item(), 4 * first)


def test_backward_plan_reused_across_batches_matches_a_fresh_graph():
    def build():
        x = Tensor.placeholder((None, 3), dtype=np.float64, name="x")
        w = Tensor(np.arange(6, dtype=np.float64).reshape(3, 2) / 7, requires_grad=True)
        h = F.matmul(x, w)
        return x, w, F.sum(h * h + h)  # h used twice: its gradients must add up

    x, w, loss = build()
    rng = np.random.default_rng(0)
    for _ in range(3):
        batch = rng.standard_normal((4, 3))
        w.grad = None
        x.assign(batch)
        loss.backward()
        fresh_x, fresh_w, fresh_loss = build()
        fresh_x.assign(batch)
        fresh_loss.backward()
        np.testing.assert_allclose(w.grad, fresh_w.grad, rtol=1e-12)
        h = batch @ w.value
        np.testing.assert_allclose(w.grad, batch.T @ (2 * h + 1), rtol=1e-12)
