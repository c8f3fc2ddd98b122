"""Subcommands of `hdl-native`: one module cmd_<name>.py each (see cli.py)."""
