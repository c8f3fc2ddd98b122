"""The installed wheel as a user gets it (run by .ci/run with HDL_EXPECT_WHEEL=1).

Outside that run these skip: a source install links the system's libgomp
and may sit next to a compiler.
"""
import os
import shutil
from pathlib import Path

import pytest

import hdl_native
from hdl_native.build_config import VENDORED_LIBS_DIR, build_config

pytestmark = pytest.mark.skipif(not os.environ.get("HDL_EXPECT_WHEEL"),
                                reason="set HDL_EXPECT_WHEEL=1 to check an installed wheel")


def test_imported_from_site_packages_not_a_checkout():
    package = Path(hdl_native.__file__).resolve().parent
    assert package.parent.name == "site-packages", package
    assert not (package.parent / "setup.py").exists()


def test_openmp_runtime_is_the_vendored_libgomp():
    runtime = build_config()["native"]["openmp_runtime"]
    assert runtime is not None and runtime["vendored"], runtime
    assert Path(runtime["file"]).parent.name == VENDORED_LIBS_DIR


@pytest.mark.parametrize("compiler", ["cc", "gcc", "c++", "g++", "clang"])
def test_no_compiler_on_path(compiler):
    assert shutil.which(compiler) is None
