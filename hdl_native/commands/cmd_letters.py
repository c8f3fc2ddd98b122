"""Train the tutorial's convolutional letter reader (chapters 5-7) on handwritten letters.

Starts from a seeded initialisation, or resumes exactly from STATE (parameters,
optimiser state, batch counter, RNG and batcher state), possibly with other
settings.  The state is saved every --checkpoint-every seconds, at the end,
and on Ctrl-C/SIGTERM (after finishing the current batch; exit code 130).
Progress goes to an SQLite file for `hdl-native plot`.

  hdl-native letters --adam --mut-on-learn --out letters.hdl
  hdl-native letters letters.hdl --adam --mut-on-learn --epochs 60      # resume and train further, as before

--finetune DIR teaches a letters model (--model STATE, default the shipped one) the crops `hdl-native ocr PHOTO
--crops DIR` saved and the user corrected, mixed with replayed training letters (training/finetune.py):

  hdl-native letters --finetune mycrops --out mine.hdl
  hdl-native letters --finetune page1 page2 page3 --out mine.hdl   # the crops of several photos
  hdl-native letters --finetune mycrops --digits --out mydigits.hdl   # the digits, for ocr --digit-model
"""
from pathlib import Path

from ..cli_types import DROPOUT, LEARNING_RATE, MOMENTUM
from ..checkpoint import load_checkpoint
from ..errors import HDLError
from ..models import LETTER_MODELS
from ..data import add_data_arguments
from ..training.config import OptimizerChoice, RunConfig, add_training_arguments
from ..training.finetune import ALPHA as FINETUNE_ALPHA
from ..training.finetune import DISTORT as FINETUNE_DISTORT
from ..training.finetune import MAX_BATCHES as FINETUNE_MAX_BATCHES
from ..training.finetune import MINUTES as FINETUNE_MINUTES
from ..training.finetune import FinetuneSession, finetune_config
from ..training.session import Session

HELP = "train the letters CNN (SGD/momentum or Adam, dropout, augmentation, weight decay, checkpoints, SQLite log)"
SGD_LR, SGD_MOMENTUM, ADAM_ALPHA = 0.01, 0.9, 0.001


def add_arguments(parser):
    parser.add_argument("state", nargs="?", metavar="STATE", help="resume from this state file")
    add_data_arguments(parser, default_dataset="letters")
    parser.add_argument("--model", metavar="NAME|STATE", default=None,
                        help="the network: letters-cnn, the tutorial's (3 convolutions, 137,178 parameters), or "
                             "letters-vgg, two convolutions before each pool (about 200,000 parameters, 2.7x the work "
                             "per image), or letters-vgg-bn, the same with batch normalisation after each convolution "
                             "(--export writes it folded into a letters-vgg), or letters-vgg-wide, letters-vgg with 96 "
                             "channels in its second block (320,571 parameters, 1.4x its work), or letters-vgg-cases, "
                             "letters-vgg that learns the capitals as classes of their own where the set records the "
                             "case (unipen, nistvowels, chars74k) and reads a as p(a) + p(A) (in the reader's recipe: "
                             "no better than letters-vgg on fresh held-out pages, -0.16 and +0.03 points of the "
                             "letters on two seeds; not shipped: BENCHMARKS.md); or a state file to start "
                             "from (as --init) (default: the resumed STATE's or --init's network, else letters-cnn)")
    # None: not given (the SGD_* defaults), so that an option the chosen optimiser does not use can be refused
    parser.add_argument("--lr", type=LEARNING_RATE, default=None,
                        help=f"SGD learning rate, {LEARNING_RATE.allowed} (default: {SGD_LR:g}; Adam's is --alpha)")
    parser.add_argument("--momentum", type=MOMENTUM, default=None,
                        help=f"SGD momentum, {MOMENTUM.allowed}; 0 for plain SGD (default: {SGD_MOMENTUM:g})")
    parser.add_argument("--adam", action="store_true", help="use Adam instead of SGD")
    parser.add_argument("--alpha", type=LEARNING_RATE, default=None,
                        help=f"Adam learning rate, {LEARNING_RATE.allowed} (default: {ADAM_ALPHA:g}; "
                             f"{FINETUNE_ALPHA:g} with --finetune)")
    parser.add_argument("--dropout", type=DROPOUT, nargs="?", const=0.5, default=0.0, metavar="P",
                        help=f"dropout after fc1 while training, {DROPOUT.allowed}; --dropout alone means 0.5 "
                             "(default: off)")
    parser.add_argument("--train-from", metavar="DIR", default=None,
                        help="train on the synthetic letters `hdl-native synth-letters --out DIR` wrote instead of "
                             "the dataset's training split (validation and test stay on the real test split); "
                             "then fine-tune on real letters with --init")
    parser.add_argument("--finetune", metavar="DIR", nargs="+", default=None,
                        help="fine-tune --model STATE (default: the shipped model) on the corrected crops in DIR that "
                             "`hdl-native ocr PHOTO --crops DIR` wrote (several DIRs: one per photo), mixed with a "
                             "replay sample of the model's training data (under --data) so it does not forget the "
                             "rest; reports accuracy before "
                             "and after, and draws DIR/labels-sheet.png again with your labels.  Adam with a cosine "
                             "decay, the model's own augmentation, --distort "
                             f"{FINETUNE_DISTORT:g}, at most --max-minutes {FINETUNE_MINUTES:g} and --max-batches "
                             f"{FINETUNE_MAX_BATCHES} unless given")
    parser.add_argument("--digits", action="store_true",
                        help="with --finetune: teach the shipped digit reader (the one `ocr` reads digits with) the "
                             "crops labelled with digits and 'other', mixed with replayed MNIST digits and marks, "
                             "instead of the letter reader; read with the result by `ocr --digit-model OUT`")
    add_training_arguments(parser, "letters", default_epochs=30, default_validate_every=120,
                           default_db="letters-vals.sqlite3")


