"""--ema-decay: the weights' moving average (training/weight_average.py), kept beside training, never changing it,
validated, tested and exported, saved in the state file and continued exactly on resume."""
import json

import numpy as np
import pytest

from hdl_native.checkpoint import load_checkpoint, load_model, save_entries
from hdl_native.cli import main
from hdl_native.data import load_dataset
from hdl_native.errors import HDLError
from hdl_native.models import LettersCNN
from hdl_native.tensor import Tensor
from hdl_native.training.config import OptimizerChoice, RunConfig
from hdl_native.training.evaluate import Evaluator
from hdl_native.training.session import Session
from hdl_native.training import weight_average
from hdl_native.training.weight_average import WeightAverage, too_long_a_memory

DECAY = 0.9


def common(tiny_data, batches):
    return ["letters", "--data", str(tiny_data), "--quiet", "--no-db", "--threads", "1", "--max-batches",
            str(batches), "--seed", "0", "--lr", "0.05"]


def test_the_average_follows_its_recurrence_from_the_starting_weights():
    model = LettersCNN(seed=3)
    params = dict(model.named_parameters())
    start = {name: p.value.astype(np.float64) for name, p in params.items()}
    average = WeightAverage(model, DECAY)
    rng = np.random.default_rng(0)
    want = dict(start)
    for _ in range(4):
        for name, p in params.items():
            p.data[...] = rng.normal(size=p.shape).astype(np.float32)
            want[name] = DECAY * want[name] + (1 - DECAY) * p.value.astype(np.float64)
        average.update()
    for name in params:
        assert average.averages[name].dtype == np.float64
        np.testing.assert_allclose(average.averages[name], want[name], rtol=1e-6, atol=1e-7)
        assert not np.allclose(average.averages[name], params[name].value)


def test_in_model_puts_the_averages_in_and_the_trained_weights_back_and_graphs_see_both():
    model = LettersCNN(seed=3).eval()
    average = WeightAverage(model, DECAY)
    for _, p in model.named_parameters():
        p.data[...] *= 1.5  # trained weights now differ from the averages (the starting weights)
    images = np.random.default_rng(1).random((4, 1, 28, 28)).astype(np.float32)
    x = Tensor.placeholder((None, 1, 28, 28))
    x.assign(images)
    out = model.logits(x)
    trained = out.value.copy()
    with average.in_model():
        for name, p in model.named_parameters():
            np.testing.assert_array_equal(p.value, average.averages[name].astype(np.float32))
        averaged = out.value.copy()
    assert not np.allclose(averaged, trained)
    np.testing.assert_array_equal(out.value, trained)
    np.testing.assert_allclose(averaged, LettersCNN(seed=3).eval().logits(x).value, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("decay", [0.0, 1.0, -0.5, 1.5])
def test_a_decay_outside_zero_to_one_is_refused(decay):
    with pytest.raises(ValueError, match="decay"):
        WeightAverage(LettersCNN(), decay)


@pytest.mark.parametrize("value", ["1", "-0.1", "nan", "x"])
def test_the_option_refuses_bad_values_in_one_line(tiny_data, tmp_path, capsys, value):
    with pytest.raises(SystemExit) as stopped:  # argparse's errors exit from the parser
        main([*common(tiny_data, 2), "--ema-decay", value, "--out", str(tmp_path / "s.hdl")])
    err = capsys.readouterr().err.strip()
    assert stopped.value.code == 2 and "--ema-decay" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "s.hdl").exists()


def test_the_average_changes_nothing_in_training_and_is_what_is_tested_and_exported(tiny_data, tmp_path,
                                                                                    monkeypatch):
    plain, averaged, export = tmp_path / "plain.hdl", tmp_path / "avg.hdl", tmp_path / "avg-model.hdl"
    assert main([*common(tiny_data, 5), "--out", str(plain)]) == 0
    seen = []  # the weights each update() averages in: they must be the weights after each step
    update = WeightAverage.update

    def spy(self):
        seen.append({name: p.value.copy() for name, p in self.params.items()})
        update(self)

    monkeypatch.setattr(WeightAverage, "update", spy)
    start = {}
    init = WeightAverage.__init__

    def remember_start(self, model, decay):
        init(self, model, decay)
        start.update({name: a.copy() for name, a in self.averages.items()})

    monkeypatch.setattr(WeightAverage, "__init__", remember_start)
    assert main([*common(tiny_data, 5), "--ema-decay", str(DECAY), "--out", str(averaged),
                 "--export", str(export), "--json"]) == 0
    plain_state, state, exported = load_checkpoint(plain), load_checkpoint(averaged), load_checkpoint(export)
    assert len(seen) == 5
    assert state["settings"]["ema_decay"] == DECAY and plain_state["settings"]["ema_decay"] == 0.0
    assert "weight_average" not in plain_state and "weight_average" not in exported
    averages = state["weight_average"]["averages"]
    for name, trained in plain_state["params"].items():
        np.testing.assert_array_equal(state["params"][name], trained)  # training untouched by the average
        np.testing.assert_array_equal(seen[-1][name], trained)
        want = start[name]
        for weights in seen:
            want = DECAY * want + (1 - DECAY) * weights[name].astype(np.float64)
        np.testing.assert_allclose(averages[name], want, rtol=1e-6, atol=1e-8)
        np.testing.assert_array_equal(exported["params"][name], averages[name].astype(np.float32))
        assert not np.array_equal(exported["params"][name], trained)
    # the test report is the exported (averaged) model's
    test = load_dataset("letters", "test", tiny_data)
    accuracy = Evaluator(load_model(export)[0]).evaluate(test.images, test.labels).accuracy
    assert exported["test_report"]["test_accuracy"] == pytest.approx(accuracy)


