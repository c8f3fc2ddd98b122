"""The pages of a PDF, as scanner apps save them, drawn as pictures by PDFium (pypdfium2, the `pdf` extra).

A page is drawn straight at the size `ocr` works at (its long side MAX_WORK_SIDE pixels, enlarged or reduced alike,
on white paper, turned as the page's /Rotate says); its "original" size, in which `ocr` gives box coordinates, is
the page drawn at PDF_DPI, as `pdftoppm -r 300` would draw it.  Pillow writes PDFs but cannot draw them.
"""
from contextlib import contextmanager

from ..errors import HDLError

PDF_SIGNATURE = b"%PDF-"
PDF_DPI = 300  # a page's "original" pixels: the page drawn at this resolution (PDF sizes are in 1/72 inch)
POINTS_PER_INCH = 72


@contextmanager
def pdf_document(path):
    """The PDF at `path` opened with pypdfium2, closed afterwards; HDLError when pypdfium2 is not installed (saying
    what to install) or the file cannot be opened (damaged, or locked by a password)."""
    try:
        import pypdfium2
    except ImportError:
        raise HDLError(f"{path}: a PDF; reading it needs the PDF renderer pypdfium2: pip install pypdfium2 (or save "
                       f"its pages as pictures: `pdftoppm -r 300 -png {path} page`)") from None
    try:
        document = pypdfium2.PdfDocument(str(path))
    except pypdfium2.PdfiumError as error:
        raise HDLError(f"{path}: cannot open the PDF ({error})") from None
    try:
        yield document
    finally:
        document.close()


def pdf_page_count(path):
    """How many pages the PDF at `path` holds; HDLError as pdf_document's."""
    with pdf_document(path) as document:
        return len(document)


def check_page_number(path, page, pages):
    """HDLError unless `page` (from 1) is one of the `pages` pages of the scan at `path` (a PDF's or a TIFF's)."""
    if not 1 <= page <= pages:
        raise HDLError(f"{path}: has {pages} pages, no page {page}")


def draw_pdf_page(path, page, long_side, name):
    """(PIL picture, (width, height) of the page at PDF_DPI) of page `page` (from 1) of the PDF at `path`, drawn on
    white with its long side `long_side` pixels; name: how errors call the page ('scan.pdf page 2')."""
    with pdf_document(path) as document:
        pages = len(document)
        if pages == 0:
            raise HDLError(f"{path}: a PDF with no pages")
        check_page_number(path, page, pages)
        sheet = document[page - 1]
        try:
            width, height = sheet.get_size()  # points, turned as the page's /Rotate says
            if min(width, height) <= 0:
                raise HDLError(f"{name}: the page is empty ({width:g} x {height:g} points)")
            picture = sheet.render(scale=long_side / max(width, height), fill_color=(255, 255, 255, 255)).to_pil()
        finally:
            sheet.close()
    return picture, (round(width * PDF_DPI / POINTS_PER_INCH), round(height * PDF_DPI / POINTS_PER_INCH))
