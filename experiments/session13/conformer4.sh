#!/usr/bin/env bash
# Session 13: conformer stage 4 (run from the campaign folder), 10 more epochs from stage 3 (same data).
cd data
audiolrp train ideal-pn-o2 ../runs/conformer4 --arch conformer --order 2 \
  --init-from ../runs/conformer3/model.json --epochs 10 --lr 1.5e-4 --warmup-steps 20 --schedule cosine \
  --label-sigma-deg 8 --augment --crop-frames 25 --batch-size 32 --select-by val_error --threads 1 \
  --checkpoint-every 50 --seed 123 --patience 100 --no-progress
echo conformer4 done
