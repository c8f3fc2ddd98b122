"""How a training run starts: its training and validation images, a fresh or resumed model and optimiser, its log."""
import sqlite3
import sys

import numpy as np

from ..checkpoint import architecture_of, load_checkpoint, load_optimizer_state, load_params, reported_params
from ..data.cases import UNKNOWN, source_cases
from ..data.datasets import PAIR
from ..data.idx import read_labelled_images
from ..data.mixture import mixture_weights, sampling_weights
from ..errors import HDLError
from ..models import LETTER_MODELS, MODELS
from ..optim import SGD, Adam
from ..prune import PRUNE_MASKS, masks_from_state
from .config import DEFAULT_VAL_SIZE
from .sqlite_log import SqliteLog


def training_data(config, train_set, test_set):
    """((images, labels, weights, cases) to train on, (images, labels) to validate on), per --train-from,
    --holdout, --val-size and, for a mixture, its source weights and --balance-classes.

    Images are uint8 (N, 28, 28), labels int (N,); weights float64 (N,) probabilities of drawing each training
    image, or None to visit every image once per epoch; cases int8 (N,) each letter's case where its set records
    it, -1 where not (data/cases.py).  --holdout holds out whole writers where the dataset records them (a
    mixture's unipen and chars74k), single images elsewhere.
    """
    if config.train_from:
        images, labels = read_synthetic(config.train_from, train_set.n_classes)
        cases = np.full(len(labels), UNKNOWN, dtype=np.int8)
        train_set = None
    else:
        images, labels, cases = train_set.images, train_set.labels, source_cases(train_set)
    weights = None
    if train_set is not None and (train_set.sources is not None or config.balance_classes):
        weights = sampling_weights(train_set, mixture_weights(config.dataset), config.balance_classes)
    rng = holdout_rng(config.seed if config.holdout_seed is None else config.holdout_seed)
    if config.holdout:
        if not 0 < config.holdout < len(labels):
            raise HDLError(f"--holdout {config.holdout} must be between 1 and {len(labels) - 1}")
        held = held_out(config.holdout, train_set.writers if train_set is not None else None, len(labels), rng,
                        config.holdout_writer_share)
        kept = np.flatnonzero(~held)
        kept_weights = None if weights is None else weights[kept] / weights[kept].sum()
        return (images[kept], labels[kept], kept_weights, cases[kept]), (images[held], labels[held])
    if config.val_size > len(test_set) and config.val_size != DEFAULT_VAL_SIZE:  # a size the user asked for
        print(f"note: --val-size {config.val_size} is more than the {len(test_set)} images of the test split; "
              f"validating on all {len(test_set)}", file=sys.stderr)
    sample = np.sort(rng.permutation(len(test_set))[:config.val_size])  # the test labels may be sorted by class
    return (images, labels, weights, cases), (test_set.images[sample], test_set.labels[sample])


def holdout_rng(seed):
    """The generator training_data draws its held-out writers (or validation sample) from, for a run's seed."""
    return np.random.default_rng([seed, 3])


def held_out(count, writers, n, rng, writer_share=None):
    """bool (n,): at least `count` images held out for validation, by whole writers where `writers`
    (int (n,), -1 = unknown) says who wrote them, single images otherwise; each part in proportion to its size.

    Writers are drawn in a random order.  writer_share: a writer with more images than this share of `count` is
    passed over while smaller ones remain, so that one prolific writer cannot make up most of the held-out letters
    (unipen has a writer of 4,134 letters and a median of 125; drawn as they come, 6,000 held-out images held
    5 unipen writers, 4,134 letters of them one writer's).  None or 1 draws writers as they come (the draws of runs
    before --holdout-writer-share).
    """
    held = np.zeros(n, dtype=bool)
    if writers is None:
        held[rng.permutation(n)[:count]] = True
        return held
    known = writers >= 0
    unknown = np.flatnonzero(~known)
    held[rng.permutation(unknown)[:round(count * len(unknown) / n)]] = True
    wanted = count - int(held.sum())
    ids, sizes = np.unique(writers[known], return_counts=True)
    order = rng.permutation(len(ids))
    if writer_share is not None and writer_share < 1:
        small = sizes[order] <= writer_share * count
        order = np.concatenate([order[small], order[~small]])  # the prolific ones only if the rest fall short
    taken = order[:int(np.searchsorted(np.cumsum(sizes[order]), wanted)) + 1] if wanted > 0 else order[:0]
    held |= np.isin(writers, ids[taken]) & known
    return held


