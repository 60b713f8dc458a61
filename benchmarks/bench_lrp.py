"""Benchmark of audiolrp.lrp.explain on the full-size order-2 HOA CRNN (CPU).

Prints, measured in one run:

* explain() time / plain input-gradient time (forward + backward, fused nn.LSTM) on the same
  batch (goal <= 1.5),
* examples per second of explain(),
* speed-up over the float64 per-example loop reference (``tests/lrp/lrp_reference.py``), timed on
  a few examples and extrapolated to the batch (goal >= 100x),
* conservation error of the paper preset on the batch.

Usage: ``.venv/bin/python benchmarks/bench_lrp.py [--batch 32] [--repeats 3] [--ref-examples 1]``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from audiolrp.lrp import explain
from audiolrp.models import CRNN

# The float64 loop reference is a test oracle, kept with the tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "lrp"))
import lrp_reference as ref  # noqa: E402


def _best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--ref-examples", type=int, default=1, help="0 skips the reference")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = CRNN(18).eval()  # order-2 HOA: 2 * 9 channels
    x = torch.randn(args.batch, 18, 50, 512, generator=torch.Generator().manual_seed(1))

    def grad_once() -> None:
        xg = x.clone().requires_grad_()
        out = model(xg)
        torch.autograd.grad(out[:, :, 0].sum(), xg)

    def lrp_once() -> None:
        explain(model, x, target=0)

    grad_once()
    lrp_once()  # warm-up
    t_grad = _best(grad_once, args.repeats)
    t_lrp = _best(lrp_once, args.repeats)
    e = explain(model, x)
    err = (e.conservation_error().abs() / e.start_relevance.abs()).max().item()

    t_ref = float("nan")
    if args.ref_examples > 0:
        model64 = CRNN(18).double().eval()
        model64.load_state_dict(model.state_dict())
        x64 = x.double()
        t0 = time.perf_counter()
        for b in range(args.ref_examples):
            ref.crnn_lrp(model64, x64[b].numpy(), 0)
        t_ref = (time.perf_counter() - t0) / args.ref_examples * args.batch

    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, batch {args.batch}, "
          f"input {tuple(x.shape)}, best of {args.repeats}")
    print(f"plain input gradient (fwd+bwd): {t_grad:8.3f} s")
    print(f"explain(paper preset)         : {t_lrp:8.3f} s")
    print(f"ratio explain / gradient      : {t_lrp / t_grad:8.2f}   (goal <= 1.5)")
    print(f"examples per second (explain) : {args.batch / t_lrp:8.1f}")
    print(f"float64 loop reference        : {t_ref:8.1f} s for the batch "
          f"(extrapolated from {args.ref_examples} example(s))")
    print(f"speed-up over the reference   : {t_ref / t_lrp:8.0f}x  (goal >= 100x)")
    print(f"max relative conservation error (float32, incl. dropped): {err:.2e}; "
          f"dead alpha1beta0 units per example: {e.n_no_positive_units.float().mean():.1f}")
    share = (e.initial_state_relevance / e.start_relevance).abs().mean().item()
    print(f"mean |initial-state relevance| / start relevance: {share:.3f}")


if __name__ == "__main__":
    main()
