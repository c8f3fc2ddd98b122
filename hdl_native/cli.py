"""The `hdl-native` command line.

Each subcommand lives in its own module ``hdl_native/commands/cmd_<name>.py``
defining ``HELP`` (one line), ``add_arguments(parser)`` and ``run(args)``
returning an exit code.  They are discovered here, so adding a program means
adding one file.  A bad option (argparse, see cli_types.py for the ranges) and
``HDLError`` raised by a command print as one clear line on stderr with exit
code 2 (or the error's own ``exit_code``: 3 for a training run that diverged);
Ctrl-C, even during start-up, exits with 130 and one line.
"""
import argparse
import ast
import errno
import functools
import importlib
import importlib.util
import io
import os
import pkgutil
import sys

from . import commands
from ._version import __version__
from .errors import HDLError, error_line
from .memory import keep_freed_memory


@functools.lru_cache(maxsize=1)
def discover_commands():
    """{name: module} for every commands/cmd_*.py, sorted by name (the package is listed once per process)."""
    found = {}
    for info in pkgutil.iter_modules(commands.__path__):
        if info.name.startswith("cmd_"):
            found[info.name[4:].replace("_", "-")] = f"{commands.__name__}.{info.name}"
    return dict(sorted(found.items()))


class OneLineErrorParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors (bad or missing options) are one line on stderr, exit code 2: the
    full usage of a trainer command runs to 18 lines and would bury the message; --help shows it."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")

    def parse_args(self, args=None, namespace=None):
        """As argparse's, but an option no parser knows is reported by the command or subcommand it was given to
        ("hdl-native textgen train: error: unrecognized arguments: --epochs", with a pointer to its --help), not
        by the top-level parser, which would name only "hdl-native"."""
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            parser = chosen_parser(self, parsed)
            parser.error(f"unrecognized arguments: {' '.join(extras)} (see `{parser.prog} --help`)")
        return parsed


def chosen_parser(parser, parsed):
    """The deepest subparser `parsed` (a Namespace `parser` produced) went through: the command's parser, or its
    subcommand's (`textgen train`); `parser` itself when no command was given."""
    while True:
        commands = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
        chosen = getattr(parsed, commands.dest, None) if commands is not None else None
        if chosen not in getattr(commands, "choices", {}):
            return parser
        parser = commands.choices[chosen]


def command_summary(module_name):
    """A command module's HELP line read from its source, without importing the module (importing every command
    took 0.6 s, which `hdl-native --help` spent to print a line each); None when the source holds no HELP that is
    a plain string (then the module is imported for it)."""
    spec = importlib.util.find_spec(module_name)
    try:
        with open(spec.origin, encoding="utf-8") as source:
            tree = ast.parse(source.read(), spec.origin)
    except (OSError, TypeError, SyntaxError, ValueError):  # no source beside it (a frozen or compiled install)
        return None
    for statement in tree.body:
        if (isinstance(statement, ast.Assign) and any(getattr(target, "id", None) == "HELP"
                                                      for target in statement.targets)):
            try:
                value = ast.literal_eval(statement.value)
            except ValueError:  # built from names, not a literal
                return None
            return value if isinstance(value, str) else None
    return None


