"""One training run's configuration: the flags every trainer command shares, and the RunConfig built from them.

A command (`digits`, `letters`) adds its own model and optimiser flags, resolves them to an architecture
and an OptimizerChoice, and calls ``RunConfig.from_args`` once; from then on the run reads only the
RunConfig, and its state file and SQLite log record ``RunConfig.as_dict()`` as the run's settings.
"""
from dataclasses import asdict, dataclass, field

from ..cli_types import (BATCH_SIZE, NON_NEGATIVE, NON_NEGATIVE_INT, POSITIVE, POSITIVE_INT, SEED, THREADS,
                         THREADS_HELP, finite_float, probability)
from ..data.arguments import add_argument_noting_given
from ..data.datasets import PAIR
from ..errors import HDLError

# the tutorial's 0.02 already collapses training at full strength; beyond 1 the penalty swamps any data loss
L2_FACTOR = finite_float(0, 1)
# decoupled decay shrinks the weights by lr x L each step: with SGD's lr 0.01 even 10 takes a tenth a step
WEIGHT_DECAY = finite_float(0, 10)
# from scratch: the best mean over seeds 0-2 on 500 held-out letters training images (30 epochs; BENCHMARKS.md)
RECOMMENDED_WEIGHT_DECAY = {"sgd": 0.01, "adam": 0.03}
# on a trained model: 200 epochs of SGD with this decay, then 10 at lr 0.001 without (held-out choice; BENCHMARKS.md)
TRAINED_MODEL_WEIGHT_DECAY = 0.08
# at 4 letters turn up to 60 degrees and shrink to 0.4 or grow by 1.75; beyond that they become other letters
DISTORT = finite_float(0, 4)
TOUCHING = probability()
LEAD_IN = probability()
PAIRS = probability()
# at 1 every target is uniform and nothing is learnt; PyTorch's ImageNet recipes use 0.1
LABEL_SMOOTHING = finite_float(0, 0.5)
EMA_DECAY = finite_float(0, 1, high_inclusive=False)
MIXUP = finite_float(0, 100)
# a share of the held-out images; 0 would leave no writer to hold out.  0.05: 20 writers or more (BENCHMARKS.md)
HOLDOUT_WRITER_SHARE = finite_float(0, 1, low_inclusive=False)
DEFAULT_VAL_SIZE = 1000  # --val-size: test images validated on (the whole split where it has fewer)
DEFAULT_HOLDOUT_WRITER_SHARE = 0.05


def recorded_touching(settings, path):
    """The --touching share a state's `settings` record (0 when they record none), for the runs that continue its
    training (fine-tune, prune, quantize); HDLError naming the file `path` for one TOUCHING does not admit."""
    return recorded_share(settings, "touching", path)


def recorded_lead_in(settings, path):
    """The --lead-in share a state's `settings` record (0 when they record none), as recorded_touching."""
    return recorded_share(settings, "lead_in", path)


def recorded_pairs(settings, path):
    """The --pairs share a state's `settings` record (0 when they record none), as recorded_touching."""
    return recorded_share(settings, "pairs", path)


def recorded_share(settings, key, path):
    """settings[key] as a share 0..1 (0 when absent); HDLError naming the file `path` for anything else."""
    value = settings.get(key) or 0.0
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not TOUCHING.admits(value):
        raise HDLError(f"{path}: its settings record {key}={value!r}, not {TOUCHING.what}")
    return float(value)


@dataclass(frozen=True)
class OptimizerChoice:
    """Which optimiser and step size the command line asked for."""

    kind: str = "sgd"    # 'sgd', 'momentum' or 'adam'
    lr: float = 0.01
    momentum: float = 0.0


