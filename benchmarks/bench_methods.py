"""Benchmark: `audiolrp analyze methods` -- time per example of every attribution method on the
shipped intensity CRNN, extrapolated to the issue's goal.

Goal (issue 12): all methods on 1000 intensity examples with 20 flipping steps in <= 10 min on
the 2-core machine. For each method this times, on ``--n-examples`` simulated test scenes
(default 8) and in one run:

* ``explain``: the method's relevance (:func:`audiolrp.analysis.method_comparison.attribute`,
  as the command runs it: Captum methods on the fast inference model);
* ``flip``: pixel flipping most-relevant-first and least-relevant-first
  (:func:`audiolrp.analysis.pixel_flipping.pixel_flipping`, ``--steps`` steps each);

wall clock and process CPU time (less sensitive to other processes) per example, then the
extrapolation ``1000 x (explain + flip)`` summed over methods, its ratio to the 600 s goal, and
the cost of the randomisation cascade (every method once per cascade step on
``--sanity-examples`` examples). The load average is printed: on a shared machine the numbers
are upper bounds.

Run: ``.venv/bin/python benchmarks/bench_methods.py [--n-examples 8] [--steps 20] [--threads 2]
[--methods all]``
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

GOAL_S = 600.0
GOAL_EXAMPLES = 1000


def main() -> None:
    from audiolrp.analysis import method_comparison as mc
    from audiolrp.analysis.pixel_flipping import pixel_flipping
    from audiolrp.evaluation import simulated_test_examples
    from audiolrp.models import load as load_model

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="intensity")
    ap.add_argument("--n-examples", type=int, default=8)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--methods", default="all")
    ap.add_argument("--sanity-examples", type=int, default=8)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--batch-size", type=int, default=8)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    specs = mc.method_specs(args.methods)
    lm = load_model(args.model)
    card = dict(lm.config.get("evaluation") or {})
    recipe = card.get("recipe") or lm.data_recipe
    ex = list(simulated_test_examples(lm.feature, lm.order, n_examples=args.n_examples, seed=0,
                                      recipe=recipe))
    x = lm.features(np.stack([e[0] for e in ex]))
    y = np.array([e[1] for e in ex], dtype=np.int64)
    n = len(y)
    model = lm.model.eval()
    layers = mc.randomisation_layers(model)
    load0 = os.getloadavg()
    print(f"model {args.model}, {n} examples, {args.steps} steps, torch threads "
          f"{torch.get_num_threads()}, {os.cpu_count()} CPUs, load average {load0[0]:.2f}")
    mc.attribute(model, x[:1], y[:1], mc.method_specs("gradient")[0])  # warm-up
    rows = []
    for spec in specs:
        w0, c0 = time.perf_counter(), time.process_time()
        rel = mc.attribute(model, x, y, spec, batch_size=args.batch_size)
        w1, c1 = time.perf_counter(), time.process_time()
        for order in ("most_relevant", "least_relevant"):
            pixel_flipping(model, x, rel, y, n_steps=args.steps, order=order)
        w2, c2 = time.perf_counter(), time.process_time()
        rows.append((spec.name, (w1 - w0) / n, (c1 - c0) / n, (w2 - w1) / n, (c2 - c1) / n))
        print(f"  {spec.name:22s} explain {rows[-1][1]:7.3f} s/ex (cpu {rows[-1][2]:7.3f})  "
              f"flip MRF+LRF {rows[-1][3]:6.3f} s/ex (cpu {rows[-1][4]:6.3f})", flush=True)
    load1 = os.getloadavg()
    explain_s = sum(r[1] for r in rows)
    flip_s = sum(r[3] for r in rows)
    per_ex = explain_s + flip_s
    total = GOAL_EXAMPLES * per_ex
    cpu_total = GOAL_EXAMPLES * sum(r[2] + r[4] for r in rows)
    cascade = args.sanity_examples * len(layers) * explain_s
    print(f"all methods: {per_ex:.2f} s/example wall (explain {explain_s:.2f}, flip {flip_s:.2f})")
    print(f"extrapolated to {GOAL_EXAMPLES} examples x {args.steps} steps: {total / 60:.1f} min "
          f"wall ({cpu_total / 60:.1f} min process CPU); goal {GOAL_S / 60:.0f} min -> ratio "
          f"{total / GOAL_S:.2f}")
    slowest = sorted(rows, key=lambda r: -(r[1] + r[3]))[:3]
    print("largest shares: " + ", ".join(
        f"{r[0]} {100 * (r[1] + r[3]) / per_ex:.0f} %" for r in slowest))
    print(f"randomisation cascade ({len(layers)} steps x {args.sanity_examples} examples): "
          f"{cascade / 60:.1f} min more")
    print(f"load average {load0[0]:.2f} -> {load1[0]:.2f} on {os.cpu_count()} CPUs"
          + (" (measured under load: upper bounds)" if max(load0[0], load1[0]) >
             (os.cpu_count() or 1) * 0.5 else ""))


if __name__ == "__main__":
    main()
