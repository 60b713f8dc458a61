#!/usr/bin/env bash
# Session 16 stage s4-hoa2 (resumable): the shipped hoa2 (stage 10) continued for 2 epochs from 1e-4 on data12.sh's 16 000
# fresh order-2 scenes (8 000 sphere-array, 8 000 ideal with point noise): stage 10's recipe on
# twice the data, all of it new. One thread.
set -euo pipefail
sets=data/sphere2-o2,data/ideal-pn2-o2
"$(dirname "$0")/../stage.sh" runs/s4-hoa2 "$sets" --feature hoa --order 2 --init-from hoa2 --epochs 2 --lr 1e-4 --seed 376
