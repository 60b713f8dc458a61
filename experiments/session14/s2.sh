#!/usr/bin/env bash
# Session 14 stage s2 (resumable): hoa2 continued from the shipped weights on the
# 32-capsule sphere-array scenes (order 4, read at order 2) mixed with ideal order-2 scenes with
# point noise, 2 epochs from 1e-4 (its last stage's rate). One thread.
set -euo pipefail
"$(dirname "$0")/../stage.sh" runs/s2-hoa2 data/sphere-o4,data/ideal-pn-o2 --feature hoa --order 2 --init-from hoa2 --epochs 2 --lr 1e-4 --seed 360
