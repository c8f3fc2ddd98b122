"""Every numeric option of every command is range-checked by the parser (issue 12): NaN, inf and
out-of-range values end in one line, ``hdl-native CMD: error: argument --OPT: must be ..., got VALUE``,
with exit code 2 and no traceback, before the command does any work; every default is itself in range."""
import argparse
import subprocess
import sys
from pathlib import Path

import pytest

import hdl_native
from hdl_native.cli import build_parser
from hdl_native.cli_types import NumberInRange

PARSER = build_parser()
COMMANDS = next(action for action in PARSER._actions if isinstance(action, argparse._SubParsersAction)).choices
# what each command needs besides options to parse at all
REQUIRED = {"download": ["mnist"], "evaluate": ["model.hdl"], "calibrate": ["model.hdl", "--out", "c.hdl"],
            "ocr": ["page.png"], "plot": ["log.sqlite3", "--out", "p"],
            "quantize": ["model.hdl", "--bits", "8", "--out", "q.hdl"],
            "prune": ["model.hdl", "--sparsity", "0.5", "--out", "p.hdl"], "synth-letters": ["--out", "synth"],
            "textgen": ["sample", "state.hdl"]}  # its two actions' options: tests/test_textgen.py
RANGED = [(command, action) for command, parser in COMMANDS.items() for action in parser._actions
          if isinstance(action.type, NumberInRange)]


def option_id(command_and_action):
    command, action = command_and_action
    return f"{command} {action.option_strings[-1]}"


def parse_error(capsys, command, *argv):
    """The stderr text of parsing `hdl-native COMMAND ARGV...`, which must fail with exit code 2."""
    with pytest.raises(SystemExit) as stopped:
        PARSER.parse_args([command, *REQUIRED.get(command, []), *argv])
    assert stopped.value.code == 2
    return capsys.readouterr().err


# the cases issue 12 lists, plus the same options of the other commands, with the range each must state
ISSUE_CASES = [
    ("letters", "--lr", "nan", "a finite number > 0 and <= 1000"),
    ("letters", "--lr", "inf", "a finite number > 0 and <= 1000"),
    ("letters", "--lr", "0", "a finite number > 0 and <= 1000"),
    ("digits", "--lr", "1e6", "a finite number > 0 and <= 1000"),
    ("letters", "--alpha", "nan", "a finite number > 0 and <= 1000"),
    ("letters", "--weight-decay", "nan", "a finite number from 0 to 10"),
    ("digits", "--weight-decay", "inf", "a finite number from 0 to 10"),
    ("letters", "--l2", "nan", "a finite number from 0 to 1"),
    ("digits", "--l2", "2", "a finite number from 0 to 1"),
    ("letters", "--momentum", "-1", "a finite number >= 0 and < 1"),
    ("digits", "--momentum", "5", "a finite number >= 0 and < 1"),
    ("letters", "--max-batches", "0", "an integer >= 1"),
    ("digits", "--max-batches", "-1", "an integer >= 1"),
    ("letters", "--max-minutes", "nan", "a finite number > 0"),
    ("letters", "--checkpoint-every", "nan", "a finite number >= 0"),
    ("letters", "--dropout", "1.0", "a finite number >= 0 and < 1"),
    ("letters", "--dropout", "-0.5", "a finite number >= 0 and < 1"),
    ("digits", "--dropout", "nan", "a finite number >= 0 and < 1"),
    ("letters", "--distort", "nan", "a finite number from 0 to 4"),
    ("letters", "--distort", "1e9", "a finite number from 0 to 4"),
    ("letters", "--touching", "1.5", "a finite number from 0 to 1"),
    ("letters", "--touching", "nan", "a finite number from 0 to 1"),
    ("letters", "--pairs", "-0.05", "a finite number from 0 to 1"),
    ("letters", "--lead-in", "1.5", "a finite number from 0 to 1"),
    ("letters", "--lead-in", "-0.1", "a finite number from 0 to 1"),
    ("letters", "--label-smoothing", "0.6", "a finite number from 0 to 0.5"),
    ("letters", "--label-smoothing", "nan", "a finite number from 0 to 0.5"),
    ("letters", "--threads", "0", "an integer from 1 to 1024"),
    ("digits", "--threads", "-1", "an integer from 1 to 1024"),
    ("letters", "--threads", "100000", "an integer from 1 to 1024"),
    ("evaluate", "--threads", "0", "an integer from 1 to 1024"),
    ("bench", "--threads", "100000", "an integer from 1 to 1024"),
    ("bench", "--seq-len", "10000000000000000000", "an integer from 1 to 10000"),  # was a traceback
    ("ocr", "--min-confidence", "nan", "a finite number from 0 to 1"),
    ("gd-demo", "--iterations", "1000", "an integer from 1 to 300"),
    ("synth-letters", "--count", "0", "an integer from 1 to 1000000"),
    ("threeorseven", "--seed", "-1", "an integer from 0 to 4294967295"),
]


