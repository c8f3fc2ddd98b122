"""int8 inference: the kernels against numpy integer references (exactly), every GEMM path and
thread count against each other (bit for bit), and the int8 LettersCNN against the float one
(within quantisation error)."""
import dataclasses
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import hdl_native
from hdl_native._native import int8 as int8_native
from hdl_native.checkpoint import PRETRAINED_LETTERS, load_model
from hdl_native.int8 import Int8Classifier, kernels
from hdl_native.int8.codes import ActivationCodes, activation_table, gelu, requantization
from hdl_native.int8.layers import Int8Conv, pack_codes, quantize_weight
from hdl_native.models import LettersCNN, LettersVGG, LettersVGGCases, LettersVGGWide
from hdl_native.tensor import Tensor

PATHS = kernels.supported_paths()
VNNI_PATHS = [path for path in PATHS if path != "portable"]


@pytest.fixture
def on_path(request):
    """Run the test on GEMM path request.param, then restore the previous one."""
    previous = kernels.use_path(request.param)
    yield request.param
    kernels.use_path(previous)


def random_layer(rng, in_channels, n_out, kernel_size, pool_size):
    """An Int8Conv with random weight codes (also returned, (O, k*k*C) in patch order) and a shuffled table."""
    codes = rng.integers(-127, 128, (n_out, kernel_size * kernel_size * in_channels))
    multiplier = rng.uniform(0.0, 0.01, n_out).astype(np.float32)
    offset = rng.uniform(-200, 300, n_out).astype(np.float32)
    table = rng.permutation(256).astype(np.uint8)
    return Int8Conv(pack_codes(codes), multiplier, offset, table, in_channels, kernel_size, pool_size), codes


def reference_accumulators(x, codes, kernel_size):
    """int64 (N, Ho, Wo, O) valid conv of codes x (N, H, W, C) with weight codes (O, k*k*C), patch order (kh, kw, c)."""
    windows = np.lib.stride_tricks.sliding_window_view(x.astype(np.int64), (kernel_size, kernel_size), axis=(1, 2))
    patches = windows.transpose(0, 1, 2, 4, 5, 3).reshape(*windows.shape[:3], -1)  # (N, Ho, Wo, k*k*C)
    return patches @ codes.T


def reference_codes(acc, layer):
    """floor(clip(acc * multiplier + offset, 0, 255) + 0.5) in float32, as the kernel computes it."""
    v = acc.astype(np.float32) * layer.multiplier + layer.offset
    return np.floor(np.clip(v, np.float32(0), np.float32(255)) + np.float32(0.5)).astype(np.int64)


