#!/usr/bin/env bash
# Session 16: another 40 000 fresh first-order scenes (new seeds) for the next intensity stage,
# in two resumable halves that can run side by side (run in CAMPAIGN):
#   data9.sh a  -> 24 000 through the tetrahedral array
#   data9.sh b  -> 8 000 through it with 1-4 point noise sources, 8 000 ideal
set -euo pipefail
"$(dirname "$0")/../first_order_batch.sh" 5 49 "$1"
echo "data9 $1 done"
