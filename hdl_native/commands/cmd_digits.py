"""Learn to read handwritten digits (chapter 4): the tutorial's MLP, or the letters CNN with 10 classes.

  hdl-native digits                          # plain SGD, lr 0.01, batch 64, one epoch
  hdl-native digits --optimizer adam --epochs 10 --lr-schedule cosine
  hdl-native digits --model cnn --adam --lr 0.002 --lr-schedule cosine --max-minutes 1 --epochs 3
  hdl-native digits digits.hdl --epochs 3   # resume digits.hdl (stopped by Ctrl-C, or trained 1 epoch) up to 3 epochs
"""
from ..checkpoint import load_checkpoint
from ..cli_types import DROPOUT, LEARNING_RATE, MOMENTUM
from ..data import DATASETS, add_data_arguments
from ..data.datasets import DIGITS
from ..data.mixture import EXTRA_SOURCES, is_mixture, parse_mixture
from ..errors import HDLError
from ..training.config import OptimizerChoice, RunConfig, add_training_arguments
from ..training.session import Session

HELP = "train a digit reader on MNIST: the chapter 4 MLP, or the CNN (--model cnn)"
DEFAULT_LR = {"sgd": 0.01, "momentum": 0.01, "adam": 0.001}
DEFAULT_MOMENTUM = 0.9
ARCHITECTURES = {"mlp": "digits-mlp", "cnn": "letters-cnn"}  # --model: the models.MODELS key it trains
# the sets of digits: MNIST, EMNIST's digits, and MNIST framed like the letters with marks as 'other' (framed_digits.py)
DIGIT_SOURCES = tuple(name for name, spec in DATASETS.items() if spec.classes == DIGITS) + ("digits",)
# sources of the class 'other' alone (marks; letters as not-digits), which a mixture with digits may add
OTHER_SOURCES = tuple(name for name in EXTRA_SOURCES if name not in DIGIT_SOURCES)


def add_arguments(parser):
    parser.add_argument("state", nargs="?", metavar="STATE", help="resume from this state file")
    add_data_arguments(parser, default_dataset="mnist")
    parser.add_argument("--model", choices=tuple(ARCHITECTURES), default=None,
                        help="mlp: 784-128-64-10 with ReLU (chapter 4); cnn: the letters CNN with 10 classes "
                             "(default: STATE's or --init's network, else mlp)")
    # --optimizer and --momentum default to None (not given), so that options that contradict the optimiser are refused
    parser.add_argument("--optimizer", choices=("sgd", "momentum", "adam"), default=None,
                        help="plain SGD, SGD with momentum, or Adam (default: sgd)")
    parser.add_argument("--adam", action="store_true", help="same as --optimizer adam")
    parser.add_argument("--lr", type=LEARNING_RATE, default=None,
                        help=f"learning rate, {LEARNING_RATE.allowed} (default: 0.01 for sgd and momentum, "
                             "0.001 for adam)")
    parser.add_argument("--momentum", type=MOMENTUM, default=None,
                        help=f"momentum for --optimizer momentum, {MOMENTUM.allowed} (default: {DEFAULT_MOMENTUM:g})")
    parser.add_argument("--dropout", type=DROPOUT, nargs="?", const=0.5, default=0.0, metavar="P",
                        help=f"dropout after fc1 of the CNN while training, {DROPOUT.allowed}; --dropout alone means "
                             "0.5 (default: off)")
    add_training_arguments(parser, "digits", default_epochs=1, default_validate_every=300)
    parser.set_defaults(train_from=None)  # digits has no --train-from


def run(args):
    check_digit_set(args.dataset)
    kind = optimizer_kind(args)
    lr = args.lr if args.lr is not None else DEFAULT_LR[kind]
    architecture = chosen_architecture(args)
    if architecture == ARCHITECTURES["mlp"] and args.dropout:
        raise HDLError("--dropout applies to --model cnn only")
    momentum = DEFAULT_MOMENTUM if args.momentum is None else args.momentum
    choice = OptimizerChoice(kind, lr, momentum if kind == "momentum" else 0.0)
    return Session(RunConfig.from_args(args, "digits", architecture, choice)).run()


def chosen_architecture(args):
    """The network's architecture name: --model's, else the resumed STATE's or --init state's, else the MLP's (a
    state of another network is refused by the resume or --init itself, naming what it holds)."""
    if args.model is not None:
        return ARCHITECTURES[args.model]
    source = args.state or args.init
    if source is not None:
        saved = load_checkpoint(source).get("architecture")
        if saved in ARCHITECTURES.values():
            return saved
    return ARCHITECTURES["mlp"]


def optimizer_kind(args):
    """'sgd', 'momentum' or 'adam', as --optimizer and --adam say; HDLError when they contradict each other, or
    for a --momentum the optimiser does not use."""
    if args.adam and args.optimizer not in (None, "adam"):
        raise HDLError(f"--adam means --optimizer adam, but --optimizer {args.optimizer} was given: give one")
    kind = "adam" if args.adam else args.optimizer or "sgd"
    if args.momentum is not None and kind != "momentum":
        used = "plain SGD" if kind == "sgd" else "Adam"
        raise HDLError(f"--momentum applies to --optimizer momentum, not to {used}: give --optimizer momentum, or "
                       "drop --momentum")
    return kind


def check_digit_set(name):
    """HDLError naming --dataset unless `name` is a digit set, or a mixture of them that may add sources of 'other'
    (alone, those train a one-class model that is always right; letter sets train letters' readers)."""
    sources = [source for source, _ in parse_mixture(name)] if is_mixture(name) else [name]
    if not set(sources) <= set(DIGIT_SOURCES + OTHER_SOURCES) or not set(sources) & set(DIGIT_SOURCES):
        raise HDLError(f"--dataset {name} is not a digit set: digits trains on {either(DIGIT_SOURCES)} (or a mixture "
                       f"of them, to which {either(OTHER_SOURCES)} may add the class 'other'); letters train with "
                       "`hdl-native letters`")


def either(names):
    """'a, b or c'."""
    *others, last = names
    return f"{', '.join(others)} or {last}" if others else last
