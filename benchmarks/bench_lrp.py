"""Benchmark of audiolrp.lrp.explain on the full-size CRNN (CPU): cost relative to a gradient.

Prints, measured in one run:

* explain(paper preset) time / plain input-gradient time (forward + backward through the fused
  nn.LSTM) on the same batch (goal <= 1.25), against two gradients: the **default** one (the
  model as it is, NCHW) and the **fastest** plain input gradient we could build on the same
  model, dtype, threads and batch (``--gradient``, :func:`fast_gradient_model`): BatchNorm
  folded into the convolutions, max-pooling before the (strictly increasing) ELU, channels-last
  convolutions (oneDNN), parameters without gradients, the fused nn.LSTM (oneDNN's RNN kernels
  on CPU), optionally in micro-batches of ``--micro-batch`` examples (cache-sized
  full-resolution tensors) and with ``torch.compile`` (``--compile``, where it works); the
  conversion of the (contiguous) batch to channels-last is timed with it, as explain()'s. Every
  gradient variant and explain() are timed in interleaved repetitions (variant 1, variant 2,
  ..., explain, variant 1, ...) so that a changing machine load (other jobs on the cores)
  affects all alike; "fastest" is the variant with the lowest median; a ratio is reported as
  the median of the per-repetition ratios, as the ratio of the best times and in process CPU
  time (which other jobs disturb least);
* the same ratio for the other LRP presets (``--presets``);
* examples per second of explain(),
* speed-up over the float64 per-example loop reference (``tests/lrp/lrp_reference.py``), timed on
  a few examples and extrapolated to the batch (goal >= 100x),
* conservation error of the paper preset on the batch.

The model is the intensity CRNN (6 input channels) by default; ``--n-in 18`` gives the order-2
HOA model, ``--arch conformer`` the conformer DOA model (CRNN front end, two conformer blocks of
width 64; explained with the ``attn_lrp`` preset; no loop reference).

Usage: ``.venv/bin/python benchmarks/bench_lrp.py [--n-in 6] [--batch 32] [--repeats 5]
[--threads 0] [--arch crnn] [--presets paper,epsilon_plus_flat] [--ref-examples 1]
[--gradient fastest]
[--micro-batch 4] [--compile] [--profile]``
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from audiolrp.lrp import explain
from audiolrp.lrp.canonizers import find_activation_pool_pairs, merge_batchnorm
from audiolrp.models import CRNN
from audiolrp.models.conformer import ConformerDOA

# The float64 loop reference is a test oracle, kept with the tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "lrp"))
import lrp_reference as ref  # noqa: E402


def _time(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall-clock, process CPU) seconds of one call."""
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def fast_gradient_model(model: nn.Module) -> nn.Module:
    """A copy of ``model`` computing the same function with the fastest plain gradient we found
    on this CPU: BatchNorm folded into the preceding convolution (the BatchNorm made the
    identity), each strictly increasing activation moved after the max-pooling that follows it
    (same values and winners, the activation on 8x fewer values), channels-last memory layout,
    no parameter gradients. The input gradient equals the model's up to float32 rounding (and
    pooling winners that rounding makes tie)."""
    fast = copy.deepcopy(model).eval()
    with merge_batchnorm(fast) as pairs:
        folded = copy.deepcopy(fast)  # the folded weights, kept after the context restores
    bns = {name for name, m in fast.named_modules() if m in set(pairs.values())}
    for name in bns:
        parent, _, child = name.rpartition(".")
        setattr(folded.get_submodule(parent), child, nn.Identity())
    for act, pool in find_activation_pool_pairs(folded).items():
        for seq in folded.modules():
            kids = list(seq.children()) if isinstance(seq, nn.Sequential) else []
            i = next((j for j, m in enumerate(kids[:-1]) if m is act and kids[j + 1] is pool), -1)
            if i >= 0:
                seq[i], seq[i + 1] = pool, act
    for p in folded.parameters():
        p.requires_grad_(False)
    return folded.to(memory_format=torch.channels_last)


def _gradient(
    model: nn.Module, x: torch.Tensor, micro_batch: int = 0, channels_last: bool = False
) -> Callable[[], torch.Tensor]:
    """Input gradient of the score of class 0 summed over frames (what explain(target=0)
    starts from), in micro-batches of ``micro_batch`` examples (0: all at once); with
    ``channels_last`` the (contiguous) batch is converted inside the timed call, as explain()
    converts it."""
    step = micro_batch or x.shape[0]

    def run() -> torch.Tensor:
        parts = []
        xc = x.contiguous(memory_format=torch.channels_last) if channels_last else x
        for i in range(0, x.shape[0], step):
            xg = xc[i : i + step].detach().requires_grad_()
            out = model(xg)
            parts.append(torch.autograd.grad(out[:, :, 0].sum(), xg)[0])
        return torch.cat(parts) if len(parts) > 1 else parts[0]

    return run


def gradient_variants(
    model: nn.Module, x: torch.Tensor, micro_batch: int, compile_: bool
) -> dict[str, Callable[[], torch.Tensor]]:
    """The plain input gradients timed: ``default`` (the model as it is) and the candidates for
    the fastest (:func:`fast_gradient_model`, channels-last input)."""
    plain_cl = copy.deepcopy(model).to(memory_format=torch.channels_last)
    for p in plain_cl.parameters():
        p.requires_grad_(False)
    fast = fast_gradient_model(model)
    variants = {
        "default": _gradient(model, x),
        "channels-last": _gradient(plain_cl, x, channels_last=True),
        "folded+pool-first+channels-last": _gradient(fast, x, channels_last=True),
    }
    if micro_batch:
        variants[f"same, micro-batches of {micro_batch}"] = _gradient(
            fast, x, micro_batch, channels_last=True
        )
    if compile_:
        try:
            compiled = torch.compile(fast)
            _gradient(compiled, x, channels_last=True)()
            variants["same, torch.compile"] = _gradient(compiled, x, channels_last=True)
        except Exception as exc:  # noqa: BLE001 - report and go on without it
            print(f"torch.compile unavailable here: {type(exc).__name__}: {exc}"[:300])
    return variants


def _ratio_line(label: str, num: list[float], den: list[float]) -> str:
    ratios = [a / b for a, b in zip(num, den, strict=True)]
    return (f"{label}: median {statistics.median(ratios):5.2f}, "
            f"of best times {min(num) / min(den):5.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-in", type=int, default=6, help="input channels (6 intensity, 18 HOA2)")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--arch", choices=("crnn", "conformer"), default="crnn",
                    help="the CRNN or the conformer DOA model (its front end, 2 blocks of 64)")
    ap.add_argument("--presets", default=None,
                    help="comma-separated LRP presets to time (default: paper for the CRNN, "
                         "attn_lrp for the conformer)")
    ap.add_argument("--ref-examples", type=int, default=1, help="0 skips the reference")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    ap.add_argument("--profile", action="store_true", help="print a torch.profiler table")
    ap.add_argument("--gradient", choices=("fastest", "default"), default="fastest",
                    help="the gradient of the headline ratio (both are printed)")
    ap.add_argument("--micro-batch", type=int, default=4,
                    help="also time the fast gradient in micro-batches of this size (0: no)")
    ap.add_argument("--compile", action="store_true", help="also time a torch.compile'd one")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    arch: type[nn.Module] = CRNN if args.arch == "crnn" else ConformerDOA
    model = arch(args.n_in).eval()
    x = torch.randn(args.batch, args.n_in, 50, 512, generator=torch.Generator().manual_seed(1))
    default = "paper" if args.arch == "crnn" else "attn_lrp"
    presets = [p for p in (args.presets or default).split(",") if p]

    variants = gradient_variants(model, x, args.micro_batch, args.compile)
    grad_once = variants["default"]

    def lrp_once(preset: str) -> Callable[[], None]:
        return lambda: explain(model, x, target=0, composite=preset) and None

    ref_grad = grad_once()
    for name, fn in variants.items():  # warm-up, and agreement with the default gradient
        g = fn()
        close = (g - ref_grad).abs() <= 1e-3 * ref_grad.abs().max()
        print(f"gradient {name}: {float(close.double().mean()):.6f} of entries agree with the "
              "default (the rest: pooling winners that float32 rounding ties differently)")
    for p in presets:
        lrp_once(p)()
    t_grad: dict[str, list[float]] = {k: [] for k in variants}
    c_grad: dict[str, list[float]] = {k: [] for k in variants}
    t_lrp: dict[str, list[float]] = {p: [] for p in presets}
    c_lrp: dict[str, list[float]] = {p: [] for p in presets}
    for _ in range(args.repeats):
        for k, fn in variants.items():
            wall, cpu = _time(fn)
            t_grad[k].append(wall)
            c_grad[k].append(cpu)
        for p in presets:
            wall, cpu = _time(lrp_once(p))
            t_lrp[p].append(wall)
            c_lrp[p].append(cpu)
    fastest = min(variants, key=lambda k: statistics.median(t_grad[k]))

    e = explain(model, x, composite=presets[0] if presets else default)
    err = (e.conservation_error().abs() / e.start_relevance.abs()).max().item()

    t_ref = float("nan")
    if args.ref_examples > 0 and args.arch == "crnn":
        model64 = CRNN(args.n_in).double().eval()
        model64.load_state_dict(model.state_dict())
        x64 = x.double()
        t0 = time.perf_counter()
        for b in range(args.ref_examples):
            ref.crnn_lrp(model64, x64[b].numpy(), 0)
        t_ref = (time.perf_counter() - t0) / args.ref_examples * args.batch

    load = os.getloadavg()
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, batch {args.batch}, "
          f"input {tuple(x.shape)}, {args.repeats} interleaved repetitions, load average "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    for k in variants:
        mark = "   <- fastest" if k == fastest else ""
        print(f"gradient {k:34s}: best {min(t_grad[k]):7.3f} s, median "
              f"{statistics.median(t_grad[k]):7.3f} s, CPU median "
              f"{statistics.median(c_grad[k]):7.3f} s{mark}")
    print(_ratio_line("fastest / default gradient", t_grad[fastest], t_grad["default"]))
    headline = fastest if args.gradient == "fastest" else "default"
    for p in presets:
        goal = "   (goal <= 1.25)" if p == default else ""
        print(f"explain({p}): best {min(t_lrp[p]):7.3f} s, median "
              f"{statistics.median(t_lrp[p]):7.3f} s")
        for k in dict.fromkeys(("default", fastest)):  # both ratios; the goal on --gradient's
            print("  " + _ratio_line(f"explain / {k} gradient", t_lrp[p], t_grad[k])
                  + "; " + _ratio_line("in process CPU time", c_lrp[p], c_grad[k])
                  + (goal if k == headline else ""))
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

        runs = (("gradient " + fastest, variants[fastest]),
                (f"explain({default})", lrp_once(default)))
        for name, fn in runs:
            with profile(activities=[ProfilerActivity.CPU]) as prof:
                fn()
            print(f"\n--- profile: {name}")
            print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=18))


if __name__ == "__main__":
    main()
