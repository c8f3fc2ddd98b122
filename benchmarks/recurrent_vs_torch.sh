#!/usr/bin/env bash
# Issue 14's speed figures: the character models' training step (forward, backward, Adam; batch 64, sequence
# 100), ours against PyTorch's nn.GRU / nn.LSTM, alternating in one run, ROUNDS rounds (default 2).
# Prints one line per run: model, threads, who, chars/s.
# Usage: bash benchmarks/recurrent_vs_torch.sh [ROUNDS]
set -e
cd "$(dirname "$0")/.."
ROUNDS="${1:-2}"
python -c "import torch" 2>/dev/null || { echo "PyTorch is not installed: pip install torch==2.13.0"; exit 2; }
field() { python -c "import json,sys; print(round(json.loads(sys.stdin.read().strip().splitlines()[-1])['chars_per_s']))"; }
echo "$(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq "$ROUNDS"); do
  for model in char-gru char-lstm; do
    for threads in 1 2; do
      ours=$(python -m hdl_native bench --model $model --threads $threads --steps 8 --json | field)
      theirs=$(python benchmarks/torch_bench.py --model $model --threads $threads --steps 8 --json | field)
      echo "round $round $model threads $threads ours $ours torch $theirs ratio $(python -c "print(f'{$ours/$theirs:.2f}')")"
    done
  done
done
echo "$(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)"
