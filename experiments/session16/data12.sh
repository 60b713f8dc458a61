#!/usr/bin/env bash
# Session 16: fresh order-2 scenes for one more hoa2 stage (s4h2.sh), balanced as stage 10's
# recipe was (half through the 32-capsule sphere array, half ideal with 1-4 point noise
# sources), made at nice 19 on whatever core the intensity stages left idle (resumable; run in
# CAMPAIGN).
set -euo pipefail
set_=$(dirname "$0")/../scene_set.sh
"$set_" sphere2-o2 58 8000 200 2 scene-wide-sphere32.json
"$set_" ideal-pn2-o2 59 8000 200 2 scene-wide-pointnoise.json
echo data12 done
