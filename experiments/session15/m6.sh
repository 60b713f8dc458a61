#!/usr/bin/env bash
# Session 15 stage m6-hoa1 (resumable): the shipped `hoa1` continued for 2 epochs from 1e-4 on
# 40 000 first-order scenes it never saw (data5.sh, data6.sh) plus the 8 000 ideal ones of the
# earlier stages. One thread.
set -euo pipefail
sets=data/tetra2-o1,data/tetra3-o1,data/tetra-pn2-o1,data/ideal2-o1,data/ideal-o1
"$(dirname "$0")/../stage.sh" runs/m6-hoa1 "$sets" --feature hoa --order 1 --init-from hoa1 --epochs 2 --lr 1e-4 --seed 381
