"""Long commands show a bar on stderr where it is a terminal, and nothing anywhere else (pipes, --json, tests)."""
import json

import pytest

from hdl_native import progress
from hdl_native.cli import main
from hdl_native.errors import HDLError
from hdl_native.synth import find_fonts
from tiny_sets import write_tiny_data


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """(data root, a letters state trained a few batches with held-out images) shared by the module's tests."""
    folder = tmp_path_factory.mktemp("bars")
    data = write_tiny_data(folder / "data")
    state = folder / "tiny.hdl"
    assert main(["letters", "--data", str(data), "--adam", "--quiet", "--no-db", "--threads", "1",
                 "--max-batches", "12", "--holdout", "52", "--out", str(state)]) == 0
    return data, state


@pytest.fixture
def terminal(monkeypatch):
    """stderr taken for a terminal, so that the bars are drawn into the captured stderr."""
    monkeypatch.setattr(progress, "stderr_is_terminal", lambda: True)


def bar_and_json(capsys):
    """(stderr, the JSON object on stdout's last line): the bar must stay out of the JSON."""
    captured = capsys.readouterr()
    return captured.err, json.loads(captured.out.strip().splitlines()[-1])


def test_evaluate_with_shifts_shows_a_bar_over_the_images_read(tiny, terminal, capsys):
    data, state = tiny
    capsys.readouterr()
    assert main(["evaluate", str(state), "--data", str(data), "--shifts", "9", "--threads", "1", "--json"]) == 0
    err, summary = bar_and_json(capsys)
    assert summary["shifts"] == 9
    assert "reading letters test" in err and f"0/{78 * (9 + 1)}" in err and "img" in err  # 9 copies + augmented


def test_no_bar_where_stderr_is_not_a_terminal(tiny, capsys):
    data, state = tiny
    capsys.readouterr()
    assert main(["evaluate", str(state), "--data", str(data), "--shifts", "9", "--threads", "1", "--json"]) == 0
    assert capsys.readouterr().err == ""


def test_calibrate_shows_a_bar_over_the_held_out_copies_and_the_test_split(tiny, terminal, tmp_path, capsys):
    data, state = tiny
    capsys.readouterr()
    assert main(["calibrate", str(state), "--data", str(data), "--out", str(tmp_path / "c.hdl"), "--threads", "1",
                 "--json"]) == 0
    err, summary = bar_and_json(capsys)
    assert summary["out"] == str(tmp_path / "c.hdl")
    assert "calibrate: reading" in err and f"0/{9 * 52 + 78}" in err


def test_prune_shows_a_bar_while_it_reads_the_test_split_and_quiet_hides_it(tiny, terminal, tmp_path, capsys):
    data, state = tiny
    capsys.readouterr()
    command = ["prune", str(state), "--sparsity", "0.5", "--data", str(data), "--threads", "1", "--json"]
    assert main([*command, "--out", str(tmp_path / "p.hdl")]) == 0
    err, summary = bar_and_json(capsys)
    assert summary["state"] == str(tmp_path / "p.hdl")
    assert err.count("reading letters test") >= 2 and "0/78" in err  # before and after pruning, augmented not read
    assert main([*command, "--out", str(tmp_path / "q.hdl"), "--quiet"]) == 0
    assert capsys.readouterr().err == ""


def test_plot_prune_curve_shows_a_bar_over_the_sparsities(tiny, terminal, tmp_path, capsys):
    data, state = tiny
    capsys.readouterr()
    assert main(["plot", "--prune-curve", str(state), "--data", str(data), "--out", str(tmp_path / "plots"),
                 "--json"]) == 0
    err, summary = bar_and_json(capsys)
    assert len(summary["prune_curve"]["global"]) == 20
    assert "pruning" in err and "0/40" in err


def test_bench_shows_a_bar_over_warm_up_and_timed_steps(terminal, capsys):
    assert main(["bench", "--model", "digits-mlp", "--batch-size", "4", "--steps", "3", "--warmup", "1",
                 "--threads", "1", "--json"]) == 0
    err, summary = bar_and_json(capsys)
    assert summary["steps"] == 3
    assert "bench" in err and "0/4" in err and "step" in err


def test_synth_letters_shows_a_bar_while_the_glyphs_are_rendered(terminal, tmp_path, capsys):
    try:
        fonts = find_fonts()[:1]
    except HDLError as error:
        pytest.skip(f"no usable fonts on this machine: {error}")
    assert main(["synth-letters", "--out", str(tmp_path), "--count", "30", "--fonts", *map(str, fonts),
                 "--only-these-fonts", "--pen-copies", "0", "--json"]) == 0
    err, summary = bar_and_json(capsys)
    assert summary["count"] == 30
    assert "synth-letters: glyphs" in err and "0/4" in err and "synth-letters:" in err.replace("glyphs", "")