def run(args):
    if args.model is not None and args.model not in LETTER_MODELS:
        if args.init:
            raise HDLError(f"--model {args.model} is a state file to start from, and so is --init: give one")
        if not Path(args.model).exists() and not Path(args.model).suffix:  # a network's name, mistyped
            raise HDLError(f"--model {args.model}: no such network ({', '.join(LETTER_MODELS)}) and no such state "
                           "file")
        args.init = args.model
    if args.digits:
        from ..ocr.digits import PRETRAINED_DIGITS

        if not args.finetune:
            raise HDLError("--digits goes with --finetune DIR: it fine-tunes the shipped digit reader on your crops")
        if args.init:
            raise HDLError(f"--digits fine-tunes the shipped digit reader, and --model {args.init} names another "
                           "model: give one (a digit reader of your own: --model STATE without --digits)")
        args.init = str(PRETRAINED_DIGITS)
    check_optimizer_options(args)
    if args.finetune:
        return FinetuneSession(finetune_config(args)).run()
    if args.adam:
        choice = OptimizerChoice("adam", args.alpha or ADAM_ALPHA)
    else:
        lr = SGD_LR if args.lr is None else args.lr
        momentum = SGD_MOMENTUM if args.momentum is None else args.momentum
        choice = OptimizerChoice("momentum" if momentum else "sgd", lr, momentum)
    return Session(RunConfig.from_args(args, "letters", architecture(args), choice)).run()


def check_optimizer_options(args):
    """HDLError naming the step option the chosen optimiser would not use: --lr and --momentum are SGD's, --alpha is
    Adam's; --finetune trains with Adam."""
    adam = "--finetune" if args.finetune else "--adam" if args.adam else None
    if adam and args.lr is not None:
        raise HDLError(f"--lr is SGD's step; {adam} trains with Adam: give --alpha")
    if adam and args.momentum is not None:
        raise HDLError(f"--momentum is SGD's; {adam} trains with Adam, which keeps its own moving averages: "
                       "drop --momentum")
    if not adam and args.alpha is not None:
        raise HDLError("--alpha is Adam's step; give --adam too, or --lr for SGD")


def architecture(args):
    """The network to train: --model's name, else the resumed or --init state's, else letters-cnn."""
    if args.model in LETTER_MODELS:
        return args.model
    source = args.state or args.init
    if source:
        saved = load_checkpoint(source).get("architecture")
        if saved in LETTER_MODELS:
            return saved
    return "letters-cnn"
