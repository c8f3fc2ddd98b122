#!/usr/bin/env bash
# Issue 5: does --l2 0.02 cost less on some other training recipe than on the default one?
# Each pair trains 90 cosine epochs on the real letters set, 0.02 ramped in over the first 30, against
# the same run without; then `hdl-native evaluate` prints the per-layer weight table of both
# (sum of squares, squares below 1e-4, effective rank).  The last pair decays only the tutorial's own
# set of weights (see weight_decay_tutorial_set.py).  About 4 min a run on 1 core.
# Usage: bash benchmarks/weight_decay_recipes.sh [SEED ...] > wd_recipes.log   (default seeds 0 and 1)
set -e
cd "$(dirname "$0")/.."
export HDL_DATA="${HDL_DATA:-../shared/data}"
OUT="${OUT:-/tmp/hdl_wd_recipes}"; mkdir -p "$OUT"
COMMON="--quiet --no-db --json --threads ${THREADS:-1} --epochs 90 --lr-schedule cosine"
WD="--l2 0.02 --l2-warmup 30"
pair() {  # name, seed, recipe options
  local name=$1 seed=$2; shift 2
  for decay in wd0 wd02; do
    local extra=""; [ $decay = wd02 ] && extra="$WD"
    echo "== seed $seed, $name, $decay: $* $extra"
    python -m hdl_native letters $COMMON --seed "$seed" "$@" $extra --out "$OUT/${name}_${decay}_s$seed.hdl" | tail -1
    python -m hdl_native evaluate "$OUT/${name}_${decay}_s$seed.hdl" | tail -7
  done
}
seeds=("$@"); [ ${#seeds[@]} -gt 0 ] || seeds=(0 1)
for seed in "${seeds[@]}"; do
  pair sgd_lr0.03 "$seed" --lr 0.03
  pair adam "$seed" --adam
  pair sgd_augmented "$seed" --mut-on-learn
  echo "== seed $seed, tutorial's set (c1, c2, c3, fc1 three times; fc2, fc3 not decayed), wd02"
  python benchmarks/weight_decay_tutorial_set.py letters $COMMON --seed "$seed" $WD --out "$OUT/tutorial_set_wd02_s$seed.hdl" | tail -1
  python -m hdl_native evaluate "$OUT/tutorial_set_wd02_s$seed.hdl" | tail -7
done
