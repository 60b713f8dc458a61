"""The recordings yardstick on the shipped models (audiolrp.yardstick.run_yardstick).

Prints, per condition and model, the headline angular errors (refined direction: median /
mean / share within 10 deg; class direction; exact class; the classic intensity-vector
estimator on the same clips) on studio + synthetic talkers at -60...-10 dBFS, off-grid
sources, and the band-limited game voices apart; writes the full report as JSON.

    python benchmarks/eval_yardstick.py --n 100 --out experiments/yardstick.json
    python benchmarks/eval_yardstick.py --conditions ideal,directional-noise --models hoa2
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def main() -> None:
    from audiolrp import models, yardstick
    from audiolrp.io import write_json

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=",".join(models.list_models()))
    ap.add_argument("--conditions", default=",".join(c.key for c in yardstick.CONDITIONS))
    ap.add_argument("--n", type=int, default=100, help="scenes per family and condition")
    ap.add_argument("--seed", type=int, default=yardstick.YARDSTICK_SEED)
    ap.add_argument("--out", default=None, help="JSON report path")
    args = ap.parse_args()
    t0 = time.perf_counter()
    lms = [models.load(m) for m in args.models.split(",") if m]
    report: dict = {"settings": {}, "results": {}}
    for cond in [c for c in args.conditions.split(",") if c]:
        part_path = Path(f"{args.out}.{cond}.json") if args.out else None
        if part_path is not None and part_path.exists():  # resumable: one file per condition
            part = json.loads(part_path.read_text())
        else:
            part = yardstick.run_yardstick(
                lms, n=args.n, seed=args.seed, conditions=[cond],
                progress=lambda line: print(f"[{time.perf_counter() - t0:6.0f} s] {line}",
                                            file=sys.stderr, flush=True),
            )
            if part_path is not None:
                write_json(part_path, part)
        conds = {**report["settings"].get("conditions", {}), **part["settings"]["conditions"]}
        report["settings"] = {**part["settings"], "conditions": conds}
        report["results"].update(part["results"])
    report["settings"]["wall_s"] = round(time.perf_counter() - t0, 1)
    print(yardstick.format_yardstick(report))
    for cond, per_model in report["results"].items():
        for name, e in per_model.items():
            raw = e.get("headline_without_level_gain")
            if raw:
                r = raw["refined_deg"]
                print(f"{cond} {name}: without the level gain the refined median would be "
                      f"{r['median']:.1f} deg (mean {r['mean']:.1f})")
            levels = ", ".join(f"{b['low_dbfs']:.0f}..{b['high_dbfs']:.0f} dBFS: "
                               f"{b['refined_median_deg']:.1f}" for b in e.get("by_level", []))
            if levels:
                print(f"{cond} {name}: refined median by input level: {levels}")
    if args.out:
        write_json(args.out, report)
        print(f"wrote {args.out} ({report['settings']['wall_s']} s)")


if __name__ == "__main__":
    main()
