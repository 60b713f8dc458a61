"""Choose each shipped model's direction refinement on validation scenes (off-grid sources).

For every model, ``--n`` scenes of its own training recipe are simulated from the *validation*
split (speakers never used for training or testing), with directions drawn uniformly on the
sphere (off the 425-class grid), at the model's order
(:func:`audiolrp.evaluation.refinement.choose_model_refinement`, the function
``export_model`` also calls). The table of every candidate's median / mean error is printed,
and ``--write`` stores the winner in the shipped model's JSON (``direction_refinement``, with
what it was chosen on).

    python benchmarks/choose_refinement.py --n 400              # measure and print
    python benchmarks/choose_refinement.py --n 400 --write      # and store in the model files
"""

from __future__ import annotations

import argparse
import json
import time


def main() -> None:
    from audiolrp import models
    from audiolrp.evaluation.refinement import (
        REFINEMENT_SCENES,
        REFINEMENT_SEED,
        choose_model_refinement,
    )
    from audiolrp.io import write_json

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=",".join(models.list_models()))
    ap.add_argument("--n", type=int, default=REFINEMENT_SCENES, help="validation scenes per model")
    ap.add_argument("--seed", type=int, default=REFINEMENT_SEED)
    ap.add_argument("--write", action="store_true", help="store the choice in the model JSON")
    args = ap.parse_args()
    for name in [m for m in args.models.split(",") if m]:
        t0 = time.perf_counter()
        lm = models.load(name)
        choice = choose_model_refinement(lm, args.n, args.seed)
        print(f"{name}: {args.n} validation scenes (order {choice.order}, seed {args.seed}), "
              f"{time.perf_counter() - t0:.0f} s")
        win = choice.winner_row
        for r in choice.rows:
            mark = " <- chosen" if r is win else ""
            print(f"  {int(r.get('views', 1))} view(s), radius {r['radius_deg']:4.0f} deg, "
                  f"power {r['power']:.1f}: median "
                  f"{r['median_error_deg']:6.2f}, mean {r['mean_error_deg']:6.2f} deg{mark}")
        if args.write:
            command = (f"python benchmarks/choose_refinement.py --n {args.n} --seed "
                       f"{args.seed} --models {name} --write")
            config = json.loads(lm.path.read_text(encoding="utf-8"))
            config["direction_refinement"] = choice.config_entry(command)
            write_json(lm.path, config)
            print(f"  wrote direction_refinement to {lm.path.name}")


if __name__ == "__main__":
    main()
