#!/usr/bin/env bash
# Session 16: a third batch of 40 000 fresh first-order scenes (seeds 55-57), made on the second
# core while m7-intensity trained; used with data10.sh's by m8-intensity (resumable; run in
# CAMPAIGN).
set -euo pipefail
set_=$(dirname "$0")/../scene_set.sh
"$set_" tetra7-o1 55 24000 200 1 scene-wide-tetra.json
"$set_" tetra-pn6-o1 56 8000 200 1 scene-wide-pointnoise-tetra.json
"$set_" ideal6-o1 57 8000 200 1 scene-wide.json
echo data11 done
