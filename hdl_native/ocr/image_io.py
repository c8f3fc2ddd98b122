"""Load a photo with Pillow: any format and mode, EXIF orientation, bounded size; a page of a PDF with pypdfium2.

Big photos are reduced while decoding (JPEG draft mode) and then resized, so a
12-megapixel phone photo never becomes a 12-megapixel float array.  Small ones are enlarged
(bicubic) to MIN_WORK_SIDE: the pipeline's pixel-sized steps (a 3x3 neighbourhood, a blur of one
pixel, the paper grain measured per pixel) were made for letters 20 px tall or more, and a photo of a
whole page sent at 800 px or less holds letters of 10 to 20 px.

A scan of several pages (a PDF, as scanner apps save them, or a TIFF) is read page by page: `page_count` says how
many a file holds and `load_photo(..., page=k)` loads one (a PDF's drawn by pdf_pages).
"""
import sys
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter, UnidentifiedImageError

from ..errors import HDLError
from .pdf_pages import PDF_SIGNATURE, check_page_number, draw_pdf_page, pdf_page_count

MAX_WORK_SIDE = 2000  # longest side the pipeline analyses; handwriting stays > 20 px tall
MIN_WORK_SIDE = 1600  # a photo whose longest side is shorter is enlarged to it
MAX_JPEG_PIXELS = 250_000_000  # JPEGs decode straight to 1/2..1/8 size (draft), so memory stays small
MAX_OTHER_PIXELS = 100_000_000  # other formats decode in full: at most ~300 MB of RGB
MIN_SIDE = 16  # smaller pictures cannot hold a readable handwritten letter
# how to turn the stored pixels upright for each EXIF orientation (as Pillow's ImageOps.exif_transpose)
ORIENTATION_TRANSPOSE = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
                         4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
                         6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_90}
SWAPS_SIDES = (5, 6, 7, 8)
DITHER_COLOURS = 256  # a picture of at most this many colours may make its greys of dots (GIF, palette PNG, 1-bit)
DITHER_STEP = 0.15  # a pixel this much lighter or darker than each of its four neighbours is a dot
DITHER_SHARE = 0.005  # ... and a picture of few colours with this share of such dots is dithered
DITHER_BLUR = 1.0  # px of the file's own: a dithered picture is blurred by this much, its dots back into greys
PAGED_FORMATS = ("TIFF",)  # Pillow formats whose pictures are pages, each read (others' frames: only the first)


@dataclass
class Photo:
    """A photo at working resolution.

    rgb: (H, W, 3) uint8, for drawing the boxed picture
    grey: (H, W) float32 in [0, 1], luminance
    scale: original pixels per working pixel (< 1 for an enlarged photo)
    original_size: (width, height) of the file's picture after EXIF rotation (a PDF page's: at pdf_pages.PDF_DPI)
    pictures: how many the file holds of which only the first is read (the frames of a GIF); 1 for pages
    page: which page of a scan of several this is (from 1), None for a file of one picture
    block_step: the grey step (0-1) to which the file rounded the mean of each 8x8 block of its luminance, a JPEG's
        (jpeg_block_step); 0.0 for other files
    """

    path: str
    rgb: np.ndarray
    grey: np.ndarray
    scale: float
    original_size: tuple
    pictures: int = 1
    page: int = None
    block_step: float = 0.0

    @property
    def rounding_spread(self):
        """The standard deviation, in grey (0-1), that the file's rounding of its block means leaves in each working
        pixel: a uniform rounding's step / sqrt(12), less where a working pixel averages several blocks (more than 8
        original pixels per working pixel).  Where a JPEG saved at a low quality rounds smooth paper to flat blocks,
        the paper's grain is never taken as less than it (lighting.ink_map)."""
        return self.block_step / np.sqrt(12) / max(1.0, self.scale / 8)

    @property
    def name(self):
        """The file, and the page of a scan of several pages: how messages name what was read."""
        return page_name(self.path, self.page)


def page_name(path, page):
    """'scan.pdf page 2', or the path alone for a file of one picture (page None)."""
    return f"{path} page {page}" if page else str(path)


