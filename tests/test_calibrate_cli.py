"""`hdl-native calibrate`: T fitted on the images training held out, stored in a new state, used by evaluate."""
import json

import numpy as np
import pytest

from hdl_native.checkpoint import load_checkpoint, load_model
from hdl_native.cli import main


def last_json(out):
    return json.loads(out.strip().splitlines()[-1])


def train_tiny(tiny_data, tmp_path, name, *extra):
    """A few batches of the letters CNN on the tiny letters set -> the state's path."""
    out = tmp_path / name
    assert main(["letters", "--data", str(tiny_data), "--adam", "--quiet", "--no-db", "--threads", "1",
                 "--max-batches", "12", "--out", str(out), *extra]) == 0
    return out


@pytest.fixture
def trained_with_holdout(tiny_data, tmp_path, capsys):
    state = train_tiny(tiny_data, tmp_path, "held.hdl", "--holdout", "52")
    capsys.readouterr()
    return state


def calibrate(state, tiny_data, out, *extra):
    return main(["calibrate", str(state), "--data", str(tiny_data), "--out", str(out), "--threads", "1", *extra])


def test_fits_on_the_images_training_held_out_and_stores_the_temperature(trained_with_holdout, tiny_data,
                                                                        tmp_path, capsys):
    out = tmp_path / "calibrated.hdl"
    assert calibrate(trained_with_holdout, tiny_data, out, "--json") == 0
    printed = capsys.readouterr().out
    summary = last_json(printed)
    held, held5, held9, test = summary["sets"]
    assert held["name"] == "held out" and held["images"] == 52
    assert (held5["name"], held9["name"]) == ("held out, 5 shifts", "held out, 9 shifts")
    assert "the run held out from training (--holdout 52, seed 0" in summary["fitted_on"]
    assert test["name"] == "letters test" and test["images"] == 78
    assert held["nll_after"] <= held["nll_before"] + 1e-9  # T = 1 was among the candidates
    assert summary["temperature_before"] == 1.0
    assert load_checkpoint(out)["temperature"] == pytest.approx(summary["temperature"])
    assert f"temperature (one read) 1.000 -> {summary['temperature']:.3f}" in printed
    stored = load_checkpoint(out)["shift_temperatures"]
    assert stored == pytest.approx({key: summary["shift_temperatures"][key] for key in ("5", "9")})
    assert f"temperature (9 shifted copies averaged) 1.000 -> {stored['9']:.3f}" in printed
    assert held9["nll_after"] <= held9["nll_before"] + 1e-9
    ranges = load_checkpoint(out)["int8_ranges"]  # for `ocr --dtype int8` without data; the model: 5 hidden layers
    assert len(ranges["input"]) == 2 and [len(row) for row in ranges["hidden"]] == [4] * 5
    assert "int8 activation ranges stored, measured on 52 of the held-out images" in printed
    original, _ = load_model(trained_with_holdout)
    calibrated, _ = load_model(out)
    for (name, value), (_, same) in zip(original.state_dict().items(), calibrated.state_dict().items()):
        np.testing.assert_array_equal(value, same, err_msg=name)

    assert main(["evaluate", str(out), "--data", str(tiny_data), "--json", "--threads", "1"]) == 0
    evaluated = last_json(capsys.readouterr().out)
    assert evaluated["temperature"] == pytest.approx(summary["temperature"])
    assert evaluated["expected_calibration_error"] == pytest.approx(test["ece_after"])
    assert evaluated["shifts"] == 1

    assert main(["evaluate", str(out), "--data", str(tiny_data), "--json", "--threads", "1", "--shifts", "9"]) == 0
    shifted = last_json(capsys.readouterr().out)
    assert shifted["shifts"] == 9 and shifted["temperature"] == pytest.approx(stored["9"])
    assert shifted["expected_calibration_error"] != pytest.approx(evaluated["expected_calibration_error"])


def test_without_held_out_images_it_falls_back_with_a_note(tiny_data, tmp_path, capsys):
    state = train_tiny(tiny_data, tmp_path, "plain.hdl")
    assert calibrate(state, tiny_data, tmp_path / "c.hdl", "--json") == 0
    summary = last_json(capsys.readouterr().out)
    assert summary["sets"][0]["images"] == 26  # 10% of the 260 training images
    assert "Note: its run held out no training images" in summary["fitted_on"]


