"""`hdl-native textgen train`: a character model trained by truncated BPTT on one corpus, resumable exactly.

The vocabulary comes from the whole corpus; the last 10% is held out and only watched (validation loss in
nats and bits per character).  Each batch row reads its own contiguous stream of the training part and
carries its recurrent state from one chunk to the next; every epoch starts the streams at a random offset
below seq_len (so chunk boundaries move) with zero state.  Gradients are clipped to a global norm, Adam
steps.  The state file holds the parameters, Adam's state, the vocabulary, the stream position (epoch,
chunk, offset), the carried state and the offset generator's state, so a resumed run continues exactly
as the uninterrupted run would (with dropout, the masks of a resumed run are drawn afresh).  A cosine
learning-rate schedule spans the run it is given to: its --steps, or its --minutes of training time.
"""
import math
import shlex
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..checkpoint import build_model, load_checkpoint, load_optimizer_state, remove_stale_temp_files, save_checkpoint
from ..distributed import get_world
from ..errors import HDLError
from ..json_output import json_line
from ..models import TEXT_MODELS
from ..optim import Adam, clip_grad_norm
from ..threads import set_num_threads
from ..training.divergence import Diverged, TrainingDiverged, check_gradients, check_loss, check_state
from ..training.interrupt import StopOnSignal
from ..training.outputs import check_outputs, check_writable, continue_command, same_file
from ..training.sqlite_log import Progress
from ..training.start import note_changed_settings, open_log
from .corpus import Streams, Vocabulary, check_streams_fit, corpus_digest, read_corpus, split_holdout
from .graph import CharGraph, zero_state
from .parallel import StreamShard

INTERRUPTED_EXIT_CODE = 130
# a final held-out loss this many times the run's lowest says the model is learning its corpus by heart (the
# blog posts' GRU: 1.686 at step 300, 3.404 at 2,160; BENCHMARKS.md): said at the end, with where the lowest was
OVERFIT_RISE = 1.05


@dataclass(frozen=True)
class TextgenConfig:
    """Everything one `textgen train` run needs; max_steps counts from the model's first step."""

    corpus: str
    cell: str = "gru"
    layers: int = 3
    hidden: int = 256
    seq_len: int = 100
    batch_size: int = 64
    lr: float = 2e-3
    lr_schedule: str = "constant"      # or "cosine": from lr down to 0 over this run's --minutes or --steps
    dropout: float = 0.0               # of each recurrent layer's outputs while training
    clip: float = 5.0                  # global gradient norm
    seed: int = 0                      # initialisation and the epochs' stream offsets
    max_seconds: float = None          # training time of this run (validation and saving not counted)
    max_steps: int = None
    validate_every: int = 100          # steps
    checkpoint_every: float = 60.0     # seconds of wall time
    threads: int = None
    resume: str = None
    out: str = "textgen.hdl"
    force: bool = False
    db: str = None
    export: str = None                 # (no bare export for text states; check_outputs reads it)
    best: str = None                   # --best: also keep the state of the lowest held-out loss here
    progress: bool = True
    json_summary: bool = False
    command_line: tuple = ()           # the words after `textgen train`, to say how to continue the run

    @property
    def architecture(self):
        return f"char-{self.cell}"

    @property
    def command(self):  # the SQLite log's name of the program (training.start.open_log)
        return "textgen"

    def as_dict(self):
        """The settings for the state file and the SQLite log (not command_line: the words as typed, only for the
        hint a stopped run prints; the settings say what they set)."""
        settings = asdict(self)
        del settings["command_line"]
        return settings


@dataclass
class StreamPosition:
    """Where training is: steps done, epoch, next chunk, this epoch's start offset, the carried state."""

    step: int
    epoch: int
    chunk: int
    offset: int
    carried: list


# The settings a resumed run takes from its command line, not from its state (which gives the network's shape, and
# --dropout unless it is given), as letters does; a resume whose options differ from its state's says so.
RESUMED_FROM_THE_COMMAND_LINE = {"lr": "--lr", "lr_schedule": "--lr-schedule", "dropout": "--dropout",
                                 "clip": "--clip", "max_steps": "--steps", "minutes": "--minutes", "best": "--best"}
