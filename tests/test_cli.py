"""The installed command line: version, help, and the smoke run."""
import json
import subprocess
import sys
from pathlib import Path

import hdl_native


def run_cli(*args, cwd=None):
    """Run the installed CLI from outside the checkout (so the source tree cannot shadow it)."""
    return subprocess.run([sys.executable, "-m", "hdl_native", *args], capture_output=True, text=True,
                          timeout=600, cwd=cwd or Path(hdl_native.__file__).parent.parent)


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
