#!/usr/bin/env bash
# Issue 17's throughput figures, all in one run: LettersCNN training at global batch 64 on
#   2 MPI ranks x 1 thread, 1 process x 1 thread, 1 process x 2 threads, and PyTorch DDP (gloo) 2 x 1.
# 1. engine step rates (benchmarks/mpi_step_rate.py: pre-made random batches, so no data loading), the
#    configurations interleaved ROUNDS times so that other load hits them alike;
# 2. `hdl-native letters` end to end on the real letters set (--max-batches BATCHES; images_per_s of
#    its --json summary counts the images of all ranks), when $HDL_DATA has it;
# 3. with FULL_EPOCHS=E, whole `letters` runs of E epochs in 1 process and on 2 ranks: their test
#    accuracies (issue 17: within 0.3 points in float32).
# Usage: bash benchmarks/mpi_figures.sh > mpi_figures.log   (STEPS=200 BATCHES=300 ROUNDS=3 by default)
# Needs the mpi extra (pip install ".[mpi]") and, for the DDP line, torch.
set -u
cd "$(dirname "$0")/.."
export HDL_DATA="${HDL_DATA:-../shared/data}"
STEPS="${STEPS:-200}" BATCHES="${BATCHES:-300}" ROUNDS="${ROUNDS:-3}"
PYTHON="${PYTHON:-python}"
MPIEXEC="$(dirname "$("$PYTHON" -c 'import sys; print(sys.executable)')")/mpiexec"
[ -x "$MPIEXEC" ] || MPIEXEC="$(command -v mpiexec)" || { echo "no mpiexec: pip install '.[mpi]'" >&2; exit 2; }
MPI=("$MPIEXEC" -n 2)
"$MPIEXEC" --version 2>/dev/null | grep -q "Open MPI" && MPI=("$MPIEXEC" --allow-run-as-root --oversubscribe -n 2)
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
load() { echo "== load: $(uptime)"; }
rate() { "$@" 2>/dev/null | grep '^{'; }

load
for round in $(seq "$ROUNDS"); do
    echo "== step rates, round $round (steps $STEPS, load $(cut -d' ' -f1 /proc/loadavg))"
    rate "$PYTHON" benchmarks/mpi_step_rate.py hdl --threads 1 --steps "$STEPS"
    rate "$PYTHON" benchmarks/mpi_step_rate.py hdl --threads 2 --steps "$STEPS"
    rate "${MPI[@]}" "$PYTHON" benchmarks/mpi_step_rate.py hdl --threads 1 --steps "$STEPS"
    rate "$PYTHON" benchmarks/mpi_step_rate.py torch-ddp --ranks 2 --threads 1 --steps "$STEPS" \
        || echo "(PyTorch DDP skipped: torch is not installed)"
done
load

if [ -e "$HDL_DATA/letters" ]; then
    LETTERS=(-m hdl_native letters --adam --quiet --json --no-db --validate-every 1000000 --max-batches "$BATCHES"
             --out "$OUT/letters.hdl" --force)
    summary() { "$@" 2>/dev/null | tail -1 | "$PYTHON" -c 'import json, sys; s = json.load(sys.stdin)
print("images_per_s %.0f, batches %d, test accuracy %.2f%%" % (s["images_per_s"], s["batches"], s["test_accuracy"]))'; }
    for round in $(seq "$ROUNDS"); do
        echo "== hdl-native letters, $BATCHES batches of 64, round $round (load $(cut -d' ' -f1 /proc/loadavg))"
        echo -n "1 process x 1 thread:  "; summary "$PYTHON" "${LETTERS[@]}" --threads 1
        echo -n "1 process x 2 threads: "; summary "$PYTHON" "${LETTERS[@]}" --threads 2
        echo -n "2 MPI ranks x 1 thread: "; summary "${MPI[@]}" "$PYTHON" "${LETTERS[@]}" --threads 1
    done
    load
    if [ -n "${FULL_EPOCHS:-}" ]; then
        FULL=(-m hdl_native letters --adam --quiet --json --no-db --epochs "$FULL_EPOCHS" --out "$OUT/full.hdl" --force)
        echo "== hdl-native letters, $FULL_EPOCHS epochs"
        echo -n "1 process x 1 thread:  "; summary "$PYTHON" "${FULL[@]}" --threads 1
        echo -n "2 MPI ranks x 1 thread: "; summary "${MPI[@]}" "$PYTHON" "${FULL[@]}" --threads 1
        load
    fi
else
    echo "== hdl-native letters skipped: no letters set under $HDL_DATA"
fi
