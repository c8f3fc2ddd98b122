#!/usr/bin/env bash
# Issue 5's weight-decay figures: what --l2 0.02 costs on the real letters test split,
# against the same training without it.  Each line is one run's JSON summary (test_accuracy,
# params_squared_below_1e-4 before/after).  SGD (the letters default, lr 0.01, momentum 0.9).
# Usage: bash benchmarks/weight_decay_figures.sh [SEED ...] > wd.log   (about 12 min a seed on 1 core)
set -e
cd "$(dirname "$0")/.."
export HDL_DATA="${HDL_DATA:-../shared/data}"
OUT="${OUT:-/tmp/hdl_wd}"; mkdir -p "$OUT"
L="python -m hdl_native letters --quiet --no-db --json --threads ${THREADS:-1}"
seeds=("$@"); [ ${#seeds[@]} -gt 0 ] || seeds=(0 1)
for seed in "${seeds[@]}"; do
  echo "== seed $seed: from scratch, 0.02 at full strength from the first batch (30 epochs)"
  $L --seed $seed --l2 0.02 --out "$OUT/scratch02_s$seed.hdl" | tail -1
  echo "== seed $seed: base, 30 epochs without decay"
  $L --seed $seed --out "$OUT/base_s$seed.hdl" | tail -1
  echo "== seed $seed: base + 60 epochs cosine, with 0.02"
  $L --seed $seed --init "$OUT/base_s$seed.hdl" --l2 0.02 --epochs 60 --lr-schedule cosine --out "$OUT/ft02_s$seed.hdl" | tail -1
  echo "== seed $seed: base + 60 epochs cosine, without"
  $L --seed $seed --init "$OUT/base_s$seed.hdl" --epochs 60 --lr-schedule cosine --out "$OUT/ft0_s$seed.hdl" | tail -1
  echo "== seed $seed: 90 epochs cosine, 0.02 ramped in over 30 epochs"
  $L --seed $seed --l2 0.02 --l2-warmup 30 --epochs 90 --lr-schedule cosine --out "$OUT/w02_s$seed.hdl" | tail -1
  echo "== seed $seed: 90 epochs cosine, without"
  $L --seed $seed --epochs 90 --lr-schedule cosine --out "$OUT/w0_s$seed.hdl" | tail -1
done
