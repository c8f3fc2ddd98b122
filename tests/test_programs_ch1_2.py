"""Chapters 1-2 and the Grokking notes: gd-demo, threeorseven, learn37, and the picture helpers.

The data-driven tests run on the real MNIST (skipped when HDL_DATA is unset); their
accuracies are checked against an independent numpy computation or a sane range,
never against hard-coded targets.
"""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import require_dataset
from PIL import Image

import hdl_native
from hdl_native.errors import HDLError
from hdl_native.pictures import ascii_image, ascii_row, save_gif, save_image, to_rgb
from hdl_native.programs import gd_demo, learn37, threeorseven


def run_cli(*args):
    result = subprocess.run([sys.executable, "-m", "hdl_native", *map(str, args)], capture_output=True, text=True,
                            timeout=300, cwd=Path(hdl_native.__file__).parent.parent)
    assert result.returncode == 0, result.stderr
    return result.stdout, json.loads(result.stdout.strip().splitlines()[-1])


def book_gradient_descent(weight, input, goal, alpha, iterations):  # noqa: A002
    """The notes' loop in plain Python floats: the reference the Tensor version must match."""
    errors = []
    for _ in range(iterations):
        prediction = input * weight
        errors.append((prediction - goal) ** 2)
        weight -= alpha * (prediction - goal) * input
    return errors


# ------------------------------------------------------------------ gd-demo
def test_gradient_descent_prints_the_notes_error_sequence():
    trace = gd_demo.gradient_descent("gd", weight=0.5, input=0.5, goal=0.8, iterations=20)
    assert trace.errors[:3] == pytest.approx([0.3025, 0.17015625, 0.095712890625], rel=1e-12)
    assert trace.errors == pytest.approx(book_gradient_descent(0.5, 0.5, 0.8, 1.0, 20), rel=1e-9)
    # each step multiplies the distance to the goal by 1 - input^2 = 0.75, the error by 0.5625
    ratios = np.array(trace.errors[1:]) / np.array(trace.errors[:-1])
    assert ratios == pytest.approx(0.5625, rel=1e-6)


def test_input_two_diverges_and_alpha_fixes_it():
    diverging = gd_demo.gradient_descent("div", weight=0.5, input=2.0, goal=0.8, iterations=10)
    assert diverging.errors == pytest.approx(book_gradient_descent(0.5, 2.0, 0.8, 1.0, 10), rel=1e-9)
    # each step multiplies the distance to the goal by 1 - input^2 = -3, the error by 9
    ratios = np.array(diverging.errors[1:]) / np.array(diverging.errors[:-1])
    assert ratios == pytest.approx(9.0, rel=1e-6)
    fixed = gd_demo.gradient_descent("fix", weight=0.5, input=2.0, goal=0.8, alpha=0.1, iterations=10)
    assert fixed.errors[:3] == pytest.approx([0.04, 0.0144, 0.005184], rel=1e-9)
    ratios = np.array(fixed.errors[1:]) / np.array(fixed.errors[:-1])
    assert ratios == pytest.approx(0.36, rel=1e-6)


def test_hot_cold_walks_to_the_goal_in_steps_of_the_step_size():
    trace = gd_demo.hot_cold(weight=0.5, input=0.5, goal=0.8, step=0.001, iterations=1101)
    assert trace.errors[0] == pytest.approx(0.3025)
    assert np.all(np.diff(trace.errors) < 0)  # every step helps until the goal is reached
    assert np.diff(trace.weights) == pytest.approx(0.001, rel=1e-6)
    assert trace.predictions[-1] == pytest.approx(0.8, abs=1e-9)


def test_gd_demo_cli_prints_the_sequences_as_json():
    stdout, summary = run_cli("gd-demo", "--iterations", 5, "--json")
    assert set(summary) == {"hot_cold", "gradient_descent", "divergence", "alpha_fix"}
    assert summary["gradient_descent"]["errors"] == pytest.approx(book_gradient_descent(0.5, 0.5, 0.8, 1.0, 5))
    assert len(summary["hot_cold"]["errors"]) == 1101
    assert "Error:0.095712890625" in stdout