def test_a_quantised_state_keeps_its_codes(trained_with_holdout, tiny_data, tmp_path, capsys):
    quantised = tmp_path / "q.hdl"
    assert main(["quantize", str(trained_with_holdout), "--bits", "4", "--out", str(quantised)]) == 0
    out = tmp_path / "qc.hdl"
    assert calibrate(quantised, tiny_data, out) == 0
    read_back, stored = load_checkpoint(out), load_checkpoint(quantised)
    assert read_back["quantized"]["bits"] == 4 and read_back["temperature"] > 0
    assert out.stat().st_size < quantised.stat().st_size + 1000  # the weights stay 4-bit codes (float32: 6x the size);
    # the temperatures and the int8 ranges add under 1 kB
    for name, value in stored["params"].items():
        np.testing.assert_array_equal(read_back["params"][name], value, err_msg=name)
    assert main(["quantize", str(out), "--bits", "4", "--out", str(tmp_path / "again.hdl")]) == 2  # still quantised
    capsys.readouterr()
    requantised = tmp_path / "from-calibrated.hdl"
    calibrated_float = tmp_path / "fc.hdl"
    assert calibrate(trained_with_holdout, tiny_data, calibrated_float) == 0
    assert main(["quantize", str(calibrated_float), "--bits", "8", "--out", str(requantised)]) == 0
    assert load_checkpoint(requantised)["shift_temperatures"] == load_checkpoint(calibrated_float)["shift_temperatures"]
    capsys.readouterr()


def test_refuses_to_overwrite_and_names_what_is_wrong(trained_with_holdout, tiny_data, tmp_path, capsys):
    out = tmp_path / "c.hdl"
    assert calibrate(trained_with_holdout, tiny_data, out) == 0
    capsys.readouterr()
    assert calibrate(trained_with_holdout, tiny_data, out) == 2
    assert "already exists; pass --force" in capsys.readouterr().err
    assert calibrate(trained_with_holdout, tiny_data, out, "--force") == 0
    assert calibrate(trained_with_holdout, tiny_data, trained_with_holdout) == 2
    assert "is STATE itself" in capsys.readouterr().err
    assert calibrate(trained_with_holdout, tiny_data, tmp_path / "d.hdl", "--dataset", "mnist") == 2
    assert "reads 26 classes" in capsys.readouterr().err
    assert not (tmp_path / "d.hdl").exists()


def test_other_offset_is_stored_and_every_reading_of_the_state_weights_other_by_it(tiny_data, tmp_path, capsys):
    from hdl_native.inspect.evaluation import evaluate_state

    state = train_tiny(tiny_data, tmp_path, "mixed.hdl", "--dataset", "letters,nonletters", "--holdout", "60")
    plain, offset = tmp_path / "plain.hdl", tmp_path / "offset.hdl"
    assert calibrate(state, tiny_data, plain, "--json") == 0
    plain_summary = last_json(capsys.readouterr().out)
    assert calibrate(state, tiny_data, offset, "--other-offset", "-5", "--json") == 0  # this tiny model reads
    printed = capsys.readouterr().out  # most test images as 'other' (800 of its 878 are digits): fewer now
    summary = last_json(printed)
    assert "offset on 'other' 0 -> -5: p(other) x e^-5 when reading" in printed
    assert summary["other_offset"] == -5.0 and load_checkpoint(offset)["other_offset"] == -5.0
    assert "other_offset" not in load_checkpoint(plain)
    assert summary["temperature"] == pytest.approx(plain_summary["temperature"])  # fitted without the offset
    other = -1  # 'other' is the mixture's last class
    counted = {}
    for name, path in (("plain", plain), ("offset", offset)):
        report = evaluate_state(path, root=tiny_data, shifts=1)
        counted[name] = int(report.confusion[:, other].sum())  # test images read as 'other'
        assert report.other_offset == (-5.0 if name == "offset" else 0.0)
    assert counted["offset"] < counted["plain"]
    held_plain, held_offset = plain_summary["sets"][2], summary["sets"][2]  # held out, 9 shifts
    assert held_offset["nll_after"] != pytest.approx(held_plain["nll_after"])

    again = tmp_path / "again.hdl"
    assert calibrate(offset, tiny_data, again) == 0  # without the option the stored offset stays
    assert load_checkpoint(again)["other_offset"] == -5.0
    assert calibrate(offset, tiny_data, tmp_path / "zero.hdl", "--other-offset", "0") == 0
    assert "other_offset" not in load_checkpoint(tmp_path / "zero.hdl")
    capsys.readouterr()
    assert main(["evaluate", str(offset), "--data", str(tiny_data), "--threads", "1"]) == 0
    assert ", p(other) x e^-5" in capsys.readouterr().out


def test_other_offset_needs_a_class_other_and_a_sane_value(trained_with_holdout, tiny_data, tmp_path, capsys):
    assert calibrate(trained_with_holdout, tiny_data, tmp_path / "c.hdl", "--other-offset", "1") == 2
    assert "has no class 'other' for --other-offset 1 to weight" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stopped:  # argparse's errors exit from the parser
        calibrate(trained_with_holdout, tiny_data, tmp_path / "c.hdl", "--other-offset", "9")
    assert stopped.value.code == 2
    assert "argument --other-offset: must be a finite number from -5.0 to 5.0, got 9" in capsys.readouterr().err
    assert not (tmp_path / "c.hdl").exists()
