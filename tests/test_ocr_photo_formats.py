"""Photos in HEIF/HEIC, as iPhones save them: read with pi-heif (the `heic` extra) when it is installed, a
one-line error that says what to install when it is not; a PDF scan, told to be saved as pictures first; and
a TIFF of several pages, whose first is read with a note saying so.
tests/data/sideways.heic is the two-line page of test_ocr_cli.py stored on its side with the turn recorded in
the file (tools/make_heic_fixture.py made it)."""
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

import hdl_native
from hdl_native.ocr.image_io import is_heif
from test_ocr_cli import run_ocr, two_line_page, untrained_model

SIDEWAYS = Path(__file__).resolve().parent / "data" / "sideways.heic"
HAVE_DECODER = any(importlib.util.find_spec(name) for name in ("pi_heif", "pillow_heif"))


def test_a_heif_file_is_told_from_its_header(tmp_path):
    assert is_heif(SIDEWAYS)
    assert not is_heif(two_line_page(tmp_path))
    (tmp_path / "short.heic").write_bytes(b"\0\0\0\x18ftyp")
    assert not is_heif(tmp_path / "short.heic") and not is_heif(tmp_path / "missing.heic")


@pytest.mark.skipif(not HAVE_DECODER, reason='no HEIF decoder installed (pip install "hdl-native[heic]")')
def test_a_heic_photo_is_read_upright_and_found_in_a_directory(tmp_path):
    model = untrained_model(tmp_path)
    result = run_ocr(SIDEWAYS, "--model", model, "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.splitlines()[-1])
    assert (summary["width"], summary["height"]) == (900, 400)  # the file's own turn applied: stored 400 x 900
    assert [len(line["boxes"]) for line in summary["lines"]] == [10, 8]
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(SIDEWAYS, photos / "IMG_0001.HEIC")
    Image.open(two_line_page(tmp_path)).save(photos / "IMG_0002.jpg")
    both = run_ocr(photos, "--model", model)
    assert both.returncode == 0, both.stderr
    assert [line for line in both.stdout.splitlines() if line.startswith("==> ")] == [
        f"==> {photos / 'IMG_0001.HEIC'} <==", f"==> {photos / 'IMG_0002.jpg'} <=="]


def test_without_a_decoder_a_heic_photo_is_one_line_saying_what_to_install(tmp_path):
    blocked = "import sys; sys.modules['pi_heif'] = sys.modules['pillow_heif'] = None; "  # imports then fail
    command = ["ocr", str(SIDEWAYS), "--model", str(untrained_model(tmp_path))]
    program = blocked + f"from hdl_native.cli import main; sys.exit(main({command}))"
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=300,
                            cwd=Path(hdl_native.__file__).parent.parent)  # the hdl_native under test, as run_ocr
    assert result.returncode == 2 and not result.stdout
    assert result.stderr.strip().splitlines() == [
        f"hdl-native ocr: error: {SIDEWAYS}: a HEIF/HEIC photo (as iPhones save them); reading it needs the HEIF "
        "decoder pi-heif: pip install pi-heif (or save the photo as JPEG)"]


def test_a_pdf_is_told_to_be_saved_as_pictures_first(tmp_path):
    scan = tmp_path / "scan.pdf"
    Image.open(two_line_page(tmp_path)).save(scan)  # Pillow writes PDFs, but cannot read them
    result = run_ocr(scan, "--model", untrained_model(tmp_path))
    assert result.returncode == 2 and not result.stdout and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"hdl-native ocr: error: {scan}: a PDF, not a picture; save its pages as pictures first (for example "
        f"`pdftoppm -r 300 -png {scan} page`, or your scanner's JPEG/PNG setting)"]


def test_of_a_tiff_of_several_pages_the_first_is_read_and_a_note_says_so(tmp_path):
    page = Image.open(two_line_page(tmp_path))
    scan = tmp_path / "scan.tif"
    page.save(scan, save_all=True, append_images=[page.rotate(180), page])
    result = run_ocr(scan, "--model", untrained_model(tmp_path), "--json")
    assert result.returncode == 0, result.stderr
    assert [len(line["boxes"]) for line in json.loads(result.stdout.splitlines()[-1])["lines"]] == [10, 8]
    assert result.stderr.strip().splitlines() == [
        f"note: {scan} holds 3 pictures (pages or frames); only the first was read: save each as a picture of its "
        "own to read them all"]
    single = run_ocr(two_line_page(tmp_path), "--model", untrained_model(tmp_path))
    assert single.returncode == 0 and "note" not in single.stderr
