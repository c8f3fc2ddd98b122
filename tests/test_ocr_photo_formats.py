"""Photos in HEIF/HEIC, as iPhones save them: read with pi-heif (the `heic` extra) when it is installed, a
one-line error that says what to install when it is not; scans of several pages, PDF (with pypdfium2, the `pdf`
extra) and TIFF, read page by page as several photos are; a GIF's frames after the first left with a note;
pictures dithered to few colours, their dots blurred back into greys; a JPEG of smooth paper saved at a low
quality, its paper flat blocks.
tests/data/sideways.heic is the two-line page of test_ocr_cli.py stored on its side with the turn recorded in
the file (tools/make_heic_fixture.py made it)."""
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage

import hdl_native
from hdl_native.errors import HDLError
from hdl_native.ocr.image_io import PI_HEIF, is_dithered, is_heif, load_photo, page_count
from test_ocr_cli import run_ocr, two_line_page, untrained_model

SIDEWAYS = Path(__file__).resolve().parent / "data" / "sideways.heic"
HAVE_DECODER = any(importlib.util.find_spec(name) for name in ("pi_heif", "pillow_heif"))
HAVE_PDF = importlib.util.find_spec("pypdfium2") is not None


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
    result = run_blocking(tmp_path, ["pi_heif", "pillow_heif"], SIDEWAYS)
    assert result.returncode == 2 and not result.stdout
    assert result.stderr.strip().splitlines() == [
        f"hdl-native ocr: error: {SIDEWAYS}: a HEIF/HEIC photo (as iPhones save them); reading it needs the HEIF "
        f"decoder pi-heif: pip install {PI_HEIF} (or save the photo as JPEG)"]
    assert PI_HEIF == ("pi-heif" if sys.version_info >= (3, 10) else "'pi-heif<1.2'")  # the last with 3.9 wheels


def run_blocking(tmp_path, modules, *arguments):
    """`hdl-native ocr` with the random model in a process where importing `modules` fails (not installed)."""
    blocked = f"import sys; sys.modules.update(dict.fromkeys({list(modules)!r})); "  # None: the import fails
    command = ["ocr", *map(str, arguments), "--model", str(untrained_model(tmp_path))]
    program = blocked + f"from hdl_native.cli import main; sys.exit(main({command}))"
    return subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=300,
                          cwd=Path(hdl_native.__file__).parent.parent)  # the hdl_native under test, as run_ocr


def two_page_pdf(tmp_path, second=None):
    """scan.pdf: the two-line page, then `second` (a PIL image; default the page again), as Pillow writes PDFs."""
    page = Image.open(two_line_page(tmp_path))
    scan = tmp_path / "scan.pdf"
    page.save(scan, save_all=True, append_images=[second or page], resolution=100)
    return scan


def headers(result):
    return [line for line in result.stdout.splitlines() if line.startswith("==> ")]


def summaries(result):
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


@pytest.mark.skipif(not HAVE_PDF, reason='pypdfium2 is not installed (pip install "hdl-native[pdf]")')
def test_every_page_of_a_pdf_is_read_as_a_photo_of_its_own(tmp_path):
    scan = two_page_pdf(tmp_path)
    result = run_ocr(scan, "--model", untrained_model(tmp_path), "--json", "--out", tmp_path / "boxed",
                     "--crops", tmp_path / "crops")
    assert result.returncode == 0, result.stderr
    assert headers(result) == [f"==> {scan} page 1 <==", f"==> {scan} page 2 <=="]
    pages = summaries(result)
    assert [(page["image"], page["page"]) for page in pages] == [(str(scan), 1), (str(scan), 2)]
    for page in pages:  # drawn at 2000 px on the long side; boxes in pixels of the page at 300 dpi
        assert (page["width"], page["height"]) == (2700, 1200)
        assert [len(line["boxes"]) for line in page["lines"]] == [10, 8]
    assert sorted(path.name for path in (tmp_path / "boxed").iterdir()) == ["scan-page1-boxed.png",
                                                                             "scan-page2-boxed.png"]
    assert f"crops of 2 pages written under {tmp_path / 'crops'}; correct each labels.tsv" in result.stderr
    labels = (tmp_path / "crops" / "scan-page2" / "labels.tsv").read_text()
    assert f"found in {scan} page 2, one 28x28 crop" in labels


