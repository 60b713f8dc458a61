"""Session 13 experiment: how the 50 frames are pooled into the direction (mean softmax as the
paper, geometric mean, confidence-weighted), with the 8 standard views."""
import os, sys, time, json
import numpy as np, torch
torch.set_num_threads(1)
from audiolrp import models
from audiolrp.models.prediction import view_transforms, fuse_views, DirectionRefinement, choose_refinement
from audiolrp.signal.augmentation import sh_transform_matrix
from audiolrp.signal.ambisonics import vector_angle_deg
name = sys.argv[1]
lm = models.load(name)
z = np.load(f"tilt/val-{name}.npz"); clips, truth = z["clips"], z["truth"]
out = f"tilt/frames-{name}.npy"
if not os.path.exists(out):
    mats = [sh_transform_matrix(lm.order, t.matrix3()) for t in view_transforms(8)]
    fr = np.zeros((8, len(clips), 50, 425), np.float32)
    x = clips.astype(np.float64)
    for k, m in enumerate(mats):
        v = x if k == 0 else np.einsum("kc,bct->bkt", m, x)
        s, _ = lm.scores(lm.input(v).features)
        fr[k] = torch.softmax(torch.from_numpy(s), -1).numpy()
    np.save(out, fr)
fr = np.load(out).astype(np.float64)
def pooled(kind, g):
    if kind == "mean": return fr.mean(2)
    if kind == "geo":
        l = np.log(fr + 1e-12).mean(2); l -= l.max(-1, keepdims=True); p = np.exp(l); return p / p.sum(-1, keepdims=True)
    if kind == "conf":
        w = fr.max(-1, keepdims=True) ** g; return (fr * w).sum(2) / w.sum(2)
    if kind == "top":  # only the most confident fraction g of frames
        c = fr.max(-1); thr = np.quantile(c, 1 - g, axis=2, keepdims=True); w = (c >= thr)[..., None]
        return (fr * w).sum(2) / w.sum(2)
res = {}
for kind, g in [("mean", 0), ("geo", 0), ("conf", 1), ("conf", 2), ("conf", 4), ("top", 0.5), ("top", 0.25)]:
    vp = pooled(kind, g)
    best, rows = choose_refinement(vp, truth, views=(8,))
    r8 = [r for r in rows if r["views"] == 8]
    b = min(r8, key=lambda r: (r["median_error_deg"], r["mean_error_deg"]))
    res[f"{kind}{g}"] = b
    print(kind, g, b, flush=True)
json.dump(res, open(f"tilt/pool-{name}.json", "w"), indent=1)