# --minutes is each run's own, so only whether there is a limit counts (dropped, the run trains until Ctrl-C)
SAME_LIMIT = {"minutes": lambda minutes, _: minutes is not None}


def with_minutes(settings):
    """`settings` (TextgenConfig.as_dict()) with "minutes" as --minutes gave it (the state records max_seconds)."""
    if "max_seconds" not in settings:
        return settings
    seconds = settings["max_seconds"]
    return {**settings, "minutes": seconds / 60 if seconds else None}


def dropout_arg(config):
    """The model_args entry of config's dropout: {"dropout": p}, or none at all without dropout (so the
    states of runs without it read as before)."""
    return {"dropout": config.dropout} if config.dropout else {}


def nats_to_bits(loss):
    return loss / math.log(2.0)


class TextTrainer:
    """One run: start(config) builds or resumes it, run() trains and returns the exit code.

    Started by MPI with more than one process, each trains its block of the streams (textgen.parallel);
    rank 0 alone prints, logs and saves.
    """

    def __init__(self, config, text, vocabulary, model, optimizer, position, rng, train_seconds=0.0):
        world = get_world()
        self.shard = StreamShard(world, config.batch_size) if world.size > 1 else None
        self.is_root = world.is_root
        if not self.is_root:
            config = replace(config, progress=False, db=None, json_summary=False)
        world.broadcast_parameters(model)
        self.config, self.vocabulary, self.model, self.optimizer = config, vocabulary, model, optimizer
        self.position, self.rng, self.train_seconds_before = position, rng, train_seconds
        self.first_step = position.step  # where this run's cosine schedule starts
        self.digest, self.n_chars = corpus_digest(text), len(text)
        self.train_codes, self.held_out = split_holdout(vocabulary.encode(text))
        check_streams_fit(len(self.train_codes), len(self.held_out), config.batch_size, config.seq_len,
                          config.corpus)
        self.streams = Streams(self.train_codes, config.batch_size, config.seq_len, position.offset)
        self.validation = Streams(self.held_out, config.batch_size, config.seq_len)
        self.graph = CharGraph(model, config.batch_size if self.shard is None else self.shard.n_rows, config.seq_len)
        self.last_validation = None
        self.best_validation = None  # (loss, step) of this run's lowest held-out loss
        self.best_to_beat = None     # --best: the held-out loss of the state that file holds (None: none yet)
        self.wrote_best = False      # --best: whether this run wrote that file (it then holds best_validation's)
        self.stopped_by_signal = False

    # ------------------------------------------------------------- one step
    def next_chunk(self):
        """The next chunk's (inputs, targets) and the state to start it from; a new epoch when one is done."""
        position, config = self.position, self.config
        if position.chunk >= self.streams.n_chunks:
            position.epoch += 1
            position.chunk = 0
            position.offset = int(self.rng.integers(config.seq_len))
            position.carried = zero_state(self.model, config.batch_size)
            self.streams = Streams(self.train_codes, config.batch_size, config.seq_len, position.offset)
        return self.streams.chunk(position.chunk)

    def scheduled_lr(self, stepping):
        """The learning rate of the next step: config.lr, or under "cosine" lr * (1 + cos(pi * done)) / 2 with
        `done` the share of this run's budget spent (its steps, else its training seconds `stepping`)."""
        config = self.config
        if config.lr_schedule == "constant":
            return config.lr
        if config.max_steps is not None:
            done = (self.position.step - self.first_step) / max(config.max_steps - self.first_step, 1)
        else:
            done = stepping / config.max_seconds
            if self.shard is not None:
                done = self.shard.root_decides(done)  # rank 0's clock, so every rank steps alike
        return config.lr * 0.5 * (1.0 + math.cos(math.pi * min(max(done, 0.0), 1.0)))

    def train_step(self):
        """Forward, backward, clip, Adam on the next chunk; returns (loss, accuracy)."""
        inputs, targets = self.next_chunk()
        graph, position, shard = self.graph, self.position, self.shard
        if shard is None:
            graph.feed(inputs, position.carried, targets)
        else:
            graph.feed(shard.part(inputs), shard.state_part(position.carried), shard.part(targets))
        self.optimizer.zero_grad()
        graph.loss.backward()
        loss, batch = graph.loss.item(), position.step + 1
        accuracy, carried = graph.accuracy(), graph.final_state()
        if shard is not None:
            loss, accuracy = shard.combine(self.optimizer, loss, accuracy)
            carried = shard.with_rows(position.carried, carried)
        check_loss(loss, batch)
        check_gradients(self.optimizer, batch)
        position.carried = carried
        clip_grad_norm(self.model, self.config.clip)
        self.optimizer.step()
        position.step, position.chunk = batch, position.chunk + 1
        return loss, accuracy

    def validate(self):
        """(mean loss in nats, accuracy) over every chunk of the held-out streams, from zero state."""
        shard = self.shard
        self.model.eval()  # no dropout
        state, losses, accuracies = zero_state(self.model, self.graph.batch_size), [], []
        for k in range(self.validation.n_chunks):
            inputs, targets = self.validation.chunk(k)
            if shard is not None:
                inputs, targets = shard.part(inputs), shard.part(targets)
            loss, accuracy, state = self.graph.evaluate(inputs, targets, state)
            losses.append(loss)
            accuracies.append(accuracy)
        self.model.train()
        loss, accuracy = float(np.mean(losses)), float(np.mean(accuracies))
        self.last_validation = (loss, accuracy) if shard is None else (shard.mean(loss), shard.mean(accuracy))
        if self.best_validation is None or self.last_validation[0] < self.best_validation[0]:
            self.best_validation = (self.last_validation[0], self.position.step)
        return self.last_validation

    # ------------------------------------------------------------- saving
    def save(self, train_seconds, path=None):
        """Write the whole state (resumable exactly) to `path`, by default --out."""
        check_state(self.model, self.optimizer, self.position.step)
        config, position = self.config, self.position
        carried = position.carried if self.shard is None else self.shard.whole_state(position.carried)
        if not self.is_root:
            return
        save_checkpoint(
            path or config.out, self.model, self.optimizer,
            model_args={"vocab": len(self.vocabulary), "hidden": config.hidden, "layers": config.layers,
                        **dropout_arg(config)},
            classes=self.vocabulary.characters, carried=carried, stream_rng=self.rng.bit_generator.state,
            textgen={"step": position.step, "epoch": position.epoch, "chunk": position.chunk,
                     "offset": position.offset, "seq_len": config.seq_len, "batch_size": config.batch_size,
                     "corpus_digest": self.digest, "corpus_chars": self.n_chars, "train_seconds": train_seconds,
                     "val_loss": self.last_validation[0] if self.last_validation else None},
            settings=config.as_dict())

    # ------------------------------------------------------------- the loop
    def run(self):
        """Train until --steps, --minutes or a signal; returns the exit code (0, or 130 after a signal)."""
        if self.shard is None:
            return self.train()
        with self.shard.world.stop_all_on_error("hdl-native textgen train"):
            return self.train()

    def train(self):
        config, position = self.config, self.position
        chars_per_step = config.batch_size * config.seq_len
        log = open_log(config)
        bar = tqdm(total=config.max_steps, initial=position.step, unit="batch", disable=not config.progress,
                   dynamic_ncols=True, file=sys.stderr)
        stepping, steps_run, last_save, stop = 0.0, 0, time.monotonic(), StopOnSignal()
        nothing_to_train = self.finished(0.0)
        if nothing_to_train and self.is_root:
            print(f"note: {config.resume} is already at step {position.step}, past --steps {config.max_steps}: "
                  f"nothing to train; validating it as it is and leaving {config.out} unchanged "
                  "(raise --steps to train on)", file=sys.stderr)
        try:
            with stop:
                while not self.stopping(stepping, stop):
                    self.optimizer.lr = self.scheduled_lr(stepping)
                    started = time.perf_counter()
                    loss, accuracy = self.train_step()
                    stepping += time.perf_counter() - started
                    steps_run += 1
                    bar.update(1)
                    bar.set_postfix(loss=f"{loss:.3f}", chars_per_s=f"{steps_run * chars_per_step / stepping:,.0f}")
                    if log:
                        log.log_training(Progress(position.step, position.epoch, 100 * accuracy, loss,
                                                  chars_per_step, self.optimizer.lr, self.optimizer.beta1))
                    if position.step % config.validate_every == 0:
                        self.report_validation(log, bar)
                        self.keep_if_best(self.train_seconds_before + stepping)
                    if self.checkpoint_due(last_save):
                        self.save(self.train_seconds_before + stepping)
                        last_save = time.monotonic()
                        if log:
                            log.flush()
            bar.close()
            if self.last_validation is None or position.step % config.validate_every:
                self.report_validation(log, None)
                if not nothing_to_train:
                    self.keep_if_best(self.train_seconds_before + stepping)
            if not nothing_to_train:  # else the state file already holds just this state
                self.save(self.train_seconds_before + stepping)
        except Diverged as diverged:
            if config.json_summary and self.is_root:  # a program reading --json gets a last line, as from letters
                print(json_line({"command": "textgen train", "stopped_by": "diverged",
                                 "diverged_at_step": diverged.batch, "non_finite": diverged.what,
                                 "steps": position.step, "train_seconds": stepping, "state": str(config.out)}),
                      flush=True)
            raise TrainingDiverged(f"training diverged: {diverged} (learning rate {config.lr:g} is probably too "
                                   f"large); {config.out} keeps its last finite state") from None
        finally:
            bar.close()
            if log:
                log.close()
        if self.is_root:
            self.summarize(stepping, steps_run * chars_per_step)
        if self.stopped_by_signal:
            if self.is_root:
                print(f"hdl-native textgen train: stopped by {stop.requested or 'a signal to another rank'} after step "
                      f"{position.step}; state saved to {config.out} ({self.how_to_continue()})", file=sys.stderr)
            return INTERRUPTED_EXIT_CODE
        return 0

    def how_to_continue(self):
        """What to run to go on after a signal: this run's command line resuming the state it saved (a resumed
        run takes its training options from the command line, so they are repeated), as letters says it."""
        config = self.config
        words = continue_command(config, program=("textgen", "train"))
        return "continue with: " + shlex.join(words or ["hdl-native", "textgen", "train", str(config.out),
                                                        "--corpus", str(config.corpus)])

    def finished(self, stepping):
        config = self.config
        return ((config.max_steps is not None and self.position.step >= config.max_steps)
                or (config.max_seconds is not None and stepping >= config.max_seconds))

    def stopping(self, stepping, stop):
        """Whether to stop before the next step: finished, or a signal arrived (rank 0's time, any rank's signal)."""
        if self.shard is None:
            self.stopped_by_signal = bool(stop)
            return self.finished(stepping) or self.stopped_by_signal
        finished, self.stopped_by_signal = self.shard.stop_together(self.finished(stepping), stop)
        return finished or self.stopped_by_signal

    def checkpoint_due(self, last_save):
        due = time.monotonic() - last_save >= self.config.checkpoint_every
        return due if self.shard is None else self.shard.root_decides(due)

    def report_validation(self, log, bar):
        loss, accuracy = self.validate()
        if log:
            log.log_validation(Progress(self.position.step, self.position.epoch, 100 * accuracy, loss,
                                        self.validation.n_chunks * self.config.batch_size * self.config.seq_len,
                                        self.optimizer.lr, self.optimizer.beta1))
        if self.config.progress:
            (bar.write if bar is not None else print)(
                f"validation after step {self.position.step} (epoch {self.position.epoch}): "
                f"{loss:.4f} nats/char, {nats_to_bits(loss):.4f} bits/char, {100 * accuracy:.1f}% next-char accuracy",
                file=sys.stderr)

    def keep_if_best(self, train_seconds):
        """--best: write the state to that file when the last held-out loss is below the one it holds."""
        loss = self.last_validation[0]
        if self.config.best and (self.best_to_beat is None or loss < self.best_to_beat):
            self.save(train_seconds, self.config.best)
            self.best_to_beat, self.wrote_best = loss, True

    def summarize(self, stepping, chars):
        val_loss, val_accuracy = self.last_validation
        summary = {"val_loss": val_loss, "val_bpc": nats_to_bits(val_loss), "val_accuracy": 100 * val_accuracy,
                   "chars_per_s": chars / stepping if chars and stepping > 0 else None, "train_seconds": stepping,
                   "total_train_seconds": self.train_seconds_before + stepping, "steps": self.position.step,
                   "epoch": self.position.epoch, "vocab": len(self.vocabulary), "state": str(self.config.out)}
        if self.shard is not None:
            summary["mpi_ranks"] = self.shard.world.size  # chars_per_s counts the characters of all of them
        best_loss, best_step = self.best_validation
        summary.update(best_val_loss=best_loss, best_val_step=best_step)
        if self.config.best:
            summary["best_state"] = str(self.config.best) if self.wrote_best else None
        if val_loss > OVERFIT_RISE * best_loss:
            print(f"note: the held-out loss was lowest after step {best_step} ({best_loss:.4f} nats/char) and is "
                  f"{val_loss:.4f} now: the model is learning the corpus by heart; fewer --steps (or --minutes), "
                  f"--dropout or a larger corpus would serve better; {self.best_note()}", file=sys.stderr)
        elif self.config.best and not self.wrote_best:
            print(f"note: {self.best_note()}", file=sys.stderr)
        if self.config.json_summary:
            print(json_line(summary))
        else:
            speed = summary["chars_per_s"]
            print(f"validation loss {val_loss:.4f} nats/char ({nats_to_bits(val_loss):.4f} bits/char) after "
                  f"{self.position.step} steps; " + (f"{speed:,.0f} chars/s" if speed else "no steps in this run")
                  + f"; state: {self.config.out}")

    def best_note(self):
        """Where the state of the lowest held-out loss is, for the notes at the end."""
        if not self.config.best:
            return "--best FILE keeps the state of the lowest held-out loss as training goes"
        if self.wrote_best:
            loss, step = self.best_validation
            return f"{self.config.best} holds the state of step {step} ({loss:.4f})"
        return (f"{self.config.best} keeps the earlier state it held ({self.best_to_beat:.4f} nats/char), "
                "lower than any of this run's")


