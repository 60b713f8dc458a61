#!/usr/bin/env bash
# Session 10 data: first-order scenes through a tetrahedral array, and ideal ones to mix (resumable).
set -euo pipefail
A=audiolrp
D=${DATA:-data}
$A simulate $D/tetra-o1 --corpus debian --seed 31 --n-train 8000 --n-val 400 --n-test 0 --order 1 \
   --config experiments/scene-wide-tetra.json --dtype float16 --direct-splits "" --workers 1 --no-progress
$A simulate $D/ideal-o1 --corpus debian --seed 32 --n-train 8000 --n-val 400 --n-test 0 --order 1 \
   --config experiments/scene-wide.json --dtype float16 --direct-splits "" --workers 1 --no-progress
echo data done
