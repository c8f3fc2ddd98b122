"""The installed build: compiled kernels present, OpenMP on, and in use by default."""
import os

import pytest

import hdl_native


def test_native_kernels_are_built_and_active():
    assert hdl_native.native_available(), (
        "the compiled Cython kernels are missing: install with `pip install .` (or build in place "
        "with `python setup.py build_ext --inplace`)")
    assert hdl_native.get_ops().name == "native"


@pytest.mark.skipif(bool(os.environ.get("HDL_NATIVE_NO_OPENMP")), reason="serial build requested")
def test_openmp_build():
    assert hdl_native.openmp_enabled(), "setup.py's OpenMP probe failed: the kernels were built serial"
