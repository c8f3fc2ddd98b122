"""Synthetic letters rendered from the machine's fonts, distorted, and laid out like the real letters set."""
from .bank import GlyphBank, build_glyph_bank
from .distort import Distortion
from .fonts import find_fonts
from .generator import IMAGES_FILE, LABELS_FILE, PREVIEW_FILE, contact_sheet, generate_letters, write_letters_idx

__all__ = ["find_fonts", "build_glyph_bank", "GlyphBank", "Distortion", "generate_letters", "write_letters_idx",
           "contact_sheet", "IMAGES_FILE", "LABELS_FILE", "PREVIEW_FILE"]
