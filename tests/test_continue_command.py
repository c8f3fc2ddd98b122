"""The command a training run stopped by a signal prints to go on: its own words, resuming the state it saved."""
from hdl_native.training.config import RunConfig
from hdl_native.training.outputs import continue_command


def config(words, **settings):
    return RunConfig(command_line=tuple(words), **settings)


def test_a_fresh_run_is_continued_from_its_state_with_all_its_options():
    words = ["--dataset", "unipen", "--pairs", "0.1", "--out", "p.hdl", "--force"]
    assert continue_command(config(words, out="p.hdl")) == ["hdl-native", "letters", "p.hdl", *words]


def test_a_resumed_run_repeats_its_words_and_one_resumed_elsewhere_names_the_state_it_saved(tmp_path):
    words = ["--seed", "3", "a.hdl", "--epochs", "9"]
    assert continue_command(config(words, resume="a.hdl", out="a.hdl")) == ["hdl-native", "letters", *words]
    moved = config(["a.hdl", "--out", "b.hdl", "--epochs", "9"], resume="a.hdl", out="b.hdl")
    assert continue_command(moved) == ["hdl-native", "letters", "b.hdl", "--out", "b.hdl", "--epochs", "9"]
    # a.hdl both the STATE and another option's value: which word is STATE is not told, so no command is made up
    twice = config(["a.hdl", "--export", "a.hdl", "--out", "b.hdl"], resume="a.hdl", out="b.hdl")
    assert continue_command(twice) is None


def test_the_state_it_started_from_is_left_out_but_a_network_named_by_model_is_kept():
    words = ["--model", "letters-vgg", "--init", "start.hdl", "--epochs", "5"]
    assert continue_command(config(words, init="start.hdl", out="x.hdl", command="digits")) == [
        "hdl-native", "digits", "x.hdl", "--model", "letters-vgg", "--epochs", "5"]
    assert continue_command(config(["--model=mine.hdl", "--adam"], init="mine.hdl", out="x.hdl")) == [
        "hdl-native", "letters", "x.hdl", "--adam"]
    assert continue_command(config(["--model", "mine.hdl"], init="mine.hdl", out="x.hdl")) == [
        "hdl-native", "letters", "x.hdl"]
    assert continue_command(config(["--ini", "mine.hdl", "--mod=letters-vgg"], init="mine.hdl", out="x.hdl")) == [
        "hdl-native", "letters", "x.hdl", "--mod=letters-vgg"]  # argparse's abbreviations


def test_a_run_started_from_python_has_no_words_to_repeat():
    assert continue_command(RunConfig(out="x.hdl")) is None


def test_the_words_are_not_kept_in_the_state_or_the_log():
    assert "command_line" not in config(["--data", "/home/me/data"], out="x.hdl").as_dict()
