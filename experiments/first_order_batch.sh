#!/usr/bin/env bash
# One resumable batch of 40 000 first-order training scenes for the intensity stages, as every
# batch since session 15 was made:
#   first_order_batch.sh K SEED [a|b]
# a: tetraK-o1 (24 000 through the tetrahedral array, seed SEED);
# b: tetra-pn(K-1)-o1 (8 000 through it with 1-4 point noise sources, seed SEED+1) and
#    ideal(K-1)-o1 (8 000 ideal, seed SEED+2);
# both parts when none is given (the two parts can run side by side). Run in CAMPAIGN.
set -euo pipefail
set_=$(dirname "$0")/scene_set.sh
k=$1; seed=$2; part=${3:-ab}
if [[ $part == *a* ]]; then
  "$set_" "tetra$k-o1" "$seed" 24000 200 1 scene-wide-tetra.json
fi
if [[ $part == *b* ]]; then
  "$set_" "tetra-pn$((k - 1))-o1" "$((seed + 1))" 8000 200 1 scene-wide-pointnoise-tetra.json
  "$set_" "ideal$((k - 1))-o1" "$((seed + 2))" 8000 200 1 scene-wide.json
fi
