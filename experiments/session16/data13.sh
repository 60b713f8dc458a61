#!/usr/bin/env bash
# Session 16: a fourth batch of 40 000 fresh first-order scenes (seeds 60-62) for the next
# intensity stage, started at the end of the session at nice 19 (resumable: a later session
# finishes it; run in CAMPAIGN).
set -euo pipefail
set_=$(dirname "$0")/../scene_set.sh
"$set_" tetra8-o1 60 24000 200 1 scene-wide-tetra.json
"$set_" tetra-pn7-o1 61 8000 200 1 scene-wide-pointnoise-tetra.json
"$set_" ideal7-o1 62 8000 200 1 scene-wide.json
echo data13 done
