"""Measure a saved model on a test split.

Reports test accuracy with its 95% bootstrap interval (what another draw of as many writers might
score: whole writers resampled where the split records them, as unipen's and chars74k's do, single
images otherwise: hdl_native/intervals.py), top-2 accuracy (the true class among the two highest scores), the expected
calibration error of its confidences (with the temperature the state stores, see `hdl-native calibrate`),
accuracy per class, the most confused pairs, and accuracy on augmented copies of the
test images (each shifted by up to 2 pixels and 5 pixels inverted, seeded by --seed), which
shows how well the model copes with small changes it may not have been trained on.
With --shifts 5 or 9 each test image is read as `ocr` reads a crop: in that many copies moved by
at most one pixel, their calibrated probabilities averaged (the temperature `calibrate` fitted for
that count); accuracy, confusions and calibration error are then those of that reading.  A reader's stored
offset on the class 'other' (`calibrate --other-offset`) is in every figure, as in `ocr`.
Last, a table of each layer's weights: their sum of squares, how many have a square below 1e-4,
and the effective rank of the layer (singular values above 5% of the largest), where weight
decay's effect shows.
The dataset defaults to the one the model was trained on.

  hdl-native evaluate letters.hdl --json
"""
HELP = "measure a saved model on a test split: accuracy, top-2, calibration, per class, confusions, augmented, weights"
CONFUSION_PICTURE = "confusion.png"  # what --plot DIR holds: checked before the evaluation, drawn after it


def add_arguments(parser):
    from hdl_native.cli_types import BATCH_SIZE, SEED, THREADS, THREADS_HELP, int_choice
    from hdl_native.data.datasets import DATASETS
    from hdl_native.data.mixture import EXTRA_SOURCES, dataset_names
    from hdl_native.data.paths import DATA_ENV
    from hdl_native.shifts import SHIFT_OFFSETS

    parser.add_argument("state", metavar="STATE", help="a state file saved by training (e.g. letters.hdl)")
    parser.add_argument("--data", metavar="DIR", default=None,
                        help=f"data root holding mnist/, letters/ ... (default: ${DATA_ENV}, else ~/.cache/hdl_native)")
    parser.add_argument("--dataset", type=dataset_names, default=None, metavar="NAME[,NAME...]",
                        help=f"test split to use: {', '.join(DATASETS)}, or a comma-separated mixture of them "
                             f"and {', '.join(EXTRA_SOURCES)} (reported per source too) (default: the dataset the "
                             "model was trained on)")
    parser.add_argument("--seed", type=SEED, default=0,
                        help=f"seed of the test-image augmentation, {SEED.allowed} (default: 0)")
    parser.add_argument("--batch-size", type=BATCH_SIZE, default=500,
                        help=f"images per forward pass, {BATCH_SIZE.allowed} (default: 500)")
    parser.add_argument("--threads", type=THREADS, default=None, help=THREADS_HELP)
    shifts = int_choice(*SHIFT_OFFSETS)
    parser.add_argument("--shifts", metavar="N", type=shifts, default=1,
                        help=f"read each test image in N copies shifted by up to one pixel and average them, as "
                             f"`ocr --shifts N` does; N is {shifts.allowed} (default 1: one read)")
    parser.add_argument("--against", metavar="STATE2", default=None,
                        help="also read the same test images with STATE2 and report the difference in accuracy with "
                             "its 95%% interval (both readers resampled together, whole writers at a time), overall "
                             "and per source: is STATE really better?")
    parser.add_argument("--plot", metavar="DIR", default=None, help="also write the confusion matrix as PNG here")
    parser.add_argument("--json", action="store_true", help="print one JSON object on the last line")