def start(config):
    """A TextTrainer for `config`: fresh from the corpus, or continuing config.resume exactly."""
    for option, path in (("--out", config.out), ("--best", config.best), ("--db", config.db)):
        if path and same_file(path, config.corpus):  # --force replaces a state file, never the text it learns
            raise HDLError(f"{option} {path} is the corpus: it would be replaced; write to another file")
    check_outputs(config)
    if config.best:
        check_best_output(config)
    if config.threads:
        set_num_threads(config.threads)
    text = read_corpus(config.corpus)
    trainer = resume(config, text) if config.resume else fresh(config, text)
    if config.best and config.resume and not config.force and Path(config.best).exists():
        trainer.best_to_beat = best_loss_held(config.best, trainer.digest)
    return trainer


def check_best_output(config):
    """HDLError unless --best can be written: not the state file or the log, writable, and new unless --force
    or the run continues a state (a resumed run replaces the file's state only with a lower held-out loss)."""
    best = Path(config.best)
    for what, path in (("the state file", config.out), ("the SQLite log", config.db)):
        if path and same_file(best, path):
            raise HDLError(f"--best {best} is {what}; give the best state a file of its own")
    check_writable(best, "--best file")
    if best.exists() and not config.force and not config.resume:
        raise HDLError(f"--best {best} already exists and this run does not continue a state; pass --force to "
                       "replace it, or choose another name")
    for stale in remove_stale_temp_files(best):
        print(f"note: removed {stale}, left by an interrupted save", file=sys.stderr)


