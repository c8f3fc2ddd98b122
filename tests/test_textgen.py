"""`hdl-native textgen`: corpus and vocabulary, the held-out split, exact resume, sampling, bad input.

Tiny corpora and a 1-layer model of 16 built in tmp_path, so each test takes seconds.
"""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import hdl_native
from hdl_native.checkpoint import load_checkpoint
from hdl_native.cli import main
from hdl_native.errors import HDLError
from hdl_native.textgen.corpus import Streams, Vocabulary, split_holdout
from hdl_native.textgen.sample import generate, load_generator

REPO = Path(hdl_native.__file__).resolve().parent.parent  # the installed package's parent, never a bare checkout
PRETRAINED_LETTERS = REPO / "hdl_native" / "pretrained" / "letters.hdl"
TEXT = ("the quick brown fox jumps over the lazy dog. " * 12
        + "pack my box with five dozen liquor jugs!\n" * 12)
TINY = ["--layers", "1", "--hidden", "16", "--seq-len", "8", "--batch-size", "4", "--quiet"]


def write(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def train(tmp_path, *extra, corpus=None):
    corpus = corpus or write(tmp_path, "corpus.txt", TEXT)
    assert main(["textgen", "train", "--corpus", str(corpus), *TINY, *extra]) == 0


@pytest.fixture(scope="module")
def tiny_state(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("textgen")
    train(tmp_path, "--steps", "20", "--out", str(tmp_path / "tiny.hdl"))
    return tmp_path / "tiny.hdl"


def test_vocabulary_round_trip():
    vocabulary = Vocabulary.of_text(TEXT)
    codes = vocabulary.encode(TEXT)
    assert codes.dtype == np.int64 and codes.max() == len(vocabulary) - 1
    assert vocabulary.decode(codes) == TEXT
    assert vocabulary.characters == sorted(set(TEXT))
    with pytest.raises(HDLError, match="outside the model's vocabulary of"):
        vocabulary.encode("Zebra")


def test_the_last_tenth_is_held_out():
    codes = np.arange(1000)
    train_part, held_out = split_holdout(codes)
    assert len(held_out) == 100 and held_out[0] == 900 and held_out[-1] == 999
    np.testing.assert_array_equal(np.concatenate([train_part, held_out]), codes)


def test_streams_read_contiguous_rows_chunk_after_chunk():
    codes = np.arange(103)
    streams = Streams(codes, batch_size=2, seq_len=5, offset=1)
    assert streams.row_length == 50 and streams.n_chunks == 10
    first, second = streams.chunk(0), streams.chunk(1)
    np.testing.assert_array_equal(first[0][1], np.arange(51, 56))  # row 1 starts at offset + row_length
    np.testing.assert_array_equal(second[0][0], np.arange(6, 11))   # the next chunk continues the row
    np.testing.assert_array_equal(first[1], first[0] + 1)           # targets: the next characters


def test_the_state_holds_the_vocabulary_and_the_position(tiny_state):
    checkpoint = load_checkpoint(tiny_state)
    assert checkpoint["architecture"] == "char-gru"
    assert checkpoint["classes"] == sorted(set(TEXT))
    assert checkpoint["model_args"] == {"vocab": len(set(TEXT)), "hidden": 16, "layers": 1}
    assert checkpoint["textgen"]["step"] == 20
    assert [array.shape for array in checkpoint["carried"]] == [(1, 4, 16)]


@pytest.mark.parametrize("model", ["gru", "lstm"])
def test_resume_is_exact(tmp_path, model):
    """6 steps in one run equal 3 steps and 3 more resumed: parameters, Adam state, carried state.
    The training part (929 characters in 4 rows of chunks of 8) gives about 28 chunks an epoch, so a second
    pair of runs, 40 = 20 + 20 steps, also crosses an epoch boundary (a new random offset, zero state)."""
    for total in (6, 40):
        whole, split = tmp_path / f"whole{total}.hdl", tmp_path / f"split{total}.hdl"
        train(tmp_path, "--model", model, "--steps", str(total), "--out", str(whole))
        train(tmp_path, "--model", model, "--steps", str(total // 2), "--out", str(split))
        train(tmp_path, str(split), "--steps", str(total))
        one, two = load_checkpoint(whole), load_checkpoint(split)
        assert one["textgen"]["step"] == two["textgen"]["step"] == total
        for name, array in one["params"].items():
            np.testing.assert_array_equal(array, two["params"][name], err_msg=name)
        for name, array in one["optimizer"]["buffers"].items():
            np.testing.assert_array_equal(array, two["optimizer"]["buffers"][name], err_msg=name)
        for mine, theirs in zip(one["carried"], two["carried"]):
            np.testing.assert_array_equal(mine, theirs)
    assert one["textgen"]["epoch"] >= 1


def test_json_summary_and_sqlite_log(tmp_path, capsys):
    import sqlite3
    train(tmp_path, "--steps", "4", "--validate-every", "2", "--json", "--db", str(tmp_path / "log.sqlite"),
          "--out", str(tmp_path / "s.hdl"))
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["steps"] == 4 and summary["chars_per_s"] > 0 and summary["train_seconds"] > 0
    assert summary["val_bpc"] == pytest.approx(summary["val_loss"] / np.log(2))
    assert summary["best_val_loss"] <= summary["val_loss"] and summary["best_val_step"] in (2, 4)
    with sqlite3.connect(tmp_path / "log.sqlite") as connection:
        assert connection.execute("SELECT COUNT(*) FROM training").fetchone()[0] == 4
        assert connection.execute("SELECT COUNT(*) FROM validation").fetchone()[0] == 2


def test_a_held_out_loss_that_rose_since_its_lowest_is_said_at_the_end(tmp_path, capsys):
    """A corpus whose held-out tenth breaks the rule the rest keeps (a b a b ..., then a a b b ...): the surer the
    model grows of the rule, the worse it reads the held-out part, and the run's end says where its loss was
    lowest."""
    corpus = write(tmp_path, "corpus.txt", "ab" * 450 + "aabb" * 25)
    train(tmp_path, "--steps", "30", "--validate-every", "2", "--lr", "0.01", "--json", "--out",
          str(tmp_path / "s.hdl"), corpus=corpus)
    captured = capsys.readouterr()
    summary = json.loads(captured.out.strip().splitlines()[-1])
    assert summary["best_val_step"] < summary["steps"] and summary["val_loss"] > 1.05 * summary["best_val_loss"]
    assert (f"note: the held-out loss was lowest after step {summary['best_val_step']} "
            f"({summary['best_val_loss']:.4f} nats/char)") in captured.err
    assert "learning the corpus by heart" in captured.err


def test_best_keeps_the_state_of_the_lowest_held_out_loss(tmp_path, capsys):
    """The corpus of the test above, whose held-out loss rises after its lowest: --best holds the state of that
    step, resumable and samplable, and the run's end says where it is; a resumed run that never does better
    leaves the file as it was."""
    corpus = write(tmp_path, "corpus.txt", "ab" * 450 + "aabb" * 25)
    best, last = tmp_path / "best.hdl", tmp_path / "s.hdl"
    train(tmp_path, "--steps", "30", "--validate-every", "2", "--lr", "0.01", "--json", "--out", str(last),
          "--best", str(best), corpus=corpus)
    captured = capsys.readouterr()
    summary = json.loads(captured.out.strip().splitlines()[-1])
    kept = load_checkpoint(best)
    assert kept["textgen"]["step"] == summary["best_val_step"] < summary["steps"]
    assert kept["textgen"]["val_loss"] == pytest.approx(summary["best_val_loss"])
    assert summary["best_state"] == str(best)
    assert f"{best} holds the state of step {summary['best_val_step']}" in captured.err
    weight = "rnn.weight_ih_l0"
    assert not np.array_equal(kept["params"][weight], load_checkpoint(last)["params"][weight])
    model, vocabulary = load_generator(best)
    assert len("".join(generate(model, vocabulary, "ab", 5, 0.0, 1))) == 5
    before = best.read_bytes()
    train(tmp_path, str(last), "--steps", "34", "--validate-every", "2", "--lr", "0.01", "--best", str(best),
          "--json", corpus=corpus)
    captured = capsys.readouterr()
    assert best.read_bytes() == before and json.loads(captured.out.strip().splitlines()[-1])["best_state"] is None
    assert "keeps the earlier state it held" in captured.err


def test_best_refuses_to_overwrite_without_force(tmp_path, capsys):
    corpus = write(tmp_path, "corpus.txt", TEXT)
    (tmp_path / "old.hdl").write_bytes(b"precious")
    run = ["textgen", "train", "--corpus", str(corpus), *TINY, "--steps", "2", "--out", str(tmp_path / "s.hdl")]
    assert main([*run, "--best", str(tmp_path / "old.hdl")]) == 2
    assert "old.hdl already exists and this run does not continue a state" in capsys.readouterr().err
    assert main([*run, "--best", str(tmp_path / "s.hdl")]) == 2
    assert "is the state file" in capsys.readouterr().err
    assert (tmp_path / "old.hdl").read_bytes() == b"precious" and not (tmp_path / "s.hdl").exists()
    assert main([*run, "--best", str(tmp_path / "old.hdl"), "--force"]) == 0
    assert load_checkpoint(tmp_path / "old.hdl")["textgen"]["step"] == 2


@pytest.mark.parametrize("option", ["--out", "--best", "--db"])
def test_no_output_replaces_the_corpus_even_with_force(tmp_path, capsys, option):
    """--force replaces a state file this run does not continue: with --out naming the corpus, it was replaced."""
    corpus = write(tmp_path, "corpus.txt", TEXT)
    outputs = {"--out": str(tmp_path / "s.hdl"), option: str(corpus)}
    run = ["textgen", "train", "--corpus", str(corpus), *TINY, "--steps", "2", "--force"]
    assert main([*run, *(word for pair in outputs.items() for word in pair)]) == 2
    assert f"{option} {corpus} is the corpus: it would be replaced" in capsys.readouterr().err
    assert corpus.read_text() == TEXT


def test_a_db_that_is_not_an_sqlite_file_is_one_line(tmp_path):
    corpus = write(tmp_path, "corpus.txt", TEXT)
    notes = write(tmp_path, "notes.txt", "not a database\n")
    one_line_error(run_cli("textgen", "train", "--corpus", corpus, *TINY, "--steps", "1", "--out", tmp_path / "s.hdl",
                           "--db", notes), f"cannot write the SQLite log {notes}: file is not a database")


def test_sampling_is_deterministic_with_a_seed_and_greedy_at_zero(tiny_state):
    model, vocabulary = load_generator(tiny_state)

    def sample(temperature, seed):
        return "".join(generate(model, vocabulary, "the ", 60, temperature, seed))

    assert sample(1.0, 5) == sample(1.0, 5)
    assert sample(1.0, 5) != sample(1.0, 6)
    greedy = sample(0.0, 1)
    assert greedy == sample(0.0, 2) and len(greedy) == 60 and set(greedy) <= set(TEXT)
    # a temperature so small that logits / temperature overflows is greedy too (it drew from NaNs and failed)
    assert sample(1e-310, 3) == sample(5e-324, 4) == greedy


def test_sample_streams_one_character_per_flush(tiny_state, monkeypatch):
    events = []

    class Recorder:
        def write(self, text):
            events.append(("write", text))

        def flush(self):
            events.append(("flush", None))

    monkeypatch.setattr(sys, "stdout", Recorder())
    assert main(["textgen", "sample", str(tiny_state), "--length", "25", "--seed", "3"]) == 0
    flushed = [events[i - 1][1] for i in range(1, len(events))
               if events[i][0] == "flush" and events[i - 1][0] == "write"]
    # each sampled character flushed as it is written; then the line's end, which main flushes before it returns
    assert len(flushed) == 26 and all(len(character) == 1 for character in flushed[:25]) and flushed[25] == "\n"


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "hdl_native", *map(str, args)], capture_output=True, text=True,
                          timeout=300, cwd=REPO)


def one_line_error(result, *phrases):
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    for phrase in phrases:
        assert phrase in result.stderr, result.stderr


@pytest.mark.parametrize("content, phrase", [(b"", "is empty"), (b"  \n\n", "is empty"),
                                             (bytes(range(256)) * 4, "is not text"),
                                             (b"caf\xe9 au lait\n" * 50, "is not UTF-8")],
                         ids=["empty", "blank", "binary", "latin-1"])
def test_train_refuses_a_corpus_that_is_not_text(tmp_path, content, phrase):
    corpus = write(tmp_path, "bad.txt", content)
    one_line_error(run_cli("textgen", "train", "--corpus", corpus, *TINY, "--steps", "1",
                           "--out", tmp_path / "s.hdl"), phrase)


def test_train_refuses_a_corpus_too_short_for_a_batch(tmp_path):
    corpus = write(tmp_path, "short.txt", "to be or not to be\n")
    one_line_error(run_cli("textgen", "train", "--corpus", corpus, *TINY, "--out", tmp_path / "s.hdl"), "too short")



def test_a_corpus_too_short_even_for_a_batch_of_one_says_so_and_names_the_file(tmp_path):
    """At --batch-size 1 --seq-len 1 no smaller option can help: the message named neither the file nor that."""
    corpus = write(tmp_path, "c_one.txt", "a")
    one_line_error(run_cli("textgen", "train", "--corpus", corpus, "--batch-size", "1", "--seq-len", "1",
                           "--out", tmp_path / "s.hdl"),
                   f"corpus {corpus} is too short", "the corpus itself is too short: it has 1 characters, "
                   "and at least 15 are needed")
    result = run_cli("textgen", "train", "--corpus", corpus, "--batch-size", "1", "--seq-len", "4",
                     "--out", tmp_path / "s.hdl")
    one_line_error(result, "use a smaller --seq-len (at this size")
    assert "--batch-size" not in result.stderr

@pytest.mark.parametrize("options, phrase", [
    (["--prompt", "the Zulu"], "outside the model's vocabulary"),
    (["--temperature", "-1"], "--temperature"),
    (["--temperature", "nan"], "--temperature"),
], ids=["unknown-prompt-character", "negative-temperature", "nan-temperature"])
def test_sample_refuses_bad_options(tiny_state, options, phrase):
    one_line_error(run_cli("textgen", "sample", tiny_state, *options), phrase)


def test_a_prompt_the_model_cannot_read_prints_nothing_before_the_error(tiny_state):
    result = run_cli("textgen", "sample", tiny_state, "--prompt", "the Zulu")
    one_line_error(result, "outside the model's vocabulary")
    assert result.stdout == "" and result.stderr.startswith("hdl-native textgen sample: error: ")  # names the action


def test_states_of_another_kind_are_refused(tiny_state):
    one_line_error(run_cli("textgen", "sample", PRETRAINED_LETTERS), "holds a letters-", "image classifier")
    one_line_error(run_cli("evaluate", tiny_state), "char-gru", "text generator")


@pytest.mark.parametrize("action", ["train", "sample"])
def test_every_number_option_is_range_checked_and_says_its_range(action):
    import argparse

    from hdl_native.cli import build_parser
    from hdl_native.cli_types import NumberInRange
    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)).choices
    actions = next(a for a in commands["textgen"]._actions if isinstance(a, argparse._SubParsersAction)).choices
    numbers = [a for a in actions[action]._actions if a.type in (int, float) or isinstance(a.type, NumberInRange)]
    assert len(numbers) >= 3
    for option in numbers:
        assert isinstance(option.type, NumberInRange), option.option_strings
        assert option.type.allowed in option.help, option.option_strings
        if option.default is not None:
            assert option.type(str(option.default)) == option.default


