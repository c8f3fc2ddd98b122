"""Seeded mini-batches: a fresh shuffle each epoch, every item exactly once, resumable mid-epoch."""
import numpy as np


class Batcher:
    """Hands out index batches over n_items, epoch after epoch.

    Epoch e's order is a permutation drawn from the seed and e alone, so a saved
    state() (epoch number and position within it) resumes exactly, in this
    process or another.  The last batch of an epoch may be smaller.
    With `weights` (float (n_items,) probabilities summing to 1) an epoch is instead
    n_items draws with replacement, item i drawn with probability weights[i]: how a
    mixture of datasets trains on its sources in chosen proportions.

        batcher = Batcher(len(ds), 64, seed=0)
        for epoch in range(3):
            for idx in batcher.epoch():      # int64 (<=64,) indices
                train(ds.images[idx], ds.labels[idx])
    """

    def __init__(self, n_items, batch_size, seed=0, shuffle=True, weights=None):
        if int(n_items) < 1:
            raise ValueError(f"Batcher needs at least one item, got n_items={n_items}")
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.n_items = int(n_items)
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.shuffle = bool(shuffle)
        self.weights = None
        if weights is not None:
            weights = np.asarray(weights, dtype=np.float64)
            if weights.shape != (self.n_items,) or not np.all(weights >= 0) or not np.isclose(weights.sum(), 1.0):
                raise ValueError(f"weights must be {self.n_items} non-negative probabilities summing to 1")
            self.weights = weights
        self.epoch_number = 0
        self.position = 0

    def __len__(self):
        """Batches per epoch, counting the last partial one."""
        return -(-self.n_items // self.batch_size)

    def order(self, epoch_number):
        """int64 (n_items,): the order in which epoch `epoch_number` visits the items."""
        if not self.shuffle:
            return np.arange(self.n_items, dtype=np.int64)
        if self.weights is not None:
            return np.random.default_rng([self.seed, epoch_number]).choice(self.n_items, self.n_items, p=self.weights)
        return np.random.default_rng([self.seed, epoch_number]).permutation(self.n_items)

    def epoch(self):
        """Yield the rest of the current epoch as int64 index arrays, then move on to the next epoch.

        A batch counts as consumed once it has been handed out, so state() taken
        inside the loop after processing a batch resumes with the following one.
        """
        if self.position >= self.n_items:
            self._next_epoch()
        order = self.order(self.epoch_number)
        while self.position < self.n_items:
            start = self.position
            self.position = min(start + self.batch_size, self.n_items)
            yield order[start:self.position]
        self._next_epoch()

    def batches_left(self):
        """Batches remaining in the current epoch."""
        return -(-(self.n_items - self.position) // self.batch_size)

    def state(self):
        """A small JSON-friendly dict that set_state() accepts to resume exactly here."""
        return {"n_items": self.n_items, "batch_size": self.batch_size, "seed": self.seed,
                "shuffle": self.shuffle, "epoch": self.epoch_number, "position": self.position}

    def set_state(self, state):
        """Resume from a state() dict; refuses one taken over a different dataset size or batch size."""
        for key in ("n_items", "batch_size"):
            if int(state[key]) != getattr(self, key):
                raise ValueError(f"batcher state was saved with {key}={state[key]}, "
                                 f"this batcher has {getattr(self, key)}")
        position = int(state["position"])
        if not 0 <= position <= self.n_items:
            raise ValueError(f"batcher state position {position} is outside 0..{self.n_items}")
        self.seed = int(state["seed"])
        self.shuffle = bool(state.get("shuffle", True))
        self.epoch_number = int(state["epoch"])
        self.position = position

    def _next_epoch(self):
        self.epoch_number += 1
        self.position = 0
