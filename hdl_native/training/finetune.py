"""Teach a letters model the user's hand: fine-tune it on the crops `ocr --crops DIR` saved and the user corrected.

``FinetuneSession(config).run()`` is a training Session (config.finetune names the crops directories, one per
photo, config.init the model) whose training images are a mix, so the model learns the new hand without forgetting
the rest:

- the user's labelled crops, repeated so they make up USER_SHARE of the mix (a fifth of them held out to
  measure on, when there are at least MIN_CROPS_FOR_HOLDOUT);
- a replay sample of REPLAY_IMAGES from the training split of the dataset the model's state names (a mixture's
  drawn by its source weights), found under --data / $HDL_DATA; without it the crops alone, with a warning.

Accuracy is measured before and after on the held-out crops, the crops trained on, and the test split of each
source of that dataset (per source when the dataset says which image came from where).  Before training, each
directory's labels sheet is drawn again from its labels as corrected, marking those the model reads otherwise.  The
result is an ordinary letters state: `ocr --model` and `evaluate` read it, and it can be fine-tuned again.  The
digit reader `ocr` reads digits with is fine-tuned the same way (`letters --finetune DIR --digits`, replaying the
`digits` set it was trained on; `ocr --digit-model` reads with the result).
"""
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..checkpoint import PRETRAINED_LETTERS, load_checkpoint
from ..data import find_data_root, load_dataset
from ..data.datasets import Dataset, relabel
from ..data.mixture import available_part, mixture_weights, recorded_writers, sampling_weights
from ..errors import HDLError, named_twice
from ..intervals import difference_interval
from ..models import LETTER_MODELS
from .config import OptimizerChoice, RunConfig, recorded_lead_in, recorded_pairs, recorded_touching
from .evaluate import Evaluator
from .session import Session

# Measured with the 26-letter shipped model on a page of one unipen writer (260 letters, 51 of them held out; 30
# epochs): replaying the whole letters training split (3,820) instead of 2,400 of it halved what the letters test
# split lost (1.3 -> 0.7 points), and a cosine decay of the step kept a little more than a constant one.
REPLAY_IMAGES = 6000  # drawn once from the model's own training split
USER_SHARE = 0.2  # of the training mix, once there is replay data
HOLDOUT_FRACTION = 0.2
MIN_CROPS_FOR_HOLDOUT = 20
ALPHA = 1e-4  # Adam's step: a tenth of training from scratch, so the rest is not trained away
# No shift-and-flip unless the model trained with it: the shipped reader did not, and with it 150 batches had cost the
# crops trained on 2 to 3 points and the five test splits 0.8; without it they gain (BENCHMARKS.md).
DISTORT = 0.5  # the crops are few: distort them (and the replay) mildly
MINUTES = 3.0  # default time limit
# default batch limit: the same lesson on every machine (without it, 30 epochs of the mix, 3,540 batches, where the
# minutes do not cut it first); 2,500 read ten held-out writers as well as 3,540 (BENCHMARKS.md, fifty-first session)
MAX_BATCHES = 2500


@dataclass
class Measured:
    """One set the model is measured on before and after: a name for the report, images (n, 28, 28) uint8,
    labels (n,) in the model's classes, and writers int (n,) (-1 unknown) where the set records them, so that the
    change's interval resamples whole writers (hdl_native/intervals.py)."""

    name: str
    images: np.ndarray
    labels: np.ndarray
    writers: np.ndarray = None


