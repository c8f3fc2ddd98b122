"""Find the fonts installed on this machine that can draw the letters a-z and A-Z.

fontconfig (`fc-list`) is asked first; the usual font folders are searched as well,
so a machine without fontconfig still works.  A font is kept only when every one of
the 52 letters renders as its own glyph (not the font's "missing glyph" box), which
drops symbol and maths fonts.
"""
import os
import shutil
import string
import subprocess
from pathlib import Path

from ..errors import HDLError

FONT_SUFFIXES = (".ttf", ".otf", ".ttc")
FONT_FOLDERS = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.fonts", "~/.local/share/fonts")
LETTERS = string.ascii_lowercase + string.ascii_uppercase
_SURELY_MISSING = "\U0010fffd"  # a private-use code point no text font draws


def fontconfig_fonts():
    """Font files `fc-list` reports (empty when fontconfig is not installed or fails)."""
    if shutil.which("fc-list") is None:
        return []
    try:
        listing = subprocess.run(["fc-list", "--format", "%{file}\n"], capture_output=True, text=True,
                                 timeout=30, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [Path(line.strip()) for line in listing.splitlines() if line.strip()]


def folder_fonts(folders=FONT_FOLDERS):
    """Font files found by walking the given folders (missing folders are skipped)."""
    found = []
    for folder in folders:
        folder = Path(folder).expanduser()
        if folder.is_dir():
            found.extend(p for p in folder.rglob("*") if p.suffix.lower() in FONT_SUFFIXES and p.is_file())
    return found


def expand_font_paths(paths):
    """Font files named directly or found in the given folders; HDLError for a path that does not exist."""
    files = []
    for path in paths:
        path = Path(path).expanduser()
        if path.is_dir():
            files.extend(folder_fonts([path]))
        elif path.is_file():
            files.append(path)
        else:
            raise HDLError(f"font path {path} does not exist")
    return files


def draws_all_letters(path, letters=LETTERS):
    """True when the font at `path` loads and draws each letter as its own real, non-empty glyph.

    "Its own": fallback fonts draw one box for everything, so nearly all letters must differ.
    """
    from PIL import ImageFont

    try:
        font = ImageFont.truetype(str(path), 32)
        missing = font.getmask(_SURELY_MISSING)
        missing_signature = (missing.size, bytes(missing))
        signatures = set()
        for letter in letters:
            mask = font.getmask(letter)
            signature = (mask.size, bytes(mask))
            if 0 in mask.size or max(signature[1], default=0) == 0 or signature == missing_signature:
                return False
            signatures.add(signature)
    except (OSError, ValueError):
        return False
    return len(signatures) >= len(letters) - 4


def find_fonts(extra_paths=(), system=True):
    """Sorted, de-duplicated font files that can draw all 52 letters.

    extra_paths: font files or folders to add.  system: include fontconfig and the usual folders.
    Raises HDLError when no usable font is found, saying where it looked.
    """
    candidates = expand_font_paths(extra_paths)
    if system:
        candidates += fontconfig_fonts() + folder_fonts()
    unique = sorted({os.path.realpath(p): Path(p) for p in candidates}.items())
    usable = [path for real, path in unique if draws_all_letters(real)]
    usable_files = {os.path.realpath(path) for path in usable}
    for path in extra_paths:  # a file named itself must be used (a folder's other fonts may be skipped)
        if Path(path).expanduser().is_file() and os.path.realpath(Path(path).expanduser()) not in usable_files:
            raise HDLError(f"--fonts {path}: not a font that draws every letter a-z and A-Z (a TrueType or OpenType "
                           "file Pillow can open)")
    if not usable:
        looked = ", ".join(["fc-list"] * system + list(FONT_FOLDERS) * system + [str(p) for p in extra_paths])
        raise HDLError(f"no fonts found that draw the letters a-z and A-Z (looked in: {looked}). "
                       "Install a TrueType/OpenType font (e.g. `apt-get install fonts-dejavu-core`) "
                       "or name font files or folders with --fonts")
    return usable