@pytest.mark.skipif(not HAVE_PDF, reason='pypdfium2 is not installed (pip install "hdl-native[pdf]")')
def test_a_pdf_of_one_page_is_read_as_one_photo(tmp_path):
    scan = tmp_path / "one.pdf"
    Image.open(two_line_page(tmp_path)).save(scan, resolution=100)
    result = run_ocr(scan, "--model", untrained_model(tmp_path), "--json", "--out", tmp_path / "boxed.png")
    assert result.returncode == 0, result.stderr
    assert not headers(result) and (tmp_path / "boxed.png").is_file()
    (summary,) = summaries(result)
    assert "page" not in summary and [len(line["boxes"]) for line in summary["lines"]] == [10, 8]


@pytest.mark.skipif(not HAVE_PDF, reason='pypdfium2 is not installed (pip install "hdl-native[pdf]")')
def test_a_page_that_cannot_be_read_is_named_and_the_others_are_read(tmp_path):
    scan = two_page_pdf(tmp_path, second=Image.new("RGB", (900, 400), "white"))
    result = run_ocr(scan, "--model", untrained_model(tmp_path))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert headers(result) == [f"==> {scan} page 1 <==", f"==> {scan} page 2 <=="]
    blank, summary = result.stderr.strip().splitlines()[-2:]
    assert blank.startswith(f"hdl-native ocr: error: {scan} page 2: found no ink: the picture looks like blank paper")
    assert summary == f"hdl-native ocr: error: 1 of 2 pages could not be read: {scan} page 2"


@pytest.mark.skipif(not HAVE_PDF, reason='pypdfium2 is not installed (pip install "hdl-native[pdf]")')
def test_a_damaged_pdf_is_one_line(tmp_path):
    scan = tmp_path / "cut.pdf"
    scan.write_bytes(two_page_pdf(tmp_path).read_bytes()[:300])
    result = run_ocr(scan, "--model", untrained_model(tmp_path))
    assert result.returncode == 2 and not result.stdout
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"hdl-native ocr: error: {scan}: cannot open the PDF (")


@pytest.mark.skipif(not HAVE_PDF, reason='pypdfium2 is not installed (pip install "hdl-native[pdf]")')
def test_a_pdf_page_too_narrow_to_hold_handwriting_is_one_line(tmp_path):
    strip = tmp_path / "strip.pdf"
    Image.new("RGB", (1000, 5), "white").save(strip, resolution=72)  # 1000 x 5 points: drawn 2000 x 10 px
    result = run_ocr(strip, "--model", untrained_model(tmp_path))
    assert result.returncode == 2 and not result.stdout
    assert result.stderr.strip().splitlines() == [
        f"hdl-native ocr: error: {strip}: the page is 2000 x 10 pixels drawn 2000 pixels long, too narrow to hold "
        "handwriting"]


def test_without_pypdfium2_a_pdf_is_one_line_saying_what_to_install(tmp_path):
    scan = two_page_pdf(tmp_path)
    result = run_blocking(tmp_path, ["pypdfium2"], scan)
    assert result.returncode == 2 and not result.stdout
    assert result.stderr.strip().splitlines() == [
        f"hdl-native ocr: error: {scan}: a PDF; reading it needs the PDF renderer pypdfium2: pip install pypdfium2 "
        f"(or save its pages as pictures: `pdftoppm -r 300 -png {scan} page`)"]


