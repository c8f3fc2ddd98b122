"""Make a handwriting-like page, read it with hdl-native's OCR, and write docs/ocr-demo-boxed.png.

The page is the project's own: letters drawn with Pillow's built-in font, each one
turned, sheared, wobbled by a smooth random warp and given its own pen width, laid
out in words on beige paper under a lighting gradient with sensor noise, and saved
as a JPEG like a phone photo would be.  No third-party image and nothing derived
from a dataset is involved.

    python docs/ocr_demo.py                      # pretrained letters model
    python docs/ocr_demo.py --model letters.hdl  # any letters state file
    python docs/ocr_demo.py --language none      # each letter read alone, without the English letter model
    python docs/ocr_demo.py --no-digits          # boxes read as not letters left out, not read again as digits
"""
import argparse
import difflib
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont
from scipy import ndimage

HERE = Path(__file__).resolve().parent
TEXT = ["hello deep", "learning on", "real paper"]
PAGE_SIZE = (740, 660)
LETTER_SIZE = 96  # font size in pixels
SHOWN_WIDTH = 640  # the committed picture is downscaled to this width


def warped_letter(letter, font, rng):
    """One letter as (h, w) float32 ink in [0, 1]: turned, sheared, scaled, wobbled, with its own pen width."""
    canvas = Image.new("L", (2 * LETTER_SIZE, 2 * LETTER_SIZE), 0)
    ImageDraw.Draw(canvas).text((LETTER_SIZE // 2, LETTER_SIZE // 4), letter, font=font, fill=255)
    angle = np.deg2rad(rng.uniform(-8, 8))
    shear, scale = rng.uniform(-0.25, 0.15), rng.uniform(0.9, 1.1)
    cos, sin = np.cos(angle) / scale, np.sin(angle) / scale
    centre = LETTER_SIZE
    matrix = (cos, sin + shear, centre - centre * (cos + sin + shear), -sin, cos, centre - centre * (cos - sin))
    canvas = canvas.transform(canvas.size, Image.Transform.AFFINE, matrix, Image.Resampling.BICUBIC)
    canvas = canvas.filter(ImageFilter.MinFilter(int(rng.choice([1, 3]))))  # some pens thinner than the font
    ink = np.asarray(canvas, np.float32) / 255
    wobble = [ndimage.gaussian_filter(rng.normal(0, 1, ink.shape), 12) for _ in range(2)]
    wobble = [w / max(np.abs(w).max(), 1e-6) * 4.0 for w in wobble]
    rows, cols = np.mgrid[0:ink.shape[0], 0:ink.shape[1]].astype(np.float64)
    ink = ndimage.map_coordinates(ink, [rows + wobble[0], cols + wobble[1]], order=1)
    rows_used, cols_used = np.flatnonzero(ink.max(1) > 0.1), np.flatnonzero(ink.max(0) > 0.1)
    return np.clip(ink[rows_used[0]:rows_used[-1] + 1, cols_used[0]:cols_used[-1] + 1], 0, 1)


def build_page(lines, seed=0):
    """An RGB Pillow image of the text written on lit paper."""
    rng = np.random.default_rng(seed)
    font = ImageFont.load_default(size=LETTER_SIZE)
    width, height = PAGE_SIZE
    darkness = np.zeros((height, width), np.float32)
    baseline = 170
    for text in lines:
        cursor = 90 + int(rng.integers(-20, 20))
        for word in text.split():
            for letter in word:
                ink = warped_letter(letter, font, rng)
                top = baseline - ink.shape[0] + int(rng.integers(-5, 6)) + (25 if letter in "gjpqy" else 0)
                region = darkness[top:top + ink.shape[0], cursor:cursor + ink.shape[1]]
                np.maximum(region, ink[:region.shape[0], :region.shape[1]], out=region)
                cursor += ink.shape[1] + int(rng.integers(8, 18))
            cursor += int(rng.integers(45, 70))
        baseline += 210
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    light = 1.0 - 0.35 * (xx / width) * (0.6 + 0.4 * yy / height)
    paper, pen = np.array([236, 226, 204], np.float32), np.array([35, 40, 95], np.float32)
    colour = paper * (1 - darkness[..., None]) + pen * darkness[..., None]
    colour = colour * light[..., None] + rng.normal(0, 4, colour.shape)
    return Image.fromarray(np.clip(colour, 0, 255).astype(np.uint8))


def main(argv=None):
    from hdl_native.ocr.language import DEFAULT_LANGUAGE, LANGUAGE_NAMES, load_language
    from hdl_native.shifts import DEFAULT_SHIFTS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="letters state file (default: the pretrained model)")
    parser.add_argument("--out", default=str(HERE / "ocr-demo-boxed.png"), help="where to write the boxed picture")
    parser.add_argument("--shifts", type=int, default=DEFAULT_SHIFTS,
                        help=f"as `hdl-native ocr --shifts` (default {DEFAULT_SHIFTS})")
    parser.add_argument("--language", choices=LANGUAGE_NAMES, default=DEFAULT_LANGUAGE,
                        help=f"as `hdl-native ocr --language` (default {DEFAULT_LANGUAGE})")
    parser.add_argument("--no-digits", dest="digits", action="store_false", help="as `hdl-native ocr --no-digits`")
    args = parser.parse_args(argv)

    from hdl_native.ocr import read_page
    from hdl_native.ocr.digits import load_digit_reader
    from hdl_native.ocr.model import load_letter_classifier
    from hdl_native.ocr.render import render_boxes

    classifier = load_letter_classifier(args.model, shifts=args.shifts)
    with tempfile.TemporaryDirectory() as folder:
        photo_path = Path(folder) / "demo.jpg"
        build_page(TEXT).save(photo_path, quality=85)
        result = read_page(photo_path, classifier, language=load_language(args.language),
                           digits=load_digit_reader(shifts=args.shifts) if args.digits else None)  # as `ocr` reads
    # a small file: the photo is shrunk and reduced to few colours before the boxes are drawn in theirs
    photo = Image.fromarray(result.photo.rgb)
    shrink = SHOWN_WIDTH / photo.width
    photo = photo.resize((SHOWN_WIDTH, round(photo.height * shrink)), Image.Resampling.LANCZOS)
    photo = photo.quantize(colors=24).convert("RGB")
    boxed = render_boxes(np.asarray(photo), result.lines, result.photo.scale / shrink)
    boxed.quantize(colors=256).save(args.out, format="PNG", optimize=True)
    expected = [line.replace(" ", "") for line in TEXT]
    read = [text.replace(" ", "") for text in result.texts]
    # letters in the order written, matched by difflib: a letter left out (read as 'other') does not shift the rest
    n_right = sum(block.size for want, got in zip(expected, read)
                  for block in difflib.SequenceMatcher(None, want, got, autojunk=False).get_matching_blocks())
    print("\n".join(result.texts))
    print(f"{n_right}/{sum(map(len, expected))} letters read as written; wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
