"""Character-level text generation (the tutorial's chapter 9): train a GRU or LSTM on a text file, then sample.

  hdl-native textgen train --corpus tinyshakespeare.txt --minutes 5 --out shakespeare.hdl
  hdl-native textgen train shakespeare.hdl --corpus tinyshakespeare.txt --minutes 10   # resume exactly
  hdl-native textgen train --corpus tinyshakespeare.txt --dropout 0.2 --lr-schedule cosine --minutes 15
      (the recipe that reached 1.43 nats/char on the held-out tenth in 15 minutes: BENCHMARKS.md)
  hdl-native textgen train --corpus posts.txt --minutes 4 --best posts-best.hdl
      (a small corpus is soon learned by heart: --best keeps the state whose held-out loss was lowest)
  hdl-native textgen sample shakespeare.hdl --prompt "ROMEO:" --temperature 0.8 --length 400

train: the vocabulary is the corpus's characters (saved in the state); the last 10% is held out and its
loss reported in nats and bits per character; truncated BPTT with the state carried between consecutive
chunks, gradient clipping, Adam; the state is saved every --checkpoint-every seconds, at the end and on
Ctrl-C (exit 130).  sample: streams the generated characters as they come; temperature 0 is greedy.
"""
import argparse
import sys

from ..checkpoint import MAX_HIDDEN, MAX_LAYERS, load_checkpoint
from ..cli_types import (BATCH_SIZE, LEARNING_RATE, NON_NEGATIVE, POSITIVE, POSITIVE_INT, SEED, SEQ_LEN, THREADS,
                         THREADS_HELP, finite_float, int_range, probability)
from ..errors import HDLError
from ..training.config import EXIT_CODES

HELP = "train a character-level GRU/LSTM on a text file (truncated BPTT), and sample text from it"

# the sizes a state file accepts (wider or deeper stacks would not train in any sensible time on a CPU)
HIDDEN = int_range(1, MAX_HIDDEN)
LAYERS = int_range(1, MAX_LAYERS)
LENGTH = int_range(0, 10_000_000)
# beyond ~100 the distribution is uniform to float precision; negative or NaN would be meaningless
TEMPERATURE = finite_float(0, 100)
CLIP = finite_float(0, 1e6, low_inclusive=False)
# the model settings a resumed run takes from its state unless given
MODEL_DEFAULTS = {"model": "gru", "layers": 3, "hidden": 256, "seq_len": 100, "batch_size": 64, "dropout": 0.0}
DROPOUT = probability(high_inclusive=False)


def add_arguments(parser):
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    add_train_arguments(actions.add_parser("train", help="train a character model on a corpus", epilog=EXIT_CODES,
                                           formatter_class=argparse.RawDescriptionHelpFormatter))
    add_sample_arguments(actions.add_parser("sample", help="generate text from a trained state"))


def add_train_arguments(parser):
    parser.add_argument("state", nargs="?", metavar="STATE", help="resume this state exactly (same corpus)")
    parser.add_argument("--corpus", required=True, metavar="FILE", help="UTF-8 text file to learn")
    parser.add_argument("--model", choices=("gru", "lstm"), default=None, help="recurrent cell (default: gru)")
    parser.add_argument("--layers", type=LAYERS, default=None, help=f"recurrent layers, {LAYERS.allowed} (default: 3)")
    parser.add_argument("--hidden", type=HIDDEN, default=None, help=f"hidden size, {HIDDEN.allowed} (default: 256)")
    parser.add_argument("--seq-len", type=SEQ_LEN, default=None,
                        help=f"characters per chunk (backpropagation depth), {SEQ_LEN.allowed} (default: 100)")
    parser.add_argument("--batch-size", type=BATCH_SIZE, default=None,
                        help=f"parallel streams per batch, {BATCH_SIZE.allowed} (default: 64)")
    parser.add_argument("--minutes", type=POSITIVE, default=None,
                        help=f"train for this many minutes (validation and saving not counted), {POSITIVE.allowed} "
                             "(default: no limit; with neither --minutes nor --steps it trains until Ctrl-C)")
    parser.add_argument("--steps", type=POSITIVE_INT, default=None,
                        help="stop once this many steps have been trained in total (counting a resumed state's), "
                             f"{POSITIVE_INT.allowed} (default: no limit)")
    parser.add_argument("--lr", type=LEARNING_RATE, default=2e-3,
                        help=f"Adam learning rate, {LEARNING_RATE.allowed} (default: 0.002)")
    parser.add_argument("--lr-schedule", choices=("constant", "cosine"), default="constant",
                        help="constant, or cosine: from --lr down to 0 over this run's --minutes or --steps "
                             "(a resumed run starts its own cosine) (default: constant)")
    parser.add_argument("--dropout", type=DROPOUT, default=None,
                        help=f"drop each recurrent layer's outputs with this probability while training, "
                             f"{DROPOUT.allowed} (default: 0, or the resumed state's)")
    parser.add_argument("--clip", type=CLIP, default=5.0,
                        help=f"clip the gradients' global norm to this, {CLIP.allowed} (default: 5)")
    parser.add_argument("--seed", type=SEED, default=0,
                        help=f"initialisation and stream offsets, {SEED.allowed} (default: 0)")
    parser.add_argument("--validate-every", type=POSITIVE_INT, default=100,
                        help=f"validate every this many steps, {POSITIVE_INT.allowed} (default: 100)")
    parser.add_argument("--checkpoint-every", type=NON_NEGATIVE, default=60.0, metavar="SECONDS",
                        help=f"save the state this often, {NON_NEGATIVE.allowed} (default: 60); always at the end "
                             "and on Ctrl-C")
    parser.add_argument("--threads", type=THREADS, default=None, help=THREADS_HELP)
    parser.add_argument("--out", metavar="STATE", default=None,
                        help="state file to write (default: the resumed STATE, else textgen.hdl)")
    parser.add_argument("--best", metavar="STATE", default=None,
                        help="also keep the state of the lowest held-out loss in this file, written at each new "
                             "low (it samples and resumes as any state; a resumed run replaces it only with a "
                             "lower loss) (default: none)")
    parser.add_argument("--force", action="store_true",
                        help="replace an existing state file (or --best file) this run does not continue")
    parser.add_argument("--db", metavar="FILE", default=None, help="SQLite progress log (default: none)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or validation lines")
    parser.add_argument("--json", action="store_true", help="print one JSON summary object on the last line")


