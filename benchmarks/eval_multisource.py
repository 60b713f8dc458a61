"""A multi-source model and the classic intensity-histogram estimator on the same test clips.

Both detectors' thresholds are chosen on the validation split of ``--val-data`` (best source
counting; the model's stored detector with ``--stored-threshold``), then both run on the test
split of ``--test-data``: Hungarian-matched angular error, misses, false alarms and source
counting (audiolrp.evaluation.multisource). Beside each threshold detector, the same peaks
counted by a source counter (audiolrp.models.source_count: logistic regression on the map's
peak heights) fitted on the validation clips (``classic_counter``, ``model_counter``; off with
``--no-counter``). Without ``--model`` only the classic estimator runs.

    audiolrp simulate data/ms --sources 1-3 --order 1 --corpus debian --n-test 400
    python benchmarks/eval_multisource.py --model multi-intensity --val-data data/ms \
        --test-data data/ms --out experiments/multisource-eval.json
"""

from __future__ import annotations

import argparse
import json
import time


def main() -> None:
    import torch

    from audiolrp.evaluation.multisource import (
        dataset_clips,
        evaluate_multisource,
        format_multisource,
    )
    from audiolrp.io import write_json
    from audiolrp.models import load
    from audiolrp.models.multisource import detector_of

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="multi-source model (name or path)")
    ap.add_argument("--val-data", required=True, help="multi-source dataset (val split)")
    ap.add_argument("--test-data", required=True, help="multi-source dataset (test split)")
    ap.add_argument("--max-val", type=int, default=None)
    ap.add_argument("--max-test", type=int, default=None)
    ap.add_argument("--stored-threshold", action="store_true",
                    help="use the model file's detector instead of choosing it on val")
    ap.add_argument("--no-counter", action="store_true",
                    help="skip the source counters fitted on the validation clips")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None, help="JSON report path")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    va, vd = dataset_clips(args.val_data, "val", args.max_val)
    ta, td = dataset_clips(args.test_data, "test", args.max_test)
    lm = load(args.model) if args.model else None
    r = evaluate_multisource(
        None if lm is None else lm.model, "intensity" if lm is None else lm.feature,
        ta, td, va, vd,
        model_detector=detector_of(lm.config) if lm is not None and args.stored_threshold
        else None,
        counter=not args.no_counter,
    )
    r.update({"model_file": args.model, "val_data": args.val_data, "test_data": args.test_data,
              "seconds": round(time.perf_counter() - t0, 1)})
    for name in ("classic", "classic_counter", "model", "model_counter"):
        if name in r:
            how = ("counter" if r[name]["detector"].get("counter")
                   else f"threshold {r[name]['threshold']}")
            print(format_multisource(name, r[name]), f"({how})")
    if args.out:
        write_json(args.out, r)
    else:
        rows = ("classic", "classic_counter", "model", "model_counter")
        print(json.dumps({k: v for k, v in r.items() if k in rows}, indent=1))


if __name__ == "__main__":
    main()
