#!/usr/bin/env bash
# Session 16 intensity stage (resumable): stage_i.sh OUT INIT SETS SEED continues INIT (a run
# folder: the best judged intensity run so far) for 2 epochs from 1e-4 on SETS (40 000 fresh
# first-order scenes plus the 8 000 ideal ones of the earlier stages). One thread.
#   m7 (not shipped): stage_i.sh runs/m7-intensity runs/m6-intensity data/tetra6-o1,data/tetra-pn5-o1,data/ideal5-o1,data/ideal-o1 374
set -euo pipefail
"$(dirname "$0")/../stage.sh" "$1" "$3" --feature intensity --init-from "$2/best.json" --epochs 2 --lr 1e-4 --seed "$4"
