#!/usr/bin/env bash
# Issue 15's figures: decoupled weight decay (--weight-decay) and magnitude pruning on the real letters set.
# Runs one after another (about 1 h on 2 busy cores); each run's output goes to $OUT/NAME.log, whose last
# line is its JSON summary.  Adam (lr 0.001, batch 64) unless a line uses the SGD default (lr 0.01, momentum 0.9).
#   1. base: 30 epochs without decay (seed 0); the model the pruning and the decay-on-a-trained-model runs start from
#   2. pruning: accuracy against sparsity without fine-tune (plot --prune-curve), and 5-epoch fine-tunes
#   3. the factor for --help: 20 epochs from scratch, validated on 500 held-out training images (never the test split)
#   4. from scratch with the chosen factor against without (seeds 0 to 3), and decay applied to the trained base
#   5. a long mild decay: 200 epochs of SGD from the base with 0, 0.05, 0.1 (and from a base without 500 held-out images)
# Usage: bash benchmarks/decay_prune_figures.sh [FACTOR]   (FACTOR: the from-scratch factor to compare; default 0.3)
set -e
cd "$(dirname "$0")/.."
export HDL_DATA="${HDL_DATA:-../shared/data}"
OUT="${OUT:-/tmp/hdl_decay}"; mkdir -p "$OUT"
H="python -m hdl_native"
L="$H letters --adam --threads ${THREADS:-2} --quiet --json --no-db --force"
FACTOR="${1:-0.3}"
run() { name=$1; shift; $L "$@" --out "$OUT/$name.hdl" > "$OUT/$name.log" 2>&1; echo "$name: $(tail -1 "$OUT/$name.log")"; }

run base-s0 --epochs 30 --seed 0
$H plot --prune-curve "$OUT/base-s0.hdl" --out "$OUT/plots" > "$OUT/prune-curve.log"; cat "$OUT/prune-curve.log"
for spec in "0.7" "0.7 --per-layer" "0.8" "0.9"; do
  $H prune "$OUT/base-s0.hdl" --sparsity $spec --finetune-epochs 5 --threads "${THREADS:-2}" --quiet --json --force \
    --out "$OUT/pruned.hdl" | tail -1
done
for f in 0 0.3 1; do run "sel-$f" --holdout 500 --validate-every 52 --epochs 20 --seed 0 --weight-decay $f; done
grep -H "validation after batch 1040" "$OUT"/sel-*.log
for seed in 0 1 2 3; do
  run "scratch-0-s$seed" --epochs 20 --seed $seed
  run "scratch-$FACTOR-s$seed" --epochs 20 --seed $seed --weight-decay "$FACTOR"
done
run ft-2-s0 --init "$OUT/base-s0.hdl" --epochs 20 --seed 0 --weight-decay 2
run ft-0-s0 --init "$OUT/base-s0.hdl" --epochs 20 --seed 0
run ftcos-5-s0 --init "$OUT/base-s0.hdl" --epochs 20 --lr-schedule cosine --seed 0 --weight-decay 5
run ftcos-0-s0 --init "$OUT/base-s0.hdl" --epochs 20 --lr-schedule cosine --seed 0
# the same with SGD momentum (the letters default: lr 0.01, momentum 0.9) instead of Adam
$H letters --threads "${THREADS:-2}" --quiet --json --no-db --force --init "$OUT/base-s0.hdl" --epochs 20 \
  --lr-schedule cosine --seed 0 --weight-decay 0.5 --out "$OUT/ftsgd-0.5-s0.hdl" | tail -1
# a long mild decay (sixth session): 200 epochs of SGD from the base, without decay and with 0.05 and 0.1 ...
S="$H letters --threads ${THREADS:-2} --quiet --json --no-db --force"
for f in 0 0.05 0.1; do
  $S --init "$OUT/base-s0.hdl" --epochs 200 --seed 0 --weight-decay $f --out "$OUT/ftsgd200-$f.hdl" | tail -1
done
# ... and the same from a base that never saw 500 held-out training images, validated on them every 50 epochs
$L --holdout 500 --epochs 30 --seed 0 --out "$OUT/hbase-s0.hdl" | tail -1
for f in 0 0.05 0.1 0.2; do
  $S --holdout 500 --validate-every 2600 --init "$OUT/hbase-s0.hdl" --epochs 200 --seed 0 --weight-decay $f \
    --out "$OUT/hft-$f.hdl" 2>&1 | grep -E "validation after batch|params_squared"
done
