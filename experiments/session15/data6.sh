#!/usr/bin/env bash
# Session 15: more fresh first-order scenes (new seeds): 16 000 through the tetrahedral array,
# 8 000 through it with 1-4 point noise sources, 8 000 ideal. With data5.sh's 8 000 that is
# 40 000 first-order scenes no shipped model trained on (resumable; run in CAMPAIGN).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "${CAMPAIGN:-.}"
sim() {
  audiolrp simulate "data/$1" --corpus debian --seed "$2" --n-train "$3" --n-val 200 --n-test 0 \
    --order 1 --config "$here/$4" --dtype float16 --direct-splits "" --workers 1 --no-progress
}
sim tetra3-o1 42 16000 scene-wide-tetra.json
sim tetra-pn2-o1 43 8000 scene-wide-pointnoise-tetra.json
sim ideal2-o1 44 8000 scene-wide.json
echo data6 done
