"""Quantised states: bit packing, the two schemes' guarantees, the file format, and the commands that read it."""
import copy
import json

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from hdl_native.checkpoint import encode, load_checkpoint, load_model, save_checkpoint
from hdl_native.cli import main
from hdl_native.data import write_idx
from hdl_native.errors import HDLError
from hdl_native.inspect.evaluation import evaluate_state
from hdl_native.models import DigitsMLP, LettersCNN
from hdl_native.quantize.packing import pack_codes, packed_length, unpack_codes
from hdl_native.quantize.schemes import SCHEMES, equal_population_bins, linear_levels
from hdl_native.quantize.state import quantize_state

LETTERS = [chr(ord("a") + i) for i in range(26)]


# ---------------------------------------------------------------- packing
@pytest.mark.parametrize("bits", [1, 2, 4, 8])
@pytest.mark.parametrize("n_codes", [0, 1, 3, 5, 7, 8, 9, 1001])
def test_packing_round_trips_for_every_width_and_odd_lengths(bits, n_codes):
    codes = np.random.default_rng(n_codes).integers(0, 1 << bits, n_codes).astype(np.uint8)
    packed = pack_codes(codes, bits)
    assert packed.dtype == np.uint8 and packed.size == packed_length(n_codes, bits) == -(-n_codes * bits // 8)
    np.testing.assert_array_equal(unpack_codes(packed, bits, n_codes), codes)


def test_packing_puts_the_first_code_in_the_low_bits():
    np.testing.assert_array_equal(pack_codes([1, 2, 3], 4), [0x21, 0x03])
    np.testing.assert_array_equal(pack_codes([3, 0, 1, 2, 1], 2), [0b10010011, 0b01])


def test_packing_refuses_codes_that_do_not_fit():
    with pytest.raises(ValueError, match=r"\[0, 16\)"):
        pack_codes([16], 4)
    with pytest.raises(ValueError, match="take 2 bytes, got 3"):
        unpack_codes(np.zeros(3, np.uint8), 4, 3)
    with pytest.raises(ValueError, match="3 bits cannot be packed"):
        pack_codes([1], 3)


# ---------------------------------------------------------------- equal-population bins
def check_equal_population(values, bits):
    """The bins hold floor or ceil of N / 2^bits values each, in order of value, each read back as its mean."""
    codes, codebook = equal_population_bins(values, bits)
    n_bins = 1 << bits
    counts = np.bincount(codes, minlength=n_bins)
    assert counts.sum() == values.size
    assert set(counts) <= {values.size // n_bins, -(-values.size // n_bins)}
    for b in range(n_bins - 1):  # bins follow the order of the values: no value of bin b exceeds one of bin b+1
        if counts[b] and counts[b + 1]:
            assert values[codes == b].max() <= values[codes == b + 1].min()
    for b in np.flatnonzero(counts):
        assert codebook[b] == pytest.approx(values[codes == b].mean(), rel=1e-6, abs=1e-7)
    return codes, codebook


@pytest.mark.parametrize("bits", [2, 4, 8])
def test_equal_population_bins_hold_equal_counts(bits):
    check_equal_population(np.random.default_rng(bits).standard_normal(1003).astype(np.float32), bits)


def test_ties_are_cut_by_rank_so_counts_stay_equal():
    """70% of the values are exactly 0 (a pruned layer): they spread over several bins, which then share value 0."""
    values = np.zeros(1000, np.float32)
    values[:300] = np.random.default_rng(1).standard_normal(300)
    codes, codebook = check_equal_population(values, 4)
    only_zeros = [b for b in np.unique(codes) if np.all(values[codes == b] == 0)]
    assert len(only_zeros) >= 10 and np.all(codebook[only_zeros] == 0)  # 700 zeros fill 11.2 bins of 62.5
    _, constant_codebook = check_equal_population(np.full(64, 0.25, np.float32), 2)
    assert np.all(constant_codebook == np.float32(0.25))


def test_fewer_values_than_bins_read_back_exactly_with_a_sorted_codebook():
    values = np.array([0.5, -2.0, 3.0, 0.0, 1.0], np.float32)
    codes, codebook = equal_population_bins(values, 4)
    np.testing.assert_array_equal(codebook[codes], values)
    assert np.all(np.diff(codebook) >= 0) and np.all(np.isfinite(codebook))


# ---------------------------------------------------------------- linear
@pytest.mark.parametrize("bits", [8, 4, 2])
@pytest.mark.parametrize("per_channel", [False, True])
def test_linear_error_is_at_most_half_a_scale_step(bits, per_channel):
    rng = np.random.default_rng(bits)
    weight = (rng.standard_normal((16, 8, 3, 3)) * rng.uniform(0.01, 1, (16, 1, 1, 1))).astype(np.float32)
    scheme = SCHEMES["linear"]
    entry = scheme.quantize(weight, bits, per_channel)
    restored = scheme.dequantize(entry, bits, per_channel)
    top_level = 2 ** (bits - 1) - 1
    rows = np.abs(weight).reshape(16 if per_channel else 1, -1)
    np.testing.assert_allclose(entry["scales"], rows.max(axis=1) / top_level, rtol=1e-6)
    step = np.repeat(entry["scales"], weight.size // entry["scales"].size).reshape(weight.shape)
    assert np.all(np.abs(weight - restored) <= step / 2 * (1 + 1e-5))
    levels, _ = linear_levels(weight, bits, per_channel)
    assert levels.min() >= -top_level and levels.max() <= top_level
    assert np.any(np.abs(levels) == top_level)  # the largest weight uses the top level


def test_per_channel_scales_follow_each_output_channel():
    weight = np.array([[1.0, -0.25], [0.005, 0.02], [0.0, 0.0]], np.float32)  # a Linear's (out, in)
    levels, scales = linear_levels(weight, 8, per_channel=True)
    np.testing.assert_allclose(scales, [1 / 127, 0.02 / 127, 0], rtol=1e-6)
    np.testing.assert_array_equal(levels, [[127, -32], [32, 127], [0, 0]])  # 31.75 rounds to 32
    _, tensor_scale = linear_levels(weight, 8, per_channel=False)
    assert tensor_scale.shape == (1,) and tensor_scale[0] == pytest.approx(1 / 127)
    restored = SCHEMES["linear"].dequantize(SCHEMES["linear"].quantize(weight, 8, True), 8, True)
    assert np.all(restored[2] == 0)  # an all-zero channel has scale 0 and reads back as zeros


def test_linear_8_bit_codes_are_int8_twos_complement():
    weight = np.array([-1.0, -0.5, 0.0, 0.25, 1.0], np.float32)
    entry = SCHEMES["linear"].quantize(weight, 8)
    np.testing.assert_array_equal(entry["codes"].view(np.int8), [-127, -64, 0, 32, 127])


# ---------------------------------------------------------------- state files
def float_state(tmp_path, accuracy=91.5):
    """A LettersCNN state file as a training run leaves it (optimizer and test report included)."""
    path = tmp_path / "float.hdl"
    save_checkpoint(path, LettersCNN(seed=3), classes=LETTERS, dataset="letters",
                    normalization={"mean": 0.172575, "std": 0.25}, test_report={"test_accuracy": accuracy})
    return path


@pytest.mark.parametrize("scheme, per_channel", [("equal-population", False), ("linear", False), ("linear", True)])
@pytest.mark.parametrize("bits", [8, 4, 2])
def test_file_round_trip_gives_the_dequantised_weights_and_float_biases(tmp_path, scheme, bits, per_channel):
    source = float_state(tmp_path)
    original, _ = load_model(source)
    result = quantize_state(source, tmp_path / "q.hdl", scheme, bits, per_channel)
    model, meta = load_model(tmp_path / "q.hdl")
    section = meta["quantized"]
    assert (section["scheme"], section["bits"], section["per_channel"]) == (scheme, bits, per_channel)
    assert section["source"]["test_accuracy"] == 91.5 and section["source"]["file"] == "float.hdl"
    assert meta["classes"] == LETTERS and meta["dataset"] == "letters"
    for name, value in original.state_dict().items():
        restored = model.state_dict()[name]
        if name.endswith("bias"):
            np.testing.assert_array_equal(restored, value)
            assert name not in section["tensors"]
        else:
            entry = SCHEMES[scheme].quantize(value, bits, per_channel)
            expected = SCHEMES[scheme].dequantize(entry, bits, per_channel)
            np.testing.assert_array_equal(restored, expected)
            rows = restored.reshape(len(restored) if per_channel else 1, -1)
            assert restored.dtype == np.float32 and max(len(np.unique(row)) for row in rows) <= 2 ** bits
    assert result.n_bytes == (tmp_path / "q.hdl").stat().st_size
    assert result.n_bytes <= {8: 0.27, 4: 0.14, 2: 0.08}[bits] * result.float_bytes


def test_corrupt_or_future_quantised_files_are_one_line_errors(tmp_path):
    path = tmp_path / "q.hdl"
    quantize_state(float_state(tmp_path), path, "equal-population", 4)
    blob = bytearray(path.read_bytes())
    blob[-700] ^= 0x10  # inside the packed codes
    (tmp_path / "flipped.hdl").write_bytes(bytes(blob))
    state = load_checkpoint(path)  # as stored, but for the weights, which reading dequantised into params
    state.pop("format_version")
    quantised = state["quantized"]["tensors"]
    state["params"] = {name: value for name, value in state["params"].items() if name not in quantised}

    def written(name, change):
        changed = copy.deepcopy(state)
        change(changed["quantized"])
        (tmp_path / name).write_bytes(encode(changed))
        return tmp_path / name

    cases = [
        (tmp_path / "flipped.hdl", "flipped.hdl is corrupt: the checksum of its data does not match"),
        (written("future.hdl", lambda q: q.update(format=2)),
         "future.hdl: quantized section format 2 is not supported"),
        (written("scheme.hdl", lambda q: q.update(scheme="k-means")), "unknown quantisation scheme 'k-means'"),
        (written("bits.hdl", lambda q: q.update(bits=3)), "quantised to 3 bits"),
        (written("short.hdl", lambda q: q["tensors"]["c2.weight"].update(codes=np.zeros(5, np.uint8))),
         "short.hdl: quantised tensor c2.weight is corrupt: its 5 code bytes do not hold 18432 values of 4 bits"),
        (written("nan.hdl", lambda q: q["tensors"]["fc1.weight"]["codebook"].__setitem__(3, np.nan)),
         "fc1.weight is corrupt: its codebook hold NaN or inf"),
        (written("source.hdl", lambda q: q["source"].update(test_accuracy="high")),
         "source.hdl: the quantized section's source must name a file"),
        (written("twice.hdl", lambda q: q["tensors"].update({"c1.bias": q["tensors"]["c1.weight"]})),
         "c1.bias is stored both as float32 and quantised"),
    ]
    for bad, message in cases:
        with pytest.raises(HDLError) as error:
            load_model(bad)
        assert message in str(error.value) and "\n" not in str(error.value)


# ---------------------------------------------------------------- command line
def tiny_mnist_test_split(root, n_images=40):
    rng = np.random.default_rng(0)
    (root / "mnist").mkdir(parents=True)
    images = (rng.random((n_images, 28, 28)) ** 3 * 255).astype(np.uint8)
    write_idx(root / "mnist" / "t10k-images-idx3-ubyte.gz", images)
    write_idx(root / "mnist" / "t10k-labels-idx1-ubyte.gz", rng.integers(0, 10, n_images).astype(np.uint8))


def test_evaluate_reads_a_quantised_state_as_its_dequantised_float_model(tmp_path, capsys):
    tiny_mnist_test_split(tmp_path / "data")
    save_checkpoint(tmp_path / "digits.hdl", DigitsMLP(seed=2), dataset="mnist", classes=[str(d) for d in range(10)])
    assert main(["quantize", str(tmp_path / "digits.hdl"), "--bits", "2", "--scheme", "linear",
                 "--out", str(tmp_path / "q2.hdl"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["bits"] == 2 and summary["bytes"] == (tmp_path / "q2.hdl").stat().st_size
    assert main(["evaluate", str(tmp_path / "q2.hdl"), "--data", str(tmp_path / "data"), "--json"]) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    assert printed[3] == ("  quantised: linear, 2 bits per tensor, from digits.hdl (its test accuracy not recorded: "
                          "the source was not tested at the end of a training run)")
    reported = json.loads(printed[-1])
    assert reported["quantization"]["bits"] == 2 and reported["quantization"]["source"]["file"] == "digits.hdl"
    dequantised, _ = load_model(tmp_path / "q2.hdl")
    save_checkpoint(tmp_path / "dequantised.hdl", dequantised, dataset="mnist")
    expected = evaluate_state(tmp_path / "dequantised.hdl", tmp_path / "data")
    assert reported["test_accuracy"] == expected.test_accuracy and reported["loss"] == pytest.approx(expected.loss)
    original = evaluate_state(tmp_path / "digits.hdl", tmp_path / "data")
    assert reported["loss"] != original.loss  # 2 bits really changed the weights the evaluation used


def test_a_trained_state_file_records_its_test_and_a_quantised_copy_names_it(tiny_data, tmp_path, capsys):
    state = tmp_path / "t.hdl"
    assert main(["letters", "--data", str(tiny_data), "--quiet", "--no-db", "--threads", "1", "--adam",
                 "--max-batches", "4", "--out", str(state), "--json"]) == 0
    trained = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert load_checkpoint(state)["test_report"]["test_accuracy"] == trained["test_accuracy"]
    assert main(["quantize", str(state), "--bits", "8", "--out", str(tmp_path / "q.hdl")]) == 0
    assert main(["evaluate", str(tmp_path / "q.hdl"), "--data", str(tiny_data), "--threads", "1"]) == 0
    assert f"from t.hdl (test accuracy {trained['test_accuracy']:.2f}% as its training measured it)" in \
        capsys.readouterr().out
    # a resumed run's saves drop the report of weights it has changed, and its own test records a new one
    assert main(["letters", str(state), "--data", str(tiny_data), "--quiet", "--no-db", "--threads", "1", "--adam",
                 "--max-batches", "8", "--json"]) == 0
    resumed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert load_checkpoint(state)["test_report"]["batches"] == resumed["batches"] == 8


def test_ocr_reads_with_a_quantised_model(tmp_path, capsys):
    page = Image.new("RGB", (700, 200), (235, 225, 205))
    ImageDraw.Draw(page).text((50, 50), "quant", font=ImageFont.load_default(size=60), fill=(30, 30, 80))
    page.save(tmp_path / "page.png")
    quantize_state(float_state(tmp_path), tmp_path / "q8.hdl", "linear", 8, per_channel=True)
    assert main(["ocr", str(tmp_path / "page.png"), "--model", str(tmp_path / "q8.hdl"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["model"] == str(tmp_path / "q8.hdl") and len(summary["lines"][0]["boxes"]) == 5


@pytest.mark.parametrize("options, message", [
    (["--bits", "3"], "argument --bits: must be 8, 4 or 2, got 3"),
    (["--bits", "16"], "argument --bits: must be 8, 4 or 2, got 16"),
    (["--bits", "eight"], "argument --bits: invalid int value: 'eight'; must be 8, 4 or 2"),
    (["--bits", "8", "--scheme", "k-means"], "argument --scheme: invalid choice: 'k-means'"),
    (["--bits", "8", "--per-channel"], "--per-channel applies to --scheme linear"),
])
def test_bad_options_are_one_line_errors(tmp_path, capsys, options, message):
    source = float_state(tmp_path)
    assert exit_code(["quantize", str(source), *options, "--out", str(tmp_path / "q.hdl")]) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1
    assert not (tmp_path / "q.hdl").exists()


def test_quantising_a_quantised_state_is_refused(tmp_path, capsys):
    quantize_state(float_state(tmp_path), tmp_path / "q.hdl", "linear", 8)
    assert main(["quantize", str(tmp_path / "q.hdl"), "--bits", "4", "--out", str(tmp_path / "qq.hdl")]) == 2
    assert "q.hdl is already quantised" in capsys.readouterr().err


def exit_code(argv):
    """main(argv)'s exit code, whether it returns it or argparse exits with it."""
    try:
        return main(argv)
    except SystemExit as exit:
        return exit.code


def test_an_existing_qstate_is_replaced_only_with_force(tmp_path, capsys):
    source = float_state(tmp_path)
    out = tmp_path / "q.hdl"
    out.write_bytes(b"the user's own file")
    assert exit_code(["quantize", str(source), "--bits", "8", "--out", str(out)]) == 2
    assert "already exists; pass --force" in capsys.readouterr().err and out.read_bytes() == b"the user's own file"
    assert exit_code(["quantize", str(source), "--bits", "8", "--out", str(source)]) == 2
    assert "is STATE itself" in capsys.readouterr().err
    assert exit_code(["quantize", str(source), "--bits", "8", "--out", str(out), "--force"]) == 0
    assert out.read_bytes() != b"the user's own file"
