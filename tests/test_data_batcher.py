"""Batcher: every item once per epoch, a new seeded order per epoch, exact resume from state()."""
import json

import numpy as np
import pytest

from hdl_native.data import Batcher


def one_epoch(batcher):
    return [batch.copy() for batch in batcher.epoch()]


@pytest.mark.parametrize("n_items,batch_size", [(10, 3), (64, 64), (100, 7), (5, 10), (1, 1)])
def test_every_item_exactly_once_per_epoch(n_items, batch_size):
    batcher = Batcher(n_items, batch_size, seed=3)
    for _ in range(3):
        batches = one_epoch(batcher)
        assert len(batches) == len(batcher) == -(-n_items // batch_size)
        assert all(len(b) == batch_size for b in batches[:-1])
        assert 1 <= len(batches[-1]) <= batch_size
        everything = np.concatenate(batches)
        assert everything.dtype == np.int64
        assert sorted(everything.tolist()) == list(range(n_items))


def test_order_changes_between_epochs_and_is_shuffled():
    batcher = Batcher(1000, 100, seed=0)
    first, second = np.concatenate(one_epoch(batcher)), np.concatenate(one_epoch(batcher))
    assert not np.array_equal(first, second)
    assert not np.array_equal(first, np.arange(1000))


def test_same_seed_same_batches_other_seed_different():
    runs = [[np.concatenate(one_epoch(Batcher(200, 16, seed=s))) for _ in range(1)] for s in (5, 5, 6)]
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    assert not np.array_equal(runs[0][0], runs[2][0])


def test_shuffle_off_is_sequential():
    batches = one_epoch(Batcher(7, 3, shuffle=False))
    assert [b.tolist() for b in batches] == [[0, 1, 2], [3, 4, 5], [6]]


def test_resume_mid_epoch_reproduces_the_rest():
    reference = Batcher(50, 4, seed=11)
    expected = one_epoch(reference) + one_epoch(reference)

    interrupted = Batcher(50, 4, seed=11)
    seen = []
    for batch in interrupted.epoch():
        seen.append(batch.copy())
        if len(seen) == 5:
            saved = json.loads(json.dumps(interrupted.state()))
            break
    resumed = Batcher(50, 4, seed=999)
    resumed.set_state(saved)
    assert resumed.batches_left() == len(reference) - 5
    seen += one_epoch(resumed) + one_epoch(resumed)
    assert len(seen) == len(expected)
    for got, want in zip(seen, expected):
        np.testing.assert_array_equal(got, want)


def test_resume_after_last_batch_starts_next_epoch():
    reference = Batcher(9, 3, seed=2)
    expected = one_epoch(reference) + one_epoch(reference)
    batcher = Batcher(9, 3, seed=2)
    for index, _ in enumerate(batcher.epoch()):
        if index == 2:
            saved = batcher.state()
            break
    resumed = Batcher(9, 3)
    resumed.set_state(saved)
    for got, want in zip(one_epoch(resumed), expected[3:]):
        np.testing.assert_array_equal(got, want)


def test_state_from_other_shape_is_refused():
    state = Batcher(10, 2).state()
    with pytest.raises(ValueError, match="n_items"):
        Batcher(11, 2).set_state(state)
    with pytest.raises(ValueError, match="batch_size"):
        Batcher(10, 3).set_state(state)


def test_bad_arguments():
    with pytest.raises(ValueError):
        Batcher(0, 4)
    with pytest.raises(ValueError):
        Batcher(4, 0)