def read_synthetic(directory, n_classes):
    """uint8 images (N, 28, 28) and int64 labels (N,) that `hdl-native synth-letters --out DIR` wrote."""
    images, labels = read_labelled_images(directory)
    if labels.size and labels.max() >= n_classes:
        raise HDLError(f"{directory}: label {labels.max()} does not fit {n_classes} classes")
    return images, labels


def make_model(config, n_classes):
    """A freshly initialised model of config.architecture for n_classes, seeded by config.seed."""
    if config.architecture in LETTER_MODELS:
        return MODELS[config.architecture](n_classes=n_classes, dropout=config.dropout, seed=config.seed)
    if config.dropout:
        raise HDLError(f"--dropout applies to the CNN only, not to {config.architecture}")
    return MODELS[config.architecture](n_classes=n_classes, seed=config.seed)


def make_optimizer(model, choice, weight_decay=0.0):
    """The optimiser an OptimizerChoice names, over `model`'s parameters, with decoupled `weight_decay`."""
    if choice.lr <= 0:
        raise HDLError(f"the learning rate must be positive, got {choice.lr}")
    if choice.lr * weight_decay >= 1:  # w *= 1 - lr L each step: zero or a sign flip every step, never a decay
        raise HDLError(f"--weight-decay {weight_decay:g} at learning rate {choice.lr:g} would multiply the weights by "
                       f"1 - {choice.lr:g} x {weight_decay:g} = {1 - choice.lr * weight_decay:g} each step; "
                       "lr x weight decay must stay well below 1 (the values --help gives make it 1e-3 or less)")
    if choice.kind == "adam":
        return Adam(model, lr=choice.lr, weight_decay=weight_decay)
    return SGD(model, lr=choice.lr, momentum=choice.momentum if choice.kind == "momentum" else 0.0,
               weight_decay=weight_decay)


def start_from(model, optimizer, resumed, config, train_set, say_notes=True):
    """Load a resumed state (parameters, optimiser) or config.init's parameters into the fresh model and optimiser;
    a pruned state's masks go to the optimiser in either case.  say_notes: print the notes on what the state
    changes (False on all but rank 0 of a data-parallel run, so that a note is printed once)."""
    if resumed is not None and config.init:
        raise HDLError("give either a STATE to resume or --init, not both")
    source, path = (resumed, config.resume) if resumed is not None else (None, config.init)
    if source is None and path:
        source = load_checkpoint(path)
    if source is None:
        return
    if source["architecture"] != architecture_of(model):
        raise HDLError(f"{path} holds a {source['architecture']} model, this command trains a {architecture_of(model)}")
    if source.get("classes") is not None and len(source["classes"]) != train_set.n_classes:
        trained_on = (source.get("settings") or {}).get("dataset")
        hint = f" (it was trained on --dataset {trained_on})" if isinstance(trained_on, str) and trained_on else ""
        if (PAIR in source["classes"]) != (PAIR in train_set.classes):  # the one class --pairs adds
            hint = f" (it {'learned' if PAIR in source['classes'] else 'did not learn'} the class '{PAIR}' of --pairs)"
        raise HDLError(f"{path} was trained for {len(source['classes'])} classes, "
                       f"dataset {train_set.name} has {train_set.n_classes}{hint}")
    # a resumed run goes on from its trained weights; --init starts from the ones its run reported on (with
    # --ema-decay their moving average, which evaluate and ocr read too)
    load_params(model, source["params"] if resumed is not None else reported_params(source, path), path)
    if say_notes:
        note_old_penalty(source, path)
        if resumed is not None:
            note_changed_settings(resumed, config, path)
    if source.get(PRUNE_MASKS) is not None:  # a pruned model: its pruned weights stay zero while it trains
        optimizer.keep_zero(masks_from_state(source[PRUNE_MASKS], model, path))
    if resumed is None:
        return
    saved = resumed.get("optimizer")
    if saved is not None and saved.get("kind") == type(optimizer).__name__:
        load_optimizer_state(optimizer, saved, path)
        if optimizer.masks:
            optimizer.keep_zero(optimizer.masks)  # the loaded buffers' pruned entries are zero too
    elif saved is not None:
        print(f"note: {path} was trained with {saved.get('kind')}; starting {type(optimizer).__name__} afresh",
              file=sys.stderr)


