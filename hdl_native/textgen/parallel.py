"""What `textgen train` does differently as one rank of a data-parallel run on MPI (hdl_native.distributed).

A batch of the character model is B parallel streams of the corpus (textgen.corpus.Streams), each carrying
its recurrent state from chunk to chunk.  Rank r trains a contiguous block of those streams (``World.shard``
of the B rows: sizes differ by at most one, the first ``B mod N`` ranks taking one more; --batch-size must be
at least the number of ranks) and keeps their carried state; the gradients, weighted by each block's share,
are summed over the ranks, so every rank clips and steps exactly as one process does on all B rows.  Every
rank draws the same epoch offsets, so the streams stay aligned.  Rank 0 gathers the whole carried state
into the state file, which therefore resumes on any number of ranks.  Validation splits the held-out
streams the same way.
"""
import numpy as np

from ..errors import HDLError


class StreamShard:
    """This rank's block of the B streams in a run over `world` (a distributed.World of size > 1)."""

    def __init__(self, world, batch_size):
        if batch_size < world.size:
            raise HDLError(f"--batch-size {batch_size} is smaller than the {world.size} MPI ranks: "
                           "each rank needs at least one stream")
        rows = world.shard(np.arange(batch_size))
        self.world, self.batch_size = world, batch_size
        self.rows = slice(int(rows[0]), int(rows[-1]) + 1)
        self.n_rows = len(rows)

    def part(self, array):
        """This rank's rows of a chunk (B, T)."""
        return array[self.rows]

    def state_part(self, state):
        """This rank's rows of a carried state: a list of (layers, B, H) arrays."""
        return [np.ascontiguousarray(array[:, self.rows]) for array in state]

    def with_rows(self, state, final):
        """The carried state (layers, B, H) with this rank's rows replaced by `final` (layers, n_rows, H)."""
        merged = [array.copy() for array in state]
        for whole, mine in zip(merged, final):
            whole[:, self.rows] = mine
        return merged

    def whole_state(self, state):
        """Every rank's rows of the carried state, assembled on rank 0 (None on the others)."""
        parts = self.world.gather(self.state_part(state))
        if parts is None:
            return None
        return [np.concatenate([part[i] for part in parts], axis=1) for i in range(len(state))]

    def combine(self, optimizer, loss, accuracy):
        """Sum the block-weighted gradients over the ranks; returns the batch's (mean loss, accuracy)."""
        share = self.n_rows / self.batch_size
        self.world.allreduce_gradients(optimizer, weight=share)
        loss, accuracy = self.world.sum([loss * share, accuracy * share])
        return float(loss), float(accuracy)

    def mean(self, value):
        """The mean over all B streams of a value that is a mean over this rank's streams."""
        return float(self.world.sum([value * self.n_rows / self.batch_size])[0])

    def stop_together(self, finished, signalled):
        """(rank 0 has finished, some rank was asked to stop by a signal), the same on every rank."""
        views = self.world.allgather((bool(finished), bool(signalled)))
        return views[0][0], any(view[1] for view in views)

    def root_decides(self, value):
        """Rank 0's `value` (whether to save now, how much of a timed run is done: its clock decides)."""
        return self.world.broadcast(value)
