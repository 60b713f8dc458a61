#!/usr/bin/env bash
# Session 14 stage s2 (resumable): hoa2 continued from the shipped weights on the
# 32-capsule sphere-array scenes (order 4, read at order 2) mixed with ideal order-2 scenes with point noise,
# 2 epochs from 1e-4 (its last stage's rate). One thread.
set -euo pipefail
cd "${CAMPAIGN:-.}"
A=audiolrp
D=data; R=runs
TRAIN="$D/sphere-o4,$D/ideal-pn-o2"
COMMON="--label-sigma-deg 8 --augment --schedule cosine --warmup-steps 50 --select-by val_error \
  --crop-frames 25 --batch-size 32 --threads 1 --checkpoint-every 100 --no-progress --patience 100"
run() {  # OUT, then train options; resumes a started run
  local out=$1; shift
  if [ -f "$out/model.json" ]; then echo "$out done"; return; fi
  if ls "$out"/checkpoints/*.json >/dev/null 2>&1; then set -- "$@" --resume; fi
  $A train "$TRAIN" "$out" "$@" $COMMON
}
run $R/s2-hoa2 --feature hoa --order 2 --init-from hoa2 --epochs 2 --lr 1e-4 --seed 360 &
wait
echo s2 done
