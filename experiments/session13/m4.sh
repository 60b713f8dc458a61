#!/usr/bin/env bash
# Session 13 stage m4 (resumable): hoa1 continued from m3 (stage 14) on the
# same three first-order sets, warm restart at 1e-4. One thread.
set -euo pipefail
"$(dirname "$0")/../stage.sh" runs/m4-hoa1 data/tetra-o1,data/ideal-o1,data/tetra-pn-o1 --feature hoa --order 1 --init-from runs/m3-hoa1/best.json --epochs 2 --lr 1e-4 --seed 350
