"""Attribution methods side by side: faithfulness and sanity, measured on the same examples.

Every method of :func:`audiolrp.lrp.explain` (LRP presets, gradient, gradient x input,
integrated gradients, SmoothGrad, occlusion) and a seeded random heatmap (the floor) explains
the *true* class of the same examples. Three things are measured per method:

* **Faithfulness: pixel flipping** (Samek et al. 2017; paper, Fig. 4) with the paper's
  perturbation (:func:`audiolrp.analysis.pixel_flipping.pixel_flipping`: time-frequency bins of
  all channels set to the zero of the model's input normalisation, the clip probability of the
  true class tracked), most-relevant-first (MRF) and least-relevant-first (LRF). Per example
  ``AOPC = 1/(L+1) sum_{k=0}^{L} (s_0 - s_k)`` (Samek et al. 2017, Eq. 12; L flipping steps);
  a faithful method has a high MRF AOPC (removing what it calls relevant destroys the
  prediction) and a low, ideally negative, LRF AOPC; their difference ``MRF - LRF`` (the area
  between the two curves) ranks methods on both at once.
* **Uncertainty**: the mean AOPC over examples with a percentile bootstrap interval
  (examples resampled with replacement, ``n_boot`` resamples from ``default_rng(seed)``), and
  *paired* differences between methods: the mean of the per-example AOPC differences with a
  bootstrap interval from the *same* resamples, so a method compared with itself gives exactly
  0 and the example-to-example spread shared by both methods cancels.
* **Sanity: cascading model randomisation** (Adebayo et al. 2018, "Sanity checks for saliency
  maps"). The parameterised layers (:func:`randomisation_layers`) are re-initialised from the
  output down, one more at each step (:func:`randomise_layers`, seeded: layer ``j`` always gets
  the same new weights), and each method's heatmap on the randomised model is compared with
  its heatmap on the trained model: Spearman rank correlation of the absolute relevance (all
  channels, frames and bins) and Pearson correlation of the signed time-frequency heatmap
  (relevance summed over channels). A method whose heatmaps stay similar while the model is
  destroyed explains the input, not the model. The random heatmap does not depend on the model
  at all (similarity 1 at every step): the sanity check's failing reference.
* **Time** per example of each method's explanation (wall clock, batched as run).

The Captum-based methods (integrated gradients, SmoothGrad, occlusion) run on
:func:`~audiolrp.analysis.pixel_flipping.fast_inference_model` of the model (BatchNorm folded,
pooling before the ELU: the same function up to float rounding, 2-3x faster on CPU) when
``fast=True``; LRP and the plain gradients run on the model itself.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import torch
from scipy.stats import rankdata
from torch import nn

from audiolrp.analysis.pixel_flipping import (
    PixelFlippingResult,
    fast_inference_model,
    pixel_flipping,
)
from audiolrp.analysis.statistics import bootstrap_indices
from audiolrp.errors import AudioLRPError
from audiolrp.lrp import explain, explain_batches, parse_method
from audiolrp.lrp.attribution import ATTRIBUTION_METHODS
from audiolrp.lrp.composites import PRESETS
from audiolrp.progress import Progress

#: The comparison's reference method (the paper's rules) and its floor.
REFERENCE = "paper"
FLOOR = "random"

_LABELS = {
    "paper": "LRP paper (z+ conv, eps dense/LSTM)",
    "epsilon_plus": "LRP epsilon-plus",
    "epsilon_plus_flat": "LRP epsilon-plus-flat",
    "epsilon_alpha2_beta1": "LRP eps + alpha2-beta1",
    "epsilon": "LRP epsilon",
    "gradient": "gradient",
    "gradient_x_input": "gradient x input",
    "integrated_gradients": "integrated gradients",
    "smoothgrad": "SmoothGrad",
    "occlusion": "occlusion",
    "random": "random (floor)",
}

#: Every method the comparison knows, in its default order: LRP presets, then the references.
METHODS: tuple[str, ...] = (
    *PRESETS,
    "gradient",
    "gradient_x_input",
    *ATTRIBUTION_METHODS,
    FLOOR,
)

#: Seed stream of the random heatmaps (``default_rng([seed, RANDOM_STREAM, example])``).
RANDOM_STREAM = 7


@dataclass(frozen=True)
class MethodSpec:
    """One attribution method of the comparison.

    Attributes
    ----------
    name
        Its name in tables and JSON (an LRP preset name or an ``explain`` method, or
        ``"random"``).
    method
        ``explain``'s ``method`` (``"lrp"`` for the presets) or ``"random"``.
    composite
        The LRP preset (``"paper"`` for non-LRP methods, where it is unused).
    label
        Human-readable name.
    """

    name: str
    method: str
    composite: str = "paper"
    label: str = ""


def method_specs(names: str | Sequence[str] | None = None) -> list[MethodSpec]:
    """The methods to compare: ``None``/``"all"`` for :data:`METHODS`, or a comma list / sequence
    of names (``-`` and ``_`` are interchangeable: ``epsilon-plus``); duplicates are dropped.

    Raises
    ------
    AudioLRPError
        An unknown name, or no name at all.
    """
    if names is None or (isinstance(names, str) and names.strip().lower() == "all"):
        raw: list[str] = list(METHODS)
    else:
        raw = [str(n) for n in (names.split(",") if isinstance(names, str) else list(names))]
    specs: list[MethodSpec] = []
    bad: list[str] = []
    for n in raw:
        if not n.strip():
            continue
        if n.strip().lower() == FLOOR:
            spec = MethodSpec(FLOOR, FLOOR, "paper", _LABELS[FLOOR])
        else:
            try:
                method, composite = parse_method(n)
            except AudioLRPError:
                bad.append(n.strip())
                continue
            key = composite if method == "lrp" else method
            spec = MethodSpec(key, method, composite, _LABELS[key])
        if spec.name not in (s.name for s in specs):
            specs.append(spec)
    if bad:
        raise AudioLRPError(
            f"unknown method(s) {', '.join(bad)}: choose from {', '.join(METHODS)} (or 'all')"
        )
    if not specs:
        raise AudioLRPError(f"no method given: pass e.g. paper,gradient,random (from {METHODS})")
    return specs


# ------------------------------------------------------------------------------ attributions
def random_relevance(
    shape: Sequence[int], n: int, seed: int = 0, start: int = 0
) -> np.ndarray:
    """The floor's heatmaps: ``(n, *shape)`` float32 standard normal values, example ``i`` from
    ``np.random.default_rng([seed, RANDOM_STREAM, start + i])`` (independent of batching and of
    the model)."""
    out = np.empty((n, *shape), dtype=np.float32)
    for i in range(n):
        out[i] = np.random.default_rng([seed, RANDOM_STREAM, start + i]).standard_normal(shape)
    return out


def attribute(
    model: nn.Module,
    x: np.ndarray,
    targets: np.ndarray | Sequence[int],
    spec: MethodSpec,
    *,
    seed: int = 0,
    batch_size: int = 8,
    fast: bool = True,
) -> np.ndarray:
    """Relevance ``(N, C, T, F)`` float32 of ``spec`` for the ``targets`` of inputs ``x``.

    LRP presets, gradient and gradient x input call :func:`audiolrp.lrp.explain` on ``model``;
    integrated gradients, SmoothGrad (noise seeded with ``seed``) and occlusion call it on
    :func:`~audiolrp.analysis.pixel_flipping.fast_inference_model` of the model when ``fast``
    (same function up to float rounding); ``"random"`` is :func:`random_relevance`. Examples go
    through in batches of ``batch_size``; the explained scalar is the pre-softmax score of the
    target class summed over all frames (the paper's start of the relevance).
    """
    n = int(x.shape[0])
    if spec.method == FLOOR:
        return random_relevance(tuple(int(s) for s in x.shape[1:]), n, seed)
    tgt = np.asarray(targets, dtype=np.int64)
    net = model
    kwargs: dict[str, Any] = {}
    if spec.method in ATTRIBUTION_METHODS:
        kwargs["seed"] = int(seed)
        if fast:
            net = fast_inference_model(model)
    relevance, _ = explain_batches(net, x, tgt, batch_size=batch_size,
                                   composite=spec.composite, method=spec.method, **kwargs)
    return relevance


# ---------------------------------------------------------------------------- uncertainty
@dataclass(frozen=True)
class Interval:
    """An estimate (mean over examples) with its percentile bootstrap interval."""

    estimate: float
    low: float
    high: float

    def as_dict(self) -> dict[str, float]:
        """``{"mean", "ci_low", "ci_high"}``."""
        return {"mean": self.estimate, "ci_low": self.low, "ci_high": self.high}


def bootstrap_ci(
    values: np.ndarray | Sequence[float],
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> Interval:
    """Mean of ``values`` (one per example) with the percentile bootstrap interval at ``level``
    (resamples :func:`bootstrap_indices`; NaN values are left out)."""
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return Interval(math.nan, math.nan, math.nan)
    if not 0 < level < 1:
        raise AudioLRPError(f"level={level} must lie in (0, 1): pass e.g. 0.95")
    means = v[bootstrap_indices(v.size, n_boot, seed)].mean(axis=1)
    q = (1 - level) / 2
    lo, hi = np.quantile(means, [q, 1 - q])
    return Interval(float(v.mean()), float(lo), float(hi))


def paired_difference(
    a: np.ndarray | Sequence[float],
    b: np.ndarray | Sequence[float],
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> Interval:
    """Mean of ``a - b`` over the same examples with its paired bootstrap interval (the same
    resampled examples for both methods). ``a`` and ``a`` give exactly ``0 [0, 0]``."""
    av = np.asarray(a, dtype=np.float64).reshape(-1)
    bv = np.asarray(b, dtype=np.float64).reshape(-1)
    if av.shape != bv.shape:
        raise AudioLRPError(
            f"paired difference needs values of the same examples ({av.size} vs {bv.size})"
        )
    return bootstrap_ci(av - bv, n_boot, seed, level)


# ------------------------------------------------------------------ cascading randomisation
@dataclass(frozen=True)
class CascadeLayer:
    """One step of the randomisation cascade: a layer (its module names in the model)."""

    name: str
    modules: tuple[str, ...]


def randomisation_layers(model: nn.Module) -> list[CascadeLayer]:
    """The model's parameterised layers from the output down (Adebayo et al.'s cascade order).

    A layer is a leaf module with parameters of its own, in ``named_modules()`` (definition)
    order reversed -- for :class:`~audiolrp.models.CRNN` the reverse forward order: output,
    dense, LSTMs (last first), convolutions (last first). A BatchNorm belongs to the layer
    before it (its convolution) and is re-initialised with it. Modules with buffers only
    (:class:`~audiolrp.models.InputNormalization`) are not layers.
    """
    layers: list[list[str]] = []
    for name, m in model.named_modules():
        if not name or not any(True for _ in m.parameters(recurse=False)):
            continue
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and layers:
            layers[-1].append(name)
        else:
            layers.append([name])
    return [CascadeLayer(group[0], tuple(group)) for group in reversed(layers)]


def layer_seed(seed: int, index: int) -> int:
    """Torch seed of the re-initialisation of cascade layer ``index`` (fixed per layer)."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


