#!/usr/bin/env bash
# Session 16: another 40 000 fresh first-order scenes (new seeds) for the next intensity stage,
# in two resumable halves that can run side by side (run in CAMPAIGN):
#   data9.sh a  -> 24 000 through the tetrahedral array
#   data9.sh b  -> 8 000 through it with 1-4 point noise sources, 8 000 ideal
set -euo pipefail
set_=$(dirname "$0")/../scene_set.sh
case "$1" in
  a) "$set_" tetra5-o1 49 24000 200 1 scene-wide-tetra.json ;;
  b) "$set_" tetra-pn4-o1 50 8000 200 1 scene-wide-pointnoise-tetra.json
     "$set_" ideal4-o1 51 8000 200 1 scene-wide.json ;;
esac
echo "data9 $1 done"
