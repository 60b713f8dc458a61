"""Data-generation throughput vs. a CRNN training step (all on 1 thread, one run).

Measures
--------
* scenes per second per core: order-4 RIR + speech convolution + diffuse babble + mixing
  (:func:`audiolrp.simulation.scenes.simulate_scene`, default :class:`SceneConfig`), with a
  breakdown of
  the RIR simulation alone;
* feature extraction per second (HOA order 4, intensity) at batch 16;
* one training step of ``audiolrp.models.CRNN(18)`` (order-2 HOA input) at batch 16:
  forward + cross-entropy + backward + Adam, per example;
* the ratio (training-step time per example) / (generation time per example); the goal is
  >= 5, i.e. on-line generation could keep up with training on a fifth of the cores.

Run: ``.venv/bin/python benchmarks/bench_datagen.py [--scenes 20] [--corpus espeak|noise]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time

# one thread everywhere ("per core"); must be set before numpy/scipy load their BLAS
for _k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_k, "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402


def _timeit(fn, repeat: int) -> float:  # noqa: ANN001
    """Best (minimum) of ``repeat`` timed calls after a warm-up: robust on a shared machine."""
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenes", type=int, default=20)
    ap.add_argument("--corpus", default="espeak", help="espeak (default) or noise")
    ap.add_argument("--order", type=int, default=4)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)

    from audiolrp.models import CRNN
    from audiolrp.signal import features as F
    from audiolrp.simulation.rooms import simulate_hoa_rir
    from audiolrp.simulation.scenes import SceneConfig, get_corpus, simulate_scene

    cfg = SceneConfig(order=args.order, speech=None if args.corpus == "espeak" else args.corpus)
    corpus = get_corpus(cfg.speech, cfg.corpus_seed)
    t0 = time.perf_counter()
    corpus.sample_segment("train", np.random.default_rng(0))  # builds the speech pool
    pool_s = time.perf_counter() - t0

    def time_scenes(c: SceneConfig) -> tuple[float, float, list]:
        simulate_scene(c, 10_000, corpus)  # warm-up
        # per scene: best of 2 runs, then the mean over scenes (they differ in RT60/room)
        out, scene_t, rir_t = [], [], []
        for i in range(args.scenes):
            scene_t.append(_timeit(lambda i=i: out.append(simulate_scene(c, i, corpus)), 2))
            p = out[-1].params
            rir_t.append(_timeit(lambda p=p: simulate_hoa_rir(
                p["room_m"], p["source_m"], p["receiver_m"], rt60_s=p["rt60_s"],
                order=c.order, max_length_s=p["rir_length_samples"] / 16000,
                seed=p["rir_seed"]), 2))
        return float(np.mean(scene_t)), float(np.mean(rir_t)), out

    scene_s, rir_s, scenes = time_scenes(cfg)
    scene2_s, _, _ = time_scenes(dataclasses.replace(cfg, order=2))

    batch = torch.from_numpy(np.stack([s.mixture for s in scenes[:16]]))
    while batch.shape[0] < 16:
        batch = torch.cat([batch, batch])[:16]
    hoa_s = _timeit(lambda: F.compute_features(batch, "hoa", cfg.order), 5) / 16
    int_s = _timeit(lambda: F.compute_features(batch, "intensity", cfg.order), 5) / 16

    model = CRNN(18)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randn(16, 18, 50, 512)
    y = torch.randint(0, 425, (16,))

    def step() -> None:
        opt.zero_grad()
        out = model(x)  # (B, 50, 425)
        loss = torch.nn.functional.cross_entropy(
            out.reshape(-1, out.shape[-1]), y.repeat_interleave(out.shape[1])
        )
        loss.backward()
        opt.step()

    train_s = _timeit(step, 5) / 16
    res = {
        "threads": torch.get_num_threads(),
        "timing": "best-of-N per item (shared machine); scene = mean over scenes",
        "order": cfg.order,
        "corpus": corpus.name,
        "speech_pool_build_s": round(pool_s, 2),
        "scene_ms": round(scene_s * 1e3, 2),
        "scenes_per_s_per_core": round(1 / scene_s, 2),
        "rir_ms": round(rir_s * 1e3, 2),
        "rir_fraction": round(rir_s / scene_s, 3),
        "hoa_features_per_s": round(1 / hoa_s, 1),
        "intensity_features_per_s": round(1 / int_s, 1),
        "train_step_ms_per_example": round(train_s * 1e3, 2),
        "ratio_train_step_to_scene": round(train_s / scene_s, 2),
        "ratio_train_step_to_scene_plus_hoa_features": round(train_s / (scene_s + hoa_s), 2),
        "scene_order2_ms": round(scene2_s * 1e3, 2),
        "ratio_train_step_to_order2_scene": round(train_s / scene2_s, 2),
        "goal_ratio": 5.0,
    }
    if args.json:
        print(json.dumps(res, indent=1))
    else:
        for k, v in res.items():
            print(f"{k:45s} {v}")


if __name__ == "__main__":
    main()