def load_photo(path, max_side=MAX_WORK_SIDE, min_side=MIN_WORK_SIDE, page=None):
    """Read `path` (its page `page`, from 1, of a PDF or TIFF of several: page_count) into a Photo whose longest
    side is at most `max_side` and at least `min_side` (a smaller photo is enlarged; min_side 0: never); HDLError
    on bad input."""
    path = Path(path)
    check_file(path)
    if starts_with(path, PDF_SIGNATURE):
        return load_pdf_page(path, page, max_side)
    image = open_image(path)
    pictures = getattr(image, "n_frames", 1)
    if image.format in PAGED_FORMATS:
        pictures = 1  # every page is read, one at a time
        if page:
            seek_page(image, path, page)
    orientation = exif_orientation(image)
    full_width, full_height = image.size if orientation not in SWAPS_SIDES else image.size[::-1]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            picture = decode_reduced(image, max_side)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise HDLError(f"{path}: the image data is damaged or truncated ({error})") from None
    picture = to_rgb(picture)
    if is_dithered(picture):  # before any resizing: the dots are the file's pixels
        picture = picture.filter(ImageFilter.GaussianBlur(DITHER_BLUR))
    if max(picture.size) > max_side:  # shrink before anything else touches every pixel
        factor = max_side / max(picture.size)
        size = (max(1, round(picture.width * factor)), max(1, round(picture.height * factor)))
        picture = picture.resize(size, Image.Resampling.LANCZOS, reducing_gap=1.0)
    elif max(picture.size) < min(min_side, max_side):  # enlarge, never past max_side
        factor = min(min_side, max_side) / max(picture.size)
        picture = picture.resize((round(picture.width * factor), round(picture.height * factor)),
                                 Image.Resampling.BICUBIC)
    if orientation in ORIENTATION_TRANSPOSE:
        picture = picture.transpose(ORIENTATION_TRANSPOSE[orientation])
    return photo_of(path, picture, (full_width, full_height), pictures, page, jpeg_block_step(image))


def photo_of(path, picture, original_size, pictures=1, page=None, block_step=0.0):
    """The Photo of `picture` (an RGB Pillow image at the working size) read from `path` (its page `page`), whose
    own picture is original_size (width, height): its pixels, their luminance and the scale between the two."""
    rgb = np.asarray(picture, dtype=np.uint8)
    grey = np.asarray(picture.convert("L"), dtype=np.float32) / np.float32(255)
    return Photo(str(path), rgb, grey, float(max(original_size) / max(picture.size)), tuple(original_size), pictures,
                 page, block_step)


def page_count(path):
    """How many pages of the file at `path` `ocr` reads, one by one: a PDF's, a TIFF's; 1 for any other file (a
    GIF's frames after the first are not read: Photo.pictures), and for one that cannot be opened (load_photo then
    says why)."""
    path = Path(path)
    if not path.is_file():
        return 1
    if starts_with(path, PDF_SIGNATURE):
        try:
            return pdf_page_count(path)
        except HDLError:
            return 1
    try:
        with warnings.catch_warnings():  # a photo of 90 to 180 MP (open_image judges its size)
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                return getattr(image, "n_frames", 1) if image.format in PAGED_FORMATS else 1
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return 1


def seek_page(image, path, page):
    """Make page `page` (from 1) of an opened TIFF the one to decode, its size checked as open_image checks the
    first's; HDLError when the file has no such page."""
    check_page_number(path, page, getattr(image, "n_frames", 1))
    try:
        image.seek(page - 1)
    except (OSError, ValueError, EOFError) as error:
        raise HDLError(f"{page_name(path, page)}: the image is damaged or truncated ({error})") from None
    check_size(image, page_name(path, page))


def load_pdf_page(path, page, max_side):
    """Photo of page `page` (from 1; None: the first) of the PDF at `path` (pdf_pages.draw_pdf_page)."""
    picture, original = draw_pdf_page(path, page or 1, max_side, page_name(path, page))
    if min(picture.size) < MIN_SIDE:
        raise HDLError(f"{page_name(path, page)}: the page is {picture.width} x {picture.height} pixels drawn "
                       f"{max_side} pixels long, too narrow to hold handwriting")
    return photo_of(path, to_rgb(picture), original, page=page)


