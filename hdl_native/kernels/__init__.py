"""Kernel backends: which implementation the graph's ops call.

``NumpyOps`` is the plain-numpy reference; ``NativeOps`` (Cython + OpenMP,
in native_ops.py) overrides its hot methods with the same signatures.  The
native backend is the default whenever the compiled extensions import; when
they do not (a source checkout nobody built), the package warns once, naming
the fix, and runs on numpy.
"""
import importlib.util
import warnings

from .. import _native
from .numpy_ops import NumpyOps

# The extensions setup.py builds from pyx/, one per .pyx file (tests/test_install.py checks the list).
NATIVE_MODULES = ("activations", "build_info", "conv2d", "int8", "matmul", "maxpool", "normalization", "optim",
                  "recurrent", "threads")
BUILD_HINT = ("build them with `pip install .` in the source checkout "
              "(or `python setup.py build_ext --inplace` to work in place)")

_active_ops = None
_warned_numpy_fallback = False


def missing_native_modules():
    """Names of the compiled extensions that are not there (looked up, not imported: importing is slower)."""
    return [name for name in NATIVE_MODULES if importlib.util.find_spec(f"{_native.__name__}.{name}") is None]


def warn_numpy_fallback(reason):
    """Warn, once per process, that the slow numpy backend stands in for the compiled kernels."""
    global _warned_numpy_fallback
    if not _warned_numpy_fallback:
        _warned_numpy_fallback = True
        warnings.warn(f"hdl_native: {reason}, so every op runs on the numpy backend, many times slower; "
                      f"{BUILD_HINT}", RuntimeWarning, stacklevel=2)


def native_import_error():
    """None when the compiled kernels import, else the ImportError."""
    try:
        from . import native_ops  # noqa: F401
    except ImportError as error:
        return error
    return None


def native_available():
    """True when the compiled Cython kernels can be imported."""
    return native_import_error() is None


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
        error = native_import_error()
        if error is not None:
            warn_numpy_fallback(f"the compiled kernels do not import ({error})")
        _active_ops = make_ops("numpy" if error is not None else "native")
    return _active_ops


def use_ops(name):
    """Switch every op to the named backend; returns the previous one's name."""
    global _active_ops
    previous = get_ops().name
    _active_ops = make_ops(name)
    return previous


def warn_if_not_built():
    """At import: warn when extensions are missing, before anything runs slowly without saying why."""
    missing = missing_native_modules()
    if missing:
        warn_numpy_fallback(f"the compiled kernels are missing ({', '.join(missing)} not built)")


warn_if_not_built()
