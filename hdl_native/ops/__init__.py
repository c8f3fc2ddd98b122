"""Graph ops: one small class per primitive, each with forward and backward."""
from .activations import Gelu, LogSoftmax, Relu, Sigmoid, Tanh
from .arithmetic import Add, Div, Exp, Log, MatMul, Mul, Neg, Pow, ScalarAdd, ScalarMul, Square, Sub
from .base import Op
from .layers import Conv2d, Dropout, Linear, MaxPool2d
from .losses import CrossEntropy, NLLLoss
from .reductions import Mean, Sum
from .shaping import Reshape, Slice, Transpose

__all__ = [
    "Op", "Add", "Sub", "Mul", "Div", "Neg", "ScalarMul", "ScalarAdd", "Square", "Pow", "Exp", "Log",
    "MatMul", "Sum", "Mean", "Reshape", "Transpose", "Slice", "Relu", "Gelu", "Sigmoid", "Tanh",
    "LogSoftmax", "CrossEntropy", "NLLLoss", "Linear", "Conv2d", "MaxPool2d", "Dropout",
]
