#!/usr/bin/env bash
# Session 15: another 40 000 fresh first-order scenes (new seeds) for the next intensity stage:
# 24 000 through the tetrahedral array, 8 000 through it with 1-4 point noise sources, 8 000
# ideal (resumable; run in CAMPAIGN).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "${CAMPAIGN:-.}"
sim() {
  audiolrp simulate "data/$1" --corpus debian --seed "$2" --n-train "$3" --n-val 200 --n-test 0 \
    --order 1 --config "$here/$4" --dtype float16 --direct-splits "" --workers 1 --no-progress
}
sim tetra4-o1 46 24000 scene-wide-tetra.json
sim tetra-pn3-o1 47 8000 scene-wide-pointnoise-tetra.json
sim ideal3-o1 48 8000 scene-wide.json
echo data8 done