def randomise_layers(
    model: nn.Module, layers: Sequence[CascadeLayer], n_layers: int, seed: int = 0
) -> nn.Module:
    """A copy of ``model`` whose first ``n_layers`` cascade ``layers`` are re-initialised.

    Each module of layer ``j`` gets its ``reset_parameters()`` (PyTorch's default
    initialisation; a BatchNorm also resets its running statistics) under
    ``torch.manual_seed(layer_seed(seed, j))`` inside :func:`torch.random.fork_rng`, so the
    global random state is untouched and layer ``j`` gets the same weights at every step.
    ``model`` itself is not changed. The copy is in eval mode.

    Raises
    ------
    AudioLRPError
        ``n_layers`` is out of range, or a module cannot be re-initialised.
    """
    if not 0 <= n_layers <= len(layers):
        raise AudioLRPError(f"n_layers={n_layers} must lie in 0..{len(layers)}")
    out = copy.deepcopy(model).eval()
    mods = dict(out.named_modules())
    for j, layer in enumerate(layers[:n_layers]):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(layer_seed(seed, j))
            for name in layer.modules:
                reset = getattr(mods.get(name), "reset_parameters", None)
                if not callable(reset):
                    raise AudioLRPError(
                        f"layer {name} has no reset_parameters(): the randomisation check "
                        "supports standard torch layers (Conv, Linear, LSTM, GRU, BatchNorm)"
                    )
                reset()
    return out