def test_dropout_is_saved_kept_on_resume_and_off_when_sampling(tmp_path):
    state = tmp_path / "dropped.hdl"
    train(tmp_path, "--layers", "2", "--dropout", "0.3", "--steps", "4", "--out", str(state))
    assert load_checkpoint(state)["model_args"]["dropout"] == 0.3
    train(tmp_path, str(state), "--layers", "2", "--steps", "6")  # no --dropout: the state's
    assert load_checkpoint(state)["model_args"]["dropout"] == 0.3
    model, vocabulary = load_generator(state)
    assert not model.training and model.output_dropout is not None
    greedy = "".join(generate(model, vocabulary, "the ", 30, 0.0, 1))
    assert greedy == "".join(generate(model, vocabulary, "the ", 30, 0.0, 2))  # eval mode: no random masks
    # switched off for the rest of the run
    train(tmp_path, str(state), "--layers", "2", "--steps", "8", "--dropout", "0")
    assert "dropout" not in load_checkpoint(state)["model_args"]


def test_cosine_schedule_spans_the_runs_steps_or_minutes(tmp_path):
    from hdl_native.textgen.trainer import TextgenConfig, start
    corpus = write(tmp_path, "corpus.txt", TEXT)
    config = TextgenConfig(corpus=str(corpus), layers=1, hidden=16, seq_len=8, batch_size=4, lr=0.01,
                           lr_schedule="cosine", max_steps=30, out=str(tmp_path / "s.hdl"), progress=False)
    trainer = start(config)
    trainer.first_step = 10  # as if resumed at step 10: the cosine spans steps 10 to 30
    for step, expected in [(10, 0.01), (20, 0.005), (30, 0.0)]:
        trainer.position.step = step
        assert trainer.scheduled_lr(0.0) == pytest.approx(expected, abs=1e-12)
    timed = start(TextgenConfig(**{**config.as_dict(), "max_steps": None, "max_seconds": 60.0}))
    assert [timed.scheduled_lr(s) for s in (0.0, 30.0, 90.0)] == pytest.approx([0.01, 0.005, 0.0], abs=1e-12)
    constant = start(TextgenConfig(**{**config.as_dict(), "lr_schedule": "constant"}))
    assert constant.scheduled_lr(25.0) == 0.01


