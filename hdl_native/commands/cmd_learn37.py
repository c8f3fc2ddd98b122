"""Chapter 2: the 3-or-7 network learns its weights, one image at a time.

Random weights (uniform in +-1/sqrt(784)), learning rate 0.01, margins +-2: a 7 should
score >= 2 and a 3 <= -2, and only images that miss their margin change the weights.
Every 4 images the accuracy on a fixed validation set (1000 training 3s and 7s held out,
never learned from) is measured; learning stops once it exceeds 98%.  The accuracy
reported is then measured on all 3s and 7s of the test split.  With --validate-on test
the validation set is the test split itself, as in the tutorial.

Writes learn37-weights.png (the learned weights) and learn37-scores.png (histogram of
test scores) into --plot DIR, and learn37-weights.gif (how the weights evolved) with --animate.
Ctrl-C stops the learning: the pictures and figures of the weights learned so far are still written,
and the exit code is 130.
"""
import sys

HELP = "chapter 2: the 3-or-7 network learns its weights (margin updates, lr 0.01)"


def add_arguments(parser):
    from ..cli_types import NON_NEGATIVE_INT, POSITIVE_INT
    from ..data import add_data_arguments

    add_data_arguments(parser, default_dataset="mnist")
    parser.add_argument("--plot", metavar="DIR", default=".", help="folder for the PNG/GIF pictures (default: .)")
    parser.add_argument("--animate", action="store_true", help="also write learn37-weights.gif of the weights evolving")
    parser.add_argument("--max-images", type=NON_NEGATIVE_INT, default=None, metavar="N",
                        help=f"learn from at most N images, {NON_NEGATIVE_INT.allowed} (default: one pass over the "
                             "training 3s and 7s)")
    parser.add_argument("--validation-size", type=POSITIVE_INT, default=1000, metavar="N",
                        help=f"training 3s and 7s held out for validation, {POSITIVE_INT.allowed} and fewer than "
                             "the training split holds (default: 1000)")
    parser.add_argument("--validate-on", choices=["holdout", "test"], default="holdout",
                        help="holdout: validate on held-out training images (default); test: on the test 3s and 7s, "
                             "as the tutorial does (the final test figure is then optimistic)")
    parser.add_argument("--json", action="store_true", help="print one JSON summary object on the last line")


def run(args):
    from ..data import find_data_root, load_dataset
    from ..errors import HDLError
    from ..json_output import json_line
    from ..programs import learn37
    from ..training.outputs import check_plot_folder

    check_plot_folder(args.plot, "learn37-weights.png")  # now, not after the learning
    root = find_data_root(args.data)
    train = load_dataset(args.dataset, "train", root)
    test = load_dataset(args.dataset, "test", root)
    try:
        result = learn37.run(train, test, seed=args.seed, max_images=args.max_images,
                             validation_size=args.validation_size, validate_on=args.validate_on,
                             keep_frames=args.animate)
    except ValueError as error:
        raise HDLError(f"--validation-size {args.validation_size}: {error}") from error

    for seen, validation in result.history[:: max(1, len(result.history) // 12)]:
        print(f"after {seen:6d} images: validation accuracy {validation:6.2f}%")
    if result.interrupted:
        why = "interrupted"
    elif result.reached_target:
        why = f"validation accuracy exceeded {learn37.TARGET_ACCURACY:g}%"
    else:
        why = "ran out of images before validation accuracy exceeded " f"{learn37.TARGET_ACCURACY:g}%"
    where = "held-out training images" if args.validate_on == "holdout" else "test images (the tutorial's way)"
    print(f"stopped after {result.images_seen} images ({result.updates} weight updates): {why}; "
          f"validation {result.validation_accuracy:.2f}% on {result.n_validation} {where}")
    print(f"test accuracy on the 3s and 7s of the test split: {result.accuracy:.2f}% (bias {result.bias:+.2f})")
    written = learn37.save_pictures(result, args.plot, animate=args.animate)
    for path in written:
        print(f"wrote {path}")
    if args.json:
        print(json_line({
            "dataset": args.dataset, "seed": args.seed,
            "accuracy": result.accuracy, "images_seen": result.images_seen,
            "validation_accuracy": result.validation_accuracy, "n_validation": result.n_validation,
            "validate_on": args.validate_on,
            "reached_target": result.reached_target, "interrupted": result.interrupted,
            "updates": result.updates, "validations": len(result.history),
            "pictures": [str(p) for p in written],
        }))
    if result.interrupted:  # a script must not take a stopped run for a finished one
        print(f"hdl-native learn37: interrupted after {result.images_seen} images; the figures and pictures above "
              "are of the weights learned until then", file=sys.stderr)
        return 130
    return 0
