"""Errors a user can act on: the CLI prints them as one line, no traceback."""
import os
from pathlib import Path


class HDLError(Exception):
    """Bad input or a missing resource, with a message that says what and where."""


def error_line(program, error):
    """The one line a command prints for an error it reports: "hdl-native ocr: error: <message>"."""
    return f"{program}: error: {error}"


class DataError(HDLError, ValueError):
    """A dataset file is missing, truncated, corrupt or inconsistent."""


class EnvironmentSettingError(HDLError, ValueError):
    """An HDL_NATIVE_* environment variable holds a value this build or CPU cannot use."""


def apply_environment_setting(variable, apply, environ=os.environ):
    """apply(value) for the stripped value of the environment variable, if it is set; a ValueError of apply
    becomes an EnvironmentSettingError naming the variable and the value."""
    value = environ.get(variable, "").strip()
    if not value:
        return
    try:
        apply(value)
    except ValueError as error:
        raise EnvironmentSettingError(f"{variable}={value}: {error}") from None


def make_output_directory(directory):
    """Make the directory outputs go to (and its parents) if it is not there; HDLError naming it when it cannot be
    made (a file in the way, no permission)."""
    try:
        Path(directory).mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise HDLError(f"cannot create output folder {directory}: {error.strerror or error}") from None


def named_twice(paths):
    """(earlier, later), each as given: the first of `paths` that names a file or directory an earlier one named
    (relative forms and symbolic links resolved); None when each names its own."""
    seen = {}
    for path in paths:
        key = Path(path).resolve()
        if key in seen:
            return seen[key], path
        seen[key] = path
    return None
