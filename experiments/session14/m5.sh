#!/usr/bin/env bash
# Session 14 stage m5 (resumable): hoa1 continued from m4 (stage 15) on the
# same three first-order sets, warm restart at 7e-5. One thread.
set -euo pipefail
cd "${CAMPAIGN:-.}"
A=audiolrp
D=data; R=runs
TRAIN="$D/tetra-o1,$D/ideal-o1,$D/tetra-pn-o1"
COMMON="--label-sigma-deg 8 --augment --schedule cosine --warmup-steps 50 --select-by val_error \
  --crop-frames 25 --batch-size 32 --threads 1 --checkpoint-every 100 --no-progress --patience 100"
out=$R/m5-hoa1
if [ -f "$out/model.json" ]; then echo "$out done"; exit 0; fi
extra=""
if ls "$out"/checkpoints/*.json >/dev/null 2>&1; then extra="--resume"; fi
$A train "$TRAIN" "$out" --feature hoa --order 1 --init-from $R/m4-hoa1/best.json --epochs 2 --lr 7e-5 --seed 380 $extra $COMMON
echo m5 done