def best_loss_held(path, digest):
    """The held-out loss of the textgen state at `path` (trained on the corpus of `digest`), which a resumed
    run must beat to replace it; HDLError when it is no such state."""
    try:
        progress = load_checkpoint(path)["textgen"]
        loss = float(progress["val_loss"])
    except HDLError as error:
        raise HDLError(f"--best {path}: {error}") from None
    except (KeyError, TypeError, ValueError):
        raise HDLError(f"--best {path} is not a textgen state with a held-out loss; pass --force to replace it, "
                       "or choose another name") from None
    if progress.get("corpus_digest") != digest:
        raise HDLError(f"--best {path} was trained on another corpus; choose another name")
    return loss


def fresh(config, text):
    """A TextTrainer that starts `config` from new weights."""
    vocabulary = Vocabulary.of_text(text)
    model = TEXT_MODELS[config.architecture](vocab=len(vocabulary), hidden=config.hidden, layers=config.layers,
                                             seed=config.seed, dropout=config.dropout)
    rng = np.random.default_rng(config.seed + 1)
    position = StreamPosition(step=0, epoch=0, chunk=0, offset=int(rng.integers(config.seq_len)),
                              carried=zero_state(model, config.batch_size))
    return TextTrainer(config, text, vocabulary, model, Adam(model, lr=config.lr), position, rng)


