"""Paired bootstrap of two models' refined errors on the yardstick's headline clips."""
import sys, json
import numpy as np
from audiolrp import models, yardstick as y
a_path, b_path, name = sys.argv[1], sys.argv[2], sys.argv[3]
conds = sys.argv[4].split(",")
A = models.load(a_path); B = models.load(b_path)
rng = np.random.default_rng(0)
out = {}
for ck in conds:
    cond = next(c for c in y.CONDITIONS if c.key == ck)
    sc = {}
    sc.update(y.simulate_family_scenes(cond, ["studio"], 100, y.YARDSTICK_SEED))
    sc.update(y.simulate_family_scenes(cond, ["synthetic"], 100, y.YARDSTICK_SEED))
    ea = np.concatenate([y.model_errors(A, sc[f])["refined"] for f in ("studio", "synthetic")])
    eb = np.concatenate([y.model_errors(B, sc[f])["refined"] for f in ("studio", "synthetic")])
    idx = rng.integers(0, len(ea), (4000, len(ea)))
    dmed = np.median(eb[idx], 1) - np.median(ea[idx], 1)
    dmean = eb[idx].mean(1) - ea[idx].mean(1)
    r = {"median_a": float(np.median(ea)), "median_b": float(np.median(eb)),
         "mean_a": float(ea.mean()), "mean_b": float(eb.mean()),
         "d_median_ci95": [float(np.percentile(dmed, 2.5)), float(np.percentile(dmed, 97.5))],
         "d_mean_ci95": [float(np.percentile(dmean, 2.5)), float(np.percentile(dmean, 97.5))],
         "b_better_share": float((eb < ea).mean())}
    out[ck] = r
    print(ck, json.dumps(r), flush=True)