TURNS = (0, 90, 180, 270)  # degrees clockwise `ocr --rotate` can turn a photo by


def turned_photo(photo, turn):
    """The Photo turned `turn` degrees clockwise (one of TURNS): its pixels, and its original_size for 90 and 270;
    the same Photo for 0.  Box coordinates read from it are in the turned picture's pixels."""
    if turn not in TURNS:
        raise ValueError(f"turn must be one of {TURNS}, got {turn!r}")
    if turn == 0:
        return photo
    quarters = -turn // 90  # np.rot90 turns counter-clockwise
    width, height = photo.original_size
    return replace(photo, rgb=np.ascontiguousarray(np.rot90(photo.rgb, quarters)),
                   grey=np.ascontiguousarray(np.rot90(photo.grey, quarters)),
                   original_size=(height, width) if turn in (90, 270) else (width, height))


def inverted_photo(photo):
    """The Photo with light and dark swapped (light writing on a dark ground becomes dark on light)."""
    return replace(photo, rgb=255 - photo.rgb, grey=1.0 - photo.grey)


def check_file(path):
    """Clear errors for the usual mistakes before Pillow sees the file."""
    if not path.exists():
        raise HDLError(f"{path}: no such file")
    if path.is_dir():
        raise HDLError(f"{path}: is a directory, expected an image file (JPEG, PNG, ...)")
    if path.stat().st_size == 0:
        raise HDLError(f"{path}: the file is empty (0 bytes)")


def open_image(path):
    """Open without decoding; checks the format and the pixel count from the header."""
    bomb_limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None  # the limits below depend on the format, so Pillow's own check is off
    try:
        try:
            image = Image.open(path)
        except UnidentifiedImageError:
            if not is_heif(path):
                raise
            if not register_heif_decoder():
                raise HDLError(f"{path}: a HEIF/HEIC photo (as iPhones save them); reading it needs the HEIF decoder "
                               f"pi-heif: pip install {PI_HEIF} (or save the photo as JPEG)") from None
            image = Image.open(path)
    except UnidentifiedImageError:
        raise HDLError(f"{path}: not an image Pillow can read (expected JPEG, PNG, HEIC, BMP, TIFF, WebP, ...)"
                       ) from None
    except OSError as error:
        if error.strerror:  # the operating system refused (permissions, I/O error)
            raise HDLError(f"{path}: cannot open the file ({error.strerror})") from None
        raise HDLError(f"{path}: the image is damaged or truncated ({error})") from None
    finally:
        Image.MAX_IMAGE_PIXELS = bomb_limit
    check_size(image, path)
    return image


def check_size(image, path):
    """HDLError when the opened picture (the frame it is at) is empty, too large to decode, or too small to read."""
    width, height = image.size
    limit = MAX_JPEG_PIXELS if image.format == "JPEG" else MAX_OTHER_PIXELS
    if width == 0 or height == 0:
        raise HDLError(f"{path}: the image is empty ({width}x{height} pixels)")
    if width * height > limit:
        raise HDLError(f"{path}: the image is too large: {width}x{height} = {width * height / 1e6:.0f} megapixels, "
                       f"more than the {limit / 1e6:.0f}-megapixel limit for {image.format} files; downscale it first")
    if min(width, height) < MIN_SIDE:
        raise HDLError(f"{path}: the image is only {width}x{height} pixels, too small to hold handwriting "
                       f"(need at least {MIN_SIDE} pixels each way)")


HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1"}
HEIF_EXTENSIONS = (".heic", ".heif", ".hif")
# what to pip install: pi-heif's last wheels for Python 3.9 are 1.1.x (pip would try to build a later one from source)
PI_HEIF = "pi-heif" if sys.version_info >= (3, 10) else "'pi-heif<1.2'"


def file_header(path, size):
    """The first `size` bytes of the file (fewer if it is shorter; none if it cannot be read)."""
    try:
        with open(path, "rb") as stream:
            return stream.read(size)
    except OSError:
        return b""


