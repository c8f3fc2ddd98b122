#!/usr/bin/env bash
# Issue 13's figures for one letter reader: every test split (27-way and best-letter), the calibration error,
# pages built from the four test splits with digits and marks mixed in, test1.jpg, the README demo page,
# and the whole-process time of a 12-megapixel photo.
#
#   HDL_DATA=../shared/data bash benchmarks/reader_figures.sh [STATE] [OUT_DIR]   # STATE: default the shipped one
#
# Nothing here fits or chooses anything: it only reads and reports.
set -euo pipefail
cd "$(dirname "$0")/.."
STATE=${1:-hdl_native/pretrained/letters.hdl}
OUT=${2:-/tmp/reader_figures}
mkdir -p "$OUT"
H="python -m hdl_native"
echo "== $STATE ($(stat -c %s "$STATE") bytes); machine: $(lscpu | grep 'Model name' | sed 's/ \+/ /g'); load: $(cut -d' ' -f1-3 /proc/loadavg)"
for dataset in letters unipen nistvowels chars74k nonletters; do
    echo "== evaluate --dataset $dataset"
    $H evaluate "$STATE" --dataset "$dataset" --threads 2 | sed -n '1,4p;/left aside/p'
    echo "== evaluate --dataset $dataset --shifts 9 (each image read as ocr reads a crop)"
    $H evaluate "$STATE" --dataset "$dataset" --threads 2 --shifts 9 | sed -n '1,4p;/left aside/p'
done
echo "== pages from the four test splits with digits and marks (benchmarks/ocr_nonletters.py)"
python benchmarks/ocr_nonletters.py --model "$STATE" --threads 2
echo "== test1.jpg"
$H ocr "$HDL_DATA/realworld/test1.jpg" --model "$STATE" --out "$OUT/test1-boxed.png"
echo "== the README demo page (docs/ocr_demo.py)"
python docs/ocr_demo.py --model "$STATE" --out "$OUT/demo-boxed.png" 2>&1 | tail -n 4
echo "== a 12-megapixel photo, whole process"
python -c "from PIL import Image; Image.open('$HDL_DATA/realworld/test1.jpg').resize((4000, 3000)).save('$OUT/big12.jpg', quality=92)"
for i in 1 2 3; do
    /usr/bin/time -f "wall %e s, maxrss %M KB" $H ocr "$OUT/big12.jpg" --model "$STATE" --out "$OUT/big12-boxed.png" \
        2>&1 | tail -n 1
done
