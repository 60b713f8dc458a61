import numpy as np, itertools
from audiolrp.models.prediction import fuse_views, DirectionRefinement, class_vectors, view_transforms
from audiolrp.signal.ambisonics import vector_angle_deg
vp=np.load('experiments/session13/cache/vp-std-hoa2.npy'); t=np.load('experiments/session13/cache/val-hoa2.npz')['truth']
U=class_vectors()
def base(V=8): return vector_angle_deg(fuse_views(vp, DirectionRefinement(20,2,V)), t)
def meanshift(p, sigma, q, iters, r0=20):
    # start: weighted mean within r0 of argmax (power q)
    from audiolrp.models.prediction import refine_directions
    d = refine_directions(p, DirectionRefinement(r0, q, 1))
    for _ in range(iters):
        cos = np.clip(d @ U.T, -1, 1); ang = np.degrees(np.arccos(cos))
        w = p**q * np.exp(-ang**2/(2*sigma**2))
        s = w @ U; d = s/np.linalg.norm(s,axis=1,keepdims=True)
    return d
def fused(fn, V=8):
    tot=np.zeros((vp.shape[1],3))
    for k,tr in enumerate(view_transforms(V)):
        tot += fn(vp[k]) @ tr.matrix3()
    return tot/np.linalg.norm(tot,axis=1,keepdims=True)
e=base(); print('base', np.median(e), e.mean())
for sigma,q,it in itertools.product([5,7,10,14],[1,2],[1,3,10]):
    e=vector_angle_deg(fused(lambda p: meanshift(p,sigma,q,it)), t)
    print(sigma,q,it, round(np.median(e),3), round(e.mean(),3))