def reference_pool(codes, p):
    """Ceil-mode p x p max-pool of (N, H, W, O) codes."""
    n, h, w, o = codes.shape
    hp, wp = -(-h // p), -(-w // p)
    padded = np.full((n, hp * p, wp * p, o), -1, np.int64)
    padded[:, :h, :w] = codes
    return padded.reshape(n, hp, p, wp, p, o).max(axis=(2, 4))


@pytest.mark.parametrize("on_path", PATHS, indirect=True)
@pytest.mark.parametrize("n_rows, depth, n_out", [(1, 4, 16), (7, 12, 32), (13, 288, 64), (16, 576, 128),
                                                  (5, 512, 48), (6, 64, 80), (25, 128, 144),
                                                  # AMX: pairs and a single block of 16 rows and channels, rows
                                                  # and k left over for the VNNI loops, k under one tile
                                                  (77, 300, 80), (48, 64, 32), (40, 1028, 16), (33, 60, 48)])
def test_gemm_equals_the_integer_product(on_path, n_rows, depth, n_out):
    rng = np.random.default_rng(depth + n_out)
    a = rng.integers(0, 256, (n_rows, depth), dtype=np.uint8)
    a[0] = 255  # the extremes: 255 * -127 * depth must not saturate
    codes = rng.integers(-127, 128, (n_out, depth))
    codes[0] = -127
    c = np.empty((n_rows, n_out), np.int32)
    int8_native.gemm_u8s8(a, pack_codes(codes), c)
    np.testing.assert_array_equal(c, a.astype(np.int64) @ codes.T)


@pytest.mark.parametrize("on_path", PATHS, indirect=True)
@pytest.mark.parametrize("shape, n_out, kernel_size, pool_size", [
    ((3, 28, 28, 1), 32, 3, 2),   # c1
    ((2, 13, 13, 32), 64, 3, 2),  # c2: 11 x 11 pooled in ceil mode to 6 x 6
    ((2, 6, 6, 64), 128, 3, 2),   # c3
    ((4, 2, 2, 128), 64, 2, 1),   # fc1 as a 2x2 conv
    ((3, 1, 1, 64), 26, 1, 1),    # fc3's width, not a multiple of 16
    ((2, 9, 7, 3), 20, 3, 3),     # odd sizes, pool 3
    ((2, 5, 9, 4), 48, 2, 2),     # k*C a multiple of 4 (AVX2 reads the patches in place), odd width
    ((2, 7, 10, 1), 16, 3, 2),    # 1 channel, its 3x3 kernel read in place as 3x4 on AVX2
])
def test_conv_layer_equals_the_numpy_reference(on_path, shape, n_out, kernel_size, pool_size):
    rng = np.random.default_rng(n_out)
    x = rng.integers(0, 256, shape, dtype=np.uint8)
    layer, codes = random_layer(rng, shape[3], n_out, kernel_size, pool_size)
    acc = reference_accumulators(x, codes, kernel_size)
    expected = layer.table[reference_pool(reference_codes(acc, layer), pool_size)]
    np.testing.assert_array_equal(kernels.conv2d(x, layer, 2), expected)
    dequantized = acc.astype(np.float32) * layer.multiplier + layer.offset
    if pool_size == 1:
        np.testing.assert_array_equal(kernels.conv2d_dequantize(x, layer, 2), dequantized)


@pytest.mark.parametrize("on_path", PATHS, indirect=True)
def test_a_layer_whose_int32_sums_could_wrap_is_refused(on_path):
    """255 * 127 = 32,385 per product: 66,311 of them fit an int32, one more can wrap to a negative sum
    (no path saturates), so such a layer is refused; the largest that fits is summed exactly."""
    depth = (2 ** 31 - 1) // (255 * 127)
    x = np.full((1, 1, 1, depth + 1), 255, np.uint8)
    table = np.arange(256, dtype=np.uint8)
    with pytest.raises(ValueError, match="channel 0's int32 sums could reach 2,147,514,120 and overflow"):
        Int8Conv(pack_codes(np.full((16, depth + 1), 127)), np.ones(16, np.float32), np.zeros(16, np.float32),
                 table, depth + 1, 1)
    codes = np.full((16, depth), -127)
    layer = Int8Conv(pack_codes(codes), np.ones(16, np.float32), np.zeros(16, np.float32), table, depth, 1)
    expected = (x[..., :depth].astype(np.int64) @ codes.T).astype(np.float32)
    np.testing.assert_array_equal(kernels.conv2d_dequantize(x[..., :depth], layer, 1), expected)


@pytest.mark.parametrize("name", ["multiplier", "offset"])
def test_a_layer_with_a_non_finite_requantisation_is_refused(name):
    """A NaN in acc * multiplier + offset survives the clip and, converted to int32, indexed the table 2^31
    bytes away on the portable path (a crash); inf * an accumulator of 0 is NaN too."""
    layer, _ = random_layer(np.random.default_rng(6), 1, 16, 3, 2)
    for bad in (np.nan, np.inf):
        values = getattr(layer, name).copy()
        values[3] = bad
        with pytest.raises(ValueError, match=f"{name} holds 1 non-finite values"):
            dataclasses.replace(layer, **{name: values})


def test_quantize_matches_the_codes_of_the_grid():
    grid = ActivationCodes.spanning(-0.7, 3.3)
    x = np.random.default_rng(0).normal(1.0, 2.0, (5, 300)).astype(np.float32)
    x[0, :3] = [-50, 50, np.float32(-0.7)]
    inverse_scale, zero_point = np.float32(1 / grid.scale), np.float32(grid.zero_point)
    expected = np.floor(np.clip(x * inverse_scale + zero_point, np.float32(0), np.float32(255)) + np.float32(0.5))
    codes = kernels.quantize(x, inverse_scale, zero_point, 2)
    np.testing.assert_array_equal(codes, expected.astype(np.uint8))
    assert codes[0, 0] == 0 and codes[0, 1] == 255 and codes[0, 2] == 0


def test_quantised_weights_are_within_half_a_step():
    weight = np.random.default_rng(1).normal(0, 0.1, (6, 3, 3, 3))
    weight[2] = 0  # an all-zero channel stays zero, without dividing by zero
    packed, codes, scales = quantize_weight(weight)
    rows = weight.transpose(0, 2, 3, 1).reshape(6, -1)
    assert np.abs(codes).max() == 127 and packed.shape == (7, 16, 4)
    assert np.all(np.abs(rows - scales[:, None] * codes) <= scales[:, None] / 2 + 1e-12)
    assert not codes[2].any()


def test_requantisation_gives_the_codes_of_the_real_outputs():
    rng = np.random.default_rng(2)
    grid_in, grid_out = ActivationCodes.spanning(-0.4, 2.8), ActivationCodes.spanning(-3.0, 5.0)
    q_in = rng.integers(0, 256, (10, 40))
    codes, scales, bias = rng.integers(-127, 128, (8, 40)), rng.uniform(1e-3, 1e-2, 8), rng.normal(0, 0.3, 8)
    real = (grid_in.scale * (q_in - grid_in.zero_point)) @ (scales[:, None] * codes).T + bias
    multiplier, offset = requantization(grid_in, codes, scales, bias, grid_out)
    from_acc = (q_in @ codes.T) * multiplier.astype(np.float64) + offset
    np.testing.assert_allclose(from_acc, real / grid_out.scale + grid_out.zero_point, atol=1e-3)
    table = activation_table(gelu, grid_out, grid_in)
    assert table[255] == grid_in.codes_of(gelu(5.0)) and table[0] == grid_in.codes_of(gelu(-3.0))


def calibrated(model, images):
    return Int8Classifier.from_float(model, images)


def random_images(n, seed=0):
    """Stand-ins for letters: sparse bright strokes on black, normalised like the training data."""
    rng = np.random.default_rng(seed)
    pixels = np.where(rng.random((n, 1, 28, 28)) < 0.2, rng.integers(100, 256, (n, 1, 28, 28)), 0)
    return ((pixels / 255 - 0.172575) / 0.25).astype(np.float32)


@pytest.fixture(scope="module", params=[LettersCNN, LettersVGG, LettersVGGWide, LettersVGGCases],
                ids=["letters-cnn", "letters-vgg", "letters-vgg-wide", "letters-vgg-cases"])
def random_network(request):
    model = request.param(seed=3)
    return model, calibrated(model, random_images(128, seed=1))


@pytest.mark.skipif(not VNNI_PATHS, reason="this CPU has no VNNI: only the portable path runs")
@pytest.mark.parametrize("on_path", VNNI_PATHS, indirect=True)
def test_vnni_paths_give_the_portable_logits_bit_for_bit(random_network, on_path):
    _, network = random_network
    images = random_images(37, seed=4)
    vnni = network.logits(images, 2)
    kernels.use_path("portable")
    np.testing.assert_array_equal(network.logits(images, 2), vnni)


def test_one_and_two_threads_give_the_same_logits(random_network):
    _, network = random_network
    images = random_images(33, seed=5)
    np.testing.assert_array_equal(network.logits(images, 1), network.logits(images, 2))
    np.testing.assert_array_equal(network.logits(images[:1], 2), network.logits(images, 1)[:1])


def test_the_fused_network_equals_its_layers_one_by_one(random_network):
    _, network = random_network
    images = random_images(9, seed=7)
    grid = network.input_codes
    codes = kernels.quantize(images.reshape(9, -1), np.float32(1 / grid.scale), np.float32(grid.zero_point), 2)
    codes = codes.reshape(9, 28, 28, 1)
    for layer in network.layers[:-1]:
        codes = kernels.conv2d(codes, layer, 2)
    expected = kernels.conv2d_dequantize(codes, network.layers[-1], 2).reshape(9, -1)
    np.testing.assert_array_equal(network.logits(images, 2), expected)
    columns = len(network.output_groups or range(network.n_classes))  # one per class, or per class and capital
    assert network.logits(images[:0]).shape == (0, columns) and network(images[:0]).shape == (0, network.n_classes)


def test_int8_logits_follow_the_float_ones_on_a_random_network(random_network):
    model, network = random_network
    images = random_images(64, seed=6)
    expected = np.asarray(model.logits(Tensor(images)).value)
    error = network.logits(images, 2) - expected
    assert np.sqrt(np.mean(error ** 2)) <= 0.02 * expected.std()
    log_p = network(images)
    np.testing.assert_allclose(np.exp(log_p).sum(axis=1), 1.0, rtol=1e-5)


def test_int8_reads_real_letters_as_the_float_network_does(data_root):
    from hdl_native.data import load_dataset
    from hdl_native.ocr.crops import normalize

    model, meta = load_model(PRETRAINED_LETTERS)
    mean, std = meta["normalization"]["mean"], meta["normalization"]["std"]
    train, test = load_dataset("letters", "train", data_root), load_dataset("letters", "test", data_root)
    chosen = np.random.default_rng(0).choice(len(train.labels), 512, replace=False)
    network = calibrated(model, normalize(train.images[chosen], mean, std))
    images = normalize(test.images, mean, std)
    expected, logits = np.asarray(model.logits(Tensor(images)).value), network.logits(images)
    agreement = np.mean(expected.argmax(1) == logits.argmax(1))
    print(f"\nint8 vs float on {len(images)} test letters: argmax agreement {agreement:.2%}, "
          f"accuracy {np.mean(logits.argmax(1) == test.labels):.2%} "
          f"vs {np.mean(expected.argmax(1) == test.labels):.2%}")
    assert agreement >= 0.99
    assert np.sqrt(np.mean((logits - expected) ** 2)) <= 0.05 * expected.std()


def test_the_environment_variable_forces_the_portable_path():
    code = "from hdl_native.int8 import kernels; print(kernels.current_path())"
    env = dict(os.environ, HDL_NATIVE_INT8_PATH="portable")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120,
                            cwd=os.path.dirname(os.path.dirname(os.path.abspath(hdl_native.__file__))))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "portable"


