"""Errors a user can act on: the CLI prints them as one line, no traceback."""


class HDLError(Exception):
    """Bad input or a missing resource, with a message that says what and where."""


class DataError(HDLError, ValueError):
    """A dataset file is missing, truncated, corrupt or inconsistent."""


class EnvironmentSettingError(HDLError, ValueError):
    """An HDL_NATIVE_* environment variable holds a value this build or CPU cannot use."""
