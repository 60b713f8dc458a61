"""Gradient and perturbation attributions through Captum: integrated gradients, SmoothGrad,
occlusion of time-frequency patches.

Every method explains the same scalar per example as :func:`audiolrp.lrp.explain` does with
``method="gradient"``: ``f_b(x) = sum_{t, c} sel[b, t, c] * y[b, t, c]`` with ``y`` the model's
pre-softmax scores (or per-frame softmax probabilities) and ``sel`` the one-hot target class at
the chosen frames (:func:`selected_output`). The target and frames are fixed from the clean
input; perturbed inputs do not change them. LRP is not here (``core.py`` owns it).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from captum.attr import IntegratedGradients, Occlusion, Saliency
from torch import nn

from audiolrp.errors import AudioLRPError
from audiolrp.models import InputNormalization

ATTRIBUTION_METHODS = ("integrated_gradients", "smoothgrad", "occlusion")


@dataclass(frozen=True)
class AttributionOptions:
    """Checked keyword arguments of the Captum-based methods (see :func:`check_options`), the
    options of the same names of :func:`audiolrp.lrp.explain`.

    Attributes
    ----------
    n_steps
        Integrated gradients: Gauss-Legendre steps along the straight path from ``baseline``
        to ``x`` (``n_steps`` forward + backward passes per example).
    baseline
        Integrated gradients and occlusion: reference input, a number or a tensor
        broadcastable to ``x``. Default: zero of the *normalised* input, i.e. the per-channel
        mean of the model's :class:`~audiolrp.models.InputNormalization` (the training set's
        mean feature; plain zeros for a model without one).
    n_samples, noise_std, seed
        SmoothGrad: mean input gradient over ``n_samples`` copies ``x + noise``, the noise
        Gaussian with std ``noise_std`` x the std of each example's channel, drawn from a
        ``torch.Generator`` seeded with ``seed`` (same seed, same attributions).
    patch, stride
        Occlusion: ``(frames, bins)`` of the time-frequency patch (all channels at once),
        replaced by the baseline; ``stride`` default: the patch (no overlap). Overlapping
        windows are averaged (Captum's convention).
    chunk_size
        Captum methods: model evaluations (examples) per forward pass; bounds the memory.
    """

    n_steps: int
    baseline: float | torch.Tensor | None
    n_samples: int
    noise_std: float
    seed: int
    patch: tuple[int, int]
    stride: tuple[int, int] | None
    chunk_size: int


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise AudioLRPError(f"{name}={value!r} must be a positive integer; pass e.g. {name}=8")
    return value


def _pair(name: str, value: object) -> tuple[int, int]:
    items = list(value) if isinstance(value, (tuple, list)) else []
    if len(items) != 2 or not all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in items
    ):
        raise AudioLRPError(
            f"{name}={value!r} must be two positive integers (frames, bins); pass e.g. "
            f"{name}=(5, 32)"
        )
    return int(items[0]), int(items[1])


def check_options(
    method: str,
    x: torch.Tensor,
    n_steps: object,
    baseline: object,
    n_samples: object,
    noise_std: object,
    seed: object,
    patch: object,
    stride: object,
    chunk_size: object,
) -> AttributionOptions:
    """Validate the options of ``method`` against the input ``x`` (one-line AudioLRPError)."""
    steps = _positive_int("n_steps", n_steps)
    samples = _positive_int("n_samples", n_samples)
    chunk = _positive_int("chunk_size", chunk_size)
    if (
        isinstance(noise_std, bool)
        or not isinstance(noise_std, (int, float))
        or not math.isfinite(noise_std)
        or noise_std < 0
    ):
        raise AudioLRPError(
            f"noise_std={noise_std!r} must be a finite number >= 0 (a fraction of the input's "
            "std); pass e.g. noise_std=0.15"
        )
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise AudioLRPError(f"seed={seed!r} must be an integer >= 0; pass e.g. seed=0")
    if baseline is not None:
        if isinstance(baseline, bool) or not isinstance(baseline, (int, float, torch.Tensor)):
            raise AudioLRPError(
                f"baseline is a {type(baseline).__name__}; pass None, a number or a tensor "
                "broadcastable to x"
            )
        b = torch.as_tensor(baseline, dtype=x.dtype, device=x.device)
        try:
            fits = torch.broadcast_shapes(b.shape, x.shape) == x.shape
        except RuntimeError:
            fits = False
        if not fits:
            raise AudioLRPError(
                f"baseline of shape {tuple(b.shape)} does not broadcast to x's shape "
                f"{tuple(x.shape)}; pass a number or a tensor of x's shape"
            )
        if not bool(torch.isfinite(b).all()):
            raise AudioLRPError("baseline contains NaN or infinite values; pass finite values")
        baseline = baseline if isinstance(baseline, torch.Tensor) else float(baseline)
    pt, pf = _pair("patch", patch)
    st = None if stride is None else _pair("stride", stride)
    if method == "occlusion":
        if x.dim() < 3:
            raise AudioLRPError(
                f"occlusion needs inputs (batch, ..., frames, bins), got shape {tuple(x.shape)}"
            )
        n_t, n_f = x.shape[-2], x.shape[-1]
        if pt > n_t or pf > n_f:
            raise AudioLRPError(
                f"patch={(pt, pf)} is larger than the input's ({n_t}, {n_f}) frames x bins; "
                "pass a smaller patch"
            )
        if st is not None and ((st[0] > pt and pt < n_t) or (st[1] > pf and pf < n_f)):
            raise AudioLRPError(
                f"stride={st} is larger than patch={(pt, pf)}, which would skip bins; pass a "
                "stride <= patch"
            )
    opts = (steps, baseline, samples, float(noise_std), seed, (pt, pf), st, chunk)
    return AttributionOptions(*opts)


def default_baseline(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The input whose normalised value is zero: the per-channel mean of the model's
    :class:`~audiolrp.models.InputNormalization` (the training set's mean feature), broadcast
    to ``x``'s shape; all zeros for models without one (or with other channel counts)."""
    norm = next((m for m in model.modules() if isinstance(m, InputNormalization)), None)
    if norm is None or x.dim() < 2 or norm.mean.numel() != x.shape[1]:
        return torch.zeros_like(x)
    shape = (1, -1) + (1,) * (x.dim() - 2)
    return norm.mean.view(shape).to(dtype=x.dtype, device=x.device).expand_as(x).contiguous()


def selected_output(model: nn.Module, probability: bool) -> Callable[..., torch.Tensor]:
    """Forward function ``(x, sel) -> (N,)``: the explained scalar of each example.

    ``sel`` is the ``(N, T, C)`` selection (the target class at the chosen frames, from
    ``explain``); ``y`` the scores, or the per-frame softmax with ``probability=True``.
    """

    def forward(x: torch.Tensor, sel: torch.Tensor) -> torch.Tensor:
        out = model(x)
        out3 = out if out.dim() == 3 else out.unsqueeze(1)
        y = out3.softmax(-1) if probability else out3
        return (y * sel).sum(dim=(1, 2))

    return forward


def attribute(
    method: str,
    model: nn.Module,
    x: torch.Tensor,
    sel: torch.Tensor,
    probability: bool,
    opts: AttributionOptions,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(attributions like x, (B,) start value)`` of one Captum-based method.

    The start value is ``f(x) - f(baseline)`` for integrated gradients (what the attributions
    sum to, up to the integration error) and ``f(x)`` for SmoothGrad and occlusion.
    """
    f = selected_output(model, probability)
    x = x.detach()
    bsz = x.shape[0]
    if opts.baseline is None:
        base = default_baseline(model, x)
    else:
        base = torch.as_tensor(opts.baseline, dtype=x.dtype, device=x.device).expand_as(x)
        base = base.contiguous()
    with torch.no_grad():
        fx = f(x, sel)
    if method == "integrated_gradients":
        ig = IntegratedGradients(f)
        rel = ig.attribute(
            x.clone().requires_grad_(),
            baselines=base,
            additional_forward_args=(sel,),
            n_steps=opts.n_steps,
            internal_batch_size=max(opts.chunk_size, 2 * bsz),
        )
        with torch.no_grad():
            start = fx - f(base, sel)
    elif method == "smoothgrad":
        rel = _smoothgrad(f, x, sel, opts)
        start = fx
    elif method == "occlusion":
        rel = _occlusion(f, x, sel, base, opts)
        start = fx
    else:  # pragma: no cover - explain() checks the method first
        raise AudioLRPError(f"method={method!r} is not a Captum-based method")
    return rel.detach(), start.detach()


def noise_scale(x: torch.Tensor, noise_std: float) -> torch.Tensor:
    """SmoothGrad's noise standard deviation: ``noise_std`` x the std of each example's values
    in each channel (shape ``(B, C, 1, ...)``; per example for ``(B, F)`` inputs)."""
    dims = tuple(range(2, x.dim())) if x.dim() >= 3 else (1,)
    return noise_std * x.std(dim=dims, keepdim=True, unbiased=False)


def _smoothgrad(
    f: Callable[..., torch.Tensor], x: torch.Tensor, sel: torch.Tensor, opts: AttributionOptions
) -> torch.Tensor:
    """Mean input gradient over ``n_samples`` noisy copies ``x + sigma * eps_i``, ``eps_i``
    drawn in sample order from a generator seeded with ``seed`` (independent of chunking)."""
    gen = torch.Generator(device=x.device).manual_seed(opts.seed)
    sigma = noise_scale(x, opts.noise_std)
    saliency = Saliency(f)
    per_pass = max(opts.chunk_size // x.shape[0], 1)
    total = torch.zeros_like(x)
    done = 0
    while done < opts.n_samples:
        m = min(per_pass, opts.n_samples - done)
        noise = torch.stack(
            [torch.randn(x.shape, generator=gen, dtype=x.dtype, device=x.device) for _ in range(m)]
        )
        xn = (x.unsqueeze(0) + sigma * noise).reshape(m * x.shape[0], *x.shape[1:])
        g = saliency.attribute(
            xn.requires_grad_(), abs=False, additional_forward_args=(sel.repeat(m, 1, 1),)
        )
        total += g.detach().view(m, *x.shape).sum(0)
        done += m
    return total / opts.n_samples


def _occlusion(
    f: Callable[..., torch.Tensor],
    x: torch.Tensor,
    sel: torch.Tensor,
    base: torch.Tensor,
    opts: AttributionOptions,
) -> torch.Tensor:
    """Captum's occlusion: every window of ``patch`` (frames, bins) over all channels, shifted
    by ``stride`` (the last one cropped at the edge), replaced by the baseline; each input
    value gets the mean of ``f(x) - f(x_occluded)`` over the windows that contain it."""
    pt, pf = opts.patch
    st, sf = opts.stride if opts.stride is not None else opts.patch
    lead = tuple(x.shape[1:-2])
    window = (*lead, pt, pf)
    strides = (*(max(n, 1) for n in lead), st, sf)
    occ = Occlusion(f)
    # Captum divides the summed differences by the window counts after casting them to
    # float32 (feature_ablation.format_result), which rounds float64 attributions: take the
    # sums and divide by the same counts here, in x's dtype.
    occ.use_weights = False
    total = occ.attribute(
        x,
        sliding_window_shapes=window,
        strides=strides,
        baselines=base,
        additional_forward_args=(sel,),
        perturbations_per_eval=max(opts.chunk_size // x.shape[0], 1),
    )
    n_t, n_f = x.shape[-2], x.shape[-1]
    count = _window_count(n_t, pt, st, x)[:, None] * _window_count(n_f, pf, sf, x)[None, :]
    return total / count


def _window_count(n: int, width: int, stride: int, like: torch.Tensor) -> torch.Tensor:
    """``(n,)``: how many of Captum's windows (starts ``k * stride``,
    ``k = 0 .. ceil((n - width) / stride)``, cropped at the edge) cover each index."""
    count = torch.zeros(n, dtype=like.dtype, device=like.device)
    for k in range(math.ceil((n - width) / stride) + 1):
        count[k * stride : k * stride + width] += 1
    return count


__all__ = [
    "ATTRIBUTION_METHODS",
    "AttributionOptions",
    "attribute",
    "check_options",
    "default_baseline",
    "noise_scale",
    "selected_output",
]
