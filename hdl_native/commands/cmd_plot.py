"""Draw a training run from its SQLite log as PNG pictures (chapter 6 of the tutorial).

Writes to --out: accuracy and loss against batch (curves-batch.png) and against wall
time (curves-time.png); the squared-weight histogram and its cumulative form at the
first and last logged batch (weights-squared.png, to watch weight decay act); the
confusion matrix of the last test evaluation (confusion.png); and with --param LAYER:INDEX
one parameter's evolution (e.g. --param c2:20 = filter 20 of c2's weights).

  hdl-native plot letters-vals.sqlite3 --out plots/ --param c2:20
"""
HELP = "draw a training log (SQLite) as PNGs: accuracy/loss curves, a parameter, squared weights, confusion"


def add_arguments(parser):
    from hdl_native.cli_types import POSITIVE_INT

    parser.add_argument("db", metavar="DB", help="the SQLite log a training run wrote (--db)")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for the PNG files")
    parser.add_argument("--run", dest="start_id", type=POSITIVE_INT, default=None,  # args.run is the CLI hook
                        metavar="STARTID", help=f"which run of the file (its startID, {POSITIVE_INT.allowed}; "
                                                "default: the latest)")
    parser.add_argument("--param", action="append", default=[], metavar="LAYER:INDEX",
                        help="also draw one parameter's evolution, e.g. c2:20 or fc1.bias:3 (repeatable)")
    parser.add_argument("--json", action="store_true", help="print one JSON object (run, files) on the last line")


def run(args):
    from pathlib import Path

    from hdl_native.errors import HDLError
    from hdl_native.inspect.logdb import LogDB, parse_param_spec
    from hdl_native.inspect.report import write_run_plots
    from hdl_native.json_output import json_line

    params = [parse_param_spec(spec) for spec in args.param]  # bad specs fail before any work
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise HDLError(f"cannot create output folder {out}: {error.strerror}") from None
    with LogDB(args.db) as log:
        run_id = log.choose_run(args.start_id)
        written, notes = write_run_plots(log, run_id, out, params)
    for note in notes:
        print(f"note: {note}")
    for path in written:
        print(path)
    if args.json:
        print(json_line({"run": run_id, "files": [str(p) for p in written], "notes": notes}))
    return 0
