"""The graph's bookkeeping that keeps a step cheap and caches honest: versions pulled
by every read, read-only values, and a backward plan computed once that still
accumulates shared parents correctly."""
import gc
import weakref

import numpy as np
import pytest

from hdl_native import functional as F
from hdl_native.tensor import Tensor


def test_a_parameter_keeps_no_reference_to_graphs_built_from_it():
    weight = Tensor(np.ones((3, 3), dtype=np.float32), requires_grad=True)
    x = Tensor(np.ones((2, 3), dtype=np.float32))
    graph = F.sum(F.matmul(x, weight))  # e.g. an evaluation graph built per call
    graph.item()
    dropped = weakref.ref(graph.parents[0])
    del graph
    gc.collect()
    assert dropped() is None


def test_writing_a_leaf_in_place_through_data_recomputes_every_descendant():
    x = Tensor.placeholder((None, 2), name="x")
    w = Tensor(np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32), requires_grad=True)
    y = F.sum(F.matmul(x, w) * F.matmul(x, w))
    x.assign(np.ones((1, 2), dtype=np.float32))
    first = y.item()
    w.data[...] *= 2
    assert np.isclose(y.item(), 4 * first)


def test_mark_modified_after_writing_through_a_view():
    w = Tensor(np.ones(3, dtype=np.float64))
    y = F.sum(w * 2.0)
    assert y.item() == 6.0
    view = w.data[1:]  # e.g. an optimiser's flat buffer holding the parameter
    y.item()           # evaluated again after the view was taken
    view[...] = 5.0
    assert y.item() == 6.0  # stale until told, as documented
    w.mark_modified()
    assert y.item() == 22.0


def test_values_are_read_only_views():
    leaf = Tensor(np.ones(3, dtype=np.float32))
    node = leaf * 2.0
    for tensor in (leaf, node):
        with pytest.raises(ValueError, match="read-only"):
            tensor.value[0] = 7.0
    assert node.value[0] == 2.0
    copy = node.numpy()
    copy[0] = 7.0  # numpy() is a private copy
    assert node.value[0] == 2.0


def test_data_is_for_leaves_only():
    node = Tensor(np.ones(2)) * 2.0
    with pytest.raises(TypeError, match="leaves"):
        node.data


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


def test_a_leaf_given_a_read_only_array_keeps_a_writable_copy():
    frozen = np.ones((2, 3), dtype=np.float32)
    frozen.flags.writeable = False  # np.frombuffer, a read-only memmap, a broadcast view
    weight = Tensor(frozen, requires_grad=True)
    weight.data[0] = 2.0  # data is the leaf's own array, writable in place
    np.testing.assert_array_equal(frozen, np.ones((2, 3)))
    placeholder = Tensor.placeholder((None, 3))
    placeholder.assign(frozen)
    placeholder.data[...] = 5.0
    np.testing.assert_array_equal(frozen, np.ones((2, 3)))
    writable = np.ones((2, 3), dtype=np.float32)
    placeholder.assign(writable)
    assert placeholder.holds(writable)  # a writable C-contiguous array of the dtype is still kept, not copied