def test_the_state_s_readers_read_the_average_the_run_tested(tiny_data, tmp_path, capsys):
    state = tmp_path / "s.hdl"
    assert main([*common(tiny_data, 5), "--ema-decay", str(DECAY), "--out", str(state), "--json"]) == 0
    trained = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    entries = load_checkpoint(state)
    for name, p in load_model(state)[0].named_parameters():
        np.testing.assert_array_equal(p.value, entries["weight_average"]["averages"][name].astype(np.float32))
        assert not np.array_equal(p.value, entries["params"][name]), name
    assert main(["evaluate", str(state), "--data", str(tiny_data), "--threads", "1", "--json"]) == 0
    read = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (read["test_accuracy"], read["loss"]) == pytest.approx((trained["test_accuracy"], trained["test_loss"]))
    # a fresh run from it (--init) starts at the average, which it also tests first with 0 batches trained
    assert main([*common(tiny_data, 1), "--init", str(state), "--out", str(tmp_path / "i.hdl"), "--json",
                 "--lr", "1e-12"]) == 0
    started = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert started["test_loss"] == pytest.approx(trained["test_loss"], abs=1e-6)


def test_a_reader_refuses_a_state_whose_average_is_broken_by_name(tiny_data, tmp_path, capsys):
    state = tmp_path / "s.hdl"
    assert main([*common(tiny_data, 3), "--ema-decay", str(DECAY), "--out", str(state)]) == 0
    entries = {k: v for k, v in load_checkpoint(state).items() if k != "format_version"}
    for broken, message in (({"fc3.bias": np.full(26, np.nan)}, "weight average fc3.bias holds 26 non-finite values"),
                            ({"fc9.bias": np.zeros(26)}, "weight averages do not match the state's parameters: "
                                                         "missing none, unexpected ['fc9.bias']"),
                            ({}, "its weight_average entry holds no arrays")):
        averages = {**entries["weight_average"]["averages"], **broken} if broken else {}
        save_entries(state, {**entries, "weight_average": {"decay": DECAY, "averages": averages}})
        capsys.readouterr()
        assert main(["evaluate", str(state), "--data", str(tiny_data), "--threads", "1"]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and f"{state}: {message}" in err, err


def test_validation_reads_the_average(tiny_data, tmp_path):
    config = RunConfig(architecture="letters-cnn", optimizer=OptimizerChoice("sgd", lr=0.05), data_root=str(tiny_data),
                       max_batches=4, ema_decay=DECAY, holdout=52, validate_every=100, threads=1,
                       out=str(tmp_path / "s.hdl"), progress=False)
    session = Session(config)
    assert session.run() == 0
    trainer = session.trainer
    result = trainer.validate()
    with trainer.average.in_model():
        want = Evaluator(session.model).evaluate(*trainer.validation)
    trained = Evaluator(session.model).evaluate(*trainer.validation)
    assert result.loss == pytest.approx(want.loss) and result.loss != pytest.approx(trained.loss)


def test_a_resumed_run_goes_on_averaging_exactly_as_one_that_ran_through(tiny_data, tmp_path):
    straight, halves = tmp_path / "straight.hdl", tmp_path / "halves.hdl"
    assert main([*common(tiny_data, 6), "--ema-decay", str(DECAY), "--out", str(straight)]) == 0
    assert main([*common(tiny_data, 3), "--ema-decay", str(DECAY), "--out", str(halves)]) == 0
    assert main(["letters", str(halves), *common(tiny_data, 6)[1:],
                 "--ema-decay", str(DECAY)]) == 0
    a, b = load_checkpoint(straight), load_checkpoint(halves)
    assert b["batch_counter"] == 6
    for name in a["params"]:
        np.testing.assert_array_equal(a["params"][name], b["params"][name])
        np.testing.assert_array_equal(a["weight_average"]["averages"][name], b["weight_average"]["averages"][name])


def test_resuming_with_the_option_changed_says_so_and_starts_the_average_at_the_resumed_weights(tiny_data, tmp_path,
                                                                                                 capsys):
    state = tmp_path / "s.hdl"
    assert main([*common(tiny_data, 3), "--out", str(state)]) == 0
    resumed_weights = load_checkpoint(state)["params"]
    capsys.readouterr()
    assert main(["letters", str(state), *common(tiny_data, 4)[1:], "--ema-decay", str(DECAY)]) == 0
    assert "--ema-decay 0 -> 0.9" in capsys.readouterr().err
    after = load_checkpoint(state)
    for name, weight in resumed_weights.items():  # one step averaged in from the resumed weights
        want = DECAY * weight.astype(np.float64) + (1 - DECAY) * after["params"][name]
        np.testing.assert_allclose(after["weight_average"]["averages"][name], want, rtol=1e-6, atol=1e-8)


def test_a_state_whose_average_does_not_fit_is_refused_by_name():
    model = LettersCNN()
    average = WeightAverage(model, DECAY)
    good = average.state()
    wrong_shape = {"decay": DECAY, "averages": {**good["averages"], "fc3.bias": np.zeros(3)}}
    missing = {"decay": DECAY, "averages": {k: v for k, v in good["averages"].items() if k != "fc3.bias"}}
    not_finite = {"decay": DECAY, "averages": {**good["averages"], "fc3.bias": np.full(26, np.nan)}}
    integers = {"decay": DECAY, "averages": {**good["averages"], "fc3.bias": np.zeros(26, np.int64)}}
    shape_message = r"s.hdl: weight average fc3.bias has shape \(3,\), the LettersCNN expects \(26,\)"
    with pytest.raises(HDLError, match=shape_message):
        average.load_state(wrong_shape, "s.hdl")
    with pytest.raises(HDLError, match=r"s.hdl: weight averages do not match the LettersCNN: missing \['fc3.bias'\]"):
        average.load_state(missing, "s.hdl")
    with pytest.raises(HDLError, match="s.hdl: weight average fc3.bias holds 26 non-finite values"):
        average.load_state(not_finite, "s.hdl")
    with pytest.raises(HDLError, match="s.hdl: weight average fc3.bias holds int64 values"):
        average.load_state(integers, "s.hdl")
    with pytest.raises(HDLError, match="s.hdl: its weight average holds no arrays"):
        average.load_state({"decay": DECAY}, "s.hdl")
    average.load_state(good, "s.hdl")
    assert weight_average.STATE_KEY == "weight_average"


def test_a_memory_long_for_the_run_is_noted_with_a_decay_that_suits_it():
    note = too_long_a_memory(0.999, 1040)  # the tutorial's LettersCNN for 20 epochs: 35% of the start would remain
    assert "35%" in note and "1,040" in note and "a decay of 0.99 or less suits it" in note
    assert too_long_a_memory(0.99, 1040) is None
    assert too_long_a_memory(0.999, 37800) is None  # the reader's recipe
    assert "too few steps" in too_long_a_memory(0.9, 5)


def test_a_run_says_when_its_average_would_still_hold_the_starting_weights(tiny_data, tmp_path, capsys):
    assert main([*common(tiny_data, 5), "--ema-decay", "0.9", "--out", str(tmp_path / "a.hdl")]) == 0
    assert "the starting weights would still be 59% of the average" in capsys.readouterr().err
    assert main([*common(tiny_data, 5), "--ema-decay", "0.5", "--out", str(tmp_path / "b.hdl")]) == 0
    assert "note: --ema-decay" not in capsys.readouterr().err


def test_resuming_a_state_whose_average_is_broken_names_the_file_in_one_line(tiny_data, tmp_path, capsys):
    state = tmp_path / "s.hdl"
    assert main([*common(tiny_data, 3), "--ema-decay", str(DECAY), "--out", str(state)]) == 0
    entries = load_checkpoint(state)
    entries["weight_average"]["averages"]["fc3.bias"] = np.full(26, np.nan)
    save_entries(state, {k: v for k, v in entries.items() if k != "format_version"})
    capsys.readouterr()
    assert main(["letters", str(state), *common(tiny_data, 4)[1:], "--ema-decay", str(DECAY)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"{state}: weight average fc3.bias holds 26 non-finite values" in err
