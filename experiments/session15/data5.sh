#!/usr/bin/env bash
# Session 15: a fresh set of 8 000 first-order scenes through the tetrahedral array (new seed), so
# the next first-order stages see scenes they never trained on (resumable; run in CAMPAIGN).
set -euo pipefail
"$(dirname "$0")/../scene_set.sh" tetra2-o1 41 8000 400 1 scene-wide-tetra.json
echo data5 done
