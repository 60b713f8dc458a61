#!/usr/bin/env bash
# Session 10 fine-tuning: first-order models on tetrahedral-array + ideal scenes (resumable).
set -euo pipefail
A=audiolrp
D=${DATA:-data}; R=${RUNS:-runs}
TRAIN="$D/tetra-o1,$D/ideal-o1"
COMMON="--label-sigma-deg 8 --augment --schedule cosine --warmup-steps 50 --select-by val_error \
  --crop-frames 25 --batch-size 32 --threads 1 --checkpoint-every 100 --no-progress --patience 100"
run() {  # OUT, then train options; resumes a started run
  local out=$1; shift
  if ls "$out"/checkpoints/*.json >/dev/null 2>&1; then set -- "$@" --resume; fi
  $A train "$TRAIN" "$out" "$@" $COMMON
}
run $R/m1-hoa1 --feature hoa --order 1 --init-from hoa1 --epochs 2 --lr 1e-4 --seed 310 &
run $R/m1-intensity --feature intensity --init-from intensity --epochs 2 --lr 5e-5 --seed 311 &
wait
echo train done