def _rowwise_pearson(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    den = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    num = (a * b).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    return np.clip(r, -1.0, 1.0)


def rank_correlation_abs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman rank correlation of ``|a_i|`` and ``|b_i|`` per example ``i`` (all values of
    the example; ties get their average rank), ``(N,)``; NaN where a heatmap is constant."""
    a2 = np.abs(np.asarray(a, dtype=np.float64).reshape(len(a), -1))
    b2 = np.abs(np.asarray(b, dtype=np.float64).reshape(len(b), -1))
    return _rowwise_pearson(rankdata(a2, axis=1), rankdata(b2, axis=1))


def heatmap_pearson(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation per example of the signed time-frequency heatmaps (relevance
    ``(N, C, T, F)`` summed over channels), ``(N,)``; NaN where a heatmap is constant."""
    ha = np.asarray(a, dtype=np.float64).sum(axis=1).reshape(len(a), -1)
    hb = np.asarray(b, dtype=np.float64).sum(axis=1).reshape(len(b), -1)
    return _rowwise_pearson(ha, hb)


# -------------------------------------------------------------------------------- results
@dataclass
class MethodResult:
    """Everything measured for one method.

    ``spearman_abs`` and ``pearson`` are ``(L + 1, n_sanity)``: row 0 compares the trained
    model with itself (1 unless the heatmap is constant), row ``k`` the trained model with the
    model whose top ``k`` cascade layers are randomised.
    """

    spec: MethodSpec
    mrf: PixelFlippingResult
    lrf: PixelFlippingResult
    explain_s_per_example: float
    flip_s_per_example: float
    spearman_abs: np.ndarray | None = None
    pearson: np.ndarray | None = None

    @property
    def aopc_mrf(self) -> np.ndarray:
        """Per-example AOPC, most relevant first, ``(N,)``."""
        return self.mrf.aopc_per_example

    @property
    def aopc_lrf(self) -> np.ndarray:
        """Per-example AOPC, least relevant first, ``(N,)``."""
        return self.lrf.aopc_per_example

    @property
    def aopc_gap(self) -> np.ndarray:
        """Per-example ``AOPC_MRF - AOPC_LRF`` (area between the two curves), ``(N,)``."""
        return self.aopc_mrf - self.aopc_lrf


@dataclass
class MethodComparison:
    """The result of :func:`compare_methods`; :meth:`summary` is its JSON-ready form."""

    methods: dict[str, MethodResult]
    layers: list[CascadeLayer]
    labels: np.ndarray
    n_sanity: int
    steps: int
    seed: int
    n_boot: int
    level: float
    meta: dict[str, Any] = field(default_factory=dict)

    def interval(self, values: np.ndarray) -> Interval:
        """Bootstrap interval of per-example ``values`` with this comparison's resamples."""
        return bootstrap_ci(values, self.n_boot, self.seed, self.level)

    def difference(self, a: np.ndarray, b: np.ndarray) -> Interval:
        """Paired bootstrap interval of ``mean(a - b)`` with this comparison's resamples."""
        return paired_difference(a, b, self.n_boot, self.seed, self.level)

    def summary(self) -> dict[str, Any]:
        """JSON-ready results: per method the AOPC intervals (MRF, LRF, gap), paired differences
        vs :data:`REFERENCE` and :data:`FLOOR` (when compared), the mean curves with bootstrap
        bands, the randomisation similarities per cascade step, and the times."""
        metrics = ("mrf", "lrf", "gap")
        out: dict[str, Any] = {}
        for name, res in self.methods.items():
            vals = {"mrf": res.aopc_mrf, "lrf": res.aopc_lrf, "gap": res.aopc_gap}
            entry: dict[str, Any] = {
                "label": res.spec.label,
                "method": res.spec.method,
                "composite": res.spec.composite if res.spec.method == "lrp" else None,
                "aopc": {m: self.interval(vals[m]).as_dict() for m in metrics},
                "explain_s_per_example": res.explain_s_per_example,
                "flip_s_per_example": res.flip_s_per_example,
                "curves": {},
            }
            for key, r in (("mrf", res.mrf), ("lrf", res.lrf)):
                band = r.bootstrap_ci(self.n_boot, self.seed, self.level)
                entry["curves"][key] = {"mean": r.mean, "ci_low": band[0], "ci_high": band[1]}
            for ref in (REFERENCE, FLOOR):
                if ref in self.methods and ref != name:
                    other = self.methods[ref]
                    ovals = {"mrf": other.aopc_mrf, "lrf": other.aopc_lrf, "gap": other.aopc_gap}
                    entry[f"vs_{ref}"] = {
                        m: self.difference(vals[m], ovals[m]).as_dict() for m in metrics
                    }
            if res.spearman_abs is not None and res.pearson is not None:
                entry["randomisation"] = {
                    "spearman_abs": [self.interval(row).as_dict() for row in res.spearman_abs],
                    "pearson": [self.interval(row).as_dict() for row in res.pearson],
                }
            out[name] = entry
        first = next(iter(self.methods.values()))
        return {
            "n_examples": int(self.labels.size),
            "n_sanity_examples": self.n_sanity,
            "steps": self.steps,
            "fractions": first.mrf.fractions,
            "perturbation": {"baseline": first.mrf.baseline, "score": first.mrf.score,
                             "channels": "all"},
            "seed": self.seed,
            "n_boot": self.n_boot,
            "level": self.level,
            "reference": REFERENCE if REFERENCE in self.methods else None,
            "floor": FLOOR if FLOOR in self.methods else None,
            "cascade": ["trained"] + [layer.name for layer in self.layers],
            "cascade_modules": [list(layer.modules) for layer in self.layers],
            "methods": out,
            **self.meta,
        }


def compare_methods(
    model: nn.Module,
    x: np.ndarray,
    labels: np.ndarray | Sequence[int],
    methods: str | Sequence[str] | Sequence[MethodSpec] | None = None,
    *,
    steps: int = 20,
    n_sanity: int = 8,
    seed: int = 0,
    n_boot: int = 1000,
    level: float = 0.95,
    batch_size: int = 8,
    flip_batch_size: int = 64,
    fast: bool = True,
    progress: bool = False,
    log: Callable[[str], None] | None = None,
) -> MethodComparison:
    """Compare attribution methods on the same examples (module docstring).

    Parameters
    ----------
    model
        A model of supported layers, ``(B, C, T, F) -> (B, T, classes)`` pre-softmax scores.
    x, labels
        Inputs ``(N, C, T, F)`` and their true classes ``(N,)`` (explained and scored).
    methods
        Names (:func:`method_specs`) or specs; default all of :data:`METHODS`.
    steps
        Pixel-flipping steps from 0 to 100 % of the bins (the curves have ``steps + 1`` points).
    n_sanity
        Examples (the first ones) of the randomisation cascade; 0 skips it.
    seed
        Seed of SmoothGrad's noise, the random heatmaps, the layer re-initialisation and the
        bootstrap.
    n_boot, level
        Bootstrap resamples and interval level.
    batch_size, flip_batch_size
        Examples per ``explain`` call; perturbed inputs per forward pass of pixel flipping.
    fast
        Captum methods and pixel flipping on the inference-equivalent fast model.
    progress
        Numbered steps with timings on stderr (:class:`audiolrp.progress.Progress`).
    log
        Optional callback for one-line messages (e.g. the AOPC of each method when done).
    """
    specs, x, y = _checked_inputs(methods, x, labels, steps)
    n = int(y.size)
    n_s = max(0, min(int(n_sanity), n))
    layers = randomisation_layers(model) if n_s else []
    prog = Progress(len(specs) + len(layers), enabled=progress)
    was_training = model.training
    model.eval()
    results: dict[str, MethodResult] = {}
    trained_rel: dict[str, np.ndarray] = {}
    try:
        # warm-up (one-off allocations and kernel selection) outside the timed calls
        explain(model, torch.from_numpy(x[:1]), target=torch.from_numpy(y[:1]),
                method="gradient")
        for spec in specs:
            with prog.step(f"{spec.label}: explain {n} examples, flip MRF and LRF", spec.name):
                rel, results[spec.name] = _explain_and_flip(
                    model, x, y, spec, steps=steps, seed=seed, batch_size=batch_size,
                    flip_batch_size=flip_batch_size, fast=fast)
            if n_s:
                trained_rel[spec.name] = rel[:n_s].copy()
            if log is not None:
                r = results[spec.name]
                log(f"{spec.name}: AOPC MRF {r.mrf.aopc:.4f}, LRF {r.lrf.aopc:.4f}, "
                    f"{r.explain_s_per_example:.3f} s/example")
            del rel
        if n_s:
            sims = _cascade_similarities(model, x[:n_s], y[:n_s], specs, layers, trained_rel,
                                         prog, seed=seed, batch_size=batch_size, fast=fast)
            for s in specs:
                results[s.name].spearman_abs, results[s.name].pearson = sims[s.name]
    finally:
        model.train(was_training)
    return MethodComparison(
        methods=results, layers=layers, labels=y, n_sanity=n_s, steps=steps, seed=seed,
        n_boot=n_boot, level=level,
    )


def _checked_inputs(
    methods: str | Sequence[str] | Sequence[MethodSpec] | None, x: np.ndarray,
    labels: np.ndarray | Sequence[int], steps: int,
) -> tuple[list[MethodSpec], np.ndarray, np.ndarray]:
    """The method specs, inputs as float32 and labels as int64, checked (one-line errors)."""
    if methods is not None and not isinstance(methods, str) and methods \
            and all(isinstance(m, MethodSpec) for m in methods):
        specs = [m for m in methods if isinstance(m, MethodSpec)]
    else:
        specs = method_specs(cast("str | Sequence[str] | None", methods))
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(labels, dtype=np.int64).reshape(-1)
    if x.ndim != 4 or x.shape[0] != y.size or y.size == 0:
        raise AudioLRPError(
            f"inputs {tuple(x.shape)} and labels {y.shape} do not match: pass (N, C, T, F) "
            "features and N labels, N >= 1"
        )
    if steps < 1:
        raise AudioLRPError(f"steps={steps} must be >= 1: pass e.g. --steps 20")
    return list(specs), x, y


def _explain_and_flip(
    model: nn.Module, x: np.ndarray, y: np.ndarray, spec: MethodSpec, *, steps: int, seed: int,
    batch_size: int, flip_batch_size: int, fast: bool,
) -> tuple[np.ndarray, MethodResult]:
    """One method: its relevance of every example, the MRF and LRF flipping curves and the
    time per example of each."""
    n = int(y.size)
    t0 = time.perf_counter()
    rel = attribute(model, x, y, spec, seed=seed, batch_size=batch_size, fast=fast)
    t1 = time.perf_counter()
    flips = {
        order: pixel_flipping(model, x, rel, y, n_steps=steps, order=order,
                              batch_size=flip_batch_size, seed=seed, fast=fast)
        for order in ("most_relevant", "least_relevant")
    }
    t2 = time.perf_counter()
    result = MethodResult(spec, flips["most_relevant"], flips["least_relevant"],
                          (t1 - t0) / n, (t2 - t1) / n)
    return rel, result


def _cascade_similarities(
    model: nn.Module, x: np.ndarray, y: np.ndarray, specs: Sequence[MethodSpec],
    layers: Sequence[Any], trained_rel: dict[str, np.ndarray], prog: Progress, *, seed: int,
    batch_size: int, fast: bool,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The cascading model randomisation: per method, the Spearman |rank| correlation and the
    Pearson correlation ``(n_layers + 1, n_sanity)`` of the trained model's heatmaps with those
    of the model randomised down to each layer (row 0: the trained model itself)."""
    n_s = int(y.size)
    sims = {s.name: (np.ones((len(layers) + 1, n_s)), np.ones((len(layers) + 1, n_s)))
            for s in specs}
    for s in specs:
        r0 = trained_rel[s.name]
        sims[s.name][0][0] = rank_correlation_abs(r0, r0)
        sims[s.name][1][0] = heatmap_pearson(r0, r0)
    for k in range(1, len(layers) + 1):
        with prog.step(f"randomisation {k}/{len(layers)}: layers down to "
                       f"{layers[k - 1].name}, {n_s} examples", f"cascade {k}"):
            net = randomise_layers(model, layers, k, seed)
            for s in specs:
                rk = attribute(net, x, y, s, seed=seed, batch_size=batch_size, fast=fast)
                sims[s.name][0][k] = rank_correlation_abs(trained_rel[s.name], rk)
                sims[s.name][1][k] = heatmap_pearson(trained_rel[s.name], rk)
    return sims


__all__ = [
    "FLOOR",
    "METHODS",
    "RANDOM_STREAM",
    "REFERENCE",
    "CascadeLayer",
    "Interval",
    "MethodComparison",
    "MethodResult",
    "MethodSpec",
    "attribute",
    "bootstrap_ci",
    "bootstrap_indices",
    "compare_methods",
    "heatmap_pearson",
    "layer_seed",
    "method_specs",
    "paired_difference",
    "random_relevance",
    "randomisation_layers",
    "randomise_layers",
    "rank_correlation_abs",
]
