#!/usr/bin/env bash
# Session 15 stage m5-intensity (resumable): m4-intensity continued for 2 epochs from 1e-4 on
# data8.sh's 40 000 fresh first-order scenes plus the 8 000 ideal ones of the earlier stages.
# One thread.
set -euo pipefail
sets=data/tetra4-o1,data/tetra-pn3-o1,data/ideal3-o1,data/ideal-o1
"$(dirname "$0")/../stage.sh" runs/m5-intensity "$sets" --feature intensity --init-from runs/m4-intensity/best.json --epochs 2 --lr 1e-4 --seed 372
