#!/usr/bin/env bash
# Session 15: 16 000 fresh ideal order-2 scenes (new seed) for a further hoa2 stage (resumable;
# run in CAMPAIGN).
set -euo pipefail
"$(dirname "$0")/../scene_set.sh" ideal3-o2 45 16000 300 2 scene-wide.json
echo data7 done