def resume(config, text):
    """The TextTrainer that continues config.resume on `text`: HDLError when the state is not a textgen
    training state, or was trained on another corpus or with another architecture."""
    path = config.resume
    checkpoint = load_checkpoint(path)
    if isinstance(checkpoint.get("model_args"), dict):  # this run's dropout, which may differ from the state's
        kept = {key: value for key, value in checkpoint["model_args"].items() if key != "dropout"}
        checkpoint["model_args"] = {**kept, **dropout_arg(config)}
    model = build_model(checkpoint, path, TEXT_MODELS).train()
    try:
        progress, carried = checkpoint["textgen"], checkpoint["carried"]
        position = StreamPosition(step=int(progress["step"]), epoch=int(progress["epoch"]),
                                  chunk=int(progress["chunk"]), offset=int(progress["offset"]),
                                  carried=[np.asarray(array, np.float32) for array in carried])
        rng = np.random.default_rng()
        rng.bit_generator.state = checkpoint["stream_rng"]
        digest, seq_len, batch_size = progress["corpus_digest"], progress["seq_len"], progress["batch_size"]
        train_seconds = float(progress["train_seconds"])
    except (KeyError, TypeError, ValueError, OverflowError):
        raise HDLError(f"{path} is not a resumable textgen training state (its stream position is missing "
                       "or malformed)") from None
    if digest != corpus_digest(text):
        raise HDLError(f"{path} was trained on another corpus than {config.corpus}; resume it with the same file")
    if (checkpoint["architecture"], model.hidden_size, model.num_layers, seq_len, batch_size) != (
            config.architecture, config.hidden, config.layers, config.seq_len, config.batch_size):
        raise HDLError(f"{path} is a {checkpoint['architecture']} {model.num_layers}x{model.hidden_size} trained "
                       f"at batch {batch_size} x {seq_len}; resume it with the same --model, --layers, --hidden, "
                       "--batch-size and --seq-len")
    expected = [array.shape for array in zero_state(model, batch_size)]
    if [array.shape for array in position.carried] != expected:
        raise HDLError(f"{path}: its carried state has shapes {[a.shape for a in position.carried]}, "
                       f"expected {expected}")
    if get_world().is_root:  # a --lr-schedule, --steps or --best not repeated is otherwise dropped without a word
        note_changed_settings(checkpoint, config, path, RESUMED_FROM_THE_COMMAND_LINE, SAME_LIMIT, with_minutes)
    optimizer = Adam(model, lr=config.lr)
    load_optimizer_state(optimizer, checkpoint["optimizer"], path)
    optimizer.lr = config.lr
    return TextTrainer(config, text, Vocabulary(checkpoint["classes"]), model, optimizer, position, rng,
                       train_seconds)
