#!/usr/bin/env bash
# Session 16: a third batch of 40 000 fresh first-order scenes (seeds 55-57), made on the second
# core while m7-intensity trained; used with data10.sh's by m8-intensity (resumable; run in
# CAMPAIGN).
set -euo pipefail
"$(dirname "$0")/../first_order_batch.sh" 7 55
echo data11 done
