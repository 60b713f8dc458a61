#!/usr/bin/env bash
# Session 15: a fresh set of 8 000 first-order scenes through the tetrahedral array (new seed), so
# the next first-order stages see scenes they never trained on (resumable). Run in the campaign
# folder (CAMPAIGN); the scene config is the repository's.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "${CAMPAIGN:-.}"
audiolrp simulate data/tetra2-o1 --corpus debian --seed 41 --n-train 8000 --n-val 400 --n-test 0 \
  --order 1 --config "$here/scene-wide-tetra.json" --dtype float16 --direct-splits "" --workers 1 \
  --no-progress
echo data5 done
