"""The installed command line: version, help, and the smoke run."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

import hdl_native


def run_cli(*args, cwd=None):
    """Run the installed CLI from outside the checkout (so the source tree cannot shadow it)."""
    return subprocess.run([sys.executable, "-m", "hdl_native", *args], capture_output=True, text=True,
                          timeout=600, cwd=cwd or Path(hdl_native.__file__).parent.parent)


def test_version_and_help():
    result = run_cli("--version")
    assert result.returncode == 0 and hdl_native.__version__ in result.stdout
    result = run_cli("--help")
    assert result.returncode == 0 and "smoke" in result.stdout


def test_version_imports_no_command():
    script = ("import sys\n"
              "from hdl_native.cli import main\n"
              "assert main(['--version']) == 0\n"
              "print(sorted(name for name in sys.modules if name.startswith('hdl_native.commands.')))\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"hdl-native {hdl_native.__version__}", "[]"]


@pytest.mark.parametrize("argv", [["--help"], [], ["ocrr"]])
def test_the_list_of_commands_imports_no_command(argv):
    """`hdl-native --help` (or no command, or a misspelt one) imported every command's module (0.6 s) to print a
    line each: the lines are read from the modules' sources now, and the help is the one the modules give."""
    script = ("import contextlib, io, sys\n"
              "from hdl_native.cli import main\n"
              "out, err = io.StringIO(), io.StringIO()\n"
              "with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):\n"
              "    try:\n"
              f"        code = main({argv!r})\n"
              "    except SystemExit as exit:\n"
              "        code = exit.code\n"
              "print(code, sorted(name for name in sys.modules if name.startswith('hdl_native.commands.')))\n"
              "print(out.getvalue() + err.getvalue(), end='')\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    first, shown = result.stdout.split("\n", 1)
    assert first == ("0 []" if argv == ["--help"] else "2 []")
    if argv == ["ocrr"]:
        assert "invalid choice: 'ocrr'" in shown and "'ocr'" in shown
    else:
        from hdl_native.cli import build_parser
        assert build_parser().format_help() in shown


def test_every_command_summary_is_read_from_its_source_as_the_module_has_it():
    import importlib

    from hdl_native.cli import command_summary, discover_commands
    for name, module_name in discover_commands().items():
        assert command_summary(module_name) == importlib.import_module(module_name).HELP, name


def test_a_summary_that_is_no_plain_string_is_taken_from_the_module(tmp_path, monkeypatch):
    from hdl_native.cli import command_summary
    (tmp_path / "cmd_built.py").write_text('WORD = "built"\nHELP = f"a {WORD} line"\n')
    (tmp_path / "cmd_plain.py").write_text('"""Doc."""\nimport os\nHELP = ("a plain "\n        "line")\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    assert command_summary("cmd_built") is None
    assert command_summary("cmd_plain") == "a plain line"


def test_output_read_by_a_program_that_stops_early_ends_quietly():
    """`hdl-native evaluate STATE | head -1` printed a BrokenPipeError traceback: now exit code 141, no words."""
    script = ("import sys\n"
              "from hdl_native.cli import main\n"
              "from hdl_native.commands import cmd_smoke\n"
              "cmd_smoke.run = lambda args: [print(f'line {k}') for k in range(200000)] and 0\n"
              "sys.exit(main(['smoke']))\n")
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    assert process.stdout.readline() == "line 0\n"
    process.stdout.close()  # as `head -1` does after its line
    err = process.stderr.read()
    assert process.wait(timeout=600) == 141 and err == ""


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full to write to")
def test_output_to_a_full_disk_is_one_line():
    with open("/dev/full", "w") as full:
        result = subprocess.run([sys.executable, "-m", "hdl_native", "--version"], stdout=full, stderr=subprocess.PIPE,
                                text=True, timeout=600)
    assert (result.returncode, result.stderr) == (2, "hdl-native: cannot write: No space left on device\n")


def test_a_file_the_full_disk_refuses_is_named_and_what_was_printed_is_kept(capsys, monkeypatch):
    import errno

    from hdl_native.cli import main
    from hdl_native.commands import cmd_smoke

    def print_then_fill_the_disk(args):
        print("the result")
        raise OSError(errno.ENOSPC, "No space left on device", "plot.png")

    monkeypatch.setattr(cmd_smoke, "run", print_then_fill_the_disk)
    assert main(["smoke"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "the result\n"
    assert captured.err == "hdl-native smoke: cannot write: No space left on device (plot.png)\n"


def test_no_command_shows_the_usage_and_exits_2(capsys):
    """As `textgen` without an action: a script that forgot the command fails instead of passing."""
    from hdl_native.cli import main

    assert main([]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("usage: hdl-native") and "smoke" in captured.err
    assert captured.err.endswith("\nhdl-native: error: the following arguments are required: COMMAND\n")


@pytest.mark.parametrize("argv", [["--verbose"], ["--verbose", "smoke"]])
def test_verbose_without_version_is_refused(capsys, argv):
    from hdl_native.cli import main

    assert main(argv) == 2
    assert capsys.readouterr().err == ("hdl-native: error: --verbose goes with --version: `hdl-native --version "
                                       "--verbose` shows the build\n")


def test_smoke_reports_the_worked_example():
    result = run_cli("smoke", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["y"] == 33.0 and summary["dy_dx"] == 40.0 and summary["dy_dz"] == 2.0
    assert 0.5 < summary["loss"] < 5.0


def test_smoke_fails_when_the_installation_computes_a_non_finite_loss(capsys, monkeypatch):
    """smoke printed whatever it computed (a NaN loss too) and exited 0: it checked nothing it claims to."""
    import numpy as np

    from hdl_native.cli import main
    from hdl_native.optim import Adam

    def broken_step(self):
        for _, parameter in self.named_params:
            parameter.data[...] = np.nan

    monkeypatch.setattr(Adam, "step", broken_step)
    assert main(["smoke", "--json"]) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out.strip().splitlines()[-1])["loss"] is None  # strict JSON: NaN is null
    assert captured.err == ("hdl-native smoke: error: this installation computes wrong results (the DigitsMLP loss is "
                            "nan, not a finite number): reinstall it, or rebuild the kernels, and see "
                            "`hdl-native --version --verbose` for the build\n")


def test_a_command_is_parsed_by_its_own_parser_alone():
    from hdl_native.cli import named_command

    assert named_command(["ocr", "page.jpg", "--json"]) == "ocr"
    assert named_command(["--verbose", "letters", "--epochs", "2"]) == "letters"
    assert named_command([]) is None and named_command(["--help"]) is None
    assert named_command(["--version"]) == "" and named_command(["--version", "--verbose"]) == ""  # no command's
    assert named_command(["--version", "smoke"]) == "smoke"  # as before
    assert named_command(["ocrr", "page.jpg"]) is None  # the whole parser, to name the commands there are
    result = run_cli("ocrr", "x")
    assert result.returncode == 2 and "invalid choice: 'ocrr'" in result.stderr and "'letters'" in result.stderr
    result = run_cli("ocr", "--help")
    assert result.returncode == 0 and "--min-confidence" in result.stdout and "--epochs" not in result.stdout


def test_running_ocr_imports_neither_the_trainers_nor_scipy_optimize():
    """`ocr` starts faster (the 12-megapixel photo's whole process: BENCHMARKS.md): only its own command module,
    and scipy.optimize (with the scipy.sparse, .linalg.interpolative, .fft and .spatial it brings) only to fit."""
    script = ("import sys\n"
              "from hdl_native.cli import build_parser\n"
              "build_parser('ocr').parse_args(['ocr', 'page.jpg'])\n"
              "from hdl_native.ocr import read_page\n"
              "from hdl_native.ocr.model import load_letter_classifier\n"
              "print(sorted(m for m in sys.modules if m.startswith('hdl_native.commands.cmd_')))\n"
              "print('scipy.optimize' in sys.modules)\n"
              "from hdl_native.calibration import fit_temperature\n"
              "import numpy as np\n"
              "fit_temperature(np.log([[0.9, 0.1], [0.2, 0.8]]), np.array([0, 1]))\n"
              "print('scipy.optimize' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600,
                            cwd=Path(hdl_native.__file__).parent.parent)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:3] == ["['hdl_native.commands.cmd_ocr']", "False", "True"]


def test_an_unknown_option_is_reported_by_the_command_given_it(capsys):
    """Not "hdl-native: error: unrecognized arguments", which names no command: the (sub)command's own name and
    its --help, in one line, exit code 2."""
    from hdl_native.cli import main

    cases = [(["textgen", "train", "--corpus", "x.txt", "--epochs=1"], "hdl-native textgen train", "--epochs=1"),
             (["ocr", "page.jpg", "--colour"], "hdl-native ocr", "--colour"),
             (["--version", "--nonsense"], "hdl-native", "--nonsense")]
    for argv, prog, extras in cases:
        with pytest.raises(SystemExit) as stopped:
            main(argv)
        assert stopped.value.code == 2
        expected = f"{prog}: error: unrecognized arguments: {extras} (see `{prog} --help`)\n"
        assert capsys.readouterr().err == expected, argv


@pytest.mark.parametrize("argv, message", [
    (["ocr", ""], "an empty argument '' where a file name or value was expected"),
    (["letters", "--out", ""], "--out is given an empty value ''"),
    (["plot", "run.db", "--out="], "--out is given an empty value;"),
    (["ocr", "page.jpg", "--crops", ""], "--crops is given an empty value ''"),
], ids=["positional", "option", "option=", "ocr-crops"])
def test_an_empty_value_is_refused_before_anything_runs(argv, message, capsys, tmp_path, monkeypatch):
    """`--out ''` was taken as no --out (writing into the current directory), `ocr ''` read the current directory."""
    from hdl_native.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err
    assert list(tmp_path.iterdir()) == []


def test_running_out_of_memory_is_one_line_naming_the_allocation(capsys, monkeypatch):
    from hdl_native.cli import main
    from hdl_native.commands import cmd_smoke

    def too_big(args):
        raise MemoryError("Unable to allocate 117. GiB for an array with shape (10000, 4096, 768)")

    monkeypatch.setattr(cmd_smoke, "run", too_big)
    assert main(["smoke"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hdl-native smoke: out of memory: Unable to allocate 117. GiB") and err.count("\n") == 1
    assert err.endswith("; close other programs, or use a machine with more memory\n"), err  # smoke has no sizes


@pytest.mark.parametrize("module, argv, advice", [
    ("cmd_letters", ["letters"], "choose smaller sizes (--batch-size) or fewer --threads"),
    ("cmd_evaluate", ["evaluate", "x.hdl"], "choose smaller sizes (--batch-size) or fewer --threads"),
    ("cmd_threeorseven", ["threeorseven"], "close other programs, or use a machine with more memory"),
])
def test_the_memory_advice_names_the_sizes_the_command_itself_takes(capsys, monkeypatch, module, argv, advice):
    import importlib

    from hdl_native.cli import main

    def too_big(args):
        raise MemoryError("Unable to allocate 9 GiB")

    monkeypatch.setattr(importlib.import_module(f"hdl_native.commands.{module}"), "run", too_big)
    assert main(argv) == 2
    assert capsys.readouterr().err == f"hdl-native {argv[0]}: out of memory: Unable to allocate 9 GiB; {advice}\n"


def test_ocr_running_out_of_memory_asks_for_the_photo_not_for_smaller_sizes(capsys, monkeypatch, tmp_path):
    from hdl_native.cli import main
    from hdl_native.commands import cmd_ocr

    def too_big(args):
        raise MemoryError("Unable to allocate 1.83 GiB for an array with shape (15661, 15661)")

    monkeypatch.setattr(cmd_ocr, "run", too_big)
    assert main(["ocr", str(tmp_path / "photo.jpg")]) == 2
    err = capsys.readouterr().err
    assert err == ("hdl-native ocr: out of memory: Unable to allocate 1.83 GiB for an array with shape (15661, 15661); "
                   "reading this photo took more memory than it should: please report it, with the photo\n")


def test_omp_num_threads_beyond_the_limit_of_threads_is_held_to_it(monkeypatch):
    from hdl_native import threads
    from hdl_native.cli_types import MAX_THREADS

    monkeypatch.setattr(threads, "_num_threads", None)
    monkeypatch.setenv("OMP_NUM_THREADS", "99999")
    assert threads.get_num_threads() == MAX_THREADS
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert threads.get_num_threads() == 3
