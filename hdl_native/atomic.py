"""Write a file so that a crash, a full disk or Ctrl-C leaves either the old file or the new one, never half.

Every writer of the project's own files (state files, IDX data, n-gram tables, the labels of saved crops) goes
through atomic_output: the bytes go to a temporary file beside the final one, named '.NAME.XXXXXXXX.tmp'
(mkstemp's 8 random characters: checkpoint.remove_stale_temp_files knows them by that), which is flushed,
fsync'ed and renamed over the final name; the rename is then made durable by fsync'ing the directory.
"""
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_output(path, mode="wb", encoding=None):
    """Yield a stream (`mode` 'wb' or 'w') to a temporary file beside `path`; leaving the block normally renames
    it over `path`, leaving it by any exception (KeyboardInterrupt too) deletes it and lets the exception go on.

    The file gets the permissions open() would give it (mkstemp makes 0600).  An OSError (no such directory, no
    space, no permission) propagates as open() would raise it: callers word it for their users.
    """
    path = Path(path)
    descriptor, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, mode, encoding=encoding) as stream:
            if hasattr(os, "fchmod"):
                os.fchmod(stream.fileno(), 0o666 & ~current_umask())
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)


def current_umask():
    """The process's umask (read by setting it and putting it back)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def fsync_directory(directory):
    """Make a rename in `directory` durable (POSIX); harmless where directories cannot be opened."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
