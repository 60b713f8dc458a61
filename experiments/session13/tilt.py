"""Session 13 experiment: source-adaptive tilted views (elevation diversity) vs the
golden-angle z-rotation views, on a model's 400 validation scenes."""
import json, math, os, sys, time
import numpy as np, torch
torch.set_num_threads(int(os.environ.get("THREADS", "1")))
from audiolrp import models
from audiolrp.evaluation.refinement import validation_clips
from audiolrp.models.prediction import view_transforms, refine_directions, DirectionRefinement, choose_refinement
from audiolrp.signal.augmentation import sh_transform_matrix
from audiolrp.signal.ambisonics import vector_angle_deg

name = sys.argv[1]
amps = [float(a) for a in sys.argv[2].split(",")]
V = 8
lm = models.load(name)
cache = f"tilt/val-{name}.npz"
if os.path.exists(cache):
    z = np.load(cache); clips, truth = z["clips"], z["truth"]
else:
    t0 = time.time(); clips, truth, _ = validation_clips(lm); np.savez(cache, clips=clips, truth=truth)
    print("simulated", time.time() - t0, flush=True)
ref = lm.refinement
print(name, ref, flush=True)
t0 = time.time()
vp, _, silent = lm.view_probabilities(clips, V)
print("std views", time.time() - t0, flush=True)
np.save(f"tilt/vp-std-{name}.npy", vp)
single = ref.single_view()
d0 = refine_directions(vp[0], single)

def rodrigues(axis, ang):
    a = axis / np.linalg.norm(axis); K = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + math.sin(ang) * K + (1 - math.cos(ang)) * K @ K

phi = (math.sqrt(5) - 1) / 2
res = {}
def summary(d):
    e = vector_angle_deg(d, truth); return float(np.median(e)), float(np.mean(e))
for v in (1, 2, 4, 8):
    r = DirectionRefinement(ref.radius_deg, ref.power, v)
    from audiolrp.models.prediction import fuse_views
    res[f"std-{v}"] = summary(fuse_views(vp, r))
print(res, flush=True)
stds = view_transforms(V)
for amp in amps:
    t0 = time.time()
    tot = np.nan_to_num(d0).copy()
    parts = [tot.copy()]
    for k in range(1, V):
        delta = math.radians(amp * (2 * ((k * phi) % 1.0) - 1))
        S = stds[k].matrix3()
        Rs = []
        for b in range(len(clips)):
            ds = S @ d0[b]
            az = math.atan2(ds[1], ds[0])
            A = rodrigues(np.array([-math.sin(az), math.cos(az), 0.0]), delta)
            Rs.append(A @ S)
        T = np.stack([sh_transform_matrix(lm.order, R) for R in Rs])
        x = np.einsum("bkc,bct->bkt", T, clips[:, : T.shape[1]].astype(np.float64))
        _, p = lm.scores(lm.input(x).features)
        dk = refine_directions(p.astype(np.float64), single)
        back = np.einsum("bi,bij->bj", np.nan_to_num(dk), np.stack(Rs))  # R^T d
        tot = tot + back
        parts.append(tot.copy())
    for v in (2, 4, 8):
        d = parts[v - 1] / np.linalg.norm(parts[v - 1], axis=1, keepdims=True)
        res[f"tilt{amp}-{v}"] = summary(d)
    print(amp, {k: v for k, v in res.items() if k.startswith(f"tilt{amp}")}, time.time() - t0, flush=True)
json.dump(res, open(f"tilt/res-{name}.json", "w"), indent=1)
