#!/usr/bin/env bash
# Issue 15 on unipen (fifty-second session): the two decay targets measured on the EMNIST-style renders of UNIPEN
# (69,224 training letters, 18,229 test letters of 61 writers never trained on) instead of `letters` (3,820 / 984).
# Nothing is chosen here: the factors are the ones --help recommends and the protocol is the letters one scaled by
# steps (BENCHMARKS.md, "Decay on unipen").  Each run's output goes to $OUT/NAME.log (last line: its JSON summary).
#   1. from scratch, 10 epochs, seeds 0-7: SGD and Adam, each without decay and with --help's factor (0.01, 0.03)
#   2. on a trained model: each Adam base of step 1 (seeds $BASES), SGD decay 0.08 for 11 epochs (~12,000 steps,
#      as letters' 200 epochs) then 1 epoch at lr 0.001 without decay; and the same two steps without decay
# JOBS runs that many at once (each at THREADS kernel threads); about 80 minutes of 2 cores in all.
#   OUT=/tmp/decay_unipen JOBS=2 THREADS=1 bash benchmarks/decay_unipen_figures.sh [1|2|table]
set -e
cd "$(dirname "$0")/.."
export HDL_DATA="${HDL_DATA:-../shared/data}"
OUT="${OUT:-/tmp/decay_unipen}"; mkdir -p "$OUT"
BASES="${BASES:-0 1 2 3 4 5 6 7}"
L="python -m hdl_native letters --dataset unipen --threads ${THREADS:-2} --quiet --json --no-db --force"
L="$L --validate-every 1000000"  # no validation: nothing is chosen, and the test split is read once at the end
parallel() { xargs -P "${JOBS:-1}" -I{} bash -c {}; }
# line NAME OPTIONS...: the command of one run, its output to $OUT/NAME.log
line() { name=$1; shift; echo "[ -s $OUT/$name.log ] || $L $* --out $OUT/$name.hdl > $OUT/$name.log 2>&1"; }

step1() {
  for seed in 0 1 2 3 4 5 6 7; do
    line "sgd-0-s$seed" --model letters-cnn --epochs 10 --seed "$seed"
    line "sgd-0.01-s$seed" --model letters-cnn --epochs 10 --seed "$seed" --weight-decay 0.01
    line "adam-0-s$seed" --model letters-cnn --epochs 10 --seed "$seed" --adam
    line "adam-0.03-s$seed" --model letters-cnn --epochs 10 --seed "$seed" --adam --weight-decay 0.03
  done | parallel
}

step2() {
  for seed in $BASES; do  # the decay and the run without it in parallel, then both polishes
    { line "decay-s$seed" --init "$OUT/adam-0-s$seed.hdl" --epochs 11 --seed "$seed" --weight-decay 0.08
      line "plain-s$seed" --init "$OUT/adam-0-s$seed.hdl" --epochs 11 --seed "$seed"; } | parallel
    { line "decay-polish-s$seed" --init "$OUT/decay-s$seed.hdl" --epochs 1 --seed "$seed" --lr 0.001
      line "plain-polish-s$seed" --init "$OUT/plain-s$seed.hdl" --epochs 1 --seed "$seed" --lr 0.001; } | parallel
  done
}

table() {  # every finished run: name, test accuracy, test loss, parameters with square < 1e-4
  for log in "$OUT"/*.log; do
    tail -1 "$log" | python -c "import json,sys; d=json.load(sys.stdin); p=d['params_squared_below_1e-4']
print('$(basename "$log" .log)', round(d['test_accuracy'], 2), round(d['test_loss'], 3), p['after'])" \
      2>/dev/null || true
  done
}

case "${1:-all}" in
  1) step1 ;; 2) step2 ;; table) table ;;
  all) step1; step2; table ;;
  *) echo "usage: $0 [1|2|table|all]" >&2; exit 2 ;;
esac
