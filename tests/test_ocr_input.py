"""OCR input handling: formats, modes, EXIF orientation, downscaling, enlarging and every kind of bad file.

The format, mode and orientation tests load their small pictures with min_side=0 (as they are, not enlarged)."""
import struct
import zlib
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image, ImageOps

from hdl_native.errors import HDLError
from hdl_native.ocr.image_io import load_photo


def handwriting_like(width=400, height=300):
    """Light paper with a few dark strokes: (H, W, 3) uint8."""
    page = np.full((height, width, 3), 225, np.uint8)
    page[100:160, 60:66] = 30
    page[100:106, 60:110] = 30
    page[120:180, 200:205] = 30
    return page


def test_jpeg_and_png_load_as_grey_in_unit_range(tmp_path):
    for suffix in ("jpg", "png"):
        path = tmp_path / f"page.{suffix}"
        Image.fromarray(handwriting_like()).save(path)
        photo = load_photo(path, min_side=0)
        assert photo.grey.shape == (300, 400) and photo.rgb.shape == (300, 400, 3)
        assert photo.grey.dtype == np.float32
        assert 0.0 <= photo.grey.min() < 0.3 and 0.8 < photo.grey.max() <= 1.0
        assert photo.scale == pytest.approx(1.0)


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "I;16", "LA", "CMYK", "1"])
def test_any_mode_becomes_rgb_and_grey(tmp_path, mode):
    picture = Image.fromarray(handwriting_like())
    if mode == "I;16":
        values = np.asarray(picture.convert("L"), np.uint16) * 257
        picture = Image.fromarray(values)
        assert picture.mode.startswith("I;16")
    elif mode == "1":
        picture = picture.convert("L").convert("1", dither=Image.Dither.NONE)
    else:
        picture = picture.convert(mode)
    path = tmp_path / ("page.tif" if mode == "CMYK" else "page.png")
    picture.save(path)
    photo = load_photo(path, min_side=0)
    assert photo.rgb.shape == (300, 400, 3)
    assert photo.grey[130, 62] < 0.3 < 0.7 < photo.grey[10, 10]  # the stroke is dark, the paper light


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_float_tiff_with_non_finite_pixels_is_stretched_over_the_finite_ones(tmp_path, bad):
    """One NaN or inf pixel made the whole picture blank (a 'found no ink' error) after numpy warnings on stderr."""
    values = np.asarray(Image.fromarray(handwriting_like()).convert("L"), np.float32) / 255
    values[0, 0] = bad
    Image.fromarray(values).save(tmp_path / "page.tif")  # float32 makes mode F (Pillow 13 deprecates mode=)
    with np.errstate(all="raise"):
        photo = load_photo(tmp_path / "page.tif", min_side=0)
    assert photo.grey[130, 62] < 0.3 < 0.7 < photo.grey[10, 10]  # the stroke is dark, the paper light


def test_transparent_background_counts_as_white_paper(tmp_path):
    rgba = np.zeros((300, 400, 4), np.uint8)
    rgba[100:160, 60:66] = (0, 0, 0, 255)  # opaque black stroke on fully transparent (black) pixels
    Image.fromarray(rgba).save(tmp_path / "clear.png")
    photo = load_photo(tmp_path / "clear.png", min_side=0)
    assert photo.grey[10, 10] > 0.95 and photo.grey[130, 62] < 0.05


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_like_pillow_does(tmp_path, orientation):
    stored = handwriting_like(400, 300)
    stored[:40, :60] = 0  # a dark corner shows where the stored top-left ends up
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(stored).save(tmp_path / "turned.jpg", exif=exif.tobytes(), quality=95)
    photo = load_photo(tmp_path / "turned.jpg", min_side=0)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(tmp_path / "turned.jpg")).convert("L"), np.float32)
    assert photo.grey.shape == expected.shape
    assert np.abs(photo.grey * 255 - expected).mean() < 1.0
    assert photo.original_size == (expected.shape[1], expected.shape[0])


def test_small_photo_is_enlarged_to_the_working_size(tmp_path):
    """A 400x300 picture is read at 1600x1200 (MIN_WORK_SIDE), its boxes reported in its own pixels (scale 1/4)."""
    Image.fromarray(handwriting_like()).save(tmp_path / "small.png")
    photo = load_photo(tmp_path / "small.png")
    assert photo.grey.shape == (4 * 300, 4 * 400) and photo.rgb.shape == (1200, 1600, 3)
    assert photo.scale == pytest.approx(0.25) and photo.original_size == (400, 300)
    assert photo.grey[4 * 130, 4 * 62 + 2] < 0.3 < 0.7 < photo.grey[40, 40]  # the stroke where it was, 4x as wide
    assert load_photo(tmp_path / "small.png", max_side=1000).grey.shape == (750, 1000)  # never past max_side
    assert load_photo(tmp_path / "small.png", min_side=0).grey.shape == (300, 400)


