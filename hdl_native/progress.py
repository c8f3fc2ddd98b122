"""Progress bars of long work: tqdm on stderr, drawn only where a person watches (stderr is a terminal).

A bar on a pipe, a log file or a test's captured stderr is noise that scrolls, so there none is drawn; stdout
(the figures, --json's last line) never holds one.  The bar is a disabled tqdm there, so a loop updates it the
same way in both cases, without a branch, and its update costs next to nothing.
"""
import sys


def stderr_is_terminal():
    """Whether stderr is a terminal, where a bar is read rather than logged (tests replace it to see the bar)."""
    return sys.stderr.isatty()


def terminal_bar(total, desc, unit, shown=True):
    """A tqdm bar on stderr over `total` `unit`s named `desc`, drawn when `shown` (no --quiet) and stderr is a
    terminal, otherwise disabled; it clears itself when closed, so the lines printed after it stay as they were."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, leave=False, dynamic_ncols=True, file=sys.stderr,
                disable=not (shown and stderr_is_terminal()))
