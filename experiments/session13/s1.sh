#!/usr/bin/env bash
# Session 13 stage s1 (resumable): hoa4 and hoa3 continued from the shipped weights on the
# 32-capsule sphere-array scenes (order 4) mixed with ideal order-4 scenes with point noise,
# 2 epochs from 7e-5 (their last shipped stages' rate). One thread each.
set -euo pipefail
cd "${CAMPAIGN:-.}"
A=audiolrp
D=data; R=runs
TRAIN="$D/sphere-o4,$D/ideal-pn-o4"
COMMON="--label-sigma-deg 8 --augment --schedule cosine --warmup-steps 50 --select-by val_error \
  --crop-frames 25 --batch-size 32 --threads 1 --checkpoint-every 100 --no-progress --patience 100"
run() {  # OUT, then train options; resumes a started run
  local out=$1; shift
  if [ -f "$out/model.json" ]; then echo "$out done"; return; fi
  if ls "$out"/checkpoints/*.json >/dev/null 2>&1; then set -- "$@" --resume; fi
  $A train "$TRAIN" "$out" "$@" $COMMON
}
run $R/s1-hoa4 --feature hoa --order 4 --init-from hoa4 --epochs 2 --lr 7e-5 --seed 340 &
run $R/s1-hoa3 --feature hoa --order 3 --init-from hoa3 --epochs 2 --lr 7e-5 --seed 341 &
wait
echo s1 done
