#!/usr/bin/env bash
# Session 15: another 40 000 fresh first-order scenes (new seeds) for the next intensity stage:
# 24 000 through the tetrahedral array, 8 000 through it with 1-4 point noise sources, 8 000
# ideal (resumable; run in CAMPAIGN).
set -euo pipefail
set_=$(dirname "$0")/../scene_set.sh
"$set_" tetra4-o1 46 24000 200 1 scene-wide-tetra.json
"$set_" tetra-pn3-o1 47 8000 200 1 scene-wide-pointnoise-tetra.json
"$set_" ideal3-o1 48 8000 200 1 scene-wide.json
echo data8 done
