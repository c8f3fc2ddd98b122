"""uint8 activation codes and the arithmetic that carries them from layer to layer.

A real value x has the code q = x / scale + zero_point, rounded and clipped to [0, 255].
The zero point need not be an integer: it only ever appears in the requantisation offset,
never in the GEMM (which multiplies the raw codes, see pyx/int8_dot.h).  So the input
layer can use the pixel bytes themselves as codes, with no rounding at all.
"""
import math
from dataclasses import dataclass

import numpy as np

N_CODES = 256


@dataclass(frozen=True)
class ActivationCodes:
    """The uint8 grid x = scale * (q - zero_point), q in 0..255."""

    scale: float
    zero_point: float

    @classmethod
    def spanning(cls, low, high):
        """The grid whose codes 0 and 255 are `low` and `high` (widened to a tiny span if they are equal)."""
        low, high = float(low), float(high)
        scale = max(high - low, 1e-8) / (N_CODES - 1)
        return cls(scale, -low / scale)

    def codes_of(self, x):
        """Codes of real values x (any shape) as float64, rounded half up and clipped."""
        return np.clip(np.floor(np.asarray(x, np.float64) / self.scale + self.zero_point + 0.5), 0, N_CODES - 1)

    def values(self):
        """The 256 real values of the codes 0..255 (float64)."""
        return self.scale * (np.arange(N_CODES) - self.zero_point)


def requantization(input_codes, weight_codes, weight_scales, bias, output_codes=None):
    """(multiplier, offset) float32 (O,) turning a layer's int32 accumulators into output codes.

    acc[o] = sum_k q_in[k] * weight_codes[o, k], and the layer's real output is
    input_codes.scale * weight_scales[o] * (acc[o] - zero_point_in * sum_k weight_codes[o, k]) + bias[o];
    its code is that / output scale + output zero point.  output_codes None: the real value itself
    (multiplier and offset then give the float output, e.g. logits).
    """
    step = input_codes.scale * np.asarray(weight_scales, np.float64)
    real_offset = np.asarray(bias, np.float64) - step * input_codes.zero_point * weight_codes.sum(axis=1)
    if output_codes is None:
        return step.astype(np.float32), real_offset.astype(np.float32)
    return ((step / output_codes.scale).astype(np.float32),
            (real_offset / output_codes.scale + output_codes.zero_point).astype(np.float32))


def gelu(x):
    """x Phi(x), exactly (erf from the math library), on float64 arrays."""
    x = np.asarray(x, np.float64)
    return 0.5 * x * (1.0 + np.vectorize(math.erf)(x / math.sqrt(2.0)))


def activation_table(function, input_codes, output_codes):
    """table (256,) uint8: the code under `output_codes` of function(value of code q under `input_codes`)."""
    return output_codes.codes_of(function(input_codes.values())).astype(np.uint8)