def note_old_penalty(source, path):
    """Say so on stderr when `source` was trained before --weight-decay became decoupled decay.

    Such a state's settings have a weight_decay but no l2 entry; its factor was today's --l2.  The state
    itself loads and resumes as before: only the option that repeats its penalty changed its name.
    """
    settings = source.get("settings")
    if isinstance(settings, dict) and "l2" not in settings and settings.get("weight_decay"):
        factor = settings["weight_decay"]
        print(f"note: {path} was trained with the old --weight-decay {factor:g}, a penalty on the loss that is "
              f"now --l2 {factor:g} (with --l2-warmup for its warm-up); --weight-decay is now decoupled decay",
              file=sys.stderr)


# The settings that decide how a run trains, as named on the command line; a resumed run takes the command line's
# values for them (not its state file's), so a change is said aloud.  --batch-size and the architecture are
# checked elsewhere (a change cannot resume); threads, files and output options do not change the training.
TRAINING_OPTIONS = {"optimizer": "optimiser", "dropout": "--dropout", "seed": "--seed", "dataset": "--dataset",
                    "train_from": "--train-from", "balance_classes": "--balance-classes", "holdout": "--holdout",
                    "holdout_seed": "--holdout-seed", "holdout_writer_share": "--holdout-writer-share",
                    "val_size": "--val-size", "epochs": "--epochs",
                    "lr_schedule": "--lr-schedule",
                    "weight_decay": "--weight-decay", "l2": "--l2", "l2_warmup": "--l2-warmup",
                    "label_smoothing": "--label-smoothing", "ema_decay": "--ema-decay", "mixup": "--mixup",
                    "augment": "--mut-on-learn",
                    "distort": "--distort",
                    "distort_other": "--distort-other", "distort_look": "--distort-look",
                    "touching": "--touching", "lead_in": "--lead-in", "pairs": "--pairs"}


# Options a resumed run must also repeat, besides TRAINING_OPTIONS: a change of batch size cannot resume, and these
# two change validation and the augmented test only.
ALSO_REPEATED = {"batch_size": "--batch-size", "augment_validation": "--mut-on-validate",
                 "validate_every": "--validate-every"}


def training_words(config, parser):
    """The words after `hdl-native letters STATE` (or digits) that train as `config` (a RunConfig) does, for a run
    started without a command line (prune's fine-tune), so the hint a signal prints continues it as it was: --data,
    the optimiser's options and every TRAINING_OPTIONS or ALSO_REPEATED setting whose value is not `parser`'s
    default (`parser`: the command's own; --epochs always)."""
    actions = parser._option_string_actions  # option string -> its argparse action, as the parser keeps them
    words = ["--data", str(config.data_root)] if config.data_root else []
    choice = config.optimizer
    if "--optimizer" in actions:  # digits: --optimizer KIND --lr LR [--momentum M]
        words += ["--optimizer", choice.kind, "--lr", repr(choice.lr)]
        words += ["--momentum", repr(choice.momentum)] if choice.kind == "momentum" else []
    else:  # letters: --adam --alpha LR, or --lr LR --momentum M (0: plain SGD)
        words += (["--adam", "--alpha", repr(choice.lr)] if choice.kind == "adam"
                  else ["--lr", repr(choice.lr), "--momentum", repr(choice.momentum)])
    for key, option in {**TRAINING_OPTIONS, **ALSO_REPEATED}.items():
        action, value = actions.get(option), getattr(config, key)
        if action is None or value is None or (value == action.default and option != "--epochs"):
            continue
        if isinstance(value, bool):
            words += [option] if value else []
        else:
            words += [option, repr(value) if isinstance(value, float) else str(value)]
    return tuple(words)


