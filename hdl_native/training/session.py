"""One `hdl-native digits` or `hdl-native letters` run, in three steps.

``Session(config).run()`` with a RunConfig (see config.py):

- setup(): read the data, build the model and optimiser (fresh, resumed or from --init), open the log;
- train(): train with ``Trainer`` until the plan is done, the time is up or a signal asks to stop,
  saving the state file along the way and at the end;
- report(): evaluate on the whole test split and print the confusion matrix, a sample drawn in ASCII
  with its prediction, the closing lines, optionally PNGs and an exported model, and one JSON line.
"""
import shlex
import sys
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np

from ..checkpoint import load_checkpoint, save_checkpoint
from ..data import augment, find_data_root, load_dataset
from ..data.augment import MNIST_MEAN, MNIST_STD
from ..data.datasets import NOT_A_LETTER, with_pair_class
from ..data.mixture import data_credits
from ..distributed import get_world
from ..errors import HDLError, NonFiniteOutputs
from ..json_output import json_line
from ..prune import PRUNE_MASKS, masks_for_state
from ..threads import get_num_threads, set_num_threads
from ..weights import count_small_parameters
from .cases import check_capitals_reader
from .divergence import Diverged, TrainingDiverged, check_state, likely_cause
from .evaluate import Evaluator, format_confusion
from .feed import class_distortions, pair_label
from .interrupt import StopOnSignal
from .loop import Trainer
from .outputs import check_outputs, check_plot_folder, continue_command, resumes
from .parallel import DataParallel
from .start import make_model, make_optimizer, open_log, resume_position, start_from, training_data
from .summary import (add_log_overhead, plot_name, print_results, print_sample, stopped_summary, test_summary,
                      write_plots)
from .weight_average import STATE_KEY as WEIGHT_AVERAGE, too_long_a_memory

# What a run keeps of the state it continues besides the model and its position: how its model is read (the offset on
# 'other' that `calibrate --other-offset` sets) and where a pruned model came from.  The temperatures and int8
# ranges calibrate fits describe the weights before this run's training, and are dropped.
CARRIED_ENTRIES = ("other_offset", "pruned_from")


