"""Kernel backends: which implementation the graph's ops call.

``NumpyOps`` is the plain-numpy reference; ``NativeOps`` (Cython + OpenMP,
in native_ops.py) overrides its hot methods with the same signatures.  The
native backend is the default whenever the compiled extensions import.
"""
from .numpy_ops import NumpyOps

_active_ops = None


def native_available():
    """True when the compiled Cython kernels can be imported."""
    try:
        from . import native_ops  # noqa: F401
    except ImportError:
        return False
    return True


def make_ops(name):
    """A fresh backend by name: 'numpy' or 'native'."""
    if name == "numpy":
        return NumpyOps()
    if name == "native":
        from .native_ops import NativeOps

        return NativeOps()
    raise ValueError(f"unknown kernel backend {name!r}; choose 'numpy' or 'native'")


def get_ops():
    """The active backend (native when built, else numpy)."""
    global _active_ops
    if _active_ops is None:
        _active_ops = make_ops("native" if native_available() else "numpy")
    return _active_ops


def use_ops(name):
    """Switch every op to the named backend; returns the previous one's name."""
    global _active_ops
    previous = get_ops().name
    _active_ops = make_ops(name)
    return previous
