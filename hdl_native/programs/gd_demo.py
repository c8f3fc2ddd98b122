"""Learning a single weight, the Grokking Deep Learning way (chapter 4 of Trask's book).

The smallest network there is: ``prediction = input * weight``.  We want the prediction to
equal ``goal``, and measure how wrong it is with ``error = (prediction - goal) ** 2``.

1. Hot and cold learning: nudge the weight up and down by a fixed step, keep whichever
   direction lowers the error.  It works, but it needs one step per 0.001 of distance and
   can never get closer than the step size allows.
2. Gradient descent: the derivative tells both the direction and how far to go.  The book
   moves the weight by ``(prediction - goal) * input``, which is the derivative of *half*
   the squared error; here an hdl_native graph computes it with ``backward()``.  Starting
   from weight 0.5, input 0.5, goal 0.8 the errors are 0.3025, 0.17015625, 0.095712890625, ...
3. Divergence: with input 2 the same rule overshoots, further every time: each step
   multiplies the distance to the goal by ``1 - input**2 = -3``, so the error grows 9 times.
4. The fix: scale every step by a learning rate ``alpha = 0.1``; now each step multiplies the
   distance by ``1 - alpha * input**2 = 0.6`` and the error shrinks 0.36 times per step.

The gradient-descent runs use float64 tensors so the printed errors match the book's
Python floats digit for digit.
"""
from dataclasses import dataclass, field

import numpy as np

from .. import functional as F
from ..tensor import Tensor


@dataclass
class Trace:
    """One run: the error, prediction and weight before each update (lists of equal length)."""

    name: str
    description: str
    errors: list = field(default_factory=list)
    predictions: list = field(default_factory=list)
    weights: list = field(default_factory=list)

    def record(self, error, prediction, weight):
        self.errors.append(float(error))
        self.predictions.append(float(prediction))
        self.weights.append(float(weight))

    def as_dict(self):
        return {"description": self.description, "errors": self.errors,
                "predictions": self.predictions, "weights": self.weights}


def hot_cold(weight=0.5, input=0.5, goal=0.8, step=0.001, iterations=1101):  # noqa: A002 - the book's name
    """Hot and cold learning: try weight +- step and keep the better one, `iterations` times."""
    trace = Trace("hot_cold", f"hot and cold learning: weight {weight}, input {input}, goal {goal}, step {step}")
    for _ in range(iterations):
        prediction = input * weight
        trace.record((prediction - goal) ** 2, prediction, weight)
        error_up = (goal - input * (weight + step)) ** 2
        error_down = (goal - input * (weight - step)) ** 2
        if error_down < error_up:
            weight -= step
        elif error_up < error_down:
            weight += step
    return trace


def gradient_descent(name, weight=0.5, input=0.5, goal=0.8, alpha=1.0, iterations=20):  # noqa: A002
    """Gradient descent on one weight with an hdl_native graph built once and re-evaluated each step.

    The step is ``alpha * d(half squared error)/d(weight) = alpha * (prediction - goal) * input``.
    """
    description = f"gradient descent: weight {weight}, input {input}, goal {goal}, alpha {alpha}"
    trace = Trace(name, description)
    weight_t = Tensor(weight, requires_grad=True, dtype=np.float64, name="weight")
    prediction = Tensor(input, dtype=np.float64) * weight_t
    error = F.square(prediction - goal)
    half_error = error * 0.5
    for _ in range(iterations):
        trace.record(error.item(), prediction.item(), weight_t.item())
        weight_t.zero_grad()
        half_error.backward()
        weight_t.data[...] -= alpha * weight_t.grad
    return trace


def all_demos(iterations=20):
    """The four runs of the notes, in order: hot/cold, gradient descent, divergence, the alpha fix."""
    return [
        hot_cold(),
        gradient_descent("gradient_descent", weight=0.5, input=0.5, goal=0.8, iterations=iterations),
        gradient_descent("divergence", weight=0.5, input=2.0, goal=0.8, iterations=iterations),
        gradient_descent("alpha_fix", weight=0.5, input=2.0, goal=0.8, alpha=0.1, iterations=iterations),
    ]