class FinetuneSession(Session):
    """A Session training on the user's crops mixed with replay data; reports accuracy before and after."""

    def __init__(self, config):
        super().__init__(config)
        self.measured = []  # [Measured]
        self.user_crops = []  # [ocr.user_crops.LabelledCrops], one per directory of config.finetune
        self.before = None  # {name: bool (n,) read right}, before training
        self.calibration = {}  # the temperatures and int8 ranges its state stores (calibration.CALIBRATION_ENTRIES)

    def load_data(self):
        from ..calibration import CALIBRATION_ENTRIES  # here, as the next: scipy is loaded on use
        from ..ocr.user_crops import LABELS_FILE, joined_crops, read_labelled_crops  # here: ocr loads scipy

        config = self.config
        state = load_checkpoint(config.init)
        classes = list(state.get("classes") or [])
        self.calibration = {key: state[key] for key in CALIBRATION_ENTRIES if key in state}
        self.user_crops = [read_labelled_crops(directory, classes) for directory in config.finetune]
        crops = joined_crops(config.finetune, self.user_crops)
        rng = np.random.default_rng([config.seed, 5])
        trained, held = split_crops(crops, rng)
        replay_train, replay_test = replay_sets(config, classes)
        images, labels = training_mix(trained, replay_train, rng)
        self.measured = ([Measured(f"your crops, {len(held[1])} held out", *held)] if held else []) \
            + [Measured(f"your crops, {len(trained[1])} trained on", *trained)] + replay_test
        labels_path = Path(config.finetune[0]) / LABELS_FILE
        self.train_set = Dataset(name=config.dataset, split="train", images=images, labels=labels, classes=classes,
                                 images_path=labels_path, labels_path=labels_path)
        self.train_data = (images, labels)
        self.validation = held or trained
        n_held, n_replay = len(held[1]) if held else 0, len(replay_train[1]) if replay_train else 0
        print(f"fine-tuning {config.init} on {len(crops)} crops from {', '.join(config.finetune)} ({n_held} held "
              f"out) and {n_replay} {config.dataset} training images")
        if crops.not_for_model:
            print(f"{len(crops.not_for_model)} crops labelled with letters left out: this model reads digits "
                  "and 'other' (the letter reader learns them without --digits)")

    def setup(self):
        super().setup()
        self.before = self.readings()
        self.draw_sheets()

    def draw_sheets(self):
        """Draw each directory's labels sheet again from its labels as corrected, with what the model reads now."""
        from ..ocr.user_crops import SHEET_FILE, write_corrected_sheet

        for directory, crops in zip(self.config.finetune, self.user_crops):
            read = self.read(crops.images)
            try:
                taught = write_corrected_sheet(directory, crops, read, Path(self.config.init).name)
            except OSError as error:
                print(f"warning: cannot draw {Path(directory) / SHEET_FILE} again ({error.strerror or error})",
                      file=sys.stderr)
                continue
            print(f"{Path(directory) / SHEET_FILE}: your labels, {taught} of {len(crops)} read otherwise by the "
                  "model before fine-tuning")

    def test(self):
        """Measure again and print before -> after per set, with the change's 95% interval; returns the JSON
        summary."""
        after = self.readings()
        before = {name: 100.0 * float(correct.mean()) for name, correct in self.before.items()}
        accuracy = {name: 100.0 * float(correct.mean()) for name, correct in after.items()}
        change = {item.name: list(difference_interval(after[item.name], self.before[item.name], item.writers))
                  for item in self.measured}
        print("accuracy before -> after fine-tuning (the change, and its 95% interval over other writers like these):")
        width = max(len(name) for name in after)
        for name in after:
            low, high = change[name]
            print(f"  {name:<{width}}  {before[name]:6.2f}% -> {accuracy[name]:6.2f}%  "
                  f"({accuracy[name] - before[name]:+.2f}: {low:+.2f} to {high:+.2f})")
        trainer = self.trainer
        return {"command": self.config.command, "finetune": list(self.config.finetune), "init": self.config.init,
                "accuracy_before": before, "accuracy_after": accuracy, "change_interval": change,
                "batches": trainer.batch_counter,
                "run_train_seconds": trainer.run_seconds, "stopped_by": trainer.stopped_by}

    def readings(self):
        """{name: bool (n,), each image read right} of the model on every Measured set."""
        return {item.name: self.read(item.images) == item.labels for item in self.measured}

    def read(self, images):
        """The class the model reads in each of `images` (uint8 (n, 28, 28)) -> int (n,), read once as `evaluate`
        reads: at the temperature its state stores, 'other' weighted by its stored offset (as `ocr` weighs it), so
        that the figures before the fine-tune are the ones `evaluate` gives."""
        from ..calibration import calibrated_log_probabilities, other_column, stored_other_offset, stored_temperature

        init, classes = self.config.init, self.train_set.classes
        return calibrated_log_probabilities(Evaluator(self.model).predict_log_probs(images),
                                            stored_temperature(self.calibration, init), other_column(classes),
                                            stored_other_offset({**self.calibration, "classes": classes}, init)
                                            ).argmax(axis=1)

    def how_to_continue(self):
        from ..ocr.user_crops import reads_digits

        reads = "--digit-model" if reads_digits(self.user_crops[0].classes) else "--model"
        return (f"the model is usable as it is (hdl-native ocr PHOTO {reads} "
                f"{self.out}); to train it further: hdl-native letters --finetune {' '.join(self.config.finetune)} "
                f"--model {self.out} --out OTHER.hdl")

    def saved_entries(self):
        entries = super().saved_entries()
        entries["finetuned_on"] = {"crops": list(self.config.finetune), "from": str(self.config.init),
                                   "images": int(len(self.train_data[1]))}
        entries.update(self.calibration)  # fitted before the fine-tune: close, not exact (`hdl-native calibrate`)
        if "int8_ranges" in entries:  # these, though, are cheap to measure again on what the fine-tune trained on
            from ..int8.runner import state_ranges

            ranges = state_ranges(self.model, entries.get("normalization"), self.train_data[0])
            if ranges is not None:
                entries["int8_ranges"] = ranges
        return entries


