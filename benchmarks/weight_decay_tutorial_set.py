"""An experiment, not a feature: `hdl-native letters` with weight decay on the tutorial's own set of weights.

The tutorial's convo-alphabet.hh adds 0.02 x (c1 + c2 + c3 + fc1 + fc1 + fc1) squared-weight sums to the
loss (fc1 three times, fc2 and fc3 not at all; and the term itself is commented out there). This runs the
letters trainer with exactly that set in place of every weight, to see whether the set explains why the
tutorial found 0.02 harmless. Same arguments as `hdl-native letters`:

  python benchmarks/weight_decay_tutorial_set.py letters --l2 0.02 --l2-warmup 30 ...
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the checkout, as `python -m hdl_native` from it

import hdl_native.training.loop as loop  # noqa: E402
from hdl_native.cli import main  # noqa: E402


def tutorial_decay_set(model):
    """The weights the tutorial's model decays, with its repetitions."""
    return [model.c1.weight, model.c2.weight, model.c3.weight, model.fc1.weight, model.fc1.weight, model.fc1.weight]


if __name__ == "__main__":
    loop.penalised_weights = tutorial_decay_set
    sys.exit(main(sys.argv[1:]))
