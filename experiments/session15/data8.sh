#!/usr/bin/env bash
# Session 15: another 40 000 fresh first-order scenes (new seeds) for the next intensity stage:
# 24 000 through the tetrahedral array, 8 000 through it with 1-4 point noise sources, 8 000
# ideal (resumable; run in CAMPAIGN).
set -euo pipefail
"$(dirname "$0")/../first_order_batch.sh" 4 46
echo data8 done
