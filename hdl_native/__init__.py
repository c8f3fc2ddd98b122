"""hdl_native: a from-scratch deep-learning engine.

A lazily evaluated autograd graph in Python (``Tensor``), with the hot
kernels in Cython parallelised by OpenMP.
"""
from . import functional, nn, optim
from ._version import __version__
from .build_config import show_config
from .kernels import get_ops, native_available, use_ops
from .tensor import Tensor
from .threads import get_num_threads, openmp_enabled, set_num_threads

__all__ = [
    "Tensor", "functional", "nn", "optim", "__version__", "get_ops", "use_ops", "native_available",
    "openmp_enabled", "set_num_threads", "get_num_threads", "show_config",
]
