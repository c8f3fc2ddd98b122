"""Download MNIST (LeCun's four files) or EMNIST (NIST's gzip.zip, unpacked to the digits and letters files).

Files land in DEST/mnist/ or DEST/emnist/, where every program finds them with
--data DEST (or HDL_DATA=DEST).  Checksums are verified; an interrupted download
resumes where it stopped when run again.
"""
import argparse

HELP = "download MNIST or EMNIST into the data folder (checksummed, resumable)"


def add_arguments(parser):
    parser.add_argument("dataset", choices=["mnist", "emnist"], help="what to download")
    parser.add_argument("--dest", metavar="DIR", default=None,
                        help="data root to download into (default: $HDL_DATA, else ~/.cache/hdl_native)")
    parser.add_argument("--keep-archive", action="store_true", help="keep EMNIST's gzip.zip after unpacking")
    parser.add_argument("--no-progress", action="store_true",
                        help="no progress bar (one is drawn only where stderr is a terminal)")
    parser.add_argument("--json", action="store_true", help="print one JSON summary object on the last line")
    parser.add_argument("--base-url", default=None, help=argparse.SUPPRESS)


def run(args):
    from hdl_native.data.download import download_dataset
    from hdl_native.data.paths import find_data_root
    from hdl_native.json_output import json_line
    from hdl_native.progress import stderr_is_terminal

    dest = find_data_root(args.dest)
    progress = not args.no_progress and stderr_is_terminal()  # on a pipe or a log file, a bar is noise
    paths = download_dataset(args.dataset, dest, base_url=args.base_url, progress=progress,
                             keep_archive=args.keep_archive)
    for path in paths:
        print(f"ok  {path}")
    print(f"{args.dataset}: {len(paths)} files verified in {paths[0].parent}; use --data {dest} "
          f"(or HDL_DATA={dest}) to train on them")
    if args.json:
        print(json_line({"dataset": args.dataset, "dest": str(dest), "files": [str(p) for p in paths]}))
    return 0