@dataclass(frozen=True)
class RunConfig:
    """Everything one training run needs.  epochs and max_batches are totals counted from the model's very
    first batch, so a resumed run with the same settings finishes the original plan."""

    # what to train
    command: str = "letters"           # the command's name: default state file, log entry, messages
    architecture: str = "letters-cnn"  # a key of models.MODELS
    optimizer: OptimizerChoice = field(default_factory=OptimizerChoice)
    dropout: float = 0.0               # after fc1 of the CNN while training
    seed: int = 0                      # initialisation, shuffling, augmentation, the validation sample
    # on what
    data_root: str = None              # None: find_data_root()'s default
    dataset: str = "letters"
    train_from: str = None             # train on the synthetic letters in this directory instead
    finetune: tuple = None             # fine-tune config.init on the user's crops in these directories (finetune.py)
    balance_classes: bool = False      # draw every class of each source equally often
    holdout: int = 0                   # validate on this many held-out training images, when > 0 ...
    holdout_seed: int = None           # ... drawn with this seed (None: seed's), so runs of other seeds share them
    holdout_writer_share: float = None  # ... no writer above this share of them (None: as drawn; start.held_out)
    val_size: int = DEFAULT_VAL_SIZE   # ... else on this many images sampled from the test split
    # how
    batch_size: int = 64
    epochs: int = 1
    max_batches: int = None            # stop once this many batches have been trained in total
    max_seconds: float = None          # stop after this much training time in this run
    lr_schedule: str = "constant"      # or "cosine": lr * (1 + cos(pi * progress)) / 2
    weight_decay: float = 0.0          # decoupled: each step the weights (not biases) shrink by lr x this
    l2: float = 0.0                    # factor on the sum of squared weights (biases excluded) added to the loss
    l2_warmup: float = 0.0             # epochs over which that factor rises linearly from 0
    label_smoothing: float = 0.0       # the training targets give the label 1 - this, the rest spread evenly
    ema_decay: float = 0.0             # validate, test and export the weights' moving average at this decay (0: off)
    mixup: float = 0.0                 # train on batches blended with themselves shuffled, Beta(this) (0: off)
    augment: bool = False              # shift/flip training images (the tutorial's mutations)
    augment_validation: bool = False   # the same for validation images, and report augmented test accuracy
    distort: float = 0.0               # strength of rotation/shear/scale/elastic/stroke distortions (0 = off)
    distort_other: float = None        # the same for the class 'other' (digits and marks); None: distort's
    distort_look: float = None         # strength of the stroke width, blur and ink gamma alone; None: distort's
    touching: float = 0.0              # share of training images cut from a touching neighbour (data/touching.py)
    lead_in: float = 0.0               # share of training images begun with a lead-in stroke (data/lead_in.py)
    pairs: float = 0.0                 # share of training images made two touching letters, class PAIR (touching.py)
    validate_every: int = 200          # batches
    checkpoint_every: float = 60.0     # seconds of wall time between periodic checkpoints
    threads: int = None                # kernel threads; None: all cores
    # files and output
    resume: str = None                 # the state file to continue from
    init: str = None                   # a state file whose parameters start a fresh run
    out: str = None                    # the state file to write
    force: bool = False                # replace an existing out (or export) file this run does not continue
    db: str = None                     # the SQLite log; None: no log
    export: str = None                 # also write the bare trained model here
    plot: str = None                   # directory for the confusion-matrix PNG
    progress: bool = True              # show a progress bar
    json_summary: bool = False         # print one JSON summary object on the last line
    command_line: tuple = ()           # the words after the command's name, to say how to continue the run

    @classmethod
    def from_args(cls, args, command, architecture, optimizer):
        """The RunConfig of parsed arguments (add_training_arguments + add_data_arguments + STATE, --dropout
        and --train-from), whose ranges the parser has checked; HDLError for --l2-warmup without --l2 (it ramped
        in a penalty of 0, silently)."""
        if args.l2_warmup and not args.l2:
            raise HDLError("--l2-warmup ramps in the --l2 penalty: give --l2 FACTOR too, or drop --l2-warmup")
        return cls(
            command=command, architecture=architecture, optimizer=optimizer, dropout=args.dropout,
            seed=args.seed, data_root=args.data, dataset=args.dataset, train_from=args.train_from,
            balance_classes=args.balance_classes, holdout=args.holdout,
            holdout_seed=args.holdout_seed, holdout_writer_share=args.holdout_writer_share, val_size=args.val_size,
            batch_size=args.batch_size, epochs=args.epochs,
            max_batches=args.max_batches, max_seconds=args.max_minutes * 60.0 if args.max_minutes else None,
            lr_schedule=args.lr_schedule, weight_decay=args.weight_decay, l2=args.l2,
            l2_warmup=args.l2_warmup, label_smoothing=args.label_smoothing, ema_decay=args.ema_decay,
            mixup=args.mixup,
            augment=args.mut_on_learn,
            augment_validation=args.mut_on_validate, distort=args.distort,
            distort_other=args.distort_other, distort_look=args.distort_look, touching=args.touching,
            lead_in=args.lead_in, pairs=args.pairs,
            validate_every=args.validate_every,
            checkpoint_every=args.checkpoint_every, threads=args.threads, resume=args.state, init=args.init,
            out=args.out or args.state or f"{command}.hdl", force=args.force, db=None if args.no_db else args.db,
            export=args.export, plot=args.plot, progress=not args.quiet, json_summary=args.json,
            command_line=tuple(getattr(args, "command_line", ())))

    def as_dict(self):
        """The settings as plain JSON-able values, for the state file and the SQLite log (not command_line: the
        words as typed, only for the hint a stopped run prints; the settings say what they set)."""
        settings = asdict(self)
        del settings["command_line"]
        return settings


