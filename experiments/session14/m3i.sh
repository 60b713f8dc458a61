#!/usr/bin/env bash
# Session 14 stage m3 for intensity (resumable): continued from the shipped weights (stage 9) on the
# same three first-order sets, 2 epochs from 7e-5. One thread.
set -euo pipefail
"$(dirname "$0")/../stage.sh" runs/m3-intensity data/tetra-o1,data/ideal-o1,data/tetra-pn-o1 --feature intensity --init-from intensity --epochs 2 --lr 7e-5 --seed 370
