"""Spot splice junctions in DNA (the tutorial's chapter 9 promise): a bidirectional GRU or LSTM reads the
60 bases of each sequence of dna/splice.csv and says EI (exon/intron, donor), IE (intron/exon, acceptor)
or N (neither).

The split is by gene family (hdl_native/dna/split.py), as the data's README asks: near-identical genes
repeat, so a split by row would test on sequences the model trained on.  The epoch is chosen on a
validation part of the training families; the test families are used once, for the reported accuracy.
Five networks of different initialisations are trained by default and their probabilities averaged.

  hdl-native splice --model gru --json
"""
import sys

from ..cli_types import LEARNING_RATE, SEED, THREADS, THREADS_HELP, int_range
from ..json_output import json_line

HELP = "classify DNA splice junctions (EI / IE / N) with a recurrent network; gene-family split"

HIDDEN = int_range(1, 1024)
EPOCHS = int_range(1, 1000)
ENSEMBLE = int_range(1, 100)
# the training part holds about 2,200 sequences
BATCH = int_range(1, 1024)


def add_arguments(parser):
    parser.add_argument("--model", choices=("gru", "lstm"), default="gru", help="recurrent cell (default: gru)")
    parser.add_argument("--hidden", type=HIDDEN, default=48, help=f"hidden size, {HIDDEN.allowed} (default: 48)")
    parser.add_argument("--epochs", type=EPOCHS, default=25,
                        help=f"training epochs (the best on validation is kept), {EPOCHS.allowed} (default: 25)")
    parser.add_argument("--lr", type=LEARNING_RATE, default=2e-3,
                        help=f"Adam learning rate, {LEARNING_RATE.allowed} (default: 0.002)")
    parser.add_argument("--batch-size", type=BATCH, default=32,
                        help=f"sequences per batch, {BATCH.allowed} (default: 32)")
    parser.add_argument("--ensemble", type=ENSEMBLE, default=5, metavar="K",
                        help=f"train K networks (other initialisations, same split) and average their "
                             f"probabilities, {ENSEMBLE.allowed}; 1 for a single network (default: 5)")
    parser.add_argument("--seed", type=SEED, default=0,
                        help=f"initialisation, shuffling and the split, {SEED.allowed} (default: 0)")
    parser.add_argument("--threads", type=THREADS, default=None, help=THREADS_HELP)
    parser.add_argument("--data", metavar="DIR", default=None,
                        help="data root holding dna/splice.csv (default: $HDL_DATA, else ~/.cache/hdl_native)")
    parser.add_argument("--quiet", action="store_true", help="no per-epoch lines")
    parser.add_argument("--json", action="store_true", help="print one JSON summary object on the last line")


def run(args):
    from ..dna.experiment import run_experiment
    from ..threads import set_num_threads

    if args.threads:
        set_num_threads(args.threads)

    def report(member, epoch, loss, accuracy):
        if not args.quiet:
            network = f"network {member} of {args.ensemble}, " if args.ensemble > 1 else ""
            print(f"{network}epoch {epoch}: training loss {loss:.4f}, validation accuracy {100 * accuracy:.2f}%",
                  file=sys.stderr)

    summary = run_experiment(args.data, args.model, args.hidden, args.epochs, args.batch_size, args.lr, args.seed,
                             report, ensemble=args.ensemble)
    if args.json:
        print(json_line(summary))
        return 0
    epochs = ", ".join(map(str, summary["best_epochs"]))
    chosen = (f"epoch {epochs} chosen on validation" if args.ensemble == 1
              else f"{args.ensemble} networks, epochs {epochs} chosen on validation")
    print(f"test accuracy {summary['test_accuracy']:.2f}% on {summary['sizes']['test']} sequences of unseen gene "
          f"families ({chosen}, {summary['validation_accuracy']:.2f}%; {summary['train_seconds']:.0f} s)")
    print("confusion (rows true, columns predicted):")
    print("      " + "".join(f"{name:>6}" for name in summary["classes"]))
    for name, row in zip(summary["classes"], summary["confusion"]):
        print(f"{name:>6}" + "".join(f"{count:6d}" for count in row))
    return 0