def split_crops(crops, rng):
    """((images, labels) to train on, (images, labels) held out or None): HOLDOUT_FRACTION of the crops when
    there are at least MIN_CROPS_FOR_HOLDOUT."""
    if len(crops) < MIN_CROPS_FOR_HOLDOUT:
        return (crops.images, crops.labels), None
    order = rng.permutation(len(crops))
    n_held = int(round(HOLDOUT_FRACTION * len(crops)))
    held, kept = np.sort(order[:n_held]), np.sort(order[n_held:])
    return (crops.images[kept], crops.labels[kept]), (crops.images[held], crops.labels[held])


def replay_sets(config, classes):
    """(replay sample (images, labels) or None, [Measured] test splits) of config.dataset, labels translated to
    `classes` (images of classes the model lacks are dropped).  A mixture's sample is drawn as its training
    drew: by its source weights and, if it did, with the classes balanced."""
    root = find_data_root(config.data_root)
    found, missing = available_part(config.dataset, root)
    if found is None:
        print(f"warning: no replay data, fine-tuning on the crops alone, so the model may forget other hands: "
              f"{missing[0][1]}", file=sys.stderr)
        return None, []
    for source, why in missing:
        print(f"warning: {source} is not replayed, so the model may forget its hands: {why}", file=sys.stderr)
    train, test = load_dataset(found, "train", root), load_dataset(found, "test", root)
    p = sampling_weights(train, mixture_weights(found), config.balance_classes)
    size = min(REPLAY_IMAGES, int(np.count_nonzero(p)))
    sample = np.sort(np.random.default_rng([config.seed, 6]).choice(len(train), size, replace=False, p=p))
    kept, labels = in_classes(train.labels[sample], train.classes, classes)
    return (train.images[sample][kept], labels), test_sources(test, classes)


def test_sources(test, classes):
    """[Measured]: the test split per source when it says which image came from where, then all of it."""
    kept, labels = in_classes(test.labels, test.classes, classes)
    images = test.images[kept]
    writers = recorded_writers(test)
    writers = None if writers is None else writers[kept]
    measured = [Measured(f"{test.name} test ({len(labels)})", images, labels, writers)]
    names = test.source_names
    if test.sources is None or len(names) < 2:
        return measured
    parts = [(name, mask[kept]) for name, mask in test.source_masks()]
    return [Measured(f"{name} test ({np.count_nonzero(part)})", images[part], labels[part],
                     None if writers is None else writers[part])
            for name, part in parts if part.any()] \
        + [Measured(f"all {len(names)} test splits ({len(labels)})", images, labels, writers)]


