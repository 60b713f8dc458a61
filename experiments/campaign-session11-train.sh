#!/usr/bin/env bash
# Session 11 stage m2 (resumable): first-order models continued from the shipped weights on
# tetrahedral-array + ideal + tetrahedral-array-with-point-noise scenes (the session-10 data and
# campaign-session11-data.sh), a warm restart of the cosine schedule at a higher peak rate than
# m1's (m1's second epoch was flat at its low rate). One thread per model.
set -euo pipefail
A=audiolrp
D=${DATA:-data}; R=${RUNS:-runs}
TRAIN="$D/tetra-o1,$D/ideal-o1,$D/tetra-pn-o1"
COMMON="--label-sigma-deg 8 --augment --schedule cosine --warmup-steps 50 --select-by val_error \
  --crop-frames 25 --batch-size 32 --threads 1 --checkpoint-every 100 --no-progress --patience 100"
run() {  # OUT, then train options; resumes a started run
  local out=$1; shift
  if [ -f "$out/model.json" ]; then echo "$out done"; return; fi
  if ls "$out"/checkpoints/*.json >/dev/null 2>&1; then set -- "$@" --resume; fi
  $A train "$TRAIN" "$out" "$@" $COMMON
}
run $R/m2-intensity --feature intensity --init-from intensity --epochs 2 --lr 1e-4 --seed 321 &
run $R/m2-hoa1 --feature hoa --order 1 --init-from hoa1 --epochs 2 --lr 1.5e-4 --seed 320 &
wait
echo train done
