"""Chapter 1: tell a 3 from a 7 with weights set by hand (average 7 minus average 3).

Prints the mean scores of the training 3s and 7s, the midpoint bias, and the test
accuracy with bias 0 and with the midpoint bias.  --plot DIR writes the average 3,
the average 7, their difference (the weights), a histogram of the test scores and a
grid of the test images the midpoint rule gets wrong.
Nothing is random here: --seed is accepted for uniformity and has no effect.
"""

HELP = "chapter 1: a hand-configured linear network telling 3 from 7"


def add_arguments(parser):
    from ..data import add_data_arguments

    add_data_arguments(parser, default_dataset="mnist", seed_used=False)
    parser.add_argument("--plot", metavar="DIR",
                        help="write average-3/average-7/difference/scores/misclassified PNGs into DIR")
    parser.add_argument("--json", action="store_true", help="print one JSON summary object on the last line")


def run(args):
    from ..data import find_data_root, load_dataset
    from ..json_output import json_line
    from ..pictures import ascii_row
    from ..programs import threeorseven
    from ..training.outputs import check_plot_folder

    if args.plot:
        check_plot_folder(args.plot, "average-3.png")  # now, not after the results are printed
    root = find_data_root(args.data)
    train = load_dataset(args.dataset, "train", root)
    test = load_dataset(args.dataset, "test", root)
    result = threeorseven.run(train, test)

    print(f"{args.dataset}: {len(result.train_scores3)} threes and {len(result.train_scores7)} sevens to average "
          f"(train), {len(result.test_scores3)} and {len(result.test_scores7)} to test")
    print("The average 3 and the average 7 (each scaled to its brightest pixel):")
    print(ascii_row([result.average3 / result.average3.max(), result.average7 / result.average7.max()]))
    print(f"Mean score of a 3: {result.mean_score3:.4f}, of a 7: {result.mean_score7:.4f}; "
          f"midpoint {result.midpoint:.4f}")
    print(f"Test accuracy with bias 0:        {result.accuracy_bias0:.2f}%")
    print(f"Test accuracy with midpoint bias: {result.accuracy_midpoint:.2f}%")
    written = threeorseven.save_pictures(result, args.plot) if args.plot else []
    for path in written:
        print(f"wrote {path}")
    if args.json:
        print(json_line({
            "dataset": args.dataset,
            "accuracy_bias0": result.accuracy_bias0,
            "accuracy_midpoint": result.accuracy_midpoint,
            "mean_score3": result.mean_score3,
            "mean_score7": result.mean_score7,
            "midpoint": result.midpoint,
            "n_train": len(result.train_scores3) + len(result.train_scores7),
            "n_test": len(result.test_scores3) + len(result.test_scores7),
            "pictures": [str(p) for p in written],
        }))
    return 0
