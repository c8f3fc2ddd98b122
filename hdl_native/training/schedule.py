"""How long a run trains and, batch by batch, its learning rate and --l2 penalty factor.

Everything here is a pure function of the RunConfig and the batch counter, so a resumed run
picks up the same values from its saved counter; the one exception is a cosine schedule cut
short by max_seconds, which also reads this invocation's training time: --max-minutes limits
each invocation, so a resumed one decays over its own minutes, from the rate its batch
counter gives.
"""
import math


class Schedule:
    """The plan of one run: total batches, learning rate and --l2 factor for any batch."""

    def __init__(self, config, batches_per_epoch, base_lr):
        self.config = config
        self.batches_per_epoch = int(batches_per_epoch)
        self.base_lr = float(base_lr)

    def total_batches(self):
        """Batches the whole plan trains, counted from the model's first batch."""
        total = self.config.epochs * self.batches_per_epoch
        if self.config.max_batches is not None:
            total = min(total, self.config.max_batches)
        return total

    def learning_rate(self, batch_counter, run_seconds):
        """The learning rate of batch `batch_counter`: constant, or cosine from base_lr down to 0.

        The cosine's progress is the larger of batches done / planned and run_seconds / max_seconds.
        """
        if self.config.lr_schedule == "constant":
            return self.base_lr
        progress = batch_counter / max(1, self.total_batches())
        if self.config.max_seconds:
            progress = max(progress, run_seconds / self.config.max_seconds)
        return self.base_lr * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    def l2_factor(self, batch_counter):
        """The --l2 factor of batch `batch_counter`: config.l2, ramped linearly from 0 over the warm-up."""
        warmup_batches = self.config.l2_warmup * self.batches_per_epoch
        if warmup_batches <= 0:
            return self.config.l2
        return self.config.l2 * min(1.0, batch_counter / warmup_batches)
