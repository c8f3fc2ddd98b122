"""Calibrate a trained model's confidence: fit its temperature and store it in a new state file.

The temperature T divides the network's log-probabilities before the softmax (hdl_native/calibration.py):
it changes how sure the model says it is, never which class it picks.  T is fitted (lowest negative
log-likelihood) on training images the model was not trained on: the ones its run held out with
--holdout (whole writers where the dataset records them), reconstructed from the settings the state
records.  A state trained without --holdout has no such images; then T is fitted on a fixed 10% sample
of the training split, with a note, since images the model has learnt make it look surer than it is
on new writers.  The test splits are never used for fitting: the expected calibration error (ECE,
15 bins) before and after is only reported on them, per source of a mixture.  `ocr` and `evaluate`
use the stored temperature.

For a letter reader (letters-cnn, letters-vgg) it also stores "int8_ranges": the range of every activation
the int8 kernels quantise, measured on a fixed 512 of the same held-out images, so that `ocr --dtype int8`
builds its int8 network from the state alone, without the training data (hdl_native/int8/runner.py).

The OCR averages each crop's probabilities over shifted copies of it (`ocr --shifts`), which makes it less
sure than one read; so a temperature is also fitted for each number of copies, on the same held-out images
read the same way, and stored beside the first ("shift_temperatures").  `evaluate --shifts N` reports the
test splits read that way.

A reader with the class 'other' (digits and marks) can be given --other-offset B: every reader of the state then
multiplies p(other) by e^B after the temperature and the shift average (calibration.with_other_offset), B > 0
leaving more digits and marks out of the text, B < 0 fewer.  It is a setting, not a fit (tried on held-out pages
and writers: BENCHMARKS.md; the shipped reader stores 0.5); the temperatures are fitted without it, and the
figures printed after calibration include it.  Without the option a state keeps the offset it stores.

  hdl-native calibrate letters.hdl --out letters-calibrated.hdl
  hdl-native calibrate mixed.hdl --dataset letters,unipen,nonletters --out mixed-calibrated.hdl --json
"""
from hdl_native.calibration import OTHER_OFFSET_RANGE
from hdl_native.cli_types import finite_float

HELP = "fit a model's temperature on held-out training images so its confidences are calibrated; report the ECE"
FALLBACK_FRACTION = 0.1  # of the training split, when the state records no held-out images
OTHER_OFFSET = finite_float(*OTHER_OFFSET_RANGE)  # --other-offset, as a state may store it


def add_arguments(parser):
    from hdl_native.cli_types import THREADS, THREADS_HELP
    from hdl_native.data.mixture import dataset_names
    from hdl_native.data.paths import DATA_ENV

    parser.add_argument("state", metavar="STATE", help="a state file saved by training (e.g. letters.hdl)")
    parser.add_argument("--out", required=True, metavar="STATE2", help="the calibrated state file to write")
    parser.add_argument("--force", action="store_true", help="replace an existing STATE2")
    parser.add_argument("--dataset", type=dataset_names, default=None, metavar="NAME[,NAME...]",
                        help="the dataset or mixture whose held-out training images fit T and whose test splits "
                             "are reported (default: the one STATE was trained on)")
    parser.add_argument("--data", metavar="DIR", default=None,
                        help=f"data root holding letters/, unipen/, ... (default: ${DATA_ENV}, "
                             "else ~/.cache/hdl_native)")
    parser.add_argument("--threads", type=THREADS, default=None, help=THREADS_HELP)
    parser.add_argument("--other-offset", type=OTHER_OFFSET, default=None, metavar="B",
                        help="for a reader with the class 'other': multiply p(other) by e^B when reading, "
                             f"B {OTHER_OFFSET.allowed} (default: the offset STATE stores, else 0)")
    parser.add_argument("--json", action="store_true", help="print one JSON object on the last line")


