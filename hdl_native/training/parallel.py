"""What a Trainer does differently as one rank of a data-parallel run on MPI (hdl_native.distributed).

The Trainer receives a DataParallel only when the run has more than one rank; one process on its own
gets None and runs exactly the single-process code.  Every rank builds the same model, Batcher and
Schedule, so all of them walk the same global batches; each then

- trains on its shard of every global batch (``World.shard``: contiguous parts whose sizes differ by at most
  one, the first ``B mod N`` ranks taking one more; a rank whose shard is empty, when an epoch's last batch
  has fewer images than there are ranks, contributes a zero gradient);
- weights its gradient by its share of the batch and sums it over the ranks (one Allreduce over the
  optimiser's flat gradient array), so every rank takes the step one process takes on the whole batch;
- reports the batch's loss and accuracy summed over the ranks and steps with rank 0's learning rate;
  checks them (a non-finite loss or gradient on any rank stops every rank at the same batch), and agrees
  with the others on when to checkpoint and stop (rank 0's clock decides; a signal on any rank stops all);
- evaluates its part of the validation images, which rank 0 gathers into one Evaluation;
- before every validation and every state it saves, replaces its buffers (a batch normalisation's running
  mean and variance, which each rank updates from its own shards) by their mean over the ranks, so every
  rank validates with the statistics the state file then holds.

Random streams: rank 0 draws the augmentation and dropout streams a single process draws; rank r > 0
draws its own, derived from --seed and r (and, after a resume, the batch counter, since a state file
holds rank 0's streams only).
"""
from dataclasses import replace

import numpy as np

from ..errors import HDLError
from .evaluate import summarize


class DataParallel:
    """One rank's part in a data-parallel run over `world` (a distributed.World of size > 1)."""

    def __init__(self, world):
        self.world = world

    @property
    def is_root(self):
        return self.world.is_root

    def rank_config(self, config):
        """`config` as this rank runs it: rank 0 unchanged, the others without progress bar, log or outputs."""
        if self.is_root:
            return config
        return replace(config, progress=False, db=None, json_summary=False, plot=None, export=None)

    def check_batch_size(self, batch_size):
        if batch_size < self.world.size:
            raise HDLError(f"--batch-size {batch_size} is smaller than the {self.world.size} MPI ranks: "
                           "each rank needs at least one image of every batch")

    def prepare(self, trainer):
        """Start every rank from rank 0's parameters, with its own random streams and flat gradients."""
        model, optimizer, seed = trainer.model, trainer.optimizer, trainer.config.seed
        self.world.broadcast_parameters(model)
        for _, param in optimizer.named_params:  # the flat gradient arrays exist before the first Allreduce
            if param.grad is None:
                param.grad = np.zeros(param.shape, dtype=param.dtype)
        optimizer.current_flat_groups()
        self.seed_streams(trainer, [seed, self.world.rank])

    def seed_streams(self, trainer, key):
        """Give ranks other than 0 augmentation and dropout streams of their own, derived from `key`."""
        if self.is_root:
            return
        trainer.feed.rng = np.random.default_rng(key + [1])
        dropout = getattr(trainer.model, "dropout", None)
        if dropout is not None:
            dropout.rng = np.random.default_rng(key + [5])

    def after_resume(self, trainer):
        """Rank 0 continues the saved streams; the others start fresh ones tied to the batch counter."""
        self.seed_streams(trainer, [trainer.config.seed, self.world.rank, trainer.batch_counter])

    def shard(self, indices):
        return self.world.shard(indices)

    def combine(self, optimizer, loss, correct, n_local, n_global):
        """Sum the shard-weighted gradients over the ranks and take rank 0's learning rate (a cosine schedule
        cut short by --max-minutes reads each rank's clock); returns the batch's (mean loss, number correct)."""
        self.world.allreduce_gradients(optimizer, weight=n_local / n_global)
        loss_sum, correct, lr = self.world.sum([loss * n_local, correct, optimizer.lr if self.is_root else 0.0])
        optimizer.lr = float(lr)
        return float(loss_sum / n_global), int(round(correct))

    def agree(self, reason, checkpoint_due):
        """(stop reason, checkpoint due) that every rank acts on: a signal on any rank, else rank 0's view."""
        views = self.world.allgather((reason, checkpoint_due))
        signalled = [view[0] for view in views if view[0] not in (None, "done", "time")]
        return (signalled[0] if signalled else views[0][0]), views[0][1]

    def average_buffers(self, model):
        """Set every buffer of `model` (Module.named_buffers: running statistics, not trained) to its mean over
        the ranks, summed in float64.  Buffers already equal on every rank keep their values exactly."""
        buffers = [tensor for _, tensor in model.named_buffers()]
        if not buffers:
            return
        mean = self.world.sum(np.concatenate([b.value.ravel() for b in buffers])) / self.world.size
        start = 0
        for buffer in buffers:
            stop = start + buffer.value.size
            buffer.assign(mean[start:stop].reshape(buffer.value.shape).astype(buffer.value.dtype))
            start = stop

    def evaluate(self, evaluator, images, labels):
        """The Evaluation of all `images` on rank 0, each rank predicting its part; None on the other ranks."""
        mine = self.world.shard(np.arange(len(labels)))
        parts = self.world.gather(evaluator.predict_log_probs(images[mine]))
        if not self.is_root:
            return None
        return summarize(np.concatenate(parts), np.asarray(labels, dtype=np.int64))