def add_sample_arguments(parser):
    parser.add_argument("state", metavar="STATE", help="a state `textgen train` wrote")
    parser.add_argument("--prompt", default=None, help="text to start from (default: a newline)")
    parser.add_argument("--temperature", type=TEMPERATURE, default=0.8,
                        help=f"softmax temperature, {TEMPERATURE.allowed}; 0 is greedy (default: 0.8)")
    parser.add_argument("--length", type=LENGTH, default=500,
                        help=f"characters to generate, {LENGTH.allowed} (default: 500)")
    parser.add_argument("--seed", type=SEED, default=None, help=f"sampling seed, {SEED.allowed} (default: random)")


def run(args):
    return run_train(args) if args.action == "train" else run_sample(args)


def model_settings(args):
    """The model options given, the rest from the resumed state's settings (or the defaults)."""
    saved = {}
    if args.state:
        settings = load_checkpoint(args.state).get("settings") or {}
        saved = {"model": settings.get("cell"), **{key: settings.get(key) for key in MODEL_DEFAULTS if key != "model"}}
    return {key: next(value for value in (getattr(args, key), saved.get(key), default) if value is not None)
            for key, default in MODEL_DEFAULTS.items()}


def run_train(args):
    from ..textgen.trainer import TextgenConfig, start
    if args.lr_schedule == "cosine" and not (args.minutes or args.steps):
        raise HDLError("--lr-schedule cosine needs --minutes or --steps (the span it decays over)")
    settings = model_settings(args)
    config = TextgenConfig(
        corpus=args.corpus, cell=settings["model"], layers=settings["layers"], hidden=settings["hidden"],
        seq_len=settings["seq_len"], batch_size=settings["batch_size"], lr=args.lr, lr_schedule=args.lr_schedule,
        dropout=settings["dropout"], clip=args.clip, seed=args.seed,
        max_seconds=args.minutes * 60 if args.minutes else None, max_steps=args.steps,
        validate_every=args.validate_every, checkpoint_every=args.checkpoint_every, threads=args.threads,
        resume=args.state, out=args.out or args.state or "textgen.hdl", force=args.force, db=args.db, best=args.best,
        progress=not args.quiet, json_summary=args.json, command_line=train_words(args))
    return start(config).run()


def train_words(args):
    """The words after `hdl-native textgen train` as typed (cli.main keeps those after `textgen`), which a run a
    signal stops repeats in the command that goes on; () when not known (a run started from Python)."""
    words = tuple(getattr(args, "command_line", ()))
    return words[1:] if words[:1] == ("train",) else ()


def run_sample(args):
    from ..textgen.sample import default_prompt, generate, load_generator
    model, vocabulary = load_generator(args.state)
    prompt = default_prompt(vocabulary) if args.prompt is None else args.prompt
    characters = generate(model, vocabulary, prompt, args.length, args.temperature, args.seed)  # checks the prompt
    if args.prompt is not None:
        sys.stdout.write(args.prompt)
    for character in characters:
        sys.stdout.write(character)
        sys.stdout.flush()
    sys.stdout.write("\n")
    return 0
