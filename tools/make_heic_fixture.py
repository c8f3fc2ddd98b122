"""Write tests/data/sideways.heic: the tests' two-line page ("hello there" / "big world") as a HEIC photo
stored on its side with the turn to make it upright recorded in the file, as a phone held sideways saves it.

Encoding HEIC needs pillow-heif (its wheels carry the x265 encoder); hdl-native and its tests only decode,
with pi-heif.  Run once, from the checkout:  pip install pillow-heif && python tools/make_heic_fixture.py
The page is drawn here, not taken from any dataset.
"""
from pathlib import Path

import numpy as np
import pillow_heif
from PIL import Image, ImageDraw, ImageFont

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "sideways.heic"
EXIF_ORIENTATION = 0x0112


def two_line_page():
    page = Image.new("RGB", (900, 400), (235, 225, 205))
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=60)
    draw.text((60, 60), "hello there", font=font, fill=(30, 30, 80))
    draw.text((60, 220), "big world", font=font, fill=(30, 30, 80))
    return page


def main():
    pillow_heif.register_heif_opener()
    sideways = two_line_page().transpose(Image.Transpose.ROTATE_90)  # stored turned a quarter anticlockwise
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = 6  # "turn 90 degrees clockwise to view": pillow-heif stores it as the file's rotation
    OUT.parent.mkdir(exist_ok=True)
    sideways.save(OUT, quality=80, exif=exif.tobytes())
    with Image.open(OUT) as check:  # decoded upright: the page as drawn, within the codec's error
        difference = np.abs(np.asarray(check.convert("L"), float) - np.asarray(two_line_page().convert("L"), float))
        assert check.size == (900, 400) and difference.mean() < 3, (check.size, difference.mean())
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