def in_classes(labels, dataset_classes, classes):
    """(kept (n,) bool, labels of the kept re-indexed from dataset_classes to classes): images of classes the
    model lacks are not kept."""
    mapped = relabel(labels, dataset_classes, classes)
    return mapped >= 0, mapped[mapped >= 0]


def training_mix(trained, replay, rng):
    """uint8 images (N, 28, 28), int64 labels (N,): the crops repeated to USER_SHARE of the mix with the replay
    sample, shuffled; the crops alone without replay."""
    images, labels = trained
    if replay is None:
        return images, labels
    copies = max(1, int(round(USER_SHARE / (1 - USER_SHARE) * len(replay[1]) / len(labels))))
    mixed_images = np.concatenate([np.repeat(images, copies, axis=0), replay[0]])
    mixed_labels = np.concatenate([np.repeat(labels, copies), replay[1]])
    order = rng.permutation(len(mixed_labels))
    return mixed_images[order], mixed_labels[order]


def finetune_config(args):
    """The RunConfig of `hdl-native letters --finetune DIR [DIR ...]`: the directories (each once); the model
    (--model STATE or --init, default the shipped one) sets the architecture, the dataset to replay and how it was
    drawn from; Adam at --alpha (default ALPHA) decaying along a cosine, the model's own augmentation (the
    shift-and-flip if it trained with it, or --mut-on-learn; its --touching and --pairs shares) plus --distort
    (default DISTORT), --max-minutes (default MINUTES) and --max-batches (default MAX_BATCHES)."""
    if args.state:
        raise HDLError("--finetune starts from --model STATE (default: the shipped model), not from a STATE to resume")
    if args.model in LETTER_MODELS:
        raise HDLError(f"--finetune teaches a trained model: give --model STATE, not the network {args.model!r}")
    if args.train_from or args.holdout:
        raise HDLError(f"--finetune trains on the crops and holds some out itself; "
                       f"{'--train-from' if args.train_from else '--holdout'} does not apply")
    directories = [str(directory) for directory in args.finetune]
    twice = named_twice(directories)
    if twice:
        earlier, directory = twice
        also = "" if earlier == directory else f" (also as {earlier})"
        raise HDLError(f"--finetune names the crops directory {directory} twice{also}")
    init = args.init or str(PRETRAINED_LETTERS)
    state = load_checkpoint(init)
    if state["architecture"] not in LETTER_MODELS:
        raise HDLError(f"{init} holds a {state['architecture']} model; --finetune takes a letters model")
    if not state.get("classes"):
        raise HDLError(f"{init} does not name its classes, so crop labels cannot be matched to them")
    recorded = state.get("dataset")
    if recorded and args.dataset_given and args.dataset != recorded:
        raise HDLError(f"--dataset {args.dataset}: --finetune replays the data {init} was trained on ({recorded}); "
                       "the model's state decides what is replayed: drop --dataset")
    if args.lr_schedule_given and args.lr_schedule != "cosine":
        raise HDLError(f"--lr-schedule {args.lr_schedule}: --finetune always lowers its step on a cosine over its "
                       "minutes: drop --lr-schedule")
    optimizer = OptimizerChoice("adam", args.alpha or ALPHA)
    config = RunConfig.from_args(args, "letters", state["architecture"], optimizer)
    settings = state.get("settings") if isinstance(state.get("settings"), dict) else {}
    return replace(config, finetune=tuple(directories), init=init, dataset=recorded or args.dataset,
                   balance_classes=config.balance_classes or bool(settings.get("balance_classes")),
                   augment=config.augment or bool(settings.get("augment")),
                   distort=args.distort if args.distort_given else DISTORT,
                   touching=args.touching if args.touching_given else recorded_touching(settings, init),
                   lead_in=args.lead_in if args.lead_in_given else recorded_lead_in(settings, init),
                   pairs=args.pairs if args.pairs_given else recorded_pairs(settings, init),
                   lr_schedule="cosine",
                   max_batches=config.max_batches or MAX_BATCHES, max_seconds=config.max_seconds or MINUTES * 60)
