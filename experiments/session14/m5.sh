#!/usr/bin/env bash
# Session 14 stage m5 (resumable): hoa1 continued from m4 (stage 15) on the
# same three first-order sets, warm restart at 7e-5. One thread.
set -euo pipefail
"$(dirname "$0")/../stage.sh" runs/m5-hoa1 data/tetra-o1,data/ideal-o1,data/tetra-pn-o1 --feature hoa --order 1 --init-from runs/m4-hoa1/best.json --epochs 2 --lr 7e-5 --seed 380
