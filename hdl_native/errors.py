"""Errors a user can act on: the CLI prints them as one line, no traceback."""


class HDLError(Exception):
    """Bad input or a missing resource, with a message that says what and where."""


class DataError(HDLError, ValueError):
    """A dataset file is missing, truncated, corrupt or inconsistent."""
