#!/usr/bin/env bash
# Session 14 stage m3 for intensity (resumable): continued from the shipped weights (stage 9) on the
# same three first-order sets, 2 epochs from 7e-5. One thread.
set -euo pipefail
cd "${CAMPAIGN:-.}"
A=audiolrp
D=data; R=runs
TRAIN="$D/tetra-o1,$D/ideal-o1,$D/tetra-pn-o1"
COMMON="--label-sigma-deg 8 --augment --schedule cosine --warmup-steps 50 --select-by val_error \
  --crop-frames 25 --batch-size 32 --threads 1 --checkpoint-every 100 --no-progress --patience 100"
out=$R/m3-intensity
if [ -f "$out/model.json" ]; then echo "$out done"; exit 0; fi
extra=""
if ls "$out"/checkpoints/*.json >/dev/null 2>&1; then extra="--resume"; fi
$A train "$TRAIN" "$out" --feature intensity --init-from intensity --epochs 2 --lr 7e-5 --seed 370 $COMMON $extra
echo m3i done