@pytest.mark.parametrize("command, option, value, allowed", ISSUE_CASES)
def test_issue_cases_are_one_line_errors_stating_the_range(capsys, command, option, value, allowed):
    error = parse_error(capsys, command, option, value)
    assert error == f"hdl-native {command}: error: argument {option}: must be {allowed}, got {value}\n"


@pytest.mark.parametrize("command, action", RANGED, ids=map(option_id, RANGED))
def test_every_ranged_option_rejects_values_outside_its_range(capsys, command, action):
    ranged = action.type
    outside = ["nan", "inf", "-inf", "ten"]
    if ranged.low is not None:
        outside.append(str(ranged.low - 1 if ranged.low_inclusive else ranged.low))
    if ranged.high is not None:
        outside.append(str(ranged.high + 1 if ranged.high_inclusive else ranged.high))
    option = action.option_strings[-1]
    for value in outside:  # as --opt=VALUE, or argparse would take -inf for an option
        error = parse_error(capsys, command, f"{option}={value}")
        assert error.startswith(f"hdl-native {command}: error: argument {option}: ") and error.count("\n") == 1
        assert f"must be {ranged.what}" in error and value in error


@pytest.mark.parametrize("command, action", RANGED, ids=map(option_id, RANGED))
def test_every_ranged_option_accepts_its_closed_ends_and_says_its_range_in_help(command, action):
    ranged = action.type
    option = action.option_strings[-1]
    for end, inclusive in ((ranged.low, ranged.low_inclusive), (ranged.high, ranged.high_inclusive)):
        if end is not None and inclusive:
            parsed = PARSER.parse_args([command, *REQUIRED.get(command, []), option, str(end)])
            assert getattr(parsed, action.dest) == end
    assert ranged.allowed in action.help


@pytest.mark.parametrize("command, action", RANGED, ids=map(option_id, RANGED))
def test_defaults_are_in_range(command, action):
    """argparse does not convert a non-string default, so each is put through its option's check here."""
    for value in (action.default, action.const):
        if value is not None:
            assert action.type(str(value)) == value


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_parses_with_its_defaults_and_every_number_is_range_checked(command):
    PARSER.parse_args([command, *REQUIRED.get(command, [])])
    for action in COMMANDS[command]._actions:
        numeric_default = isinstance(action.default, (int, float)) and not isinstance(action.default, bool)
        if action.type in (int, float) or numeric_default:
            assert isinstance(action.type, NumberInRange), f"{command} {action.option_strings}: no range check"


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "hdl_native", *args], capture_output=True, text=True,
                          timeout=120, cwd=Path(hdl_native.__file__).parent.parent)


@pytest.mark.parametrize("argv, message", [
    (["letters", "--lr", "nan"], "argument --lr: must be a finite number > 0 and <= 1000, got nan"),
    (["digits", "--dropout", "1.0"], "argument --dropout: must be a finite number >= 0 and < 1, got 1.0"),
    (["evaluate", "model.hdl", "--threads", "100000"], "argument --threads: must be an integer from 1 to 1024"),
])
def test_end_to_end_exit_code_2_and_one_line_without_traceback(argv, message):
    result = run_cli(*argv)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith(f"hdl-native {argv[0]}: error: {message}")
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr
