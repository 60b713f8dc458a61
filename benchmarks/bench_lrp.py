"""Benchmark of audiolrp.lrp.explain on the full-size CRNN (CPU): cost relative to a gradient.

Prints, measured in one run:

* explain(paper preset) time / plain input-gradient time (forward + backward through the fused
  nn.LSTM) on the same batch (goal <= 1.25; the floor is about one forward and one backward
  pass). The two are timed in interleaved repetitions (gradient, explain, gradient, ...) so
  that a changing machine load (other jobs on the cores) affects both alike; the ratio is
  reported as the median of the per-repetition ratios and as the ratio of the best times;
* the same ratio for the other LRP presets (``--presets``);
* examples per second of explain(),
* speed-up over the float64 per-example loop reference (``tests/lrp/lrp_reference.py``), timed on
  a few examples and extrapolated to the batch (goal >= 100x),
* conservation error of the paper preset on the batch.

The model is the intensity CRNN (6 input channels) by default; ``--n-in 18`` gives the order-2
HOA model.

Usage: ``.venv/bin/python benchmarks/bench_lrp.py [--n-in 6] [--batch 32] [--repeats 5]
[--threads 0] [--presets paper,epsilon_plus_flat] [--ref-examples 1] [--profile]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

from audiolrp.lrp import explain
from audiolrp.models import CRNN

# The float64 loop reference is a test oracle, kept with the tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "lrp"))
import lrp_reference as ref  # noqa: E402


def _time(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall-clock, process CPU) seconds of one call."""
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-in", type=int, default=6, help="input channels (6 intensity, 18 HOA2)")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--presets", default="paper", help="comma-separated LRP presets to time")
    ap.add_argument("--ref-examples", type=int, default=1, help="0 skips the reference")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    ap.add_argument("--profile", action="store_true", help="print a torch.profiler table")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = CRNN(args.n_in).eval()
    x = torch.randn(args.batch, args.n_in, 50, 512, generator=torch.Generator().manual_seed(1))
    presets = [p for p in args.presets.split(",") if p]

    def grad_once() -> None:
        xg = x.clone().requires_grad_()
        out = model(xg)
        torch.autograd.grad(out[:, :, 0].sum(), xg)

    def lrp_once(preset: str) -> Callable[[], None]:
        return lambda: explain(model, x, target=0, composite=preset) and None

    grad_once()  # warm-up
    for p in presets:
        lrp_once(p)()
    t_grad: list[float] = []
    t_lrp: dict[str, list[float]] = {p: [] for p in presets}
    c_grad: list[float] = []
    c_lrp: dict[str, list[float]] = {p: [] for p in presets}
    for _ in range(args.repeats):
        wall, cpu = _time(grad_once)
        t_grad.append(wall)
        c_grad.append(cpu)
        for p in presets:
            wall, cpu = _time(lrp_once(p))
            t_lrp[p].append(wall)
            c_lrp[p].append(cpu)

    e = explain(model, x)
    err = (e.conservation_error().abs() / e.start_relevance.abs()).max().item()

    t_ref = float("nan")
    if args.ref_examples > 0:
        model64 = CRNN(args.n_in).double().eval()
        model64.load_state_dict(model.state_dict())
        x64 = x.double()
        t0 = time.perf_counter()
        for b in range(args.ref_examples):
            ref.crnn_lrp(model64, x64[b].numpy(), 0)
        t_ref = (time.perf_counter() - t0) / args.ref_examples * args.batch

    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, batch {args.batch}, "
          f"input {tuple(x.shape)}, {args.repeats} interleaved repetitions")
    print(f"plain input gradient (fwd+bwd): best {min(t_grad):7.3f} s, "
          f"median {statistics.median(t_grad):7.3f} s")
    for p in presets:
        ratios = [a / b for a, b in zip(t_lrp[p], t_grad, strict=True)]
        goal = "   (goal <= 1.25)" if p == "paper" else ""
        c_ratios = [a / b for a, b in zip(c_lrp[p], c_grad, strict=True)]
        print(f"explain({p}): best {min(t_lrp[p]):7.3f} s, median "
              f"{statistics.median(t_lrp[p]):7.3f} s; ratio explain / gradient: median "
              f"{statistics.median(ratios):5.2f}, of best times {min(t_lrp[p]) / min(t_grad):5.2f}"
              f"; in process CPU time: median {statistics.median(c_ratios):5.2f}{goal}")
    t_best = min(t_lrp[presets[0]]) if presets else float("nan")
    print(f"examples per second (explain {presets[0] if presets else '-'}): "
          f"{args.batch / t_best:8.1f}")
    print(f"float64 loop reference        : {t_ref:8.1f} s for the batch "
          f"(extrapolated from {args.ref_examples} example(s))")
    print(f"speed-up over the reference   : {t_ref / t_best:8.0f}x  (goal >= 100x)")
    print(f"max relative conservation error (float32, incl. dropped): {err:.2e}; "
          f"dead alpha1beta0 units per example: {e.n_no_positive_units.float().mean():.1f}")
    share = (e.initial_state_relevance / e.start_relevance).abs().mean().item()
    print(f"mean |initial-state relevance| / start relevance: {share:.3f}")
    if args.profile:
        from torch.profiler import ProfilerActivity, profile

        for name, fn in (("gradient", grad_once), ("explain(paper)", lrp_once("paper"))):
            with profile(activities=[ProfilerActivity.CPU]) as prof:
                fn()
            print(f"\n--- profile: {name}")
            print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=18))


if __name__ == "__main__":
    main()
