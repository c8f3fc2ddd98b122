"""The `hdl-native` command line.

Each subcommand lives in its own module ``hdl_native/commands/cmd_<name>.py``
defining ``HELP`` (one line), ``add_arguments(parser)`` and ``run(args)``
returning an exit code.  They are discovered here, so adding a program means
adding one file.  ``HDLError`` raised by a command prints as one clear line
on stderr with exit code 2; Ctrl-C exits with 130.
"""
import argparse
import importlib
import pkgutil
import sys

from . import commands
from ._version import __version__
from .build_config import show_config
from .errors import HDLError


def discover_commands():
    """{name: module} for every commands/cmd_*.py, sorted by name."""
    found = {}
    for info in pkgutil.iter_modules(commands.__path__):
        if info.name.startswith("cmd_"):
            found[info.name[4:].replace("_", "-")] = f"{commands.__name__}.{info.name}"
    return dict(sorted(found.items()))


def build_parser():
    parser = argparse.ArgumentParser(
        prog="hdl-native",
        description="hdl_native: train and run the Hello Deep Learning networks on your CPU.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    parser.add_argument("--verbose", action="store_true",
                        help="with --version: also the build (compiler, OpenMP, SIMD path, BLAS, threads)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in discover_commands().items():
        module = importlib.import_module(module_name)
        command = sub.add_parser(name, help=module.HELP, description=getattr(module, "__doc__", None) or module.HELP,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(command)
        command.set_defaults(run=module.run)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        print(f"hdl-native {__version__}")
        if args.verbose:
            show_config()
        return 0
    if not getattr(args, "run", None):
        parser.print_help()
        return 0
    try:
        return int(args.run(args) or 0)
    except HDLError as error:
        print(f"hdl-native {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\nhdl-native {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
