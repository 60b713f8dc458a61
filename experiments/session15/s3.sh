#!/usr/bin/env bash
# Session 15 stage s3-hoa2 (resumable): the shipped `hoa2` (stage 10) continued for 2 epochs from
# 1e-4 on 16 000 fresh ideal order-2 scenes (data7.sh) plus stage 10's 4 000 sphere-array order-4
# scenes (read at order 2) and 4 000 ideal order-2 scenes with point noise. One thread.
set -euo pipefail
sets=data/ideal3-o2,data/sphere-o4,data/ideal-pn-o2
"$(dirname "$0")/../stage.sh" runs/s3-hoa2 "$sets" --feature hoa --order 2 --init-from hoa2 --epochs 2 --lr 1e-4 --seed 361
