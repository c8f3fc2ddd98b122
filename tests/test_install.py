"""The installed build: compiled kernels present, OpenMP on, and in use by default."""
import importlib.machinery
import os
from pathlib import Path

import pytest

import hdl_native


def test_native_kernels_are_built_and_active():
    assert hdl_native.native_available(), (
        "the compiled Cython kernels are missing: install with `pip install .` (or build in place "
        "with `python setup.py build_ext --inplace`)")
    assert hdl_native.get_ops().name == "native"


def test_the_list_of_extensions_a_missing_build_names_is_every_one_built():
    """warn_if_not_built names the missing ones from NATIVE_MODULES: it must list every extension of the build."""
    from hdl_native import _native
    from hdl_native.kernels import NATIVE_MODULES

    folder = Path(_native.__file__).parent
    built = {path.name.split(".")[0] for suffix in importlib.machinery.EXTENSION_SUFFIXES
             for path in folder.glob(f"*{suffix}")}
    assert built, f"no compiled extension in {folder}"
    assert sorted(built) == sorted(NATIVE_MODULES)


@pytest.mark.skipif(bool(os.environ.get("HDL_NATIVE_NO_OPENMP")), reason="serial build requested")
def test_openmp_build():
    assert hdl_native.openmp_enabled(), "setup.py's OpenMP probe failed: the kernels were built serial"