def starts_with(path, signature):
    return file_header(path, len(signature)) == signature


def is_heif(path):
    """Whether the file starts as a HEIF container of HEVC pictures does (an ISO 'ftyp' box with a HEIF brand)."""
    header = file_header(path, 12)
    return header[4:8] == b"ftyp" and header[8:12] in HEIF_BRANDS


def register_heif_decoder():
    """Teach Pillow to open HEIF/HEIC files with pi-heif (the decoder alone), else pillow-heif, whichever is
    installed; False when neither is.  Pillow reads the other formats phones and scanners write by itself."""
    import importlib

    for name in ("pi_heif", "pillow_heif"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        module.register_heif_opener()
        return True
    return False


def decode_reduced(image, max_side):
    """Decode the first frame; JPEGs decode directly at 1/2, 1/4 or 1/8 size when that still covers `max_side`."""
    factor = max_side / max(image.size)
    if factor < 1 and image.format == "JPEG":
        image.draft("RGB", (max(1, int(image.width * factor)), max(1, int(image.height * factor))))
    image.load()
    return image


def jpeg_block_step(image):
    """The grey step (0-1) to which an opened JPEG rounded the mean of each 8x8 block of its luminance: its
    luminance table's first (DC) step / 8 / 255, as the DC coefficient is 8 x the block's mean (quality 90: 3/8
    of a grey level; 15: 53/8; 5: 160/8); 0.0 for other files."""
    tables = getattr(image, "quantization", None) if image.format == "JPEG" else None
    if not tables or 0 not in tables or len(tables[0]) == 0:
        return 0.0
    return float(tables[0][0]) / 8 / 255


def is_dithered(picture):
    """Whether a decoded picture of few colours (at most DITHER_COLOURS) makes its greys of dots: DITHER_SHARE of
    its pixels or more are dots, lighter or darker than each of their four neighbours by DITHER_STEP (a picture
    saved as a GIF or a palette PNG, or scanned in black and white, with dithering).  Its dots made marks of their
    own, the paper's grain as dark as the writing (a palette PNG of test1.jpg: 15,661 marks the size of letters, in
    one line); blurred by DITHER_BLUR they are the greys the eye sees.  Dithered: 1.8 to 33% dots; a clean black
    and white scan: 0 to 0.01% (a stroke's edge pixel has a neighbour like itself), a photo too many colours."""
    if picture.getcolors(DITHER_COLOURS) is None:
        return False
    grey = np.asarray(picture.convert("L"), dtype=np.float32) / np.float32(255)
    middle = grey[1:-1, 1:-1]
    neighbours = (grey[1:-1, :-2], grey[1:-1, 2:], grey[:-2, 1:-1], grey[2:, 1:-1])
    lighter = np.logical_and.reduce([middle - other >= DITHER_STEP for other in neighbours])
    darker = np.logical_and.reduce([other - middle >= DITHER_STEP for other in neighbours])
    return float(np.mean(lighter | darker)) >= DITHER_SHARE


def exif_orientation(image):
    """The EXIF orientation tag (1 = upright) of an opened image; 1 when absent or unreadable."""
    try:
        orientation = image.getexif().get(0x0112, 1)
    except (OSError, ValueError, SyntaxError):
        return 1  # a broken EXIF block should not stop us reading the pixels
    return orientation if orientation in range(1, 9) else 1


def to_rgb(image):
    """Any Pillow mode -> RGB; transparency is laid on white paper, 16-bit and float images are stretched."""
    if image.mode == "RGB":
        return image
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        values = np.asarray(image, dtype=np.float64)
        finite = np.isfinite(values)
        if not finite.all():  # a float TIFF may hold NaN or inf pixels: the paper's level (the median) stands in
            values = np.where(finite, values, np.median(values[finite]) if finite.any() else 0.0)
        low, high = float(values.min()), float(values.max())
        stretched = (values - low) / (high - low) * 255 if high > low else np.zeros_like(values)
        return Image.fromarray(stretched.astype(np.uint8)).convert("RGB")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(paper, rgba).convert("RGB")
    return image.convert("RGB")
