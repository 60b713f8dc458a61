#!/usr/bin/env bash
# One resumable training stage of the campaign, with the recipe every stage since stage 3 shares:
#   stage.sh OUT TRAIN_SETS [audiolrp train options: --feature, --order, --init-from, --lr, ...]
# Paths are relative to the campaign folder (CAMPAIGN, default: the current folder). A finished
# run (OUT/model.json) is skipped; a started one resumes from OUT/checkpoints.
set -euo pipefail
cd "${CAMPAIGN:-.}"
out=$1; sets=$2; shift 2
if [ -f "$out/model.json" ]; then echo "$out done"; exit 0; fi
if ls "$out"/checkpoints/*.json >/dev/null 2>&1; then set -- "$@" --resume; fi
audiolrp train "$sets" "$out" "$@" --label-sigma-deg 8 --augment --schedule cosine \
  --warmup-steps 50 --select-by val_error --crop-frames 25 --batch-size 32 --threads 1 \
  --checkpoint-every 100 --no-progress --patience 100