def test_big_photo_is_downscaled_while_decoding(tmp_path):
    big = np.asarray(Image.fromarray(handwriting_like()).resize((4000, 3000)))
    Image.fromarray(big).save(tmp_path / "big.jpg", quality=85)
    photo = load_photo(tmp_path / "big.jpg", max_side=2000)
    assert max(photo.grey.shape) == 2000
    assert photo.original_size == (4000, 3000)
    assert photo.scale == pytest.approx(2.0)


@pytest.mark.parametrize("quality, dc_step", [(90, 3), (50, 16), (15, 53), (5, 160)])
def test_a_jpeg_says_the_step_its_block_means_are_rounded_to(tmp_path, quality, dc_step):
    """libjpeg's luminance table starts at 16, scaled by 5000 / quality below 50 and 200 - 2 x quality above; a
    block's mean is its DC coefficient / 8, so it is rounded to that step / 8 (a PNG rounds nothing)."""
    Image.fromarray(handwriting_like()).save(tmp_path / "page.jpg", quality=quality)
    photo = load_photo(tmp_path / "page.jpg", min_side=0)
    assert photo.block_step == pytest.approx(dc_step / 8 / 255)
    assert photo.rounding_spread == pytest.approx(dc_step / 8 / 255 / np.sqrt(12))
    assert replace(photo, scale=16.0).rounding_spread == pytest.approx(photo.rounding_spread / 2)  # 2x2 blocks
    Image.fromarray(handwriting_like()).save(tmp_path / "page.png")
    assert load_photo(tmp_path / "page.png", min_side=0).block_step == 0.0


def test_smooth_paper_saved_at_a_low_quality_is_flat_blocks_a_block_step_apart(tmp_path):
    """What Photo.block_step stands for: a gentle gradient (20 grey levels over 512 px) saved at quality 15 decodes
    to flat 8x8 blocks whose levels are 128 + k x 53 / 8, rounded to whole grey levels."""
    gradient = np.tile(150 + 20 * np.arange(512) / 512, (64, 1)).astype(np.uint8)
    Image.fromarray(gradient).save(tmp_path / "smooth.jpg", quality=15)
    photo = load_photo(tmp_path / "smooth.jpg", min_side=0)
    blocks = np.round(photo.grey * 255).reshape(8, 8, 64, 8).transpose(0, 2, 1, 3).reshape(8, 64, 64)
    assert (blocks == blocks[:, :, :1]).all()  # every block flat
    step = photo.block_step * 255
    levels = np.unique(blocks[:, :, 0])
    assert len(levels) >= 3  # the gradient crosses several steps
    steps_from_128 = (levels - 128) / step
    assert np.allclose(steps_from_128, np.round(steps_from_128), atol=0.5 / step)


def tiny_png_claiming(width, height):
    """A PNG header announcing width x height pixels (the pixel data is never decoded)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b"")


@pytest.mark.parametrize("case, expected", [
    ("missing", "no such file"),
    ("directory", "is a directory"),
    ("zero_bytes", "empty"),
    ("text", "not an image"),
    ("truncated_header", "damaged or truncated"),
    ("truncated_data", "damaged or truncated"),
    ("tiny", "too small"),
    ("huge", "too large"),
])
def test_bad_files_raise_clear_errors(tmp_path, case, expected):
    path = tmp_path / "input.png"
    if case == "directory":
        path.mkdir()
    elif case == "zero_bytes":
        path.write_bytes(b"")
    elif case == "text":
        path.write_text("these are not the pixels you are looking for\n")
    elif case.startswith("truncated"):
        rng = np.random.default_rng(0)
        Image.fromarray(rng.integers(0, 255, (300, 400, 3), dtype=np.uint8)).save(tmp_path / "whole.jpg")
        whole = (tmp_path / "whole.jpg").read_bytes()
        path = tmp_path / "cut.jpg"
        path.write_bytes(whole[:300] if case == "truncated_header" else whole[:len(whole) // 2])
    elif case == "tiny":
        Image.new("L", (8, 5), 200).save(path)
    elif case == "huge":
        path.write_bytes(tiny_png_claiming(40_000, 40_000))
    with pytest.raises(HDLError, match=expected) as error:
        load_photo(path)
    assert str(path.name) in str(error.value)