def test_every_page_of_a_tiff_is_read_and_pages_keep_their_outputs_apart(tmp_path):
    page = Image.open(two_line_page(tmp_path))
    scan = tmp_path / "scan.tif"
    page.save(scan, save_all=True, append_images=[page.crop((0, 200, 900, 400)), page])
    result = run_ocr(scan, "--model", untrained_model(tmp_path), "--json")
    assert result.returncode == 0, result.stderr
    assert headers(result) == [f"==> {scan} page {k} <==" for k in (1, 2, 3)]
    assert [[len(line["boxes"]) for line in page["lines"]] for page in summaries(result)] == [[10, 8], [8], [10, 8]]
    assert "note" not in result.stderr
    page.save(tmp_path / "scan-page2.png")  # its outputs would be named as the TIFF's second page's
    clash = run_ocr(scan, tmp_path / "scan-page2.png", "--model", untrained_model(tmp_path), "--crops",
                    tmp_path / "crops")
    assert clash.returncode == 2 and not clash.stdout
    assert clash.stderr.strip().splitlines() == [
        f"hdl-native ocr: error: the photos {scan} page 2 and {tmp_path / 'scan-page2.png'} would write outputs of "
        "the same name (scan-page2); read them in separate runs, or rename one"]


def test_of_a_gif_of_several_frames_the_first_is_read_and_a_note_says_so(tmp_path):
    page = Image.open(two_line_page(tmp_path))
    animation = tmp_path / "page.gif"
    page.save(animation, save_all=True, append_images=[page.rotate(180), page], duration=200)
    result = run_ocr(animation, "--model", untrained_model(tmp_path), "--json")
    assert result.returncode == 0, result.stderr
    assert [len(line["boxes"]) for line in summaries(result)[0]["lines"]] == [10, 8]
    assert result.stderr.strip().splitlines() == [
        f"note: {animation} holds 3 pictures (frames); only the first was read: save each as a picture of its own "
        "to read them all"]
    single = run_ocr(two_line_page(tmp_path), "--model", untrained_model(tmp_path))
    assert single.returncode == 0 and "note" not in single.stderr


def test_page_count_says_which_files_are_read_page_by_page(tmp_path):
    page = Image.open(two_line_page(tmp_path))
    page.save(tmp_path / "scan.tif", save_all=True, append_images=[page, page])
    page.save(tmp_path / "page.gif", save_all=True, append_images=[page.rotate(180)])
    (tmp_path / "notes.txt").write_text("not a picture")
    assert page_count(tmp_path / "scan.tif") == 3
    for one in ("page.gif", "page.jpg", "notes.txt", "missing.jpg"):
        assert page_count(tmp_path / one) == 1, one
    with pytest.raises(HDLError, match=r"scan.tif: has 3 pages, no page 4$"):
        load_photo(tmp_path / "scan.tif", page=4)
    third = load_photo(tmp_path / "scan.tif", page=3)
    assert (third.page, third.name, third.pictures) == (3, f"{tmp_path / 'scan.tif'} page 3", 1)


@pytest.mark.skipif(not HAVE_PDF, reason='pypdfium2 is not installed (pip install "hdl-native[pdf]")')
def test_a_pdf_page_is_drawn_at_the_working_size_and_turned_as_its_rotate_entry_says(tmp_path):
    import pypdfium2

    scan = two_page_pdf(tmp_path)
    assert page_count(scan) == 2
    with pytest.raises(HDLError, match=r"scan.pdf: has 2 pages, no page 3$"):
        load_photo(scan, page=3)
    document = pypdfium2.PdfDocument(str(scan))
    document[1].set_rotation(90)
    document.save(tmp_path / "turned.pdf")
    document.close()
    upright, turned = load_photo(tmp_path / "turned.pdf", page=1), load_photo(tmp_path / "turned.pdf", page=2)
    assert upright.grey.shape == (889, 2000) and upright.original_size == (2700, 1200)
    assert turned.grey.shape == (2000, 889) and turned.original_size == (1200, 2700)
    assert turned.scale == pytest.approx(2700 / 2000) and turned.name == f"{tmp_path / 'turned.pdf'} page 2"
    assert np.array_equal(turned.grey, np.rot90(upright.grey, -1))  # the same page, a quarter turn clockwise