# ------------------------------------------------------------- threeorseven
def test_threeorseven_reports_what_an_independent_computation_gives(data_root, tmp_path):
    require_dataset(data_root, "mnist")
    stdout, summary = run_cli("threeorseven", "--data", data_root, "--plot", tmp_path, "--json")
    assert {"accuracy_bias0", "accuracy_midpoint"} <= set(summary)

    from hdl_native.data import load_dataset
    train, test = load_dataset("mnist", "train", data_root), load_dataset("mnist", "test", data_root)
    x = train.images.reshape(-1, 784) / 255.0
    weights = x[train.labels == 7].mean(axis=0) - x[train.labels == 3].mean(axis=0)
    midpoint = ((x[train.labels == 3] @ weights).mean() + (x[train.labels == 7] @ weights).mean()) / 2
    keep = np.isin(test.labels, [3, 7])
    test_scores, is_seven = (test.images[keep].reshape(-1, 784) / 255.0) @ weights, test.labels[keep] == 7
    for key, bias in (("accuracy_bias0", 0.0), ("accuracy_midpoint", midpoint)):
        expected = 100.0 * np.mean((test_scores > bias) == is_seven)
        assert summary[key] == pytest.approx(expected, abs=0.06)  # at most one image of 2038 may differ
        assert 80.0 < summary[key] < 100.0
    assert summary["midpoint"] == pytest.approx(midpoint, rel=1e-4)

    for name in ("average-3.png", "average-7.png", "difference.png", "scores.png", "misclassified.png"):
        with Image.open(tmp_path / name) as picture:
            picture.verify()
    with Image.open(tmp_path / "difference.png") as picture:
        assert picture.size == (252, 252)


def test_threeorseven_refuses_a_dataset_without_3_and_7():
    from hdl_native.data import Dataset
    letters = Dataset(name="letters", split="train", images=np.zeros((2, 28, 28), np.uint8),
                      labels=np.array([0, 1]), classes=list("abcdefghijklmnopqrstuvwxyz"),
                      images_path=Path("i"), labels_path=Path("l"))
    with pytest.raises(HDLError, match="not the digits 3 and 7"):
        threeorseven.threes_and_sevens(letters)


# ------------------------------------------------------------------- learn37
@pytest.mark.parametrize("command", ["threeorseven", "learn37"])
def test_a_plot_folder_that_is_a_file_is_refused_before_the_data_is_read(command, tmp_path, capsys, monkeypatch):
    """It was found when the pictures were written, after the learning, as 'cannot write ...: File exists'."""
    import hdl_native.data
    from hdl_native.cli import main

    monkeypatch.setattr(hdl_native.data, "load_dataset", lambda *_, **__: pytest.fail("read the data first"))
    (tmp_path / "a-file").write_text("")
    assert main([command, "--plot", str(tmp_path / "a-file")]) == 2
    assert f"--plot {tmp_path / 'a-file'} is a file, not a folder" in capsys.readouterr().err


def test_margin_update_is_the_tutorials_rule():
    """A violated margin moves weights by +-0.01 * pixel and bias by +-0.01; a met margin changes nothing."""
    network = learn37.MarginScorer(np.random.default_rng(0))
    image = np.random.default_rng(1).random(784).astype(np.float32)
    before, bias_before = network.weights.numpy()[:, 0], float(network.bias.value[0])
    score = float(network.score(image[None, :])[0])
    assert abs(score) < learn37.MARGIN  # small random weights: both margins are violated
    assert network.learn(image, is_seven=True)
    assert network.weights.numpy()[:, 0] == pytest.approx(before + 0.01 * image, abs=1e-6)
    assert float(network.bias.value[0]) == pytest.approx(bias_before + 0.01, abs=1e-7)

    network.weights.data[:, 0] = image  # now the 7 scores |image|^2 >> 2: margin met
    snapshot = network.weights.numpy()
    assert not network.learn(image, is_seven=True)
    assert np.array_equal(network.weights.numpy(), snapshot)
    assert network.learn(image, is_seven=False)  # the same image as a 3 violates its margin
    assert network.weights.numpy()[:, 0] == pytest.approx(image - 0.01 * image, abs=1e-6)


