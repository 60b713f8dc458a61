"""Choose each shipped model's direction refinement on validation scenes (off-grid sources).

For every model, ``--n`` scenes of its own training recipe are simulated from the *validation*
split (speakers never used for training or testing), with directions drawn uniformly on the
sphere (off the 425-class grid), at the model's order. The clip probabilities are refined by
:func:`audiolrp.models.choose_refinement` over radii 0-40 deg and powers 0.5-2; the table of
every candidate's median / mean error is printed, and ``--write`` stores the winner in the
shipped model's JSON (``direction_refinement``, with what it was chosen on).

    python benchmarks/choose_refinement.py --n 400              # measure and print
    python benchmarks/choose_refinement.py --n 400 --write      # and store in the model files
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def main() -> None:
    from audiolrp import models
    from audiolrp.data.datasets import scene_seed
    from audiolrp.evaluation import scene_config_from_recipe
    from audiolrp.io import write_json
    from audiolrp.signal.ambisonics import unit_vector
    from audiolrp.simulation.scenes import get_corpus, simulate_scene

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=",".join(models.list_models()))
    ap.add_argument("--n", type=int, default=400, help="validation scenes per model")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--write", action="store_true", help="store the choice in the model JSON")
    args = ap.parse_args()
    for name in [m for m in args.models.split(",") if m]:
        t0 = time.perf_counter()
        lm = models.load(name)
        recipe = (lm.data_recipe.get("datasets") or [lm.data_recipe])[0]
        cfg = scene_config_from_recipe(recipe, lm.order, {"direction_sampling": "uniform"})
        corpus = get_corpus(cfg.speech, cfg.corpus_seed)
        mix, truth = [], []
        for i in range(args.n):
            sc = simulate_scene(cfg, scene_seed(args.seed, "val", i), corpus, split="val")
            mix.append(sc.mixture[: lm.n_audio_channels])
            truth.append(unit_vector(sc.azimuth_rad, sc.elevation_rad))
        pred = lm.predict(np.stack(mix))
        best, rows = models.choose_refinement(pred.probabilities, np.stack(truth))
        base = rows[0]
        win = next(r for r in rows if r["radius_deg"] == best.radius_deg
                   and r["power"] == best.power)
        print(f"{name}: {args.n} validation scenes (order {cfg.order}, seed {args.seed}), "
              f"{time.perf_counter() - t0:.0f} s")
        for r in rows:
            mark = " <- chosen" if r is win else ""
            print(f"  radius {r['radius_deg']:4.0f} deg, power {r['power']:.1f}: median "
                  f"{r['median_error_deg']:6.2f}, mean {r['mean_error_deg']:6.2f} deg{mark}")
        if args.write:
            entry = {**best.to_dict(), "chosen_on": {
                "scenes": args.n, "split": "val", "seed": args.seed, "order": cfg.order,
                "directions": "uniform on the sphere (off-grid)",
                "command": f"python benchmarks/choose_refinement.py --n {args.n} --seed "
                           f"{args.seed} --models {name} --write",
                "class_median_error_deg": round(base["median_error_deg"], 3),
                "class_mean_error_deg": round(base["mean_error_deg"], 3),
                "refined_median_error_deg": round(win["median_error_deg"], 3),
                "refined_mean_error_deg": round(win["mean_error_deg"], 3)}}
            config = json.loads(lm.path.read_text(encoding="utf-8"))
            config["direction_refinement"] = entry
            write_json(lm.path, config)
            print(f"  wrote direction_refinement to {lm.path.name}")


if __name__ == "__main__":
    main()
