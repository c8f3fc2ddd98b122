"""Batch normalisation as a layer: running statistics, eval mode, saving them, folding them into the
convolution, and a letter reader trained with it end to end (the op's gradients: test_ops.py)."""
import numpy as np
import pytest

from hdl_native.checkpoint import load_checkpoint, load_model, save_checkpoint, save_entries
from hdl_native.cli import main
from hdl_native.errors import HDLError
from hdl_native.models import LettersVGG, LettersVGGBN
from hdl_native.nn import BatchNorm2d
from hdl_native.tensor import Tensor
from hdl_native.weights import named_weights


def batches(seed, n_batches, size=16, channels=3):
    rng = np.random.default_rng(seed)
    return [(2.0 + 3.0 * rng.standard_normal((size, channels, 5, 4))).astype(np.float32) for _ in range(n_batches)]


def run(module, batch):
    x = Tensor.placeholder((None,) + batch.shape[1:])
    out = module(x)
    x.assign(batch)
    return out.value.copy()


def test_running_statistics_follow_the_training_batches_and_stay_still_in_eval_mode():
    norm = BatchNorm2d(3)
    x = Tensor.placeholder((None, 3, 5, 4))
    out = norm(x)
    data = batches(0, 60)
    for batch in data:
        x.assign(batch)
        out.value
    pooled = np.concatenate(data)
    np.testing.assert_allclose(norm.mean.value, pooled.mean(axis=(0, 2, 3)), atol=0.3)
    np.testing.assert_allclose(norm.var.value, pooled.var(axis=(0, 2, 3)), rtol=0.2)
    mean, var = norm.mean.value.copy(), norm.var.value.copy()
    norm.eval()
    x.assign(batches(1, 1)[0] + 100.0)
    out.value
    np.testing.assert_array_equal(norm.mean.value, mean)
    np.testing.assert_array_equal(norm.var.value, var)


def test_in_eval_mode_an_image_reads_the_same_alone_as_in_a_batch():
    norm = BatchNorm2d(3)
    norm.set_statistics([1.0, 2.0, 3.0], [4.0, 0.25, 1.0])
    norm.eval()
    batch = batches(2, 1)[0]
    together = run(norm, batch)
    alone = run(norm, batch[:1])
    np.testing.assert_allclose(alone, together[:1], rtol=1e-6)
    expected = (batch[0, 1] - 2.0) / np.sqrt(0.25 + 1e-5)
    np.testing.assert_allclose(alone[0, 1], expected, rtol=1e-5)
    norm.train()
    assert abs(float(run(norm, batch[:4]).mean())) < 1e-5  # training: standardised by the batch itself


def test_set_statistics_stores_copies_that_training_moves_not_the_callers_arrays():
    mean = np.zeros(3, dtype=np.float32)
    var = np.ones(3, dtype=np.float32)
    var.flags.writeable = False  # e.g. a view into a loaded file
    norm = BatchNorm2d(3)
    norm.set_statistics(mean, var)
    run(norm, batches(3, 1)[0])  # a training batch moves the running statistics
    np.testing.assert_array_equal(mean, np.zeros(3))  # the caller's array is left alone
    assert not np.allclose(norm.mean.value, 0.0) and not np.allclose(norm.var.value, 1.0)


def trained_bn_reader(steps=5):
    """A LettersVGGBN after a few forward passes in training mode (its running statistics moved) and
    changed gammas and betas, so folding has something to fold."""
    model = LettersVGGBN(n_classes=5, seed=3)
    rng = np.random.default_rng(4)
    x = Tensor.placeholder((None, 1, 28, 28))
    out = model(x)
    for _ in range(steps):
        x.assign(rng.standard_normal((8, 1, 28, 28)).astype(np.float32))
        out.value
    for _, norm in model.norms():
        norm.gamma.data[...] = rng.uniform(0.5, 1.5, norm.gamma.shape)
        norm.beta.data[...] = rng.uniform(-0.5, 0.5, norm.beta.shape)
    return model.eval()


def test_weight_decay_and_pruning_leave_gamma_and_beta_alone():
    names = [name for name, _ in named_weights(LettersVGGBN(n_classes=5))]
    assert names == ["c1.weight", "c2.weight", "c3.weight", "c4.weight", "fc1.weight", "fc2.weight"]


