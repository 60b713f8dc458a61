#!/usr/bin/env bash
# Session 16 stage m8-intensity (resumable): m6-intensity (the best judged stage) continued for
# ONE epoch from 1e-4 on data10.sh's and data11.sh's 80 000 fresh first-order scenes plus the
# 8 000 ideal ones of the earlier stages: every scene seen once, about the cost of a 2-epoch stage
# on 48 000. One thread.
set -euo pipefail
sets=data/tetra6-o1,data/tetra-pn5-o1,data/ideal5-o1,data/tetra7-o1,data/tetra-pn6-o1,data/ideal6-o1,data/ideal-o1
"$(dirname "$0")/../stage.sh" runs/m8-intensity "$sets" --feature intensity --init-from runs/m6-intensity/best.json --epochs 1 --lr 1e-4 --seed 375
