#!/usr/bin/env bash
# Rebuild the shipped letter reader (hdl_native/pretrained/letters.hdl) from the shared data: one seeded run.
#
#   HDL_DATA=../shared/data bash tools/train_reader.sh [OUT_DIR]     # 13 to 27 minutes on 2 cores (README.md)
#   (24 minutes on a 2-core Zen 4 with PAIRS and 32 epochs, as the shipped reader was trained)
#
# What it does (figures: BENCHMARKS.md, "The recipe and the shipped model" and the sessions after it):
#  1. trains MODEL on the four real letter sets and the non-letters (MNIST digits and drawn marks, the class
#     'other'), letters/ drawn 4 times as often as its size gives (it is the one set of scanned ink), every class
#     of each set equally often, distorted (rotation, shear, scale, elastic, stroke width, blur, ink gamma), a
#     TOUCHING share of them cut out of a pair with a touching neighbour as `ocr` cuts letters written touching
#     (hdl_native/data/touching.py) and, before those cuts, a PAIRS share made two letters touching and left whole,
#     the class 'pair' (`letters --pairs`; `ocr` reads it as 'other'), Adam with a cosine decay over EPOCHS epochs,
#     holding out HOLDOUT training images by whole writers; the model it exports is the moving average of the
#     weights over about the last 1,000 steps (EMA 0.999);
#  2. fits the temperatures on those held-out writers (`hdl-native calibrate`: one for a single read, one each for
#     the 5 and 9 shifted copies `ocr` can average), never on a test split, measures on 512 of them the
#     activation ranges `ocr --dtype int8` quantises on, and stores OTHER_OFFSET, the log-weight every reader then
#     puts on the class 'other' (0.5: the largest of 0.25, 0.5, 0.75 that kept the held-out writers' single
#     letters at least as well read as the recipe before it did; BENCHMARKS.md);
#  3. writes OUT_DIR/letters.hdl (the model alone, no optimiser state); copy it to hdl_native/pretrained/ to ship it.
# Test splits are only reported on, at the end of each step.
set -euo pipefail
OUT_DIR=${1:-reader-build}
MODEL=${MODEL:-letters-vgg}
EPOCHS=${EPOCHS:-32}  # 32 as shipped: 28 until the sixty-first session, when the 4 more fit in the 30 minutes
HOLDOUT=${HOLDOUT:-6000}
TOUCHING=${TOUCHING:-0.25}
PAIRS=${PAIRS-0.05}  # --pairs: this share two letters touching, left whole, a class of their own; empty: off
ALPHA=${ALPHA:-}  # Adam's step size; empty: the trainer's default (0.001)
DECAY=${DECAY:-}  # decoupled weight decay (--weight-decay); empty: none, as the shipped reader was trained
SMOOTHING=${SMOOTHING:-}  # label smoothing (--label-smoothing); empty: none, likewise
MIXUP=${MIXUP:-}  # mixup's alpha (--mixup); empty: none, likewise
EMA=${EMA-0.999}  # keep the weights' moving average at this decay and ship it (--ema-decay); empty: the last weights
DISTORT=${DISTORT:-0.75}  # the distortions' strength (--distort): 0.75 as the shipped reader was trained
DISTORT_OTHER=${DISTORT_OTHER:-}  # the same for the class 'other' (--distort-other); empty: DISTORT's
DISTORT_LOOK=${DISTORT_LOOK:-}  # strokes, blur and ink alone (--distort-look), every class; empty: DISTORT's
SEED=${SEED:-0}  # the run's seed (initial weights, order, distortions): 0 as the shipped reader was trained
HOLDOUT_SEED=${HOLDOUT_SEED:-0}  # which writers are held out: 0, the shipped reader's, whatever SEED is
HOLDOUT_WRITER_SHARE=${HOLDOUT_WRITER_SHARE:-0.05}  # --holdout-writer-share: 0.05 as shipped (1: the reader before)
OTHER_OFFSET=${OTHER_OFFSET-0.5}  # p(other) x e^OTHER_OFFSET when reading (--other-offset): 0.5 as shipped; empty: none
THREADS=${THREADS:-2}
MIXTURE=letters:4,unipen,nistvowels,chars74k,nonletters
mkdir -p "$OUT_DIR"
hdl-native letters --model "$MODEL" --dataset "$MIXTURE" --balance-classes --holdout "$HOLDOUT" \
    --adam ${ALPHA:+--alpha "$ALPHA"} ${DECAY:+--weight-decay "$DECAY"} --lr-schedule cosine --epochs "$EPOCHS" \
    ${SMOOTHING:+--label-smoothing "$SMOOTHING"} ${MIXUP:+--mixup "$MIXUP"} ${EMA:+--ema-decay "$EMA"} \
    --distort "$DISTORT" ${DISTORT_OTHER:+--distort-other "$DISTORT_OTHER"} \
    ${DISTORT_LOOK:+--distort-look "$DISTORT_LOOK"} --touching "$TOUCHING" ${PAIRS:+--pairs "$PAIRS"} \
    --seed "$SEED" --holdout-seed "$HOLDOUT_SEED" --holdout-writer-share "$HOLDOUT_WRITER_SHARE" \
    --threads "$THREADS" \
    --validate-every 2000 --no-db --quiet --force \
    --out "$OUT_DIR/training-state.hdl" --export "$OUT_DIR/uncalibrated.hdl" --json | tail -n 1 > "$OUT_DIR/train.json"
hdl-native calibrate "$OUT_DIR/uncalibrated.hdl" --out "$OUT_DIR/letters.hdl" \
    ${OTHER_OFFSET:+--other-offset="$OTHER_OFFSET"} --threads "$THREADS" --force --json \
    | tail -n 1 > "$OUT_DIR/calibrate.json"
hdl-native evaluate "$OUT_DIR/letters.hdl" --threads "$THREADS" --json | tail -n 1 > "$OUT_DIR/evaluate.json"
echo "wrote $OUT_DIR/letters.hdl ($(stat -c %s "$OUT_DIR/letters.hdl") bytes); figures in $OUT_DIR/*.json"
