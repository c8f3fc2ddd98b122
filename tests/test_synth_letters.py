"""Synthetic letters: fonts, the letters-set layout, determinism, IDX output and the CLI."""
import json

import numpy as np
import pytest
from scipy import ndimage

from hdl_native.cli import main
from hdl_native.data.idx import read_idx, read_labelled_images
from hdl_native.errors import HDLError
from hdl_native.synth import (IMAGES_FILE, LABELS_FILE, PREVIEW_FILE, build_glyph_bank, find_fonts, generate_letters,
                              write_letters_idx)
from hdl_native.synth.normalize import ink_boxes, normalize_like_letters


@pytest.fixture(scope="module")
def fonts():
    try:
        return find_fonts()[:2]
    except HDLError as error:
        pytest.skip(f"no usable fonts on this machine: {error}")


@pytest.fixture(scope="module")
def bank(fonts):
    return build_glyph_bank(fonts)


def test_no_fonts_is_a_clear_error(tmp_path):
    (tmp_path / "notes.txt").write_text("not a font")
    (tmp_path / "broken.ttf").write_bytes(b"not a font either")
    with pytest.raises(HDLError, match="no fonts found"):
        find_fonts([tmp_path], system=False)
    with pytest.raises(HDLError, match="does not exist"):
        find_fonts([tmp_path / "missing.ttf"], system=False)
    # a file named itself that is no font was skipped in silence when the machine's own fonts were found
    with pytest.raises(HDLError, match=r"--fonts .*broken.ttf: not a font that draws every letter"):
        find_fonts([tmp_path / "broken.ttf"], system=True)


def test_normalize_centres_the_ink_box_and_fills_24_pixels():
    images = np.zeros((2, 48, 48), dtype=np.float32)
    images[0, 3:23, 30:40] = 1.0  # 20 tall, 10 wide, off centre
    images[1, 10:14, 5:45] = 0.5  # 4 tall, 40 wide, dim
    out = normalize_like_letters(images)
    assert out.dtype == np.uint8 and out.shape == (2, 28, 28)
    assert out.max(axis=(1, 2)).tolist() == [255, 255]
    assert out[:, :2].max() == 0 and out[:, -2:].max() == 0 and out[:, :, :2].max() == 0 and out[:, :, -2:].max() == 0
    top, bottom, left, right = ink_boxes(out.astype(np.float32), threshold=0.5)[0]
    assert (top, bottom) == (2, 25)  # the longer side spans the full 24 pixels
    assert abs((left + right) / 2 - 13.5) <= 0.5 and 10 <= right - left + 1 <= 14  # centred, aspect kept
    top, bottom, left, right = ink_boxes(out.astype(np.float32), threshold=0.5)[1]
    assert (left, right) == (2, 25) and abs((top + bottom) / 2 - 13.5) <= 0.5


