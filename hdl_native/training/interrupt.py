"""Ctrl-C and SIGTERM as a polite request to stop after the current batch.

Inside ``StopOnSignal()`` the first SIGINT/SIGTERM only sets a flag that the
training loop checks between batches (so it can finish the batch, save its
state atomically and exit 130).  A second signal raises KeyboardInterrupt at
once, for a user who really wants out; the state file on disk is still the
last good one because checkpoints are written atomically.
"""
import signal
import threading


class StopOnSignal:
    """Context manager: `.requested` becomes the signal's name once SIGINT or SIGTERM arrives."""

    SIGNALS = ("SIGINT", "SIGTERM")

    def __init__(self):
        self.requested = None
        self._previous = {}

    def __bool__(self):
        return self.requested is not None

    def __enter__(self):
        # Signal handlers can only be installed from the main thread; elsewhere we just never stop early.
        if threading.current_thread() is threading.main_thread():
            for name in self.SIGNALS:
                number = getattr(signal, name, None)
                if number is not None:
                    self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, *exc_info):
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous.clear()
        return False

    def _handle(self, number, frame):
        if self.requested is not None:
            raise KeyboardInterrupt
        self.requested = signal.Signals(number).name
