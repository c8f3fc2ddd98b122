"""An exponential moving average of a model's parameters over its training steps (Polyak averaging).

After every optimiser step each parameter's average moves towards its new value:

    average = decay * average + (1 - decay) * weight

so it remembers about the last 1 / (1 - decay) steps (0.999: about 1,000).  The averages start at the weights
training starts from and are kept in float64 (a parameter of float32 would lose the small steps of a decay near 1).
Only parameters are averaged: a batch normalisation's running statistics stay those of the trained weights.
Averaging them too (as timm's ModelEmaV2 does) was measured worse here: letters-vgg-bn, letters/ less 500
held-out images, Adam, 6 epochs, decay 0.99, seeds 0 and 1: held-out 92.4 / 93.4% as now, 91.8 / 92.2% with the
statistics averaged (loss 0.27 / 0.30 against 0.33 / 0.34); averaged statistics lag the weights they describe.
Training itself never sees them: the Trainer swaps them into the model to validate, test and export
(`in_model()`), and puts the trained weights back after.  `trainer.state()` saves them, so a resumed run goes on
averaging exactly as an uninterrupted one, and the state's readers (evaluate, ocr, ...) read them as the run did
(checkpoint.reported_params).
"""
import math
from contextlib import contextmanager

import numpy as np

from ..checkpoint import WEIGHT_AVERAGE, check_arrays
from ..errors import HDLError

STATE_KEY = WEIGHT_AVERAGE  # the state file's entry: {"decay": d, "averages": {name: float64 array}}
# The share of the starting weights an average may still hold at the end of a run before the run says so: the
# tutorial's LettersCNN, 1,040 steps at constant lr, read held-out letters 2.5 points worse with 0.999 (the start
# still 35% of its average) and 1.5 points better with 0.99 (BENCHMARKS.md).
STARTING_SHARE_NOTED = 0.05


def too_long_a_memory(decay, steps):
    """None, or a one-line note when an average at `decay` over `steps` steps would still hold more than
    STARTING_SHARE_NOTED of the starting weights at the end (decay ** steps), naming a decay that suits the run:
    the 1 - 10^k whose memory is about a tenth of its steps or less."""
    share = decay ** steps
    if share <= STARTING_SHARE_NOTED:
        return None
    suits = 1.0 - 10.0 ** math.ceil(math.log10(10.0 / max(steps, 1)))
    advice = f"a decay of {suits:g} or less suits it" if suits > 0 else "too few steps to average"
    return (f"note: --ema-decay {decay:g} remembers about {1 / (1 - decay):,.0f} steps and this run plans {steps:,}, "
            f"so the starting weights would still be {share:.0%} of the average at its end ({advice})")


class WeightAverage:
    """The moving average of `model`'s parameters at `decay` (0 < decay < 1), started at their current values."""

    def __init__(self, model, decay):
        if not 0.0 < decay < 1.0:
            raise ValueError(f"WeightAverage: decay must be in (0, 1), got {decay}")
        self.decay = float(decay)
        self.owner = type(model).__name__  # how errors name the model
        self.params = dict(model.named_parameters())
        self.averages = {name: p.value.astype(np.float64) for name, p in self.params.items()}

    def update(self):
        """Move every average towards its parameter's current value (after an optimiser step)."""
        decay, keep = self.decay, 1.0 - self.decay
        for name, average in self.averages.items():
            average *= decay
            average += keep * self.params[name].value

    @contextmanager
    def in_model(self):
        """The model holds the averages (as its own dtype) inside the block and its trained weights again after."""
        trained = {name: p.value.copy() for name, p in self.params.items()}
        try:
            for name, p in self.params.items():
                p.data[...] = self.averages[name]
            yield
        finally:
            for name, p in self.params.items():
                p.data[...] = trained[name]

    def state(self):
        """What a state file keeps of it (STATE_KEY's entry)."""
        return {"decay": self.decay, "averages": {name: a.copy() for name, a in self.averages.items()}}

    def load_state(self, state, path="<state>"):
        """Continue from a state() entry of a state file at `path`; HDLError when it does not fit this model."""
        averages = state.get("averages") if isinstance(state, dict) else None
        if not isinstance(averages, dict):
            raise HDLError(f"{path}: its weight average holds no arrays (got {type(averages).__name__})")
        check_arrays(averages, {name: a.shape for name, a in self.averages.items()}, self.owner, path,
                     what="weight average")
        self.averages = {name: np.asarray(averages[name]).astype(np.float64) for name in self.averages}
