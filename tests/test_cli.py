"""The installed command line: version, help, and the smoke run."""
import json
import subprocess
import sys

import hdl_native


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "hdl_native", *args], capture_output=True, text=True, timeout=300)


def test_version_and_help():
    result = run_cli("--version")
    assert result.returncode == 0 and hdl_native.__version__ in result.stdout
    result = run_cli("--help")
    assert result.returncode == 0 and "smoke" in result.stdout


def test_smoke_reports_the_worked_example():
    result = run_cli("smoke", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["y"] == 33.0 and summary["dy_dx"] == 40.0 and summary["dy_dz"] == 2.0
    assert 0.5 < summary["loss"] < 5.0
