"""Which photos `hdl-native ocr` reads and where each one's pictures and crops go.

One photo writes --out PNG, --crop-sheet PNG and --crops DIR as given.  Several photos, or a directory of them
(its image files, sorted by name; Windows shells do not expand *.jpg), or a scan of several pages (a PDF or TIFF:
each page is read as a photo of its own), write into those options as directories: DIR/<name>-boxed.png,
DIR/<name>-crops.png and DIR/<name>/, where a page's name is <name>-page<k>.  Everything that can be checked is
checked before the first photo is read, so a typing mistake does not surface after minutes of reading.
"""
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..errors import HDLError, named_twice, resolved


@dataclass(frozen=True)
class PhotoJob:
    """One photo (or one page of a scan of several) to read and the files to write for it (None: not asked for)."""

    photo: str
    out: str = None         # the boxed picture (PNG)
    crop_sheet: str = None  # the crops as one picture (PNG)
    crops: str = None       # the directory of crops and their labels file
    page: int = None        # the page (from 1) of a PDF or TIFF of several; None: a file of one picture

    @property
    def name(self):
        """'scan.pdf page 2', or the photo alone: how the batch's header and messages name it."""
        from ..ocr.image_io import page_name

        return page_name(self.photo, self.page)


def photo_jobs(images, batch, out=None, crop_sheet=None, crops=None):
    """[PhotoJob] for the photos named on the command line (files, or directories of them; a scan of several pages
    one job a page) and the output options; batch: is_batch(images), asked once by the caller.

    HDLError before anything is read: a missing or empty file, a directory holding no image, a photo named twice
    (directly or through its directory), two photos (or pages) of one name when outputs are asked for (they would
    collide), an output option naming a file where a directory is needed, or naming a directory of the photos (for
    pictures: the next run would read them as photos).
    """
    from ..ocr.image_io import check_file, page_count

    if not batch:
        check_outputs_apart(images[0], (("--out", out), ("--crop-sheet", crop_sheet), ("--crops", crops)))
        return [PhotoJob(images[0], out, crop_sheet, crops)]
    photos = [photo for image in images for photo in photos_in(image)]
    twice = named_twice(photos)
    if twice:
        raise HDLError(f"the photo {twice[1]} is named twice ({twice[0]} and {twice[1]}); name each photo once")
    pages, names = [], {}
    for photo in photos:
        check_file(Path(photo))  # a mistyped name is told before the first photo is read
        count = page_count(photo)
        for page in range(1, count + 1) if count > 1 else [None]:
            job = PhotoJob(photo, page=page)
            name = f"{Path(photo).stem}-page{page}" if page else Path(photo).stem
            other = names.setdefault(name, job)
            if other != job and (out or crop_sheet or crops):  # without outputs, a name is only a header
                raise HDLError(f"the photos {other.name} and {job.name} would write outputs of the same name "
                               f"({name}); read them in separate runs, or rename one")
            pages.append((job, name))
    folders = {resolved(Path(photo).parent) for photo in photos}
    several = (f"the {len(pages)} pages of {photos[0]}" if len(photos) == 1 and len(pages) > 1
               else "several photos" if len(photos) > 1 else f"the photos of {images[0]}")
    for option, directory in (("--out", out), ("--crop-sheet", crop_sheet), ("--crops", crops)):
        if directory and Path(directory).exists() and not Path(directory).is_dir():
            raise HDLError(f"{option} {directory} is a file; with several photos {option} names a directory")
        if (directory and option != "--crops" and Path(directory).suffix.lower() in PICTURE_SUFFIXES
                and not Path(directory).is_dir()):
            raise HDLError(f"{option} {directory} names a picture, but {several} are read: {option} names a directory "
                           f"then, a picture for each in it; for example {option} {Path(directory).with_suffix('')}")
        if directory and option != "--crops" and resolved(directory) in folders:
            raise HDLError(f"{option} {directory} holds photos read; write the pictures into another directory "
                           "(a later run would read them as photos)")

    def inside(directory, name):
        return str(Path(directory) / name) if directory else None

    return [PhotoJob(job.photo, inside(out, f"{name}-boxed.png"), inside(crop_sheet, f"{name}-crops.png"),
                     inside(crops, name), job.page)
            for job, name in pages]


def check_outputs_apart(photo, outputs):
    """HDLError unless every output ((option, path or None), ...) of one photo's reading names a path of its own,
    neither the photo (it would be replaced by a picture of it) nor another output's (one would replace the other)."""
    named = {resolved(photo): "the photo read"}
    for option, path in outputs:
        if not path:
            continue
        earlier = named.setdefault(resolved(path), option)
        if earlier == "the photo read":
            raise HDLError(f"{option} {path} is the photo read: it would be replaced; write to another file")
        if earlier != option:
            raise HDLError(f"{earlier} and {option} both name {path}: one would replace the other; give each its own")


def is_batch(images):
    """Whether the command line names several photos, a directory of them, or a scan of several pages (outputs then
    go into directories)."""
    from ..ocr.image_io import page_count

    return len(images) > 1 or Path(images[0]).is_dir() or page_count(images[0]) > 1


def photos_in(image):
    """[image] for a file (or a name that does not exist: check_file tells), a directory's image files sorted."""
    path = Path(image)
    if not path.is_dir():
        return [image]
    from PIL import Image

    from ..ocr.image_io import HEIF_EXTENSIONS

    extensions = set(Image.registered_extensions()) | set(HEIF_EXTENSIONS)  # HEIC: opened with pi-heif if installed
    found = sorted(str(child) for child in path.iterdir() if child.is_file() and child.suffix.lower() in extensions)
    if not found:
        raise HDLError(f"{image}: a directory with no photo in it (no file ending {', '.join(COMMON_EXTENSIONS)}, "
                       "...)")
    return found


PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg")  # an output option naming a picture, where a directory is needed
COMMON_EXTENSIONS = (".jpg", ".jpeg", ".png", ".heic", ".pdf", ".tif", ".bmp", ".webp")


def photos_bar(count, unit="photo"):
    """A tqdm bar on stderr over `count` photos (or pages: `unit`) when there are several and stderr is a terminal,
    else None."""
    from ..ocr.pipeline import stderr_is_terminal

    if count < 2 or not stderr_is_terminal():
        return None
    import sys

    from tqdm import tqdm

    return tqdm(total=count, desc=f"{unit}s", unit=unit, leave=False, file=sys.stderr)


def unit_read(jobs):
    """'page' when the jobs are the pages of one scan, else 'photo': how messages count what a batch read."""
    return "page" if len({job.photo for job in jobs}) == 1 and jobs[0].page else "photo"


@contextmanager
def bar_paused(bar):
    """Clear `bar` (if any) while a photo's text and notes are printed, then draw it again below them."""
    if bar is None:
        yield
        return
    bar.clear()
    try:
        yield
    finally:
        bar.refresh()
