"""Errors a user can act on: the CLI prints them as one line, no traceback."""
import errno
import os
import shutil
from contextlib import contextmanager
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


class NonFiniteOutputs(HDLError):
    """A network whose outputs are NaN or inf: its weights are finite but so large that a forward pass overflows,
    as a run that diverged on its last steps leaves them (training/divergence.py catches the rest)."""


def check_finite_outputs(outputs, model, source=None):
    """NonFiniteOutputs unless every value of `outputs` (a network's (n, classes) log-probabilities) is finite;
    the message names `source` (the state file) when given and the model's largest weight."""
    import numpy as np  # here: the CLI imports this module before anything else

    outputs = np.asarray(outputs)
    bad_rows = int(np.count_nonzero(~np.isfinite(outputs).all(axis=1))) if outputs.ndim == 2 else 0
    if not bad_rows:
        return
    largest = max((float(np.max(np.abs(p.value))) for _, p in model.named_parameters() if p.value.size), default=0)
    detail = (f"the network's outputs are not finite (NaN or inf) for {bad_rows} of {len(outputs)} images: its "
              f"weights are out of range (the largest is {largest:.3g})")
    error = NonFiniteOutputs(f"{source + ': ' if source else ''}{detail}, as a run that diverged leaves them; train "
                             "it again with a smaller learning rate")
    error.detail = detail
    raise error


def make_output_directory(directory):
    """Make the directory outputs go to (and its parents) if it is not there; HDLError naming it when it cannot be
    made (a file in the way, no permission)."""
    check_not_a_file(directory)
    try:
        Path(directory).mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise HDLError(f"cannot create output folder {directory}: {error.strerror or error}") from None


def check_not_a_file(directory):
    """HDLError when a file stands where the output folder `directory` goes: said before any work, not after it."""
    if Path(directory).is_file():
        raise HDLError(f"cannot create output folder {directory}: it is a file; name a folder")


@contextmanager
def output_directory(directory):
    """Make `directory` as make_output_directory does for the files the block writes in it; when the block fails or
    is interrupted (Ctrl-C too), remove the folders this made, with whatever the block had written there, so that a
    failed command leaves no empty or half-filled folder behind.  A folder that was there before is never removed."""
    directory = Path(directory)
    made = outermost_missing_folder(directory)
    make_output_directory(directory)
    try:
        yield directory
    except BaseException:
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)
        raise


def outermost_missing_folder(directory):
    """The outermost of `directory` and its parents that does not exist yet (what mkdir(parents=True) would make
    first), or None when `directory` exists."""
    missing = None
    for folder in (directory, *directory.parents):
        if folder.exists():
            break
        missing = folder
    return missing


def resolved(path):
    """Path(path).resolve(): absolute, with its symbolic links followed; HDLError naming `path` when they loop (each
    link names another, none a file), which Python before 3.13 raises as a RuntimeError (printed as a traceback)
    and 3.13 resolves without a word (the loop then read as "no such file")."""
    loop = HDLError(f"{path}: a loop of symbolic links (each names another, none a file); point it at a file")
    try:
        target = Path(path).resolve()
    except RuntimeError:
        raise loop from None
    try:
        os.stat(path)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise loop from None
    return target


def shown(path):
    """`path` as text that can be printed and written anywhere: a file name holding bytes that are not UTF-8 (which
    Python keeps as lone surrogates, and which no UTF-8 file or JSON reader takes) with those bytes as \\xNN."""
    text = str(path)
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return os.fsencode(text).decode("utf-8", "backslashreplace")


def named_twice(paths):
    """(earlier, later), each as given: the first of `paths` that names a file or directory an earlier one named
    (relative forms and symbolic links resolved); None when each names its own."""
    seen = {}
    for path in paths:
        key = resolved(path)
        if key in seen:
            return seen[key], path
        seen[key] = path
    return None
