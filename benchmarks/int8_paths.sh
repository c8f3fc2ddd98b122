#!/usr/bin/env bash
# int8 inference latency of checkouts and GEMM paths, interleaved, as tab-separated lines
# (round, model, threads, batch, checkout:path, median ms of a batch), then the medians over rounds:
#   bash benchmarks/int8_paths.sh ROUNDS [CHECKOUT:PATH ...]
# Default: this checkout on avx512vnni and on amx.  To time an older commit beside it, build it in a
# worktree (git worktree add /tmp/before SHA; cd /tmp/before; python setup.py build_ext --inplace) and
# name it: bash benchmarks/int8_paths.sh 3 /tmp/before:avx512vnni $PWD:avx512vnni $PWD:amx
set -euo pipefail
rounds=${1:-3}; shift || true
configs=("$@"); [ ${#configs[@]} -gt 0 ] || configs=("$PWD:avx512vnni" "$PWD:amx")
python=${PYTHON:-python}
out=$(mktemp)
for round in $(seq 1 "$rounds"); do
  for model in letters-cnn letters-vgg; do for threads in 1 2; do for batch in 64 1; do
    steps=$([ "$batch" = 1 ] && echo 500 || echo 60)
    for config in "${configs[@]}"; do
      (cd "${config%:*}" && HDL_NATIVE_INT8_PATH=${config##*:} "$python" -m hdl_native bench --inference \
        --model $model --dtype int8 --threads $threads --batch-size $batch --steps $steps --json | tail -1 |
        "$python" -c "import json, sys; d = json.load(sys.stdin); print('\t'.join(map(str, ['$round', '$model', \
'$threads', '$batch', '$config', round(d['latency_ms'], 4)])))")
    done
  done; done; done
done | tee "$out"
"$python" - "$out" <<'PY'
import collections, statistics, sys
times = collections.defaultdict(list)
for line in open(sys.argv[1]):
    _, model, threads, batch, config, ms = line.rstrip("\n").split("\t")
    times[(model, threads, batch)].append((config, float(ms)))
for key, runs in times.items():
    configs = dict.fromkeys(config for config, _ in runs)
    print(*key, *(f"{c} {statistics.median(ms for k, ms in runs if k == c):.3f}" for c in configs), sep="  ")
PY