def run(args):
    from hdl_native.calibration import fit_temperature, other_column, stored_other_offset, stored_temperature
    from hdl_native.errors import HDLError
    from hdl_native.checkpoint import save_entries
    from hdl_native.int8.runner import N_RANGE_IMAGES, state_ranges
    from hdl_native.json_output import json_line
    from hdl_native.progress import terminal_bar
    from hdl_native.shifts import DEFAULT_SHIFTS, SHIFT_OFFSETS, copies_of, shifted_copies
    from hdl_native.training.evaluate import Evaluator
    from hdl_native.training.outputs import check_derived_state

    check_derived_state(args.out, args.state, args.force, "calibrated state file")
    checkpoint, model, meta, name, train_set, test_set = load_inputs(args)
    offset_before = stored_other_offset(meta, args.state)
    offset = offset_before if args.other_offset is None else args.other_offset
    column = other_column(test_set.classes)
    if offset and column is None:
        raise HDLError(f"{args.state} has no class 'other' for --other-offset {offset:g} to weight")
    images, labels, description = fitting_images(meta, name, train_set, test_set)
    evaluator = Evaluator(model, normalization=meta.get("normalization"), source=args.state)
    most = max(SHIFT_OFFSETS)
    with terminal_bar(most * len(labels) + len(test_set), "calibrate: reading", "img") as bar:
        held_copies = evaluator.predict_log_probs(shifted_copies(images, most), bar.update)
        test_log_probs = evaluator.predict_log_probs(test_set.images, bar.update)
    held_copies = held_copies.reshape(most, len(labels), -1)
    fits = {}  # shifts -> (before, after, held-out row)
    for shifts in SHIFT_OFFSETS:
        copies = held_copies[copies_of(most, shifts)]
        shift_before, shift_after = stored_temperature(meta, args.state, shifts), fit_temperature(copies, labels)
        held_name = "held out" if shifts == 1 else f"held out, {shifts} shifts"
        fits[shifts] = (shift_before, shift_after, measured(held_name, copies, labels, (shift_before, offset_before),
                                                            (shift_after, offset), column))
    before, after, _ = fits[1]
    rows = [row for _, _, row in fits.values()]
    rows += [measured(f"{part} test", log_probs, part_labels, (before, offset_before), (after, offset), column)
             for part, log_probs, part_labels in by_source(test_set, test_log_probs)]
    shift_temperatures = {str(shifts): fitted for shifts, (_, fitted, _) in fits.items() if shifts != 1}
    ranges = state_ranges(model, meta.get("normalization"), images)
    save_entries(args.out, with_temperature(checkpoint, after, shift_temperatures, ranges, offset))
    print(f"{args.state}: {len(test_set.classes)} classes, trained on {meta.get('dataset') or 'an unrecorded dataset'}")
    print(f"fitted on {description}")
    for shifts, (shift_before, shift_after, _) in fits.items():
        copies = "one read" if shifts == 1 else f"{shifts} shifted copies averaged"
        print(f"temperature ({copies}) {shift_before:.3f} -> {shift_after:.3f}")
    if offset or offset_before:
        print(f"offset on 'other' {offset_before:g} -> {offset:g}: p(other) x e^{offset:g} when reading")
    print(format_rows(rows))
    if ranges is not None:
        print(f"int8 activation ranges stored, measured on {min(N_RANGE_IMAGES, len(labels))} of the held-out images "
              "(`ocr --dtype int8` needs no data)")
    print(f"(the test splits read one way; `hdl-native evaluate --shifts {DEFAULT_SHIFTS}` reads them as `ocr` does)")
    print(f"calibrated state written to {args.out}")
    if args.json:
        print(json_line({"state": str(args.state), "out": str(args.out), "dataset": name,
                         "temperature_before": before, "temperature": after,
                         "shift_temperatures": shift_temperatures, "other_offset": offset,
                         "fitted_on": description, "sets": rows}))
    return 0


def load_inputs(args):
    """(checkpoint as read, model in eval mode, its entries but the params, dataset name, train split, test split)
    of the command's STATE, --dataset and --data; HDLError when they do not fit together."""
    from hdl_native.checkpoint import build_model, load_checkpoint
    from hdl_native.data import find_data_root, load_dataset
    from hdl_native.data.datasets import PAIR, with_pair_class
    from hdl_native.errors import HDLError
    from hdl_native.threads import set_num_threads

    if args.threads is not None:
        set_num_threads(args.threads)
    checkpoint = load_checkpoint(args.state)
    model = build_model(checkpoint, args.state)
    meta = {key: value for key, value in checkpoint.items() if key != "params"}
    name = args.dataset or meta.get("dataset")
    if not name:
        raise HDLError(f"{args.state} does not record which dataset it was trained on; name it with --dataset")
    root = find_data_root(args.data)
    train_set, test_set = load_dataset(name, "train", root), load_dataset(name, "test", root)
    if PAIR in (meta.get("classes") or []):  # a reader taught --pairs: its last class, which no image carries
        train_set, test_set = with_pair_class(train_set), with_pair_class(test_set)
    check_classes(meta, test_set, args.state)
    return checkpoint, model, meta, name, train_set, test_set


def check_classes(meta, dataset, path):
    """HDLError unless the state's class names are the dataset's, in order."""
    from hdl_native.errors import HDLError

    classes = list(meta.get("classes") or [])
    if classes != list(dataset.classes):
        raise HDLError(f"{path} reads {len(classes)} classes ({' '.join(classes)}) but dataset {dataset.name!r} has "
                       f"{dataset.n_classes} ({' '.join(dataset.classes)}); choose the --dataset it was trained on")


CALIBRATION_CAVEAT = ("the model is surer of them than of new writers' letters, and the temperature comes out lower "
                      "than they need")