def test_a_saved_state_keeps_the_running_statistics(tmp_path):
    model = trained_bn_reader()
    images = np.random.default_rng(5).standard_normal((3, 1, 28, 28)).astype(np.float32)
    save_checkpoint(tmp_path / "bn.hdl", model)
    loaded, meta = load_model(tmp_path / "bn.hdl")
    assert meta["architecture"] == "letters-vgg-bn"
    assert not np.allclose(loaded.n1.mean.value, 0.0)
    np.testing.assert_array_equal(loaded.n3.var.value, model.n3.var.value)
    np.testing.assert_array_equal(run(loaded, images), run(model, images))


def test_a_state_without_the_statistics_is_refused_naming_them(tmp_path):
    model = trained_bn_reader(steps=1)
    save_checkpoint(tmp_path / "bn.hdl", model)
    state = load_checkpoint(tmp_path / "bn.hdl")
    del state["params"]["n2.var"]
    save_entries(tmp_path / "cut.hdl", {k: v for k, v in state.items() if k != "format_version"})
    with pytest.raises(HDLError, match=r"missing \['n2.var'\]"):
        load_model(tmp_path / "cut.hdl")


def test_folding_gives_a_plain_vgg_that_reads_the_same():
    model = trained_bn_reader()
    plain = model.folded()
    assert type(plain) is LettersVGG
    images = np.random.default_rng(6).standard_normal((4, 1, 28, 28)).astype(np.float32)
    reference = run(model, images)
    np.testing.assert_allclose(run(plain, images), reference, atol=2e-5)
    assert np.abs(reference).max() > 0.1


def test_letters_trains_a_bn_reader_and_exports_it_folded(tiny_data, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["letters", "--model", "letters-vgg-bn", "--data", str(tiny_data), "--quiet", "--no-db",
                 "--threads", "1", "--max-batches", "30", "--adam", "--out", "bn.hdl", "--export", "e.hdl"]) == 0
    capsys.readouterr()
    trained, _ = load_model(tmp_path / "bn.hdl")
    exported, meta = load_model(tmp_path / "e.hdl")
    assert meta["architecture"] == "letters-vgg" and meta["settings"]["architecture"] == "letters-vgg-bn"
    images = np.random.default_rng(7).integers(0, 256, (5, 1, 28, 28)).astype(np.float32) / 255.0
    np.testing.assert_allclose(run(exported, images), run(trained, images), atol=5e-5)
    assert main(["evaluate", str(tmp_path / "e.hdl"), "--data", str(tiny_data), "--threads", "1"]) == 0
    assert "accuracy" in capsys.readouterr().out


def test_int8_reads_a_bn_reader_as_the_vgg_it_folds_into():
    from hdl_native.int8 import Int8Classifier

    model = trained_bn_reader()
    images = np.random.default_rng(8).standard_normal((6, 1, 28, 28)).astype(np.float32)
    as_trained = Int8Classifier.from_float(model, calibration_images=images)(images, n_threads=1)
    as_folded = Int8Classifier.from_float(model.folded(), calibration_images=images)(images, n_threads=1)
    np.testing.assert_array_equal(as_trained, as_folded)
    assert (as_trained.argmax(axis=1) == run(model, images).argmax(axis=1)).mean() >= 5 / 6


def test_quantize_names_what_stays_float32_in_a_bn_reader(tmp_path, capsys):
    save_checkpoint(tmp_path / "bn.hdl", trained_bn_reader(steps=1))
    assert main(["quantize", str(tmp_path / "bn.hdl"), "--bits", "8", "--out", str(tmp_path / "q.hdl")]) == 0
    printed = capsys.readouterr().out
    assert "  biases, gamma, beta, mean, var stay float32 (" in printed
    save_checkpoint(tmp_path / "plain.hdl", LettersVGG())
    assert main(["quantize", str(tmp_path / "plain.hdl"), "--bits", "8", "--out", str(tmp_path / "p.hdl")]) == 0
    assert "  biases stay float32 (" in capsys.readouterr().out