class Session:
    """One training run of `config`; run() returns the exit code (0, or 130 when a signal stopped it).

    A run that would overwrite a state it does not continue, or cannot write its outputs, raises HDLError
    before loading anything; one whose loss, gradients or parameters stop being finite raises
    TrainingDiverged (exit code 3) and leaves the state file as last saved.

    Started by MPI with more than one process, each is one rank of a data-parallel run (training.parallel):
    all train, rank 0 alone prints, logs, saves and tests; an error on any rank stops them all.
    """

    def __init__(self, config):
        world = get_world()
        self.parallel = DataParallel(world) if world.size > 1 else None
        self.is_root = world.is_root
        self.config = config if self.parallel is None else self.parallel.rank_config(config)
        self.out = Path(config.out)  # the state file
        self.wall_started = time.perf_counter()
        # setup() fills these in:
        self.train_set = self.test_set = None  # Datasets
        self.train_data = self.validation = None  # (uint8 images (N, 28, 28), int labels (N,)) each
        self.train_weights = None  # float64 (N,) probabilities of drawing each training image, or None
        self.train_cases = None  # int8 (N,) each training letter's case, -1 unknown (data/cases.py), or None
        self.resumed = None  # the checkpoint dict being continued, if any
        self.carried = {}  # the CARRIED_ENTRIES it saves: the resumed state's (prune sets its fine-tune's own)
        self.model = self.optimizer = self.log = None
        # train() fills these in:
        self.trainer = None
        self.small_before = None  # parameter values with a square below SMALL_SQUARE before training
        self.saved_batch = None  # the batch counter of the state this run last saved

    def run(self):
        """setup(), train() and, unless a signal stopped training, report() (on rank 0 of a data-parallel
        run); the log is closed in any case."""
        stop_all_on_error = nullcontext() if self.parallel is None else self.parallel.world.stop_all_on_error(
            f"hdl-native {self.config.command}")
        with stop_all_on_error:
            self.setup()
            try:
                if self.train() in StopOnSignal.SIGNALS:
                    return 130
                if self.is_root:
                    self.report()
                return 0
            finally:
                if self.log is not None:
                    self.log.close()

    def setup(self):
        """Check the output files, load the data, build (or resume) the model and optimiser, open the SQLite log."""
        config = self.config
        check_outputs(config)
        if config.plot:
            check_plot_folder(config.plot, plot_name(config.command), [
                ("the state file", config.out), ("the --export file", config.export), ("the SQLite log", config.db)])
        if self.parallel is not None:
            self.parallel.check_batch_size(config.batch_size)
        if config.threads is not None:
            set_num_threads(config.threads)
        self.load_data()
        self.distort_strengths = class_distortions(config, self.train_set.classes)
        self.pair = pair_label(config, self.train_set.classes)
        self.resumed = load_checkpoint(config.resume) if config.resume else None
        if self.resumed is not None:  # (an offset on 'other' goes only where the classes still have one)
            self.carried = {key: self.resumed[key] for key in CARRIED_ENTRIES if key in self.resumed
                            and (key != "other_offset" or NOT_A_LETTER in self.train_set.classes)}
        check_capitals_reader(config, self.train_set.classes)
        self.model = make_model(config, self.train_set.n_classes)
        self.optimizer = make_optimizer(self.model, config.optimizer, config.weight_decay)
        start_from(self.model, self.optimizer, self.resumed, config, self.train_set, say_notes=self.is_root)
        self.log = open_log(config)

    def load_data(self):
        """The datasets, and the images to train and validate on (a fine-tune takes its own: finetune.py)."""
        config = self.config
        root = find_data_root(config.data_root)
        self.train_set = load_dataset(config.dataset, "train", root)
        self.test_set = load_dataset(config.dataset, "test", root)
        if self.train_set.n_classes < 2:  # it trained, and reported 100% on its test split
            raise HDLError(f"dataset {config.dataset!r} holds one class ({self.train_set.classes[0]!r}): a reader "
                           "learns to tell classes apart; mix it with a set of others, e.g. --dataset "
                           f"{'mnist' if config.command == 'digits' else 'letters'},{config.dataset}")
        if config.pairs:  # the reader learns one class more: two letters left whole (--pairs)
            self.train_set, self.test_set = with_pair_class(self.train_set), with_pair_class(self.test_set)
        (*self.train_data, self.train_weights, self.train_cases), self.validation = training_data(
            config, self.train_set, self.test_set)

    def train(self):
        """Train until the plan is done, the time is up or a signal arrives; returns why training stopped."""
        config, model = self.config, self.model
        self.small_before = count_small_parameters(model)
        ranks = "" if self.parallel is None else f" on each of {self.parallel.world.size} MPI ranks"
        if self.is_root:
            print(f"{config.command}: {type(model).__name__} with {model.num_parameters()} parameters on "
                  f"{self.train_set.name} ({len(self.train_data[1])} training images), {describe_optimizer(config)}, "
                  f"batch {config.batch_size}, {get_num_threads()} threads{ranks}"
                  + (f", resuming {config.resume}" if self.resumed else ""))
        with StopOnSignal() as stop_flag:
            self.trainer = Trainer(model, self.optimizer, config, self.train_data, self.validation, self.log,
                                   weights=self.train_weights, parallel=self.parallel,
                                   distort_strengths=self.distort_strengths, cases=self.train_cases,
                                   pair=self.pair)
            if self.resumed is not None:
                resume_position(self.trainer, self.resumed, config.resume)
                if self.trainer.plan_done() and self.is_root:
                    print(self.past_the_plan_note(), file=sys.stderr)
            elif config.ema_decay and self.is_root:
                note = too_long_a_memory(config.ema_decay, self.trainer.schedule.total_batches())
                if note:
                    print(note, file=sys.stderr)
            try:
                reason = self.trainer.run(self.save_state, stop_flag)
            except Diverged as diverged:
                self.print_stopped_summary("diverged", diverged_at_batch=diverged.batch, non_finite=diverged.what)
                raise TrainingDiverged(self.diverged_message(diverged)) from None
            except NonFiniteOutputs as error:  # a validation's outputs overflowed while the loss still did not
                self.print_stopped_summary("diverged", diverged_at_batch=self.trainer.batch_counter,
                                           non_finite="outputs")
                raise TrainingDiverged(self.outputs_message(error)) from None
        if reason in StopOnSignal.SIGNALS and self.is_root:
            print(f"hdl-native {config.command}: stopped by {reason} after batch {self.trainer.batch_counter}; state "
                  f"saved to {self.out} ({self.how_to_continue()})", file=sys.stderr)
            self.print_stopped_summary(reason, state=str(self.out))
        return reason

    def print_stopped_summary(self, stopped_by, **details):
        """With --json (on rank 0): the JSON line of a run stopped before its test, on stdout, so that a program
        reading it gets a last line it can parse however the run ended; the exit code stays the stop's own."""
        if self.config.json_summary and self.is_root:
            print(json_line(stopped_summary(self.trainer, self.train_set.name, stopped_by, **details)), flush=True)

    def past_the_plan_note(self):
        """The note for a resumed state that has already trained what this run's --epochs or --max-batches plan:
        there is nothing to train, so the state is tested as it is and its file is left unchanged."""
        config, trainer = self.config, self.trainer
        planned = config.epochs * trainer.batches_per_epoch
        limit = (f"--max-batches {config.max_batches}" if config.max_batches is not None and
                 config.max_batches < planned else f"--epochs {config.epochs} ({planned} batches)")
        return (f"note: {config.resume} is already at batch {trainer.batch_counter}, past {limit}: nothing to train; "
                f"testing it as it is and leaving {self.out} unchanged (raise {limit.split()[0]} to train on)")

    def how_to_continue(self):
        """What to run to go on after a signal stopped training: this run's command line resuming its state."""
        words = continue_command(self.config)
        return f"continue with: {shlex.join(words) if words else f'hdl-native {self.config.command} {self.out}'}"

    def report(self):
        """Test the trained model on the whole test split, print the results; returns the JSON summary."""
        config, model = self.config, self.model
        with self.trainer.weights_to_use():  # with --ema-decay the weights' moving average is tested and exported
            try:
                summary = self.test()
            except NonFiniteOutputs as error:  # finite weights after the last step, so large the test overflows
                self.print_stopped_summary("diverged", diverged_at_batch=self.trainer.batch_counter,
                                           non_finite="test outputs")
                raise TrainingDiverged(self.outputs_message(error)) from None
            summary["wall_seconds"] = time.perf_counter() - self.wall_started
            summary["state"] = str(self.out)
            if self.parallel is not None:
                summary["mpi_ranks"] = self.parallel.world.size  # images_per_s counts the images of all of them
            if self.log is not None:
                summary["db"] = str(config.db)
            if config.export:  # a network trained with batch normalisation is exported folded (models.LettersVGGBN)
                exported = {key: value for key, value in self.trainer.state().items() if key != WEIGHT_AVERAGE}
                save_checkpoint(config.export, model.folded() if hasattr(model, "folded") else model, None,
                                **{**self.saved_entries(), **exported, "test_report": summary})
                print(f"wrote the model to {config.export}")
        if self.is_root and self.saved_batch == self.trainer.batch_counter:  # the state this run saved last
            self.save_state(self.trainer, test_report=summary)
        if config.json_summary:
            print(json_line(summary))
        return summary

    def test(self):
        """Evaluate on the test split and print the confusion matrix, a sample and the closing lines."""
        config, trainer, test_set = self.config, self.trainer, self.test_set
        evaluator = trainer.evaluator or Evaluator(self.model)
        test_started = time.perf_counter()
        result = evaluator.evaluate(test_set.images, test_set.labels)
        test_seconds = time.perf_counter() - test_started
        if self.log is not None:
            self.log.log_confusion(trainer.batch_counter, result.confusion)
        print(format_confusion(result.confusion, test_set.classes))
        print_sample(test_set, result)
        summary = test_summary(trainer, test_set, result, test_seconds, self.small_before)
        if self.log is not None:
            add_log_overhead(summary, trainer)
        if config.augment or config.augment_validation:
            mutated = evaluator.evaluate(augment(test_set.images, np.random.default_rng([config.seed, 4])),
                                         test_set.labels)
            summary["augmented_test_accuracy"] = mutated.accuracy
            print(f"accuracy on augmented (shifted/flipped) test images: {mutated.accuracy:.2f}%")
        print_results(summary, test_set, self.model)
        if config.plot:
            write_plots(config.plot, config.command, test_set, result)
        return summary

    def save_state(self, trainer, test_report=None):
        """Write the state file: parameters, optimiser state, training position and the run's settings, and once
        the run has been tested (report(), on rank 0 alone) its test_report, which the periodic saves of a run
        resuming the state drop again, as a report of weights it has changed.

        Raises Diverged instead when a parameter or optimiser buffer is not finite, so the file keeps its
        last finite state.
        """
        if self.parallel is not None and test_report is None:  # every rank is here at the same batch (agree)
            self.parallel.average_buffers(self.model)
        check_state(self.model, self.optimizer, trainer.batch_counter)
        if not self.is_root:
            return
        report = {"test_report": test_report} if test_report is not None else {}
        save_checkpoint(self.out, self.model, self.optimizer, **self.saved_entries(), **trainer.state(), **report)
        self.saved_batch = trainer.batch_counter

    def diverged_message(self, diverged):
        """One line: what became non-finite at which batch, the likely cause, and what the state file holds."""
        config = self.config
        if self.saved_batch is not None:
            kept = f"{self.out} keeps the state after batch {self.saved_batch}"
        elif self.resumed is not None and resumes(config, self.out):
            kept = f"{self.out} keeps the resumed state of batch {self.resumed.get('batch_counter', 0)}"
        elif self.out.exists():
            kept = f"{self.out} was left as it was"
        else:
            kept = "no state was saved"
        return f"{diverged} ({likely_cause(config.optimizer, config.weight_decay, config.l2)}); stopped, {kept}"

    def outputs_message(self, error):
        """One line for outputs that overflowed after batch N: what, the likely cause, what the state file holds."""
        config = self.config
        kept = (f"{self.out} keeps the state after batch {self.saved_batch}, unusable as it is"
                if self.saved_batch is not None else "no state was saved")
        return (f"after batch {self.trainer.batch_counter}, {error.detail} "
                f"({likely_cause(config.optimizer, config.weight_decay, config.l2)}); stopped, {kept}")

    def saved_entries(self):
        """What a state file records about the run besides the model, optimiser and position."""
        entries = {"classes": list(self.train_set.classes), "dataset": self.train_set.name,
                   "data_credits": data_credits(self.train_set.name),
                   "normalization": {"mean": MNIST_MEAN, "std": MNIST_STD}, "command": self.config.command,
                   "settings": self.config.as_dict(), **self.carried}
        if self.optimizer.masks:  # a pruned model's fine-tune: resuming it keeps the pruned weights at zero
            entries[PRUNE_MASKS] = masks_for_state({name: mask != 0 for name, mask in self.optimizer.masks.items()})
        return entries


def describe_optimizer(config):
    """The optimiser settings for the opening line, e.g. 'adam lr 0.001, weight decay 0.1'."""
    parts = [f"{config.optimizer.kind} lr {config.optimizer.lr:g}"]
    if config.weight_decay:
        parts.append(f"weight decay {config.weight_decay:g}")
    if config.l2:
        parts.append(f"l2 {config.l2:g}")
    if config.label_smoothing:
        parts.append(f"label smoothing {config.label_smoothing:g}")
    if config.mixup:
        parts.append(f"mixup {config.mixup:g}")
    return ", ".join(parts)
