#!/usr/bin/env bash
# Rebuild the shipped digit reader (hdl_native/pretrained/digits.hdl) from the shared data: one seeded run.
#
#   HDL_DATA=../shared/data bash tools/train_digit_reader.sh [OUT_DIR]     # about 6 minutes on 2 cores (BENCHMARKS.md)
#
# DATASET=digits,notdigits:0.5 also shows it 14,000 letters as 'other' (hdl_native/data/not_digits.py; it needs the
# four letter sets): tried in the forty-fifth session and not shipped (BENCHMARKS.md: a page of printed digits
# was then read on its side).
#
# `ocr` leaves out of the text what the letter reader calls 'other' (a digit or a mark), then asks this network
# which of those are digits and prints them.  What it does (figures: BENCHMARKS.md, "Digits in the text"):
#  1. trains MODEL on every MNIST training digit framed like the letters and 7,000 drawn punctuation marks as the
#     class 'other' (hdl_native/data/framed_digits.py), every class equally often, distorted as the letter reader's
#     training letters are (--distort 0.75), Adam with a cosine decay over EPOCHS epochs, holding out HOLDOUT
#     training images;
#  2. fits the temperatures on those held-out images (`hdl-native calibrate`), never on the test split;
#  3. writes OUT_DIR/digits.hdl (the model alone); copy it to hdl_native/pretrained/ to ship it.
# The test split (MNIST's 10,000 test digits and 1,400 other marks) is only reported on.
set -euo pipefail
OUT_DIR=${1:-digit-reader-build}
MODEL=${MODEL:-letters-vgg}
DATASET=${DATASET:-digits}
EPOCHS=${EPOCHS:-5}
HOLDOUT=${HOLDOUT:-5000}
HOLDOUT_WRITER_SHARE=${HOLDOUT_WRITER_SHARE:-1}  # --holdout-writer-share: 1 (writers as drawn), as shipped
SEED=${SEED:-0}
THREADS=${THREADS:-2}
mkdir -p "$OUT_DIR"
hdl-native letters --model "$MODEL" --dataset "$DATASET" --balance-classes --holdout "$HOLDOUT" \
    --holdout-writer-share "$HOLDOUT_WRITER_SHARE" \
    --adam --lr-schedule cosine --epochs "$EPOCHS" --distort 0.75 --seed "$SEED" --threads "$THREADS" \
    --validate-every 2000 --no-db --quiet --force \
    --out "$OUT_DIR/training-state.hdl" --export "$OUT_DIR/uncalibrated.hdl" --json | tail -n 1 > "$OUT_DIR/train.json"
hdl-native calibrate "$OUT_DIR/uncalibrated.hdl" --out "$OUT_DIR/digits.hdl" --threads "$THREADS" --force --json \
    | tail -n 1 > "$OUT_DIR/calibrate.json"
hdl-native evaluate "$OUT_DIR/digits.hdl" --threads "$THREADS" --json | tail -n 1 > "$OUT_DIR/evaluate.json"
echo "wrote $OUT_DIR/digits.hdl ($(stat -c %s "$OUT_DIR/digits.hdl") bytes); figures in $OUT_DIR/*.json"