def fitting_images(meta, name, train_set, test_set, caveat=CALIBRATION_CAVEAT):
    """(uint8 images (n, 28, 28), labels (n,), what they are): training images the model was not trained on.

    The state's run held them out when its settings have holdout > 0 on this very dataset: training_data
    rebuilds that split from the settings (seed, holdout, dataset).  Otherwise a seeded FALLBACK_FRACTION
    of the training split, spread over all its sources, and the description says why that is second best and
    what it costs the caller (`caveat`: calibrate's temperature by default).
    """
    import numpy as np

    from hdl_native.training.start import training_data

    settings = meta.get("settings") if isinstance(meta.get("settings"), dict) else {}
    if settings.get("holdout") and settings.get("dataset") == name and not settings.get("train_from"):
        _, (images, labels) = training_data(run_config_of(settings), train_set, test_set)
        recorded = f"; the run's validation: {settings['validation']}" if settings.get("validation") else ""
        return images, labels, (f"{len(labels)} training images of {name} the run held out from training "
                                f"(--holdout {settings['holdout']}, seed {settings.get('seed', 0)}{recorded})")
    count = max(1, round(FALLBACK_FRACTION * len(train_set)))
    chosen = np.sort(np.random.default_rng(0).choice(len(train_set), size=count, replace=False))
    trained_on = settings.get("dataset") or meta.get("dataset")
    why = ("its run held out no training images (train with --holdout N)" if trained_on in (name, None)
           else f"it was trained on {trained_on}, not {name}")
    return train_set.images[chosen], train_set.labels[chosen], (
        f"a fixed {FALLBACK_FRACTION:.0%} sample of the {name} training split ({count} images). Note: {why}, so "
        f"these images may have been trained on; {caveat}")


def run_config_of(settings):
    """A RunConfig holding the data settings a state recorded (what training_data reads to split off validation)."""
    from dataclasses import fields

    from hdl_native.training.config import RunConfig

    known = {field.name for field in fields(RunConfig)} - {"optimizer"}
    return RunConfig(**{key: value for key, value in settings.items() if key in known})


def by_source(dataset, log_probs):
    """[(source name, log_probs (m, C), labels (m,))] per source of a mixture; one entry for a single dataset."""
    if dataset.sources is None:
        return [(dataset.name, log_probs, dataset.labels)]
    return [(source, log_probs[mask], dataset.labels[mask]) for source, mask in dataset.source_masks()]


def measured(name, log_probs, labels, before, after, other_column=None):
    """{name, images, accuracy (percent), nll and ece read before and after}; before and after are (temperature,
    offset on column other_column) pairs; log_probs (n, C), or (copies, n, C) read as a shift-averaging reader does
    (accuracy of the copies' mean probability after T and the offset)."""
    import numpy as np

    from hdl_native.calibration import calibrated_log_probabilities, expected_calibration_error

    read_before, read_after = (calibrated_log_probabilities(log_probs, t, other_column, b) for t, b in (before, after))
    rows = np.arange(len(labels))
    accuracy = 100.0 * float((read_after.argmax(axis=1) == labels).mean())
    return {"name": name, "images": len(labels), "accuracy": accuracy,
            "nll_before": float(-read_before[rows, labels].mean()),
            "nll_after": float(-read_after[rows, labels].mean()),
            "ece_before": expected_calibration_error(np.exp(read_before), labels),
            "ece_after": expected_calibration_error(np.exp(read_after), labels)}


def format_rows(rows):
    """The measurements as a table: one line per set."""
    width = max(len(row["name"]) for row in rows)
    lines = [f"  {'':{width}}  images  accuracy   NLL before  after   ECE before  after"]
    lines += [f"  {row['name']:{width}}  {row['images']:6d}  {row['accuracy']:7.2f}%   {row['nll_before']:10.4f}  "
              f"{row['nll_after']:.4f}  {100 * row['ece_before']:9.2f}%  {100 * row['ece_after']:.2f}%" for row in rows]
    return "\n".join(lines)


def with_temperature(checkpoint, temperature, shift_temperatures=None, int8_ranges=None, other_offset=0.0):
    """The entries to write: the checkpoint as read, with its temperature (and those for shifted copies, a dict
    {"9": T9, ...}, the int8 activation ranges, and the offset on 'other', dropped when 0) set.  A quantised state
    keeps its weights as codes (reading dequantised them into params; only the float32 ones go back)."""
    entries = {key: value for key, value in checkpoint.items() if key != "format_version"}
    if "quantized" in entries:
        coded = entries["quantized"]["tensors"]
        entries["params"] = {key: value for key, value in entries["params"].items() if key not in coded}
    entries["temperature"] = float(temperature)
    if shift_temperatures:
        entries["shift_temperatures"] = {str(k): float(v) for k, v in shift_temperatures.items()}
    if int8_ranges is not None:
        entries["int8_ranges"] = int8_ranges
    entries.pop("other_offset", None)
    if other_offset:
        entries["other_offset"] = float(other_offset)
    return entries
