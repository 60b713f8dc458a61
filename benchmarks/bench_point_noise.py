"""Scene simulation speed with and without directional point-source noise (one thread, one run).

Simulates the same seeds with the training recipe ``experiments/scene-wide.json`` (diffuse
babble only), the same recipe with exactly 2 pink point-noise sources, and the proposed recipe
``experiments/scene-wide-pointnoise.json`` (1-4 sources), interleaved scene by scene so that
load changes on a shared machine hit all configs alike. Prints scenes/s per config (total time
of all scenes, not best-of) and the ratios to the babble-only recipe.

Run: ``.venv/bin/python benchmarks/bench_point_noise.py [--scenes 60] [--order 2]
[--corpus noise|espeak|debian] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

# one thread ("per core"); must be set before numpy/scipy load their BLAS
for _k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_k, "1")

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenes", type=int, default=60)
    ap.add_argument("--order", type=int, default=2)
    ap.add_argument("--corpus", default="noise")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    from audiolrp.simulation.scenes import SceneConfig, get_corpus, simulate_scene

    wide = json.loads((ROOT / "experiments/scene-wide.json").read_text())
    proposed = json.loads((ROOT / "experiments/scene-wide-pointnoise.json").read_text())
    speech = None if args.corpus == "espeak" else args.corpus
    base = {"order": args.order, "speech": speech}
    configs = {
        "babble only (scene-wide)": SceneConfig.from_dict({**wide, **base}),
        "+ 2 pink point sources": SceneConfig.from_dict(
            {**wide, **base, "n_point_noise": [2, 2], "point_noise_share": [0.3, 1.0]}
        ),
        "scene-wide-pointnoise (1-4)": SceneConfig.from_dict({**proposed, **base}),
    }
    corpus = get_corpus(speech, 0)
    for cfg in configs.values():  # warm-up (corpus caches, FFT plans)
        simulate_scene(cfg, 10**6, corpus)
    total = dict.fromkeys(configs, 0.0)
    for i in range(args.scenes):
        for name, cfg in configs.items():
            t0 = time.perf_counter()
            simulate_scene(cfg, i, corpus)
            total[name] += time.perf_counter() - t0
    ref = next(iter(total.values()))
    rows = {
        name: {"scenes_per_s": args.scenes / t, "ms_per_scene": 1e3 * t / args.scenes,
               "time_ratio": t / ref}
        for name, t in total.items()
    }
    if args.json:
        print(json.dumps({"order": args.order, "corpus": args.corpus, "scenes": args.scenes,
                          "load_avg": os.getloadavg()[0], "configs": rows}, indent=1))
        return
    print(f"order {args.order}, corpus {args.corpus}, {args.scenes} scenes each, one thread, "
          f"load average {os.getloadavg()[0]:.1f}")
    for name, r in rows.items():
        print(f"  {name:30s} {r['scenes_per_s']:6.1f} scenes/s  {r['ms_per_scene']:6.1f} ms/scene"
              f"  x{r['time_ratio']:.2f}")


if __name__ == "__main__":
    main()
