"""HDL_NATIVE_CONV_LANES and HDL_NATIVE_INT8_PATH: a kernel choice for a whole command, taken from the
environment, and a value that cannot be used is one line and exit code 2, not a traceback."""
import os
import subprocess
import sys

from pathlib import Path

import numpy as np
import pytest

import hdl_native
from hdl_native.errors import EnvironmentSettingError

pytest.importorskip("hdl_native._native.conv2d", reason="native kernels not built")
from hdl_native._native import conv2d  # noqa: E402
from hdl_native.kernels import conv_lanes as conv_lanes_module  # noqa: E402

AVX512 = conv2d.wide_loops_supported()


@pytest.fixture
def restore_lanes():
    before = conv_lanes_module.conv_lanes()
    yield
    conv_lanes_module.use_conv_lanes(before)


def run_cli(*args, **environment):
    """`python -m hdl_native ARGS` with the environment changed, run beside the hdl_native these tests import
    (an installed copy, in CI), not beside a source checkout's unbuilt one."""
    env = dict(os.environ, **environment)
    return subprocess.run([sys.executable, "-m", "hdl_native", *args], capture_output=True, text=True, env=env,
                          timeout=300, cwd=Path(hdl_native.__file__).parent.parent)


def test_the_environment_chooses_the_8_lane_loops(restore_lanes):
    conv_lanes_module.lanes_from_environment({"HDL_NATIVE_CONV_LANES": " 8 "})
    assert conv_lanes_module.conv_lanes() == 8
    assert conv2d.set_paths()["wide"] is False


@pytest.mark.skipif(not AVX512, reason="this CPU has no AVX-512: the 16-lane loops cannot run here")
def test_the_environment_chooses_the_16_lane_loops_on_avx512(restore_lanes):
    conv_lanes_module.use_conv_lanes(8)
    conv_lanes_module.lanes_from_environment({"HDL_NATIVE_CONV_LANES": "16"})
    assert conv_lanes_module.conv_lanes() == 16
    assert conv2d.set_paths()["wide"] is True


@pytest.mark.skipif(AVX512, reason="this CPU has AVX-512: it can run 16 lanes")
def test_16_lanes_without_avx512_are_refused():
    with pytest.raises(EnvironmentSettingError, match="HDL_NATIVE_CONV_LANES=16: .*AVX-512"):
        conv_lanes_module.lanes_from_environment({"HDL_NATIVE_CONV_LANES": "16"})


def test_an_unset_variable_changes_nothing(restore_lanes):
    before = conv_lanes_module.conv_lanes()
    conv_lanes_module.lanes_from_environment({"HDL_NATIVE_CONV_LANES": ""})
    conv_lanes_module.lanes_from_environment({})
    assert conv_lanes_module.conv_lanes() == before == (16 if AVX512 else 8)


@pytest.mark.parametrize("value", ["12", "wide", "-8"])
def test_a_width_that_does_not_exist_names_the_variable_and_the_value(value):
    with pytest.raises(EnvironmentSettingError, match=f"HDL_NATIVE_CONV_LANES={value}: .*8 or 16"):
        conv_lanes_module.lanes_from_environment({"HDL_NATIVE_CONV_LANES": value})


def test_both_widths_compute_the_same_convolution(restore_lanes):
    from hdl_native.kernels import make_ops

    ops = make_ops("native")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 32, 12, 12), dtype=np.float32)
    weight = rng.standard_normal((64, 32, 3, 3), dtype=np.float32)
    bias = rng.standard_normal(64, dtype=np.float32)
    outputs = []
    for lanes in (8, 16) if AVX512 else (8,):
        conv_lanes_module.use_conv_lanes(lanes)
        outputs.append(ops.conv2d_forward(x, weight, bias))
    assert all(np.array_equal(outputs[0], other) for other in outputs[1:])


def test_the_cli_says_which_width_runs_and_who_chose_it():
    result = run_cli("--version", "--verbose", HDL_NATIVE_CONV_LANES="8")
    assert result.returncode == 0, result.stderr
    assert "convolution loops: 8 float32 lanes (HDL_NATIVE_CONV_LANES=8)" in result.stdout


@pytest.mark.parametrize("variable, value, words, command", [
    ("HDL_NATIVE_CONV_LANES", "12", "8 or 16", ("bench", "--steps", "1", "--warmup", "0")),
    ("HDL_NATIVE_INT8_PATH", "bogus", "choose one of",
     ("bench", "--inference", "--dtype", "int8", "--batch-size", "1", "--steps", "1", "--warmup", "0")),
])
def test_a_bad_setting_is_one_line_and_exit_code_2(variable, value, words, command):
    result = run_cli(*command, **{variable: value})
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert f"{variable}={value}" in lines[0] and words in lines[0]
