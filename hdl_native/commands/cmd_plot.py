"""Draw a training run from its SQLite log as PNG pictures (chapter 6 of the tutorial).

Writes to --out: accuracy and loss against batch (curves-batch.png) and against wall
time (curves-time.png); the squared-weight histogram and its cumulative form at the
first and last logged batch (weights-squared.png, to watch weight decay act); the
confusion matrix of the last test evaluation (confusion.png); and with --param LAYER:INDEX
one parameter's evolution (e.g. --param c2:20 = filter 20 of c2's weights).

With --prune-curve STATE (and no DB needed) it draws instead how the test accuracy of a trained
model falls as more of its weights are magnitude-pruned, 0 to 95% in steps of 5, without any
fine-tune, globally and layer by layer (prune-curve.png; the figures are printed too).

  hdl-native plot letters-vals.sqlite3 --out plots/ --param c2:20
  hdl-native plot --prune-curve letters.hdl --out plots/
"""
HELP = ("draw a training log (SQLite) as PNGs: accuracy/loss curves, a parameter, squared weights, confusion; "
        "or a model's accuracy against pruned sparsity")
PRUNE_SPARSITIES = [i / 20 for i in range(20)]  # 0, 0.05 ... 0.95
PRUNE_PICTURE = "prune-curve.png"


def add_arguments(parser):
    from hdl_native.cli_types import POSITIVE_INT

    parser.add_argument("db", metavar="DB", nargs="?", default=None,
                        help="the SQLite log a training run wrote (--db); not needed with --prune-curve")
    parser.add_argument("--prune-curve", metavar="STATE", default=None,
                        help="draw test accuracy against the share of weights magnitude-pruned (global and per "
                             "layer, no fine-tune) for this trained state")
    parser.add_argument("--data", metavar="DIR", default=None,
                        help="data root for --prune-curve's test split (default: $HDL_DATA, else the cache)")
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
    from hdl_native.inspect.logdb import parse_param_spec

    if args.db is None and args.prune_curve is None:
        raise HDLError("give the DB to draw, or --prune-curve STATE")
    check_options_apply(args)
    params = [parse_param_spec(spec) for spec in args.param]  # bad specs fail before any work
    out = Path(args.out)
    check_out_folder(out)
    if args.db is None:
        return draw(args, None, params, out)
    from hdl_native.inspect.logdb import LogDB

    with LogDB(args.db) as log:  # a missing or foreign file is said before any folder is made
        return draw(args, log, params, out)


def draw(args, log, params, out):
    """Measure --prune-curve's state (if any), then make the folder `out` and draw the pictures in it: the log's
    run (if `log`) and the curve.  The folder is made only once the inputs have been read, and a failure or Ctrl-C
    while drawing removes the folder again when this made it, so a bad input leaves no empty folder behind."""
    from hdl_native.errors import output_directory
    from hdl_native.inspect.report import write_run_plots
    from hdl_native.json_output import json_line

    summary, written, notes = {}, [], []
    if log is not None:
        summary["run"] = log.choose_run(args.start_id)
    if args.prune_curve is not None:
        curves = measure_prune_curve(args.prune_curve, args.data)
        summary["prune_curve"] = {kind: [[s, a] for s, a in curve] for kind, curve in curves.items()}
    with output_directory(out):
        if log is not None:
            written, notes = write_run_plots(log, summary["run"], out, params)
        if args.prune_curve is not None:
            written.append(draw_prune_curve(args.prune_curve, curves, out))
    for note in notes:
        print(f"note: {note}")
    for path in written:
        print(path)
    if args.json:
        print(json_line({**summary, "files": [str(p) for p in written], "notes": notes}))
    return 0


def check_out_folder(out):
    """HDLError when --out is a file or its folder cannot be made where it is: said before the log is read or the
    prune curve measured, and without creating anything."""
    from hdl_native.errors import check_not_a_file
    from hdl_native.training.outputs import check_writable

    check_not_a_file(out)
    check_writable(out / PRUNE_PICTURE, "picture")


def check_options_apply(args):
    """HDLError naming an option that nothing drawn uses: --run and --param pick from the DB, --data is the data
    root of --prune-curve's test split."""
    from hdl_native.errors import HDLError

    if args.db is None:
        for option, given in (("--run", args.start_id is not None), ("--param", args.param)):
            if given:
                raise HDLError(f"{option} draws from the DB's training log; --prune-curve alone reads no log: "
                               f"give the DB too, or drop {option}")
    if args.prune_curve is None and args.data is not None:
        raise HDLError("--data is the data root of --prune-curve's test split; the DB alone reads no data: "
                       "drop --data")


def measure_prune_curve(state, data_root):
    """`state`'s test accuracy at each of PRUNE_SPARSITIES, global and per layer, under a bar on a terminal; prints
    the table.  Returns {'global': [(sparsity, accuracy)], 'per layer': [...]}."""
    from hdl_native.checkpoint import load_model
    from hdl_native.data import find_data_root, load_dataset
    from hdl_native.inspect.evaluation import choose_dataset
    from hdl_native.progress import terminal_bar
    from hdl_native.prune import sparsity_curve
    from hdl_native.training.evaluate import Evaluator

    model, meta = load_model(state)
    test = load_dataset(choose_dataset(meta, None, state), "test", find_data_root(data_root))
    evaluator = Evaluator(model, normalization=meta.get("normalization"), source=state)
    kinds = ("global", "per layer")
    with terminal_bar(len(kinds) * len(PRUNE_SPARSITIES), "pruning", "sparsity") as bar:
        def accuracy_of(pruned):
            accuracy = evaluator.evaluate(test.images, test.labels).accuracy
            bar.update(1)
            return accuracy

        curves = {kind: sparsity_curve(model, accuracy_of, PRUNE_SPARSITIES, per_layer=kind == "per layer")
                  for kind in kinds}
    print(f"{state}: test accuracy ({len(test)} {test.name} images) with the smallest weights pruned, no fine-tune")
    print("sparsity  global  per layer")
    for (sparsity, accuracy), (_, layered) in zip(curves["global"], curves["per layer"]):
        print(f"{100 * sparsity:7.0f}%  {accuracy:6.2f}%  {layered:8.2f}%")
    return curves


def draw_prune_curve(state, curves, out):
    """Draw measure_prune_curve's `curves` of `state` into the folder `out`; returns the PNG's path."""
    from hdl_native.inspect.plots import plot_prune_curve

    return plot_prune_curve(out / PRUNE_PICTURE, curves, f"{state}: magnitude pruning, no fine-tune")
