#!/usr/bin/env bash
# Session 11 data (resumable): order-1 tetrahedral-array scenes with 1-4 pink point-noise sources
# (the m2 stage), and order-4 scenes through the 32-capsule sphere (simulated, not trained on:
# the ideal order-4 scenes to mix with them were stopped for lack of CPU time).
set -euo pipefail
A=audiolrp
D=${DATA:-data}
$A simulate $D/tetra-pn-o1 --corpus debian --seed 34 --n-train 5000 --n-val 200 --n-test 0 --order 1 \
   --config experiments/scene-wide-pointnoise-tetra.json --dtype float16 --direct-splits "" --workers 1 --no-progress
$A simulate $D/sphere-o4 --corpus debian --seed 35 --n-train 4000 --n-val 300 --n-test 0 --order 4 \
   --config experiments/scene-wide-sphere32.json --dtype float16 --direct-splits "" --workers 1 --no-progress
echo data done
