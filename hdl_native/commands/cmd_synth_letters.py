"""Render synthetic handwritten-looking letters from the fonts on this machine.

Each letter a-z (upper and lower case, labels 0-25 like the letters set) is drawn from
every usable installed font and from the handwritten forms of hdl_native/synth/pen_forms.py
(lower case, school print and joined), randomly distorted (rotation, slant, aspect, scale, elastic
warp, stroke width, uneven ink, blur, paper noise) and laid out exactly like the real
letters set (bright ink on black, bounding box centred, 24x24 in 28x28, maximum 255).
Writes synth-letters-train-images-idx3-ubyte.gz and synth-letters-train-labels-idx1-ubyte.gz
to --out, and with --preview a PNG contact sheet (one column per letter).
"""
import time
from pathlib import Path

HELP = "render synthetic letters (a-z) from installed fonts as IDX files, for pretraining"


def add_arguments(parser):
    from hdl_native.cli_types import SEED, int_range

    count = int_range(1, 1_000_000)  # 784 MB of images, 8 times EMNIST's 124800 training letters
    pen_copies = int_range(0, 100)   # each copy renders every handwritten form and its stroke variants again
    parser.add_argument("--out", required=True, metavar="DIR", help="folder to write the IDX files (and preview) to")
    parser.add_argument("--count", type=count, default=50000,
                        help=f"number of images, {count.allowed} (default: 50000)")
    parser.add_argument("--seed", type=SEED, default=0, help=f"random seed, {SEED.allowed} (default: 0)")
    parser.add_argument("--fonts", nargs="+", default=(), metavar="PATH",
                        help="extra font files or folders to draw with")
    parser.add_argument("--only-these-fonts", action="store_true",
                        help="use only the --fonts given, not the fonts installed on the machine")
    parser.add_argument("--pen-copies", type=pen_copies, default=6, metavar="N",
                        help="wobbly copies of each handwritten letter form (school print and joined, see "
                             f"hdl_native/synth/pen_forms.py) drawn besides the fonts, {pen_copies.allowed}; 0 for "
                             "fonts only (default: 6)")
    parser.add_argument("--preview", action="store_true", help="also write a PNG contact sheet of samples")
    parser.add_argument("--force", action="store_true",
                        help="replace the letters (and preview) --out already holds")
    parser.add_argument("--json", action="store_true", help="print one JSON summary object on the last line")


def run(args):
    from hdl_native.errors import HDLError
    from hdl_native.json_output import json_line
    from hdl_native.progress import terminal_bar
    from hdl_native.synth import PREVIEW_FILE, build_glyph_bank, contact_sheet, find_fonts, generate_letters
    from hdl_native.synth import IMAGES_FILE, write_letters_idx
    from hdl_native.synth.bank import BANK_STAGES
    from hdl_native.training.outputs import check_writable

    if args.only_these_fonts and not args.fonts:
        raise HDLError("--only-these-fonts needs --fonts PATH ...")
    check_writable(Path(args.out) / IMAGES_FILE, "IDX file")  # now, not after rendering a million letters
    check_not_replacing(Path(args.out), args.force)
    start = time.perf_counter()
    fonts = find_fonts(args.fonts, system=not args.only_these_fonts)
    with terminal_bar(BANK_STAGES, "synth-letters: glyphs", "stage") as bar:
        bank = build_glyph_bank(fonts, pen_copies=args.pen_copies, seed=args.seed, progress=bar.update)
    print(f"{len(fonts)} fonts and {args.pen_copies} copies of each handwritten form, {bank.n_glyphs} glyphs: "
          f"{', '.join(f.stem for f in fonts)}")
    with terminal_bar(args.count, "synth-letters", "img") as bar:
        images, labels = generate_letters(args.count, seed=args.seed, bank=bank, progress=bar.update)
    written = list(write_letters_idx(args.out, images, labels))
    if args.preview:
        written.append(contact_sheet(images, labels, f"{args.out}/{PREVIEW_FILE}"))
    else:  # a preview of the letters replaced would show letters that are no longer there
        (Path(args.out) / PREVIEW_FILE).unlink(missing_ok=True)
    seconds = time.perf_counter() - start
    for path in written:
        print(path)
    print(f"{args.count} images in {seconds:.1f} s ({args.count / seconds:.0f} images/s)")
    if args.json:
        print(json_line({"count": args.count, "fonts": len(fonts), "seconds": seconds,
                          "images_per_s": args.count / seconds, "files": [str(p) for p in written]}))
    return 0


def check_not_replacing(out, force):
    """HDLError unless `force` when `out` already holds synthetic letters: every other writer of the project asks
    for --force before replacing what it wrote, and a second run replaced them silently."""
    from hdl_native.errors import HDLError
    from hdl_native.synth import IMAGES_FILE, LABELS_FILE

    there = [name for name in (IMAGES_FILE, LABELS_FILE) if (out / name).exists()]
    if there and not force:
        raise HDLError(f"--out {out} already holds {' and '.join(there)}: pass --force to replace them, or choose "
                       "another folder")