# What a state saved before an option existed trained with (its settings lack the key), where that is known: its
# holdout drew writers as they came, it kept no moving average of its weights and mixed no images.
BEFORE_THE_OPTION = {"holdout_writer_share": None, "ema_decay": 0.0, "mixup": 0.0}


def writers_as_drawn(share, settings):
    """None (writers drawn as they come, as runs before the option) for a share of 1 or a run holding nothing out,
    where the share changes nothing; else the share."""
    return None if not settings.get("holdout") or share in (1, 1.0) else share


# Settings some of whose values train the same way: key -> (value, the current settings) -> what it amounts to.
SAME_TRAINING = {"holdout_writer_share": writers_as_drawn}


def changed_settings(saved, current, options=TRAINING_OPTIONS, same_training=SAME_TRAINING):
    """['--label-smoothing 0.1 -> 0', ...]: the `options` (setting -> option; textgen has its own) whose value in
    the `current` settings dict (RunConfig.as_dict()) differs from a state's `saved` one, as `same_training`
    compares them; keys either lacks (older state files) are skipped, but for BEFORE_THE_OPTION's, whose value
    before the option is known."""
    changes = []
    for key, option in options.items():
        if key not in current or not (key in saved or key in BEFORE_THE_OPTION):
            continue
        was, now = saved.get(key, BEFORE_THE_OPTION.get(key)), current[key]
        amounts_to = same_training.get(key, lambda value, _: value)
        if amounts_to(was, current) != amounts_to(now, current):
            changes.append(f"{option} {describe_setting(was)} -> {describe_setting(now)}")
    return changes


def describe_setting(value):
    """A setting's value as the note prints it: 'adam lr 0.001' for an optimiser, 'off' for None/False."""
    if isinstance(value, dict) and "kind" in value:
        return f"{value['kind']} lr {value.get('lr'):g}" + (f" momentum {value['momentum']:g}"
                                                             if value.get("kind") == "momentum" else "")
    if value is None or value is False:
        return "off"
    if value is True:
        return "on"
    return f"{value:g}" if isinstance(value, float) else str(value)


def note_changed_settings(resumed, config, path, options=TRAINING_OPTIONS, same_training=SAME_TRAINING,
                          as_compared=lambda settings: settings):
    """Say on stderr which training settings this resumed run changes from the run that wrote `path`
    (changed_settings of `options` and `same_training`, on both settings dicts as `as_compared` gives them:
    textgen has its own three)."""
    saved = resumed.get("settings")
    if not isinstance(saved, dict):
        return
    changes = changed_settings(as_compared(saved), as_compared(config.as_dict()), options, same_training)
    if changes:
        print(f"note: resuming {path} with settings its run did not have: {', '.join(changes)} "
              "(repeat its options to keep them)", file=sys.stderr)


def resume_position(trainer, state, path):
    """Put the trainer where the saved run stopped, or say clearly why that is impossible."""
    if "batch_counter" not in state or "batcher_state" not in state:
        raise HDLError(f"{path} holds a model but no training position; start from it with --init instead")
    try:
        trainer.load_state(state, path)
    except (ValueError, TypeError, KeyError) as error:
        raise HDLError(f"cannot resume {path}: {error} (resume with the same --batch-size and training data, "
                       "or start from its parameters with --init)") from None


def open_log(config):
    """The run's SqliteLog recording config.as_dict() as its settings, or None when config.db is None."""
    if not config.db:
        return None
    try:
        return SqliteLog(config.db, config.command, config.as_dict())
    except sqlite3.Error as error:
        raise HDLError(f"cannot write the SQLite log {config.db}: {error}") from None
