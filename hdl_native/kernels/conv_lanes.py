"""How wide the blocked convolution loops run: 8 float32 lanes (AVX2) or 16 (AVX-512).

pyx/conv_blocked.h has both forms; the 16-lane one is chosen where the CPU has AVX-512
(conv2d.wide_loops_supported()).  Both add the same products in the same order, so the results are the
same bits and only the time differs (tests/test_kernels.py).  HDL_NATIVE_CONV_LANES=8 or 16, read when the
kernels load, chooses one for a whole command, so that a run can be timed both ways:

    HDL_NATIVE_CONV_LANES=8 hdl-native letters ...
"""
import os

from .._native import conv2d
from ..errors import apply_environment_setting

VARIABLE = "HDL_NATIVE_CONV_LANES"
WIDTHS = (8, 16)


def conv_lanes():
    """The float32 lanes the blocked convolution loops run now: 8 or 16."""
    return 16 if conv2d.set_paths()["wide"] else 8  # set_paths() with no argument changes nothing


def use_conv_lanes(lanes):
    """Run the blocked convolution loops `lanes` wide (8, or 16 on an AVX-512 CPU); returns the previous width.
    ValueError for another width, or for 16 where the CPU cannot."""
    if lanes not in WIDTHS:
        raise ValueError(f"the convolution loops run 8 or 16 lanes wide, not {lanes!r}")
    if lanes == 16 and not conv2d.wide_loops_supported():
        raise ValueError("this CPU runs the convolution loops 8 lanes wide only (16 need AVX-512)")
    return 16 if conv2d.set_paths(wide=lanes == 16)["wide"] else 8


def lanes_from_environment(environ=os.environ):
    """Apply HDL_NATIVE_CONV_LANES if it is set; EnvironmentSettingError names a value that cannot be used."""
    apply_environment_setting(VARIABLE, lambda value: use_conv_lanes(int(value) if value.isdigit() else value),
                              environ)


lanes_from_environment()
