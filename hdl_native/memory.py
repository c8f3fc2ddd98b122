"""Keep freed memory in the process, so that a training step does not fault in fresh zeroed pages.

A training step allocates and frees the same large arrays step after step (one GRU layer's saved gates
over 64 x 100 positions are 26 MB).  glibc hands the free memory at the top of its heap back to the kernel
once more than M_TRIM_THRESHOLD of it is free, and serves blocks above M_MMAP_THRESHOLD by a fresh mmap;
either way the next step's arrays land on new pages that the kernel must zero first.  A char-gru step
faulted in about 128 huge pages (256 MB to zero) each time: `clear_page_erms` was 5% of its profile.
keep_freed_memory() raises both thresholds, so the blocks are reused instead (no faults after the first
step; +0.4 to 3.8% chars/s for char-gru, within +-1% for char-lstm, BENCHMARKS.md); the process then
keeps up to TRIM_THRESHOLD of freed memory.

glibc (Linux) only; elsewhere it does nothing.  The command-line entry point calls it once; a program
using the Python API may call it too.
"""
import ctypes
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_MAX = 32 * 1024 * 1024  # glibc's ceiling for M_MMAP_THRESHOLD on 64-bit machines
TRIM_THRESHOLD = 1024 * 1024 * 1024


def keep_freed_memory():
    """Raise glibc's mmap and trim thresholds for this process; True when glibc took both."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_MAX)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