def run(args):
    from pathlib import Path

    from hdl_native.data import find_data_root
    from hdl_native.inspect.evaluation import compare_reports, evaluate_state
    from hdl_native.intervals import LEVEL
    from hdl_native.inspect.weight_stats import format_layer_weights
    from hdl_native.json_output import json_line
    from hdl_native.threads import set_num_threads
    from hdl_native.training.outputs import check_plot_folder

    if args.plot:
        check_plot_folder(args.plot, CONFUSION_PICTURE)  # now, not after the evaluation
    if args.threads is not None:
        set_num_threads(args.threads)
    root = find_data_root(args.data)
    report = evaluate_state(args.state, root, args.dataset, args.seed, args.batch_size, shifts=args.shifts,
                            progress=True)
    against = None
    if args.against is not None:
        other = evaluate_state(args.against, root, report.dataset, args.seed, args.batch_size, shifts=args.shifts,
                               augmented=False, progress=True)
        against = compare_reports(report, other, args.against)
    read = "" if args.shifts == 1 else f", each read in {args.shifts} shifted copies as `ocr` does"
    print(f"{args.state} on {report.dataset} test ({report.n_images} images{read}):")
    print(f"  accuracy {report.test_accuracy:.2f}%   top-2 {report.top2_accuracy:.2f}%   "
          f"augmented {report.augmented_accuracy:.2f}%   mean loss {report.loss:.4f}")
    low, high = report.accuracy_interval
    recorded = report.writers is not None and bool((report.writers >= 0).any())
    unrecorded = "" if recorded else " (the split records no writers)"
    print(f"  {100 * LEVEL:.0f}% interval of the accuracy, resampling {report.interval_over}{unrecorded}: "
          f"{low:.2f} to {high:.2f}%")
    if report.quantization:
        print(f"  {describe_quantization(report.quantization)}")
    uncalibrated = " (uncalibrated: see `hdl-native calibrate`)" if report.temperature == 1.0 else ""
    print(f"  calibration error (ECE, 15 bins) {100 * report.calibration_error:.2f}% at temperature "
          f"{report.temperature:.3f}{uncalibrated}"
          + (f", p(other) x e^{report.other_offset:g}" if report.other_offset else ""))
    for source, part in report.per_source.items():
        best = report.best_letter_per_source.get(source)
        low, high = part["interval"]
        print(f"  {source:>12} test: {part['accuracy']:6.2f}% of {part['images']} images (interval {low:.2f} to "
              f"{high:.2f} by {part['interval_over']}), ECE {100 * part['calibration_error']:.2f}%"
              + (f" (best letter, 'other' aside: {best['accuracy']:.2f}%, {best['interval'][0]:.2f} to "
                 f"{best['interval'][1]:.2f})" if best else ""))
    if against is not None:
        print(format_against(against, report))
    if report.best_letter_accuracy is not None:
        low, high = report.best_letter_interval
        print(f"  letters read right when 'other' is left aside: {report.best_letter_accuracy:.2f}% "
              f"({100 * LEVEL:.0f}% interval {low:.2f} to {high:.2f}%)")
    cells = [f"{name}:{pct:5.1f}" for name, pct in report.per_class.items()]
    print("  per class: " + "\n             ".join("  ".join(cells[i:i + 9]) for i in range(0, len(cells), 9)))
    pairs = ", ".join(f"{true}->{pred} x{count}" for true, pred, count in report.confused_pairs[:8])
    print(f"  most confused (true->predicted): {pairs or 'none'}")
    print(format_layer_weights(report.weights))
    if args.plot:
        from hdl_native.training.plots import save_confusion_png

        title = f"{Path(args.state).name} on {report.dataset} test: {report.test_accuracy:.2f}%"
        path = save_confusion_png(Path(args.plot) / CONFUSION_PICTURE, report.confusion, report.classes, title=title)
        print(path)
    if args.json:
        print(json_line(dict(report.as_json(), **({"against": against} if against is not None else {}))))
    return 0


def format_against(against, report):
    """The lines saying how STATE does against STATE2 (compare_reports): the difference in points, its interval."""
    from hdl_native.intervals import LEVEL

    low, high = against["difference_interval"]
    lines = [f"  against {against['state']} ({against['accuracy']:.2f}% on the same images): "
             f"{against['difference']:+.2f} points, {100 * LEVEL:.0f}% interval {low:+.2f} to {high:+.2f} "
             f"(both resampled together: {report.interval_over})"]
    for source, part in against["per_source"].items():
        low, high = part["difference_interval"]
        lines.append(f"  {source:>12} test: {part['difference']:+6.2f} points ({low:+.2f} to {high:+.2f})")
    return "\n".join(lines)


def describe_quantization(quantization):
    """One line on how a quantised state was made, e.g. 'quantised: linear, 8 bits per output channel, from
    letters.hdl (test accuracy 96.75% as its training measured it)'."""
    source = quantization["source"]
    accuracy = source.get("test_accuracy")
    # as the source's training run measured it: one read, without a later `calibrate`'s offset on 'other'
    measured = (f"test accuracy {accuracy:.2f}% as its training measured it" if accuracy is not None
                else "its test accuracy not recorded: the source was not tested at the end of a training run")
    per = "per output channel" if quantization["per_channel"] else "per tensor"
    return (f"quantised: {quantization['scheme']}, {quantization['bits']} bits {per}, "
            f"from {source.get('file')} ({measured})")
