"""hdl_native.memory.keep_freed_memory: large arrays freed and allocated again reuse their pages (glibc only)."""
import subprocess
import sys

import pytest

PROGRAM = """
import resource, sys
import numpy as np
from hdl_native.memory import keep_freed_memory
kept = keep_freed_memory() if sys.argv[1] == "keep" else None
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
def step():  # two arrays of the size of a GRU layer's gates (20 and 26 MB), every page touched
    a = np.ones(5_000_000, np.float32)
    b = np.ones(6_500_000, np.float32)
    del a, b
step()  # the first step always faults its pages in
before = faults()
for _ in range(5):
    step()
print(kept, faults() - before)
"""


def page_faults(mode):
    result = subprocess.run([sys.executable, "-c", PROGRAM, mode], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    kept, faults = result.stdout.split()
    return kept, int(faults)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mallopt is glibc's (Linux)")
def test_freed_blocks_are_reused_instead_of_faulting_in_fresh_pages():
    kept, faults_kept = page_faults("keep")
    if kept != "True":
        pytest.skip("this C library ignores mallopt (not glibc)")
    _, faults_default = page_faults("default")
    assert faults_kept < faults_default / 10, (faults_kept, faults_default)
