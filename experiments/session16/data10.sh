#!/usr/bin/env bash
# Session 16: a second batch of 40 000 fresh first-order scenes (seeds 52-54), made on the
# second core while m6-intensity trained; used by m7-intensity and, with data11.sh's, by
# m8-intensity (resumable; run in CAMPAIGN).
set -euo pipefail
"$(dirname "$0")/../first_order_batch.sh" 6 52
echo data10 done