EXIT_CODES = """exit codes:
  0    trained and tested
  2    a bad option or input, or an output file that exists (see --force) or cannot be written;
       reported before training starts
  3    the loss, a gradient or a parameter became nan or inf (the learning rate is usually too large);
       training stopped, the state file keeps its last finite state
  130  stopped by Ctrl-C or SIGTERM (once training has started, after saving the state)"""


def add_training_arguments(parser, command, default_epochs, default_validate_every, default_db=None):
    """Options every trainer command shares (the model and optimiser options are the command's own),
    and the exit codes in the help's epilog."""
    parser.epilog = EXIT_CODES
    parser.add_argument("--batch-size", type=BATCH_SIZE, default=64,
                        help=f"images per batch, {BATCH_SIZE.allowed} (default: 64)")
    parser.add_argument("--epochs", type=POSITIVE_INT, default=default_epochs,
                        help=f"epochs to train in total, counting those of a resumed state, {POSITIVE_INT.allowed} "
                             f"(default: {default_epochs})")
    parser.add_argument("--max-minutes", type=POSITIVE, default=None,
                        help=f"stop after this many minutes of training, {POSITIVE.allowed} (default: no limit)")
    parser.add_argument("--max-batches", type=POSITIVE_INT, default=None,
                        help="stop once this many batches have been trained in total (counting a resumed state's), "
                             f"{POSITIVE_INT.allowed} (default: no limit)")
    add_argument_noting_given(parser, "--lr-schedule", choices=("constant", "cosine"), default="constant",
                              help="constant learning rate, or cosine decay to 0 over the planned epochs, or over "
                                   "--max-batches or --max-minutes when that comes first (default: constant)")
    parser.add_argument("--weight-decay", type=WEIGHT_DECAY, default=0.0, metavar="L",
                        help="decoupled weight decay, as PyTorch's AdamW: before each update every weight (not the "
                             "biases) is multiplied by 1 - lr x L.  From scratch (chosen on 500 held-out training "
                             f"images, 3 seeds): {RECOMMENDED_WEIGHT_DECAY['sgd']:g} with SGD, "
                             f"{RECOMMENDED_WEIGHT_DECAY['adam']:g} with --adam; they lower the test loss, and over "
                             "8 seeds on unipen (69,224 letters) gain 0.18 (SGD) and 0.46 points (Adam) of test "
                             "accuracy, but on letters (3,820) cost about 0.3 over 24.  To slim a trained model as "
                             "the tutorial does: --init STATE --epochs 200 --weight-decay "
                             f"{TRAINED_MODEL_WEIGHT_DECAY:g} (SGD), then --init THAT --epochs 10 --lr 0.001 (on "
                             "unipen, for about as many steps, --epochs 11 and 1): on 8 trained "
                             "LettersCNNs each, unipen 5.6-5.9x as many weights below 0.01 at -0.14 to +0.42 test "
                             "points, letters about 3x at -1.1 to +3.6; `hdl-native prune` zeroes 70%% of the "
                             f"weights at no loss (BENCHMARKS.md); {WEIGHT_DECAY.allowed} (default: 0, off)")
    parser.add_argument("--l2", type=L2_FACTOR, default=0.0, metavar="FACTOR",
                        help="the tutorial's penalty: add FACTOR x (sum of squared weights) to the mean batch loss; "
                             "weights only, biases are not included.  The tutorial used 0.02: switched on at full "
                             "strength from the first batch it pulls every weight to zero before the network has "
                             "learnt anything and training collapses to chance; ramped in (--l2-warmup) or applied to "
                             "a trained model it costs 1 to 4 points on the letters set (and can still collapse), "
                             f"0.001 costs 0.2 (BENCHMARKS.md); {L2_FACTOR.allowed} (default: 0)")
    parser.add_argument("--l2-warmup", type=NON_NEGATIVE, default=0.0, metavar="EPOCHS",
                        help="raise the --l2 factor linearly from 0 to FACTOR over this many epochs "
                             f"(counted from the first batch of this model's training), {NON_NEGATIVE.allowed} "
                             "(default: 0, full strength at once)")
    parser.add_argument("--label-smoothing", type=LABEL_SMOOTHING, default=0.0, metavar="E",
                        help="train against targets that give the true class 1 - E and spread E evenly over all the "
                             "classes (PyTorch's label_smoothing); the loss the progress bar shows then includes "
                             f"that spread, validation and test losses do not, {LABEL_SMOOTHING.allowed} "
                             "(default: 0, off)")
    parser.add_argument("--mixup", type=MIXUP, default=0.0, metavar="ALPHA",
                        help="mixup: train on each batch blended with itself in a shuffled order, one weight m per "
                             "batch drawn from Beta(ALPHA, ALPHA), against the same blend of the two labels' losses "
                             "(0.2 is a common choice; in the reader's recipe it read 0.15 points fewer held-out "
                             f"letters than without: BENCHMARKS.md), {MIXUP.allowed} (default: 0, off)")
    parser.add_argument("--ema-decay", type=EMA_DECAY, default=0.0, metavar="D",
                        help="keep a moving average of the weights (Polyak averaging): after every step each "
                             "average moves to D x itself + (1 - D) x the weight, so it remembers about the last "
                             "1 / (1 - D) steps (0.999: about 1,000).  Validation, the test and --export then use the "
                             "average, and so do the commands that read the state file (evaluate, ocr --model, "
                             "calibrate, quantize, prune); the file keeps it beside the trained weights, which "
                             "training goes on from.  Choose D so that 1 / (1 - D) is a tenth of the run's steps "
                             "or less: the tutorial's 20 epochs of the LettersCNN (1,040 steps, constant lr) read "
                             "held-out letters 1.5 points better with 0.99 and 2.5 worse with 0.999 (5 seeds); "
                             "after a cosine schedule, which ends at lr 0, it changes next to nothing (the shipped "
                             "reader's recipe uses 0.999: 3 more letters of 15,262 on held-out pages; BENCHMARKS.md), "
                             f"{EMA_DECAY.allowed} (default: 0, off)")
    parser.add_argument("--mut-on-learn", action="store_true",
                        help="augment training images: random shift of -2..+2 pixels each way and 5 flipped pixels")
    add_argument_noting_given(parser, "--distort", type=DISTORT, default=0.0, metavar="STRENGTH",
                              help="also distort training images: rotation, shear, anisotropic scale, translation, "
                                   "elastic warp and stroke width, ranges scaled by STRENGTH (1 = up to 15 degrees, "
                                   "shear 0.3, scale 0.8-1.15; see hdl_native/data/distort.py), "
                                   f"{DISTORT.allowed} (default: 0, off)")
    parser.add_argument("--distort-other", type=DISTORT, default=None, metavar="STRENGTH",
                        help="distort the images of the class 'other' (a mixture's digits and marks, which `ocr` "
                             "keeps out of the text) with this strength instead of --distort's.  Beware: a class "
                             "distorted unlike the others can be told by its distortion (the reader trained with "
                             "--distort 0.5 --distort-other 1 read undistorted digits and marks as letters: "
                             f"BENCHMARKS.md), {DISTORT.allowed} (default: --distort's)")
    parser.add_argument("--distort-look", type=DISTORT, default=None, metavar="STRENGTH",
                        help="the strength of the distortions of the pen and the camera alone (thicker or thinner "
                             "strokes, blur, ink gamma; capped at 1), the shape's (rotation, shear, scale, elastic "
                             "warp) keeping --distort's: every class alike, "
                             f"{DISTORT.allowed} (default: --distort's)")
    add_argument_noting_given(parser, "--touching", type=TOUCHING, default=0.0, metavar="SHARE",
                              help="cut this share of the training images out of a pair with another image of the "
                                   "batch touching it, as `ocr` cuts letters written touching (a piece of the "
                                   f"neighbour at one edge; hdl_native/data/touching.py), {TOUCHING.allowed} "
                                   "(default: 0, off)")
    add_argument_noting_given(parser, "--lead-in", type=LEAD_IN, default=0.0, metavar="SHARE",
                              help="begin this share of the training images with a lead-in stroke from the left, as "
                                   "many hands begin a word, framed with the letter as `ocr` frames such a mark "
                                   f"(hdl_native/data/lead_in.py), {LEAD_IN.allowed} (default: 0, off)")
    add_argument_noting_given(parser, "--pairs", type=PAIRS, default=0.0, metavar="SHARE",
                              help=f"make this share of the training images two letters written touching (another "
                                   f"image of the batch placed at the letter's right), framed whole as `ocr` frames "
                                   f"a mark it leaves uncut, and labelled with a class of their own, '{PAIR}', which "
                                   f"`ocr` reads as not a letter: a pair left whole is left out of the text rather "
                                   f"than read as one letter (hdl_native/data/touching.py; applied before --touching), "
                                   f"{PAIRS.allowed} (default: 0, off)")
    parser.add_argument("--mut-on-validate", action="store_true",
                        help="augment validation images too, and report accuracy on augmented test images")
    parser.add_argument("--validate-every", type=POSITIVE_INT, default=default_validate_every,
                        help=f"validate every this many batches, {POSITIVE_INT.allowed} "
                             f"(default: {default_validate_every})")
    parser.add_argument("--val-size", type=POSITIVE_INT, default=DEFAULT_VAL_SIZE,
                        help="images in the validation sample, drawn once from the test split like the tutorial "
                             f"(it is only watched, never used to choose anything), {POSITIVE_INT.allowed} "
                             f"(default: {DEFAULT_VAL_SIZE}, or the whole test split where it is smaller)")
    parser.add_argument("--holdout", type=NON_NEGATIVE_INT, default=0, metavar="N",
                        help="validate on N training images held out from training instead of on the test sample "
                             "(whole writers where the dataset records them: unipen, chars74k), "
                             f"{NON_NEGATIVE_INT.allowed} and below the training set's size (default: 0, off)")
    parser.add_argument("--holdout-seed", type=SEED, default=None, metavar="S",
                        help="choose the --holdout images (or the validation sample) with seed S instead of --seed's, "
                             "so runs of several seeds are validated, calibrated and compared on the same images, "
                             f"{SEED.allowed} (default: --seed's)")
    parser.add_argument("--holdout-writer-share", type=HOLDOUT_WRITER_SHARE, default=DEFAULT_HOLDOUT_WRITER_SHARE,
                        metavar="F",
                        help="no writer may make up more than F of the --holdout images: more prolific writers stay "
                             "in training while smaller ones remain, so the held-out letters come from 1/F writers "
                             f"or more where the data has them, {HOLDOUT_WRITER_SHARE.allowed} (default: "
                             f"{DEFAULT_HOLDOUT_WRITER_SHARE}; 1 draws writers as they come, as runs did before)")
    parser.add_argument("--balance-classes", action="store_true",
                        help="draw every class of each dataset equally often (unipen follows English letter "
                             "frequencies: 'e' is 4 times as common as 'x'); a mixture's own weights, "
                             "--dataset letters:4,unipen, set each dataset's share")
    parser.add_argument("--threads", type=THREADS, default=None, help=THREADS_HELP)
    parser.add_argument("--out", metavar="STATE", default=None,
                        help=f"state file to write (default: the resumed STATE, else {command}.hdl)")
    parser.add_argument("--force", action="store_true",
                        help="replace an existing state file (or --export file) that this run does not continue")
    parser.add_argument("--checkpoint-every", type=NON_NEGATIVE, default=60.0, metavar="SECONDS",
                        help=f"save the state this often while training, {NON_NEGATIVE.allowed} (0: after "
                             "every batch) (default: 60); always on exit and Ctrl-C")
    parser.add_argument("--init", metavar="STATE", default=None,
                        help="start from this state's parameters (the moving average of a run with --ema-decay) with a "
                             "fresh optimiser and counter (fine-tuning)")
    db_help = (f"SQLite file for chapter 6's inspection tables (default: {default_db})" if default_db
               else "SQLite file for chapter 6's inspection tables (default: no logging)")
    logging = parser.add_mutually_exclusive_group()  # `--db x.sqlite3 --no-db` wrote nothing, without a word
    logging.add_argument("--db", metavar="FILE", default=default_db, help=db_help)
    logging.add_argument("--no-db", action="store_true", help="do not write the SQLite log")
    parser.add_argument("--export", metavar="FILE", default=None,
                        help="also write the trained model alone (no optimiser state; small) with its test accuracy")
    parser.add_argument("--plot", metavar="DIR", default=None,
                        help=f"write the test split's confusion matrix here as a PNG ({command}-confusion.png)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--json", action="store_true", help="print one JSON summary object on the last line")
