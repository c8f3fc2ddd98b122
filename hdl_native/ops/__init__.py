"""Graph ops: one small class per primitive, each with apply, forward and backward.

Where to find an op: its class here (ops/<family>.py: arithmetic, activations,
reductions, shaping, layers, normalization, losses, recurrent), its Tensor method or operator in
tensor.py, its numpy math in kernels/numpy_ops.py (recurrent layers:
kernels/numpy_recurrent.py), its native kernel (if any) in kernels/native_ops.py
(kernels/native_recurrent.py) -> pyx/, and its test record in tests/opinfo.py.
"""
from .activations import Gelu, LogSoftmax, Relu, Sigmoid, Tanh
from .arithmetic import Add, Div, Exp, Log, MatMul, Mul, Neg, Pow, ScalarAdd, ScalarMul, Square, Sub
from .base import Op
from .layers import Conv2d, Dropout, Linear, MaxPool2d
from .losses import CrossEntropy, NLLLoss
from .normalization import BatchNorm2d
from .recurrent import GRU, LSTM, Embedding, LSTMFinalCell
from .reductions import GroupLogSumExp, Mean, Sum
from .shaping import Reshape, Slice, Stack, Transpose

__all__ = [
    "Op", "Add", "Sub", "Mul", "Div", "Neg", "ScalarMul", "ScalarAdd", "Square", "Pow", "Exp", "Log",
    "MatMul", "Sum", "Mean", "GroupLogSumExp", "Reshape", "Transpose", "Slice", "Stack",
    "Relu", "Gelu", "Sigmoid", "Tanh", "LogSoftmax", "CrossEntropy", "NLLLoss", "Linear", "Conv2d", "MaxPool2d",
    "Dropout", "BatchNorm2d",
    "GRU", "LSTM", "LSTMFinalCell", "Embedding",
]
