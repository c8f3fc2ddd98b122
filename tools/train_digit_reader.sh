#!/usr/bin/env bash
# Rebuild the shipped digit reader (hdl_native/pretrained/digits.hdl) from the shared data: one seeded run.
#
#   HDL_DATA=../shared/data bash tools/train_digit_reader.sh [OUT_DIR]     # about 15 minutes on 2 cores
#
# It needs MNIST and the four letter sets (letters, unipen, nistvowels, chars74k); DATASET=digits trains the reader
# shipped before the forty-fifth session, which never saw a letter.
#
# `ocr` leaves out of the text what the letter reader calls 'other' (a digit or a mark), then asks this network
# which of those are digits and prints them.  What it does (figures: BENCHMARKS.md, "Digits in the text"):
#  1. trains MODEL on every MNIST training digit framed like the letters and, as the class 'other', 7,000 drawn
#     punctuation marks (hdl_native/data/framed_digits.py) and 14,000 letters the shipped letter reader trained on,
#     half of them turned (hdl_native/data/not_digits.py, drawn half as often as a digits image: weight 0.5), every
#     class of the digits set equally often, distorted as the letter reader's training letters are (--distort 0.75),
#     Adam with a cosine decay over EPOCHS epochs, holding out HOLDOUT training images;
#  2. fits the temperatures on those held-out images (`hdl-native calibrate`), never on the test split;
#  3. writes OUT_DIR/digits.hdl (the model alone); copy it to hdl_native/pretrained/ to ship it.
# The test split (MNIST's 10,000 test digits, 1,400 other marks, 2,800 letters of the letter sets' test splits) is
# only reported on.
set -euo pipefail
OUT_DIR=${1:-digit-reader-build}
MODEL=${MODEL:-letters-vgg}
DATASET=${DATASET:-digits,notdigits:0.5}
EPOCHS=${EPOCHS:-5}
HOLDOUT=${HOLDOUT:-5000}
SEED=${SEED:-0}
THREADS=${THREADS:-2}
mkdir -p "$OUT_DIR"
hdl-native letters --model "$MODEL" --dataset "$DATASET" --balance-classes --holdout "$HOLDOUT" \
    --adam --lr-schedule cosine --epochs "$EPOCHS" --distort 0.75 --seed "$SEED" --threads "$THREADS" \
    --validate-every 2000 --no-db --quiet --force \
    --out "$OUT_DIR/training-state.hdl" --export "$OUT_DIR/uncalibrated.hdl" --json | tail -n 1 > "$OUT_DIR/train.json"
hdl-native calibrate "$OUT_DIR/uncalibrated.hdl" --out "$OUT_DIR/digits.hdl" --threads "$THREADS" --force --json \
    | tail -n 1 > "$OUT_DIR/calibrate.json"
hdl-native evaluate "$OUT_DIR/digits.hdl" --threads "$THREADS" --json | tail -n 1 > "$OUT_DIR/evaluate.json"
echo "wrote $OUT_DIR/digits.hdl ($(stat -c %s "$OUT_DIR/digits.hdl") bytes); figures in $OUT_DIR/*.json"
