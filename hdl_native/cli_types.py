"""argparse ``type=`` converters that accept a number only inside its allowed range.

``add_argument("--lr", type=finite_float(0, 1000, low_inclusive=False))`` turns ``--lr nan`` into argparse's
``hdl-native letters: error: argument --lr: must be a finite number > 0 and <= 1000, got nan`` with exit
code 2 before the command runs, so each option is checked once, in the parser.  A converter's ``allowed``
text goes into the option's --help.  Checks that weigh an option against something else (--holdout against
the dataset's size) stay with the code that knows both.

The ranges several commands share are named here, each with the reason for its bounds.
"""
import argparse
import math


class NumberInRange:
    """An argparse ``type=``: text -> int or finite float within [low, high].

    parse: int or float.  low, high: the bounds (None: unbounded on that side); an end is open when its
    ``*_inclusive`` is False.  Anything else raises ArgumentTypeError stating the allowed range.
    """

    def __init__(self, parse, low=None, high=None, low_inclusive=True, high_inclusive=True):
        self.parse, self.low, self.high = parse, low, high
        self.low_inclusive, self.high_inclusive = low_inclusive, high_inclusive

    @property
    def allowed(self):
        """The range in words, e.g. 'from 1 to 1024', '>= 0 and < 1' or '> 0'."""
        if self.low is not None and self.high is not None and self.low_inclusive and self.high_inclusive:
            return f"from {self.low} to {self.high}"
        ends = []
        if self.low is not None:
            ends.append(f"{'>=' if self.low_inclusive else '>'} {self.low}")
        if self.high is not None:
            ends.append(f"{'<=' if self.high_inclusive else '<'} {self.high}")
        return " and ".join(ends)

    @property
    def what(self):
        """What a value must be, e.g. 'an integer from 1 to 1024'."""
        kind = "an integer" if self.parse is int else "a finite number"
        return f"{kind} {self.allowed}".rstrip()

    def __call__(self, text):
        try:
            value = self.parse(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"invalid {self.parse.__name__} value: {text!r}; must be {self.what}") from None
        if not (math.isfinite(value) and self.admits(value)):
            raise argparse.ArgumentTypeError(f"must be {self.what}, got {text}")
        return value

    def admits(self, value):
        """True when the finite `value` lies within the bounds."""
        if self.low is not None and (value < self.low or (value == self.low and not self.low_inclusive)):
            return False
        return self.high is None or value < self.high or (value == self.high and self.high_inclusive)

    def __repr__(self):
        return f"NumberInRange({self.what})"


class IntegerChoice(NumberInRange):
    """An argparse ``type=``: text -> one of a few integers (e.g. the bit widths 8, 4, 2), nothing between them.

    low and high are the smallest and largest choice, so it is checked like any range and says which
    values it takes.
    """

    def __init__(self, choices):
        super().__init__(int, min(choices), max(choices))
        self.choices = tuple(choices)

    @property
    def allowed(self):
        """The choices in words, e.g. '8, 4 or 2'."""
        *others, last = map(str, self.choices)
        return f"{', '.join(others)} or {last}" if others else last

    @property
    def what(self):
        return self.allowed

    def admits(self, value):
        return value in self.choices


def int_range(low=None, high=None):
    """Converter of an integer within [low, high] (None: unbounded on that side)."""
    return NumberInRange(int, low, high)


def int_choice(*choices):
    """Converter of an integer that must be one of `choices`."""
    return IntegerChoice(choices)


def finite_float(low=None, high=None, *, low_inclusive=True, high_inclusive=True):
    """Converter of a finite float (never nan or inf) within low..high, each end closed unless told otherwise."""
    return NumberInRange(float, low, high, low_inclusive, high_inclusive)


def probability(*, high_inclusive=True):
    """Converter of a probability: from 0 to 1, or >= 0 and < 1 (a dropout of 1 would drop everything)."""
    return finite_float(0, 1, high_inclusive=high_inclusive)


POSITIVE_INT = int_range(1)
NON_NEGATIVE_INT = int_range(0)
NON_NEGATIVE = finite_float(0)
POSITIVE = finite_float(0, low_inclusive=False)
# numpy's default_rng takes any non-negative integer; 32 bits are plenty and print and store anywhere
SEED = int_range(0, 2**32 - 1)
# more OpenMP threads than any machine this runs on has cores; beyond that they only contend
MAX_THREADS = 1024
THREADS = int_range(1, MAX_THREADS)
THREADS_HELP = f"kernel threads, {THREADS.allowed} (default: OMP_NUM_THREADS, else all cores)"
# a letters-CNN training step holds ~0.37 MB per image (bench: 441 MB peak at batch 1024): 4096 need ~1.5 GB
BATCH_SIZE = int_range(1, 4096)
# characters a char model backpropagates through per step (textgen --seq-len, bench's): far past any sensible depth
SEQ_LEN = int_range(1, 10_000)
# these networks train at 0.001 to 0.1; up to 1000 stays allowed so divergence can be shown (training catches
# it), far larger steps are typos
LEARNING_RATE = finite_float(0, 1000, low_inclusive=False)
# momentum 1 never forgets a gradient and the velocity grows without bound
MOMENTUM = finite_float(0, 1, high_inclusive=False)
# a dropout of 1 would zero every activation (and its 1/(1-p) rescaling divides by zero)
DROPOUT = probability(high_inclusive=False)