def test_learn37_stops_once_validation_exceeds_98(data_root):
    require_dataset(data_root, "mnist")
    from hdl_native.data import load_dataset
    train, test = load_dataset("mnist", "train", data_root), load_dataset("mnist", "test", data_root)
    result = learn37.run(train, test, seed=0, progress=False)
    seen, validation = result.history[-1]
    assert seen == result.images_seen
    if result.reached_target:
        assert validation > learn37.TARGET_ACCURACY and seen % learn37.VALIDATE_EVERY == 0
        assert all(v <= learn37.TARGET_ACCURACY for _, v in result.history[:-1])
    assert 85.0 < result.accuracy <= 100.0
    assert len(result.test_scores3) + len(result.test_scores7) == int(np.isin(test.labels, [3, 7]).sum())


def test_learn37_cli_with_a_cap_writes_weights_png_and_gif(data_root, tmp_path):
    require_dataset(data_root, "mnist")
    _, summary = run_cli("learn37", "--data", data_root, "--max-images", 40, "--animate",
                         "--plot", tmp_path, "--json")
    assert {"accuracy", "images_seen"} <= set(summary)
    assert 0 < summary["images_seen"] <= 40
    assert 50.0 < summary["accuracy"] <= 100.0
    with Image.open(tmp_path / "learn37-weights.png") as picture:
        picture.verify()
    with Image.open(tmp_path / "learn37-weights.gif") as animation:
        assert animation.n_frames == summary["validations"] >= 2


def test_learn37_draws_its_bar_only_where_stderr_is_a_terminal(data_root, tmp_path, capsys, monkeypatch):
    """The bar was drawn on any stderr: a pipe or a log file got tqdm's carriage-return lines."""
    require_dataset(data_root, "mnist")
    from hdl_native import progress
    from hdl_native.cli import main

    command = ["learn37", "--data", str(data_root), "--max-images", "8", "--plot", str(tmp_path), "--json"]
    assert main(command) == 0
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(progress, "stderr_is_terminal", lambda: True)
    assert main(command) == 0
    assert "learn37" in capsys.readouterr().err


def test_learn37_stopped_by_ctrl_c_writes_its_pictures_and_exits_130(data_root, tmp_path, capsys, monkeypatch):
    """Ctrl-C stopped the learning, the pictures were written, and the exit code was 0, as for a finished run."""
    require_dataset(data_root, "mnist")
    from hdl_native.cli import main

    real_learn, shown = learn37.MarginScorer.learn, []

    def learn_then_interrupt(self, image, is_seven):
        shown.append(1)
        if len(shown) > 10:
            raise KeyboardInterrupt
        return real_learn(self, image, is_seven)

    monkeypatch.setattr(learn37.MarginScorer, "learn", learn_then_interrupt)
    assert main(["learn37", "--data", str(data_root), "--plot", str(tmp_path), "--json"]) == 130
    captured = capsys.readouterr()
    summary = json.loads(captured.out.strip().splitlines()[-1])
    assert summary["interrupted"] and summary["images_seen"] == 10
    assert "interrupted after 10 images" in captured.err
    assert (tmp_path / "learn37-weights.png").is_file() and (tmp_path / "learn37-scores.png").is_file()


# ------------------------------------------------------------------ pictures
def test_ascii_image_uses_the_tutorials_thresholds():
    row = np.array([[0.0, 0.2, 0.3, 0.9]])
    assert ascii_image(row) == " .*X"
    assert ascii_image(np.array([[0, 40, 70, 255]], dtype=np.uint8)) == " .*X"
    assert ascii_row([row, row], gap=1) == " .*X  .*X"


def test_signed_maps_are_blue_black_red(tmp_path):
    rgb = to_rgb(np.array([[-2.0, 0.0, 1.0]]), signed=True)
    assert rgb[0, 0].tolist() == [0, 0, 255] and rgb[0, 1].tolist() == [0, 0, 0]
    assert rgb[0, 2, 0] == 128 and rgb[0, 2, 2] == 0
    path = save_image(tmp_path / "sub" / "w.png", np.linspace(-1, 1, 784).reshape(28, 28), signed=True, scale=3)
    with Image.open(path) as picture:
        assert picture.size == (84, 84)
    gif = save_gif(tmp_path / "w.gif", [np.eye(28) * k for k in (1, -1, 2)], captions=["a", "b", "c"])
    with Image.open(gif) as animation:
        assert animation.n_frames == 3
