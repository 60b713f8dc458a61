#!/usr/bin/env bash
# Session 15: 16 000 fresh ideal order-2 scenes (new seed) for a further hoa2 stage (resumable;
# run in CAMPAIGN).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "${CAMPAIGN:-.}"
audiolrp simulate data/ideal3-o2 --corpus debian --seed 45 --n-train 16000 --n-val 300 --n-test 0 \
  --order 2 --config "$here/scene-wide.json" --dtype float16 --direct-splits "" --workers 1 \
  --no-progress
echo data7 done
