#!/usr/bin/env bash
# Session 15: more fresh first-order scenes (new seeds): 16 000 through the tetrahedral array,
# 8 000 through it with 1-4 point noise sources, 8 000 ideal. With data5.sh's 8 000 that is
# 40 000 first-order scenes no shipped model trained on (resumable; run in CAMPAIGN).
set -euo pipefail
set_=$(dirname "$0")/../scene_set.sh
"$set_" tetra3-o1 42 16000 200 1 scene-wide-tetra.json
"$set_" tetra-pn2-o1 43 8000 200 1 scene-wide-pointnoise-tetra.json
"$set_" ideal2-o1 44 8000 200 1 scene-wide.json
echo data6 done