def test_generated_letters_look_like_the_letters_set(bank):
    images, labels = generate_letters(300, seed=3, bank=bank)
    assert images.shape == (300, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (300,) and labels.dtype == np.int64
    counts = np.bincount(labels, minlength=26)
    assert counts.min() >= 11 and counts.max() <= 12  # 300 / 26, balanced
    assert (images.max(axis=(1, 2)) == 255).all()
    assert images[:, :2].max() == 0 and images[:, :, -2:].max() == 0
    ink = (images > 127).mean()
    assert 0.03 < ink < 0.35  # strokes, neither empty nor solid blobs


def test_same_seed_same_letters_other_seed_other_letters(bank):
    first, first_labels = generate_letters(600, seed=7, bank=bank)
    again, again_labels = generate_letters(600, seed=7, bank=bank)
    other, _ = generate_letters(600, seed=8, bank=bank)
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(first_labels, again_labels)
    assert np.abs(first.astype(int) - other.astype(int)).mean() > 5


def test_idx_files_round_trip(tmp_path, bank):
    images, labels = generate_letters(40, seed=0, bank=bank)
    images_path, labels_path = write_letters_idx(tmp_path / "out", images, labels)
    assert images_path.name == IMAGES_FILE and labels_path.name == LABELS_FILE
    assert images_path.read_bytes()[:2] == b"\x1f\x8b"
    np.testing.assert_array_equal(read_idx(images_path, 2051), images)
    np.testing.assert_array_equal(read_idx(labels_path, 2049), labels)
    back_images, back_labels = read_labelled_images(tmp_path / "out")
    np.testing.assert_array_equal(back_images, images)
    np.testing.assert_array_equal(back_labels, labels)
    assert not list((tmp_path / "out").glob(".*.tmp"))


def test_cli_writes_files_preview_and_json(tmp_path, capsys, fonts):
    from PIL import Image

    font_args = ["--fonts", *map(str, fonts), "--only-these-fonts"]
    code = main(["synth-letters", "--out", str(tmp_path), "--count", "60", "--seed", "1", "--preview", "--json",
                 *font_args])
    assert code == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["count"] == 60 and summary["fonts"] == len(fonts)
    assert len(read_idx(tmp_path / IMAGES_FILE)) == 60
    with Image.open(tmp_path / PREVIEW_FILE) as preview:
        assert preview.size[0] == 26 * 28 * 2


def test_cli_bad_arguments_are_one_line_errors(tmp_path, capsys):  # --count 0 and such: test_cli_options.py
    assert main(["synth-letters", "--out", str(tmp_path), "--count", "5", "--fonts", str(tmp_path / "nope.ttf")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_an_out_that_cannot_be_written_is_told_before_any_letter_is_drawn(tmp_path, capsys, monkeypatch):
    """--out naming a file (or an unwritable place) was found only after every image had been rendered."""
    import hdl_native.synth

    monkeypatch.setattr(hdl_native.synth, "build_glyph_bank", lambda *_, **__: pytest.fail("drew letters first"))
    in_the_way = tmp_path / "a-file"
    in_the_way.write_text("")
    assert main(["synth-letters", "--out", str(in_the_way / "letters"), "--count", "5"]) == 2
    assert f"cannot write the IDX file {in_the_way / 'letters' / IMAGES_FILE}: {in_the_way} is not a directory" \
        in capsys.readouterr().err


def test_stroke_variants_measure_width_and_refuse_to_erase_hairlines():
    from hdl_native.synth.strokes import OVERSAMPLE, stroke_variants, stroke_width

    fine = np.zeros((2, 48 * OVERSAMPLE, 48 * OVERSAMPLE), dtype=np.float32)
    fine[0, 10:90, 40:52] = 1.0  # one bar 12 fine pixels wide: survives erosion
    fine[1, 10:90, 40:52] = 1.0
    fine[1, 50:52, 52:90] = 1.0  # plus a 2-pixel hairline arm that one erosion would erase
    bar = np.zeros((1, 100, 100), dtype=np.float32)
    bar[0, 10:90, 40:46] = 1.0
    assert stroke_width(bar)[0] == pytest.approx(6, rel=0.1)
    variants, widths, usable = stroke_variants(fine, levels=(-2, -1, 0, 1))
    assert variants.shape == (4, 2, 48, 48)
    # erosion thins, dilation thickens; measured on thresholded canvas pixels, so half-pixel steps may tie
    assert (np.diff(widths[:, 0]) >= 0).all() and widths[3, 0] > widths[0, 0] + 1
    assert widths[2, 0] == pytest.approx(6, rel=0.15)  # 12 fine pixels = 6 canvas pixels
    assert usable[:, 0].all()
    assert not usable[0, 1] and not usable[1, 1] and usable[2:, 1].all()


def test_thinning_keeps_shape_and_pen_variants_have_uniform_growing_width():
    from hdl_native.synth.strokes import pen_variants, thin

    images = np.zeros((2, 40, 40), dtype=bool)
    images[0, 5:35, 15:24] = True  # a 9-pixel-wide bar
    yy, xx = np.mgrid[:40, :40]
    radius = np.hypot(yy - 20, xx - 20)
    images[1] = (radius > 8) & (radius < 15)  # a thick ring
    skeleton = thin(images)
    assert (skeleton <= images).all()
    assert skeleton[0].sum(axis=1)[10:30].max() == 1  # one pixel wide along the bar
    assert skeleton[0].sum() >= 15  # ...and still about as long as the bar
    ring = skeleton[1]
    assert ndimage.label(ring, structure=np.ones((3, 3)))[1] == 1  # still one piece
    assert ndimage.label(~ring)[1] == 2  # and still closed around its hole
    fine = images.astype(np.float32).repeat(2, axis=1).repeat(2, axis=2)  # (2, 80, 80) at OVERSAMPLE = 2
    variants, widths = pen_variants(fine, radii=(1.0, 2.0, 3.0))
    assert variants.shape == (3, 2, 40, 40)
    assert (np.diff(widths, axis=0) > 0).all()  # a wider pen draws wider strokes


def test_letters_already_written_are_replaced_only_with_force(tmp_path, capsys, fonts):
    """A second run replaced the letters without asking, and left the first run's preview beside them."""
    font_args = ["--out", str(tmp_path), "--count", "30", "--fonts", *map(str, fonts), "--only-these-fonts"]
    assert main(["synth-letters", *font_args, "--preview"]) == 0
    first = read_idx(tmp_path / IMAGES_FILE)
    capsys.readouterr()
    assert main(["synth-letters", *font_args, "--seed", "5"]) == 2
    assert capsys.readouterr().err == (f"hdl-native synth-letters: error: --out {tmp_path} already holds "
                                       f"{IMAGES_FILE} and {LABELS_FILE}: pass --force to replace them, or choose "
                                       "another folder\n")
    np.testing.assert_array_equal(read_idx(tmp_path / IMAGES_FILE), first)
    assert main(["synth-letters", *font_args, "--seed", "5", "--force"]) == 0
    assert not np.array_equal(read_idx(tmp_path / IMAGES_FILE), first)
    assert not (tmp_path / PREVIEW_FILE).exists()
