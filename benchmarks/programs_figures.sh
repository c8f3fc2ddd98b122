#!/usr/bin/env bash
# The programs' figures (issues 4-6): accuracies, training times, OCR. Prints each
# program's JSON summary. Usage: bash benchmarks/programs_figures.sh > figures.log
mkdir -p "${OUT:-/tmp/hdl_figures}"
cd "$(dirname "$0")/.."
export HDL_DATA="${HDL_DATA:-../shared/data}"
H="python -m hdl_native"
j() { tail -1; }
echo "== load $(uptime)"
echo "== threeorseven";        $H threeorseven --json | j
echo "== learn37";             $H learn37 --plot ${OUT:-/tmp/hdl_figures} --json 2>/dev/null | j
echo "== learn37 validate-on test"; $H learn37 --plot ${OUT:-/tmp/hdl_figures} --validate-on test --json 2>/dev/null | j
echo "== digits sgd 1 epoch";  $H digits --quiet --out ${OUT:-/tmp/hdl_figures}/digits.hdl --epochs 1 --json | j
for i in 1 2 3; do echo "== digits mlp epoch, 2 threads, run $i ($(cut -d' ' -f1 /proc/loadavg))"; $H digits --quiet --out ${OUT:-/tmp/hdl_figures}/digits.hdl --threads 2 --epochs 1 --json | j; done
echo "== digits adam cosine 10"; $H digits --quiet --out ${OUT:-/tmp/hdl_figures}/digits.hdl --adam --lr-schedule cosine --epochs 10 --threads 2 --json | j
echo "== digits adam 10 (constant lr)"; $H digits --quiet --out ${OUT:-/tmp/hdl_figures}/digits.hdl --adam --epochs 10 --threads 2 --json | j
echo "== digits cnn 60s"; $H digits --quiet --out ${OUT:-/tmp/hdl_figures}/digits.hdl --model cnn --adam --lr 0.002 --lr-schedule cosine --max-minutes 1 --epochs 3 --threads 2 --out ${OUT:-/tmp/hdl_figures}/cnn.hdl --json | j
echo "== letters adam defaults"; $H letters --quiet --adam --threads 2 --out ${OUT:-/tmp/hdl_figures}/l1.hdl --db ${OUT:-/tmp/hdl_figures}/l1.sqlite3 --json | j
echo "== letters adam mut-on-learn cosine"; $H letters --quiet --adam --mut-on-learn --lr-schedule cosine --threads 2 --out ${OUT:-/tmp/hdl_figures}/l2.hdl --no-db --json | j
echo "== evaluate pretrained"; $H evaluate hdl_native/pretrained/letters.hdl --dataset letters --json | j
echo "== evaluate l2"; $H evaluate ${OUT:-/tmp/hdl_figures}/l2.hdl --dataset letters --json | j
echo "== ocr test1"; $H ocr $HDL_DATA/realworld/test1.jpg --out ${OUT:-/tmp/hdl_figures}/boxed.png --json | j
python -c "from PIL import Image; Image.open('$HDL_DATA/realworld/test1.jpg').resize((4000,3000)).save('${OUT:-/tmp/hdl_figures}/big12.jpg', quality=92)"
for i in 1 2 3; do echo "== ocr 12MP run $i"; /usr/bin/time -f "wall %e s, maxrss %M KB" $H ocr ${OUT:-/tmp/hdl_figures}/big12.jpg --out ${OUT:-/tmp/hdl_figures}/big_boxed.png --time 2>&1 | tail -12; done
echo "== ocr pages"; python -m pytest -q -s tests/test_ocr_pages.py 2>&1 | grep -iE "found|read|passed|failed" | head
echo "== load $(uptime)"