def test_bad_paths_and_inputs_are_refused(random_network):
    _, network = random_network
    with pytest.raises(ValueError, match="unknown int8 path"):
        kernels.use_path("sse9")
    with pytest.raises(ValueError, match=r"\(N, 1, 28, 28\)"):
        network.logits(np.zeros((2, 28, 28), np.float32))
    with pytest.raises(ValueError, match="C=1"):
        kernels.conv2d(np.zeros((1, 28, 28, 2), np.uint8), network.layers[0], 1)
    images = np.zeros((1, 28, 28, 1), np.float32)
    with pytest.raises(ValueError, match="layer 0 reads 32 channels"):
        kernels.network(images, network.input_codes, network.layers[1:], 1)
    with pytest.raises(ValueError, match="1 x 1"):
        kernels.network(images, network.input_codes, network.layers[:3], 1)
    for n_threads in (0, -1):  # a team of the default size would write rows past a scratch of no rows
        with pytest.raises(ValueError, match=f"n_threads must be >= 1, got {n_threads}"):
            kernels.conv2d(np.zeros((1, 28, 28, 1), np.uint8), network.layers[0], n_threads)
    with pytest.raises(ValueError, match="n_threads must be >= 1, got -1"):
        network.logits(np.zeros((2, 1, 28, 28), np.float32), n_threads=-1)