@pytest.mark.parametrize("options, phrase", [
    (["--lr-schedule", "cosine"], "needs --minutes or --steps"),
    (["--dropout", "1", "--steps", "1"], "--dropout"),
], ids=["cosine-without-a-span", "dropout-of-one"])
def test_train_refuses_bad_schedule_and_dropout(tmp_path, options, phrase):
    corpus = write(tmp_path, "corpus.txt", TEXT)
    one_line_error(run_cli("textgen", "train", "--corpus", corpus, *TINY, *options, "--out", tmp_path / "s.hdl"),
                   phrase)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_a_signal_names_the_command_and_prints_the_one_that_goes_on(tmp_path):
    """Ctrl-C printed only "stopped by SIGINT after step N; state saved to F": no command's name, nothing to run."""
    import signal
    import time

    corpus, state = write(tmp_path, "corpus.txt", TEXT), tmp_path / "tr.hdl"
    words = ["--corpus", str(corpus), *TINY, "--checkpoint-every", "0", "--lr-schedule", "cosine",
             "--steps", "100000000", "--best", str(tmp_path / "b.hdl"), "--out", str(state)]
    process = subprocess.Popen([sys.executable, "-m", "hdl_native", "textgen", "train", *words], cwd=REPO,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not state.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    err = process.communicate(timeout=60)[1]
    assert process.returncode == 130, err
    assert "hdl-native textgen train: stopped by SIGINT after step " in err
    assert f"; state saved to {state} (continue with: hdl-native textgen train {state} {' '.join(words)})" in err


def test_a_resume_says_which_of_its_states_settings_it_drops(tmp_path, capsys):
    """A resume without --lr-schedule cosine, --steps or --best trained on without them (until Ctrl-C) unsaid."""
    state, best = tmp_path / "tr.hdl", tmp_path / "b.hdl"
    options = ["--lr-schedule", "cosine", "--steps", "4", "--best", str(best)]
    train(tmp_path, *options, "--out", str(state))
    capsys.readouterr()
    train(tmp_path, str(state), "--minutes", "0.002")
    assert (f"note: resuming {state} with settings its run did not have: --lr-schedule cosine -> constant, "
            f"--steps 4 -> off, --minutes off -> 0.002, --best {best} -> off (repeat its options to keep them)"
            ) in capsys.readouterr().err


def test_a_state_already_past_its_steps_says_so_and_is_left_unchanged(tmp_path, capsys):
    """Resumed with --steps below its step, the run rewrote the state and reported "0 chars/s" without a word."""
    state = tmp_path / "tr.hdl"
    train(tmp_path, "--steps", "6", "--lr-schedule", "cosine", "--out", str(state))
    before = state.read_bytes()
    capsys.readouterr()
    train(tmp_path, str(state), "--steps", "6", "--lr-schedule", "cosine")
    captured = capsys.readouterr()
    assert "note: resuming" not in captured.err  # its options repeated
    assert (f"note: {state} is already at step 6, past --steps 6: nothing to train; validating it as it is and "
            f"leaving {state} unchanged") in captured.err
    assert "no steps in this run" in captured.out and " 0 chars/s" not in captured.out
    train(tmp_path, str(state), "--steps", "3", "--lr-schedule", "cosine", "--json")
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["chars_per_s"] is None
    assert state.read_bytes() == before


def test_a_diverging_run_ends_its_json_with_a_line_that_says_so(tmp_path, capsys, monkeypatch):
    """letters and digits end --json with a "diverged" line; textgen train ended with none (exit 3)."""
    import hdl_native.textgen.trainer as trainer
    from hdl_native.training.divergence import Diverged

    def diverging(loss, batch, *args, **kwargs):
        if batch >= 3:
            raise Diverged("loss", float("nan"), batch)

    monkeypatch.setattr(trainer, "check_loss", diverging)
    corpus = write(tmp_path, "corpus.txt", TEXT)
    assert main(["textgen", "train", "--corpus", str(corpus), *TINY, "--steps", "10", "--json",
                 "--out", str(tmp_path / "t.hdl")]) == 3
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert last["stopped_by"] == "diverged" and last["diverged_at_step"] == 3 and last["non_finite"] == "loss"
