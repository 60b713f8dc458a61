#!/usr/bin/env bash
# Session 16: a fourth batch of 40 000 fresh first-order scenes (seeds 60-62) for the next
# intensity stage, started at the end of the session at nice 19 (resumable: a later session
# finishes it; run in CAMPAIGN).
set -euo pipefail
"$(dirname "$0")/../first_order_batch.sh" 8 60
echo data13 done
