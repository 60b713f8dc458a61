#!/usr/bin/env bash
# Session 12, as run (2-core CPU, one torch thread per job, jobs beside each other).
# DATA: the campaign's dataset folders; MS: the multi-source folder; RUNS: run folders.
set -euo pipefail
DATA=${DATA:-data}; MS=${MS:-ms}; RUNS=${RUNS:-runs}
A=audiolrp

# 1. Every shipped model re-exported with sound-field views in its refinement (radius, power
#    and 1/2/4/8 views chosen on 400 validation scenes; card and extra sets re-evaluated; same
#    weights), then the yardstick (100 clips per family and condition) stored on its card.
for m in intensity hoa1 hoa2 hoa3 hoa4; do
  python experiments/export.py src/audiolrp/pretrained/$m.json $m export-views
  python benchmarks/eval_yardstick.py --n 100 --models $m --out export-views/yardstick-$m.json
done

# 2. Multi-source stage 2 (stage 1: docs/multisource.md), then shipped with its card.
$A train $MS/data-ms12 $RUNS/ms2 --task multi --feature intensity --init-from $RUNS/ms1/model.json \
  --epochs 5 --batch-size 32 --augment --threads 1 --lr 2.5e-4 --warmup-steps 50 \
  --checkpoint-every 100 --crop-frames 25 --seed 12 --max-minutes 110 --no-progress
python -c "from audiolrp.training.export import export_multisource_model as e; \
  e('$RUNS/ms2/model.json', 'multi-intensity', '$MS/data-ms12', '$MS/data-ms3')"

# 3. The conformer (issue 24 item 2): ideal order-2 scenes with 1-4 pink point sources
#    (session 11's data3, resumed), front end from hoa2, three stages.
$A simulate $DATA/ideal-pn-o2 --corpus debian --seed 37 --n-train 4000 --n-val 300 --n-test 0 \
  --order 2 --config experiments/scene-wide-pointnoise.json --dtype float16 --direct-splits "" \
  --workers 1 --no-progress
C="--arch conformer --order 2 --schedule cosine --label-sigma-deg 8 --augment --crop-frames 25 \
  --batch-size 32 --select-by val_error --threads 1 --checkpoint-every 50 --patience 100 --no-progress"
$A train $DATA/ideal-pn-o2 $RUNS/conformer1 --init-from hoa2 --epochs 3 --lr 5e-4 --warmup-steps 50 --seed 120 $C
$A train $DATA/ideal-pn-o2 $RUNS/conformer2 --init-from $RUNS/conformer1/model.json --epochs 10 --lr 3e-4 --warmup-steps 20 --seed 121 $C
$A train $DATA/ideal-pn-o2 $RUNS/conformer3 --init-from $RUNS/conformer2/model.json --epochs 10 --lr 2e-4 --warmup-steps 20 --seed 122 $C
