"""Benchmark: pixel flipping (Fig. 4) with the full-size intensity CRNN on CPU.

Target: 20 steps x 1000 examples of ``CRNN(6)`` (21 forward passes per example incl. the
unperturbed input) in <= 10 minutes. The CPU is shared, so we time ``--n-examples`` examples
(default 100), print the measured rate (wall clock and process CPU time, which is less
sensitive to other processes) and extrapolate to 1000 examples.

Compared in the same run, interleaved chunk by chunk so that load changes hit all variants:

* ``fast``  -- :func:`~audiolrp.analysis.pixel_flipping.pixel_flipping` (batched, exact CRNN
  reformulation :func:`~audiolrp.analysis.pixel_flipping.fast_inference_model`);
* ``plain`` -- the same with ``fast=False`` (batched, plain model);
* ``naive`` -- one perturbed input per forward pass with the plain model (a few examples).

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


class Timer:
    def __init__(self) -> None:
        self.wall_s = 0.0
        self.cpu_s = 0.0
        self.inputs = 0

    def run(self, n_inputs, fn, *args, **kwargs):
        w0, c0 = time.perf_counter(), time.process_time()
        out = fn(*args, **kwargs)
        self.wall_s += time.perf_counter() - w0
        self.cpu_s += time.process_time() - c0
        self.inputs += n_inputs
        return out

    def line(self, name: str) -> str:
        return (f"{name:6s}: {self.inputs:5d} inputs, {self.inputs / self.wall_s:6.1f} inputs/s "
                f"wall, {1000 * self.cpu_s / self.inputs:6.1f} ms CPU per input")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-examples", type=int, default=100)
    ap.add_argument("--chunk", type=int, default=10, help="examples per interleaved chunk")
    ap.add_argument("--plain-every", type=int, default=3, help="plain run every k-th chunk")
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
    s1 = args.steps + 1
    fast_t, plain_t, naive_t = Timer(), Timer(), Timer()
    kw = dict(n_steps=args.steps, batch_size=args.batch_size, baseline="zero-raw")
    for ci, i0 in enumerate(range(0, n, args.chunk)):
        sl = slice(i0, min(n, i0 + args.chunk))
        m = sl.stop - sl.start
        res = fast_t.run(m * s1, pixel_flipping, model, x[sl], rel[sl], labels[sl], **kw)
        if ci % args.plain_every == 0:
            plain = plain_t.run(m * s1, pixel_flipping, model, x[sl], rel[sl], labels[sl],
                                fast=False, **kw)
            np.testing.assert_allclose(plain.scores, res.scores, rtol=1e-4, atol=1e-7)
            one = slice(sl.start, sl.start + 1)
            ref = naive_t.run(s1, naive, model, x[one], rel[one], labels[one], args.steps)
            np.testing.assert_allclose(ref, res.scores[:1], rtol=1e-4, atol=1e-7)
    print(f"CRNN(6) full size, threads={torch.get_num_threads()}, batch_size={args.batch_size}, "
          f"{args.steps} steps ({s1} inputs per example); scores of all variants agree")
    for name, t in (("fast", fast_t), ("plain", plain_t), ("naive", naive_t)):
        print(t.line(name))
    total = 1000 * s1
    est_wall = total / (fast_t.inputs / fast_t.wall_s)
    est_cpu = total * fast_t.cpu_s / fast_t.inputs / args.threads
    print(f"extrapolated 1000 examples: {est_wall / 60:.1f} min at the measured wall rate; "
          f"{est_cpu / 60:.1f} min on {args.threads} idle cores (CPU time / threads)")
    print(f"goal <= 10 min: {'met' if min(est_wall, est_cpu) <= 600 else 'NOT met'}"
          f"{' (only on an idle machine)' if est_wall > 600 >= est_cpu else ''}")

    def ratio(a: Timer, b: Timer) -> str:
        return (f"{(a.inputs / a.wall_s) / (b.inputs / b.wall_s):.2f}x wall, "
                f"{(b.cpu_s / b.inputs) / (a.cpu_s / a.inputs):.2f}x CPU")

    print(f"speed-up of batching (plain vs naive):       {ratio(plain_t, naive_t)}")
    print(f"speed-up of the CRNN rewrite (fast vs plain): {ratio(fast_t, plain_t)}")
    print(f"total speed-up (fast vs naive):              {ratio(fast_t, naive_t)}")


if __name__ == "__main__":
    main()