def build_parser(only=None, summaries_only=False):
    """The whole `hdl-native` parser; with `only` (a command's name), the parser of that command alone, so running
    one command imports its own module and not the others' (`ocr` starts without the trainers' imports).
    summaries_only: every command's parser holds its HELP line (command_summary) and no options, which is all the
    top-level help and a misspelt command's error show, and no command's module is imported for it."""
    parser = OneLineErrorParser(
        prog="hdl-native",
        description="hdl_native: train and run the Hello Deep Learning networks on your CPU.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    parser.add_argument("--verbose", action="store_true",
                        help="with --version: also the build (compiler, OpenMP, SIMD path, BLAS, threads)")
    parser.set_defaults(run=None)  # no COMMAND given: print the help, exit code 2
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in discover_commands().items():
        if only is not None and name != only:
            continue
        summary = command_summary(module_name) if summaries_only else None
        if summary is not None:
            sub.add_parser(name, help=summary)
            continue
        module = importlib.import_module(module_name)
        command = sub.add_parser(name, help=module.HELP, description=getattr(module, "__doc__", None) or module.HELP,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(command)
        command.set_defaults(run=module.run, memory_advice=getattr(module, "MEMORY_ADVICE", None))
    return parser


def named_command(argv):
    """The command `argv` names if it is one of ours, else None (no command, --help, a misspelt one: a parser of
    the commands' summaries is built, to list them); "" for `--version [--verbose]` alone, which needs no command's
    module (importing them all took half a second)."""
    if argv and set(argv) <= {"--version", "--verbose"} and "--version" in argv:
        return ""
    words = [word for word in argv if not word.startswith("-")]  # the options before a command take no values
    return words[0] if words and words[0] in discover_commands() else None


def check_no_empty_values(argv):
    """HDLError for an empty argument: `--out ''` or `--out=` (which every option took as not given, writing into
    the current directory), or an empty positional (`ocr ''` read the current directory)."""
    for position, word in enumerate(argv):
        if word.startswith("--") and word.endswith("=") and len(word) > 3:
            raise HDLError(f"{word[:-1]} is given an empty value; give it one, or leave the option out")
        if word == "":
            before = argv[position - 1] if position else ""
            if before.startswith("-") and "=" not in before:
                raise HDLError(f"{before} is given an empty value ''; give it one, or leave the option out")
            raise HDLError("an empty argument '' where a file name or value was expected")


# The options that set how much memory a run takes, in the order the advice names them.
SIZE_OPTIONS = ("--batch-size", "--hidden", "--layers", "--seq-len", "--length", "--max-images")


def memory_advice(parser, args):
    """What to do when the command `args` names (parsed by `parser`; None before parsing) ran out of memory: its
    module's MEMORY_ADVICE (ocr's: it works on photos reduced to a bounded size, so its running out is ours to
    mend), else to choose smaller values of the SIZE_OPTIONS its own parser has, or fewer --threads."""
    if getattr(args, "memory_advice", None):
        return args.memory_advice
    known = chosen_parser(parser, args)._option_string_actions if parser is not None and args is not None else {}
    sizes = [option for option in SIZE_OPTIONS if option in known]
    threads = "--threads" in known
    if sizes:
        return f"choose smaller sizes ({', '.join(sizes)})" + (" or fewer --threads" if threads else "")
    return ("fewer --threads, or " if threads else "") + "close other programs, or use a machine with more memory"


def main(argv=None):
    """Run the command `argv` names; returns its exit code (an HDLError's exit_code, 2 unless it says otherwise)."""
    name, parser, args = "hdl-native", None, None
    try:
        argv = sys.argv[1:] if argv is None else list(argv)
        check_no_empty_values(argv)
        command = named_command(argv)
        parser = build_parser(command, summaries_only=command is None)  # Ctrl-C during start-up may land here
        args = parser.parse_args(argv)
        if args.version:
            print(f"hdl-native {__version__}")
            if args.verbose:
                from .build_config import show_config  # here: it loads numpy, scipy and the kernels

                show_config()
            return flushed(0)
        if args.verbose:  # it changes nothing else, so a command given with it would run without a word
            raise HDLError("--verbose goes with --version: `hdl-native --version --verbose` shows the build")
        if args.run is None:  # the help shows the commands to choose from; no command is an error, as argparse's
            parser.print_help(sys.stderr)
            print(error_line(name, "the following arguments are required: COMMAND"), file=sys.stderr)
            return 2
        name = " ".join(["hdl-native", args.command] + ([args.action] if getattr(args, "action", None) else []))
        keep_freed_memory()  # each step's large arrays reuse freed blocks instead of fresh pages (memory.py)
        if args.command in argv:  # the words after it: a training run a signal stops says how to go on with them
            args.command_line = tuple(argv[argv.index(args.command) + 1:])
        return flushed(int(args.run(args) or 0))
    except HDLError as error:
        print(error_line(name, error), file=sys.stderr)
        return getattr(error, "exit_code", 2)
    except MemoryError as error:  # sizes the options allow but this machine cannot hold (numpy names the array)
        print(f"{name}: out of memory: {str(error) or 'an allocation failed'}; {memory_advice(parser, args)}",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        ended_line = "\n" if sys.stderr.isatty() else ""  # on a terminal, ^C (or a progress bar) is left on the line
        print(f"{ended_line}{name}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # what reads the output went away (`| head -1`): the rest of it is not wanted
        output_to_nowhere()
        return 141  # 128 + SIGPIPE, as a shell reports a program the broken pipe stopped
    except OSError as error:
        if error.errno not in DISK_FULL:  # a defect of ours: the traceback says where
            raise
        try:  # what was printed is kept where it can be
            sys.stdout.flush()
        except OSError:  # standard output itself is full (`> /dev/full`)
            output_to_nowhere()
        print(f"{name}: cannot write: {error.strerror}{f' ({error.filename})' if error.filename else ''}",
              file=sys.stderr)
        return 2


DISK_FULL = (errno.ENOSPC, errno.EDQUOT)  # no space on the device, or over the user's quota


def flushed(code):
    """`code`, once standard output is flushed here (a pipe closed early breaks now, not at interpreter exit)."""
    if sys.stdout is not None:  # None without a console (pythonw)
        sys.stdout.flush()
    return code


def output_to_nowhere():
    """Point standard output at /dev/null, so that Python's flush at exit does not fail on the broken pipe again."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):  # not a real file (a test's capture)
        pass


if __name__ == "__main__":
    sys.exit(main())
