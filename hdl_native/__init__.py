"""hdl_native: a from-scratch deep-learning engine.

A lazily evaluated autograd graph in Python (``Tensor``), with the hot
kernels in Cython parallelised by OpenMP.

The names below are imported on first use (PEP 562), so ``import
hdl_native.cli`` starts without numpy and the kernels: a Ctrl-C while the
command line starts up then lands inside its handler, not in an import.
"""
import importlib

from ._version import __version__

_HOMES = {
    "Tensor": ".tensor", "functional": None, "nn": None, "optim": None,
    "get_ops": ".kernels", "use_ops": ".kernels", "native_available": ".kernels",
    "openmp_enabled": ".threads", "set_num_threads": ".threads", "get_num_threads": ".threads",
    "show_config": ".build_config",
}

__all__ = ["__version__", *_HOMES]


def __getattr__(name):
    if name not in _HOMES:
        raise AttributeError(f"module 'hdl_native' has no attribute {name!r}")
    home = _HOMES[name]
    value = importlib.import_module(f".{name}" if home is None else home, __name__)
    if home is not None:
        value = getattr(value, name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_HOMES))
