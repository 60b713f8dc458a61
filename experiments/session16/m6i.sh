#!/usr/bin/env bash
# Session 16 stage m6-intensity (resumable): the shipped stage 11 (m5-intensity) continued for
# 2 epochs from 1e-4 on data9.sh's 40 000 fresh first-order scenes plus the 8 000 ideal ones of
# the earlier stages. One thread. Shipped as stage 12.
set -euo pipefail
"$(dirname "$0")/stage_i.sh" runs/m6-intensity runs/m5-intensity \
  data/tetra5-o1,data/tetra-pn4-o1,data/ideal4-o1,data/ideal-o1 373
