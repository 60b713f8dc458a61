#!/usr/bin/env bash
# One resumable training-scene set of the campaign, with the options every set shares:
#   scene_set.sh NAME SEED N_TRAIN N_VAL ORDER CONFIG
# writes CAMPAIGN/data/NAME (Debian speech, float16, no direct-sound splits, one worker);
# CONFIG is a scene configuration in this folder. A started set resumes.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "${CAMPAIGN:-.}"
audiolrp simulate "data/$1" --corpus debian --seed "$2" --n-train "$3" --n-val "$4" --n-test 0 \
  --order "$5" --config "$here/$6" --dtype float16 --direct-splits "" --workers 1 --no-progress
