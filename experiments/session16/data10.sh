#!/usr/bin/env bash
# Session 16: a second batch of 40 000 fresh first-order scenes (seeds 52-54), made on the
# second core while m6-intensity trained; used by m7-intensity and, with data11.sh's, by
# m8-intensity (resumable; run in CAMPAIGN).
set -euo pipefail
set_=$(dirname "$0")/../scene_set.sh
"$set_" tetra6-o1 52 24000 200 1 scene-wide-tetra.json
"$set_" tetra-pn5-o1 53 8000 200 1 scene-wide-pointnoise-tetra.json
"$set_" ideal5-o1 54 8000 200 1 scene-wide.json
echo data10 done
