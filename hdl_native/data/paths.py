"""Where the datasets live: --data DIR, else $HDL_DATA, else a per-user cache directory."""
import errno
import os
from pathlib import Path

DATA_ENV = "HDL_DATA"


def default_cache_dir():
    """$XDG_CACHE_HOME/hdl_native, else ~/.cache/hdl_native (where `hdl-native download` puts data)."""
    cache_home = os.environ.get("XDG_CACHE_HOME")
    base = Path(cache_home).expanduser() if cache_home else Path.home() / ".cache"
    return base / "hdl_native"


def find_data_root(data=None):
    """The data root directory as a Path: `data` (the --data option) if given, else $HDL_DATA, else the cache dir.

    The directory need not exist; load_dataset reports what is missing.
    """
    if data:
        return Path(data).expanduser()
    from_env = os.environ.get(DATA_ENV)
    if from_env:
        return Path(from_env).expanduser()
    return default_cache_dir()


def describe_root(root):
    """Where a root came from, for error messages: '$HDL_DATA', 'the default cache dir' or '--data'."""
    root = Path(root).expanduser()
    from_env = os.environ.get(DATA_ENV)
    if from_env and Path(from_env).expanduser() == root:
        return f"${DATA_ENV}"
    if root == default_cache_dir():
        return f"the default cache dir, since neither --data nor ${DATA_ENV} is set"
    return "--data"


def is_data_file(path):
    """Path(path).is_file(), but a DataError naming `path` where pathlib raises instead of answering False (a folder
    on the way that may not be searched, a name too long): that reached the user as a traceback."""
    from ..errors import DataError  # here: errors imports nothing of ours, and this module stays light

    try:
        return Path(path).is_file()
    except OSError as error:
        hint = " (a folder on the way may not be searched)" if error.errno == errno.EACCES else ""
        raise DataError(f"cannot look for {path}: {error.strerror or error}{hint}") from None
