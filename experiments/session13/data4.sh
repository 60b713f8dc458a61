#!/usr/bin/env bash
# Session 13: finish the ideal order-4 scenes with point noise (resumes the session-11 command).
set -euo pipefail
A=audiolrp
D=data
$A simulate $D/ideal-pn-o4 --corpus debian --seed 36 --n-train 4000 --n-val 300 --n-test 0 --order 4 \
   --config experiments/scene-wide-pointnoise.json --dtype float16 --direct-splits "" --workers 1 --no-progress
echo data4 done