def run_command(*args):
    """Run from the installed package's parent, so `-m hdl_native` is the installed one (with its kernels),
    never a bare checkout in the working directory."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(hdl_native.__file__)))
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=600, cwd=root)


@pytest.mark.parametrize("dtype, model", [("float32", "letters-cnn"), ("int8", "letters-cnn"),
                                          ("int8", "letters-vgg")])
def test_bench_times_inference(dtype, model):
    result = run_command("-m", "hdl_native", "bench", "--inference", "--dtype", dtype, "--model", model,
                         "--batch-size", "3", "--threads", "1", "--steps", "2", "--warmup", "1", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["mode"] == "inference" and summary["dtype"] == dtype and summary["batch_size"] == 3
    assert summary["model"] == model
    assert summary["images_per_s"] > 0 and summary["latency_ms"] > 0
    assert (summary.get("int8_path") in PATHS) == (dtype == "int8")


@pytest.mark.parametrize("args, message", [(["--dtype", "int8"], "--inference"),
                                           (["--inference", "--dtype", "int8", "--model", "digits-mlp"],
                                            "the letter readers (letters-cnn, letters-vgg, letters-vgg-bn, "
                                            "letters-vgg-wide, letters-vgg-cases) only")])
def test_bench_refuses_int8_where_it_does_not_exist(args, message):
    result = run_command("-m", "hdl_native", "bench", "--steps", "1", *args)
    assert result.returncode != 0 and message in result.stderr


def test_torch_twin_times_inference():
    pytest.importorskip("torch")
    script = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks", "torch_bench.py")
    if not os.path.exists(script):
        pytest.skip("benchmarks/torch_bench.py is not beside these tests (a copy of tests/ alone)")
    result = run_command(script, "--inference", "--dtype", "int8-dynamic", "--batch-size", "2",
                         "--steps", "2", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["dtype"] == "int8-dynamic" and summary["latency_ms"] > 0


def test_ocr_pages_read_with_int8_within_a_point_of_float32(data_root, tmp_path):
    from test_ocr_pages import make_pages, read_pages

    from hdl_native.ocr.model import load_letter_classifier

    pages, _ = make_pages(data_root, tmp_path)
    read = {}
    for dtype in ("float32", "int8"):
        _, correct, total = read_pages(pages, load_letter_classifier(None, dtype, data_root))
        read[dtype] = correct / total
    print(f"\nOCR pages read correctly: float32 {read['float32']:.2%}, int8 {read['int8']:.2%} of {total} letters")
    assert abs(read["int8"] - read["float32"]) <= 0.01


def test_ranges_stored_as_numbers_rebuild_the_same_network(random_network):
    from hdl_native.int8.runner import activation_ranges

    model, network = random_network
    ranges = json.loads(json.dumps(activation_ranges(model, random_images(128, seed=1))))  # the fixture's images, as
    # a state file keeps their ranges
    rebuilt = Int8Classifier.from_float(model, ranges=ranges)
    x = np.random.default_rng(1).normal(0.0, 1.0, (20, 1, 28, 28)).astype(np.float32)
    np.testing.assert_array_equal(rebuilt.logits(x, 1), network.logits(x, 1))
    broken = {"input": ranges["input"], "hidden": ranges["hidden"][:-1]}
    with pytest.raises(ValueError, match="5 rows"):
        Int8Classifier.from_float(model, ranges=broken)
    with pytest.raises(ValueError, match="finite lows <= highs"):
        Int8Classifier.from_float(model, ranges={**ranges, "input": [1.0, -1.0]})


def test_the_shipped_reader_reads_in_int8_without_any_data(tmp_path):
    """Its state stores the int8 activation ranges (`hdl-native calibrate` measured them), so a user without the
    training data can read with --dtype int8."""
    from ocr_pages import printed_page

    page, truths = printed_page(tmp_path)
    (tmp_path / "no-data").mkdir()
    read = {}
    for dtype in ("float32", "int8"):
        env = {key: value for key, value in os.environ.items() if key != "HDL_DATA"}
        no_data = ["--data", str(tmp_path / "no-data")] if dtype == "int8" else []  # float32 reads no data
        result = subprocess.run([sys.executable, "-m", "hdl_native", "ocr", str(page), "--dtype", dtype, *no_data,
                                 "--json"], capture_output=True, text=True,
                                timeout=600, env=env,
                                cwd=os.path.dirname(os.path.dirname(os.path.abspath(hdl_native.__file__))))
        assert result.returncode == 0, result.stderr
        read[dtype] = json.loads(result.stdout.strip().splitlines()[-1])["text"]
    assert read["int8"] == read["float32"] and len(read["int8"].replace(" ", "").replace("\n", "")) >= 15


def test_a_state_with_unusable_int8_ranges_is_a_one_line_error(tmp_path):
    from hdl_native.checkpoint import load_checkpoint, save_entries

    entries = {key: value for key, value in load_checkpoint(PRETRAINED_LETTERS).items() if key != "format_version"}
    entries["int8_ranges"] = {"input": [0.0, 1.0], "hidden": [[0.0, 1.0, 0.0, float("nan")]]}
    state = tmp_path / "broken.hdl"
    save_entries(state, entries)
    Image.new("RGB", (200, 100), "white").save(tmp_path / "page.png")
    result = run_command("-m", "hdl_native", "ocr", str(tmp_path / "page.png"), "--model", str(state),
                         "--dtype", "int8")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{state}: its int8_ranges entry is unusable" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_weights_and_scratch_start_on_a_cache_line():
    from hdl_native.int8.aligned import CACHE_LINE, aligned_empty
    from hdl_native.int8.layers import read_only_copy

    for shape, dtype in [((3, 5), np.int16), ((7,), np.uint8), ((2, 3, 4), np.int8), ((5, 4), np.float32)]:
        array = aligned_empty(shape, dtype)
        assert array.shape == shape and array.dtype == dtype and array.flags.c_contiguous
        assert array.ctypes.data % CACHE_LINE == 0
    odd = np.arange(40, dtype=np.int16)[1:37].reshape(4, 9)  # starts 2 bytes into its buffer
    copy = read_only_copy(odd)
    assert copy.ctypes.data % CACHE_LINE == 0 and np.array_equal(copy, odd) and not copy.flags.writeable
    layer, _ = random_layer(np.random.default_rng(4), 32, 64, 3, 2)
    assert layer.weight.ctypes.data % CACHE_LINE == 0 and layer.weight_wide.ctypes.data % CACHE_LINE == 0
    buffer = kernels.scratch(2, 1000)
    assert buffer.shape[1] % CACHE_LINE == 0 and all(buffer[row].ctypes.data % CACHE_LINE == 0 for row in range(2))


def test_a_layer_cannot_hold_a_stale_wide_weight():
    """weight_wide is derived from weight at construction: the layer is frozen, both weights are read-only
    copies (the caller's array stays writable), so the AVX2 and VNNI paths always read the same codes."""
    import dataclasses

    codes = np.random.default_rng(5).integers(-127, 128, (32, 9 * 32))
    packed = pack_codes(codes)
    layer, _ = random_layer(np.random.default_rng(4), 32, 32, 3, 2)
    layer = dataclasses.replace(layer, weight=packed)  # a new layer from the other one, as the docstring says
    assert packed.flags.writeable and not layer.weight.flags.writeable and not layer.weight_wide.flags.writeable
    with pytest.raises(dataclasses.FrozenInstanceError):
        layer.weight = packed
    with pytest.raises(ValueError):
        layer.weight[0, 0, 0] = 1
    assert np.array_equal(layer.weight, packed)
