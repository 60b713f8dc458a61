"""Benchmark: pixel flipping (Fig. 4) with the full-size intensity CRNN on CPU.

Target: 20 steps x 1000 examples of ``CRNN(6)`` (21 forward passes per example incl. the
unperturbed input) in <= 10 minutes. The CPU is shared, so we time ``--n-examples`` examples
(default 100), print the measured rate and extrapolate to 1000. We also time the naive loop
(one perturbed input per forward pass) on a few examples and print the batching speed-up.

Run: ``.venv/bin/python benchmarks/bench_pixel_flipping.py [--n-examples 100] [--threads 2]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from audiolrp.analysis.pixel_flipping import bin_ranking, n_flipped_bins, pixel_flipping
from audiolrp.models import CRNN, clip_probabilities


def naive(model, x, rel, labels, n_steps):
    """One example, one step at a time (no batching) -- the reference speed."""
    fr = np.linspace(0, 1, n_steps + 1)
    counts = n_flipped_bins(fr, x.shape[2] * x.shape[3])
    out = np.empty((x.shape[0], fr.size))
    with torch.no_grad():
        for i in range(x.shape[0]):
            order = bin_ranking(rel[i])
            for k, cnt in enumerate(counts):
                xp = x[i].copy().reshape(x.shape[1], -1)
                xp[:, order[:cnt]] = 0.0
                s = model(torch.from_numpy(xp.reshape(1, *x.shape[1:])))
                out[i, k] = clip_probabilities(s)[0, labels[i]].item()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-examples", type=int, default=100)
    ap.add_argument("--n-naive", type=int, default=3, help="examples for the naive loop")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = CRNN(6).eval()
    rng = np.random.default_rng(0)
    n = args.n_examples
    x = rng.standard_normal((n, 6, 50, 512)).astype(np.float32)
    rel = rng.standard_normal((n, 6, 50, 512)).astype(np.float32)
    labels = rng.integers(0, 425, n)
    n_inputs = n * (args.steps + 1)

    t0 = time.perf_counter()
    res = pixel_flipping(model, x, rel, labels, n_steps=args.steps, batch_size=args.batch_size,
                         baseline="zero-raw")
    t_batched = time.perf_counter() - t0
    rate = n_inputs / t_batched
    est_1000_s = 1000 * (args.steps + 1) / rate
    print(f"threads={torch.get_num_threads()} batch_size={args.batch_size} steps={args.steps}")
    print(f"batched : {n} examples x {args.steps + 1} inputs in {t_batched:.1f} s "
          f"-> {rate:.1f} inputs/s, {t_batched / n * 1000:.0f} ms/example")
    print(f"extrapolated 1000 examples: {est_1000_s / 60:.1f} min "
          f"(goal <= 10 min: {'OK' if est_1000_s <= 600 else 'NOT MET'})")

    m = min(args.n_naive, n)
    t0 = time.perf_counter()
    ref = naive(model, x[:m], rel[:m], labels[:m], args.steps)
    t_naive = time.perf_counter() - t0
    rate_naive = m * (args.steps + 1) / t_naive
    np.testing.assert_allclose(ref, res.scores[:m], rtol=1e-4, atol=1e-7)
    print(f"naive   : {m} examples one input per forward in {t_naive:.1f} s -> "
          f"{rate_naive:.1f} inputs/s (scores agree with the batched run)")
    print(f"speed-up of batching: {rate / rate_naive:.2f}x")


if __name__ == "__main__":
    main()
