"""Before a run loads anything: may it write its state file, --export file and SQLite log where it is asked to,
each to a file of its own?

A run refuses to replace a state file it did not resume (a forgotten STATE argument would otherwise swap a
trained model for a fresh one) unless --force, and an unwritable location is reported now rather than at
the first save.  Each problem is one HDLError naming the path.  Writability is probed with an unnamed
temporary file, so the check creates nothing that outlives it; temporary files that a killed run left
beside the state file are removed.
"""
import os
import sys
import tempfile
from pathlib import Path

from ..checkpoint import remove_stale_temp_files
from ..errors import HDLError, resolved


def check_outputs(config):
    """Raise HDLError when config (a RunConfig) would overwrite a file it should not or cannot write one."""
    out = Path(config.out)
    check_writable(out, "state file")
    if not config.force and out.exists() and not resumes(config, out):
        raise HDLError(f"{out} already exists and this run does not continue it; pass --force to replace it, "
                       "or --out to write elsewhere")
    if config.export:
        export = Path(config.export)
        if same_file(export, out):
            raise HDLError(f"--export {export} is the state file itself; give the exported model another name")
        check_writable(export, "--export file")
        if not config.force and export.exists():
            raise HDLError(f"--export {export} already exists; pass --force to replace it, or choose another name")
    if config.db:
        db = Path(config.db)
        # one file cannot be both: the log's writes would corrupt the state, or a save would replace the log
        if same_file(db, out):
            raise HDLError(f"--db {db} is the state file {out}; give the SQLite log another name")
        if config.export and same_file(db, config.export):
            raise HDLError(f"--db {db} is the --export file {config.export}; give the SQLite log another name")
        check_writable(db, "SQLite log", create_directories=False)
    for path in (out, Path(config.export)) if config.export else (out,):
        for stale in remove_stale_temp_files(path):
            print(f"note: removed {stale}, left by an interrupted save", file=sys.stderr)


def check_plot_folder(folder, picture, files=()):
    """HDLError naming --plot `folder` unless the PNG `picture` can be written in it: the folder is not an
    existing file, nor one of `files` ((what, path) pairs, e.g. ("the state file", out); path may be None),
    and it can be created where it is.  Checked before the work, since the picture is drawn after it."""
    folder = Path(folder)
    for what, path in files:
        if path and same_file(folder, path):
            raise HDLError(f"--plot {folder} is {what} {path}, a file; give --plot a folder of its own")
    if folder.exists() and not folder.is_dir():
        raise HDLError(f"--plot {folder} is a file, not a folder; give a folder for the PNG pictures")
    check_writable(folder / picture, "--plot picture")


def check_derived_state(out, source, force, what):
    """HDLError unless a command that turns the state `source` into a new one may write `out` there:
    writable, and new unless --force (`force`).  what: the kind of file, for the messages."""
    out = Path(out)
    check_writable(out, what)
    if out.exists() and not force:
        problem = "is STATE itself" if same_file(out, source) else "already exists"
        raise HDLError(f"--out {out} {problem}; pass --force to replace it, or choose another name")


def resumes(config, out):
    """True when the run continues the state file `out` (its STATE argument)."""
    return config.resume is not None and same_file(config.resume, out)


STARTS_FROM = ("--init", "--model")  # the options a run starts from a state with (argparse also takes them shortened)


def continue_command(config, program=None):
    """The words that continue a run a signal stopped, e.g. ['hdl-native', 'letters', 'p.hdl', '--dataset',
    'unipen', '--pairs', '0.1']: the run's own command line (config.command_line, the words after `program`, by
    default (config.command,); `textgen train` gives both words) with the state it saved as STATE.  A resumed run
    takes its training options from the command line, not from the state, so they must be repeated; --init (or
    --model naming the state it started from) is left out, since the saved state is where it goes on from and
    knows its network.  None when the words are not known (a run started from Python) or the STATE it resumed
    cannot be told from an option's value of the same name."""
    words = list(config.command_line or ())
    if not words:
        return None
    program = list(program or (config.command,))
    init = getattr(config, "init", None)  # textgen starts from no other state
    kept = []
    while words:
        word = words.pop(0)
        option, _, value = word.partition("=")
        if init is not None and len(option) > 2 and any(name.startswith(option) for name in STARTS_FROM):
            value = value or (words.pop(0) if words else "")
            if value == init:
                continue
            kept.extend([option, value] if "=" not in word else [word])
        else:
            kept.append(word)
    if config.resume is None:
        return ["hdl-native", *program, str(config.out), *kept]
    if not resumes(config, config.out):
        named = [position for position, word in enumerate(kept) if word == config.resume]
        if len(named) != 1:
            return None
        kept[named[0]] = str(config.out)
    return ["hdl-native", *program, *kept]


def same_file(first, second):
    return resolved(first) == resolved(second)


def check_writable(path, what, create_directories=True):
    """HDLError naming `path` unless a file can be written there.

    create_directories: whether the writer creates missing parent directories (save_checkpoint does,
    SQLite does not); then the nearest existing ancestor is probed instead.
    """
    if path.is_dir():
        raise HDLError(f"cannot write the {what} {path}: it is a directory")
    if path.exists() and not os.access(path, os.W_OK):
        raise HDLError(f"cannot write the {what} {path}: permission denied")
    directory = path.parent
    while create_directories and not directory.exists() and directory != directory.parent:
        directory = directory.parent
    if not directory.is_dir():
        problem = "is not a directory" if directory.exists() else "does not exist"
        raise HDLError(f"cannot write the {what} {path}: {directory} {problem}")
    try:
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as error:
        raise HDLError(f"cannot write the {what} {path}: {directory} is not writable ({error.strerror})") from None