def test_an_output_named_as_a_picture_where_a_directory_is_needed_is_told_before_reading(tmp_path):
    page = Image.open(two_line_page(tmp_path))
    scan = tmp_path / "scan.tif"
    page.save(scan, save_all=True, append_images=[page])
    alone = tmp_path / "alone"
    alone.mkdir()
    Image.open(two_line_page(tmp_path)).save(alone / "page.png")
    for photos, option, several in (([scan], "--out", f"the 2 pages of {scan}"),
                                    ([scan, two_line_page(tmp_path)], "--crop-sheet", "several photos"),
                                    ([alone], "--out", f"the photos of {alone}")):
        result = run_ocr(*photos, option, tmp_path / "boxed.PNG", "--model", untrained_model(tmp_path))
        assert result.returncode == 2 and not result.stdout and not (tmp_path / "boxed.PNG").exists()
        assert result.stderr.strip().splitlines() == [
            f"hdl-native ocr: error: {option} {tmp_path / 'boxed.PNG'} names a picture, but {several} are read: "
            f"{option} names a directory then, a picture for each in it; for example {option} {tmp_path / 'boxed'}"]
    (tmp_path / "boxed.png").mkdir()  # a directory so named is a directory
    result = run_ocr(scan, "--out", tmp_path / "boxed.png", "--model", untrained_model(tmp_path))
    assert result.returncode == 0, result.stderr
    assert sorted(path.name for path in (tmp_path / "boxed.png").iterdir()) == ["scan-page1-boxed.png",
                                                                                 "scan-page2-boxed.png"]


def dithered_page(tmp_path, mode):
    """The two-line page on grey paper saved with dithering: mode '1' (black and white dots, as a scanner's
    black-and-white mode can save it) or 'P' (the web palette, as a GIF's colours)."""
    page = Image.open(two_line_page(tmp_path)).point(lambda value: int(value * 0.6))  # paper of grey 130 to 140
    path = tmp_path / f"dithered-{mode}.png"
    page.convert(mode).save(path)
    return path


@pytest.mark.parametrize("mode", ["1", "P"])
def test_a_dithered_picture_has_its_dots_blurred_and_reads_as_the_photo_does(tmp_path, mode):
    path = dithered_page(tmp_path, mode)
    assert is_dithered(Image.open(path))
    model = untrained_model(tmp_path)
    result = run_ocr(path, "--model", model, "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.splitlines()[-1])
    assert [len(line["boxes"]) for line in summary["lines"]] == [10, 8]


def test_clean_black_and_white_pictures_and_photos_are_not_taken_for_dithered(tmp_path):
    photo = Image.open(two_line_page(tmp_path))
    assert not is_dithered(photo)
    black_and_white = photo.convert("L").point(lambda value: 255 if value > 128 else 0)
    assert not is_dithered(black_and_white) and not is_dithered(black_and_white.convert("1"))
    assert is_dithered(photo.point(lambda value: int(value * 0.6)).convert("1"))


def two_lines_of_ink():
    """(400, 900) float32 darkness 0..1 of test_ocr_cli's two lines ("hello there", "big world"), 60 px type."""
    page = Image.new("L", (900, 400), 0)
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=60)
    draw.text((60, 60), "hello there", font=font, fill=255)
    draw.text((60, 220), "big world", font=font, fill=255)
    return np.asarray(page, dtype=np.float32) / 255


def mottled_page(path, quality):
    """The two lines on smooth paper, lit from one side and mottled a little (6 grey levels over 12 px), in thin
    grey ink, saved as a JPEG of `quality`: at 15 its paper is flat 8x8 blocks, some a little darker."""
    ink = two_lines_of_ink()
    mottle = ndimage.gaussian_filter(np.random.default_rng(0).normal(size=ink.shape), 12)
    paper = 140 + 20 * np.arange(900)[None, :] / 900 + 6 * mottle / mottle.std()
    grey = np.clip(paper * (1 - 0.3 * ink), 0, 255).astype(np.uint8)
    Image.fromarray(grey).convert("RGB").save(path, quality=quality)
    return path


def test_a_coarse_jpeg_of_smooth_paper_reads_as_its_letters(tmp_path):
    """At quality 15 the page's paper is flat 8x8 blocks, the grain's median absolute deviation 0; taken as at
    least the file's rounding of its blocks (Photo.rounding_spread), the blocks a step or two darker than the paper
    stay paper (without it: 4 lines of 16 to 25 blocks of paper)."""
    result = run_ocr(mottled_page(tmp_path / "chat.jpg", 15), "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.splitlines()[-1])
    assert summary["text"] == "hello there\nbig world"
