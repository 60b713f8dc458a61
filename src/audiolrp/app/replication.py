"""Replication study of the seed paper's three findings (Kiyan et al., Figs. 2-4, Eq. 3/4).

One function, :func:`replicate`, simulates fresh test scenes with the data recipe of the loaded
models, explains them with the paper's LRP composite and decides for each finding, by the
criteria documented below (computed here, never by hand), whether it is REPRODUCED, PARTIAL or
NOT REPRODUCED. Results go to ``OUT/results.json``, ``OUT/replication.md`` (markdown tables)
and PNG figures.

Findings and criteria
---------------------
1. **Channel relevance (Fig. 3)**, intensity model, scenes whose DOA class contains one of
   +-e_x, +-e_y (``channel_relevance.axis_direction_classes``), equally many per direction.
   Relevance: LRP ``composite="paper"`` of the true class's pre-softmax scores (all frames);
   channel relevance ``|sum_{t,f} R_c|``, shares per example.

   * 1a "the channel of the DOA's axis gets the largest share among active and among reactive
     channels": for each of the 4 groups and each family (active 0-2, reactive 3-5) the
     matching channel (I_x for +-x, I_y for +-y) has the largest *mean* share of the family
     (8 checks). REPRODUCED: 8/8; PARTIAL: >= 4/8; NOT REPRODUCED: < 4/8.
   * 1b "active intensity receives a greater share than reactive": per example
     ``d = sum(active shares) - sum(reactive shares)``; mean with a 95 % CI (mean +- 1.96 SE).
     REPRODUCED: CI lower bound > 0; PARTIAL: mean > 0 but the CI contains 0;
     NOT REPRODUCED: mean <= 0.
   * overall: REPRODUCED if 1a and 1b are; NOT REPRODUCED if neither is at least PARTIAL;
     else PARTIAL.
   * extension (reported, not part of the verdict): over random DOAs (all 425 classes),
     Spearman correlation of each channel's share with ``|d_axis|``
     (``relevance_direction_correlation``).

2. **Pixel flipping (Fig. 4)**, intensity model, random-DOA scenes (the recipe's class
   sampling); bins ranked by relevance (most relevant first) and set to the baseline
   (``"zero-normalised"``, i.e. 0 after the model's input normalisation; the intensity model
   has none, so raw 0 as in the paper) in all / active / reactive channels; score = clip
   probability of the true class; AOPC per curve (Samek et al. 2017). Paired per-example AOPC
   differences with 95 % CIs:

   * 2a relevance order beats random order: ``AOPC(all, MRF) - AOPC(all, random)``, CI lower
     bound > 0;
   * 2b perturbing active intensity hurts about as much as perturbing all channels:
     ``AOPC(active) >= 0.8 AOPC(all)`` (and ``AOPC(all) > 0``);
   * 2c perturbing reactive intensity hurts markedly less: ``AOPC(reactive) <= 0.75 AOPC(all)``
     and ``AOPC(active) - AOPC(reactive)`` has CI lower bound > 0.

   REPRODUCED: 3/3; PARTIAL: 1-2; NOT REPRODUCED: 0.

3. **Auralization (Eq. 3/4, Fig. 2)**, order-2 HOA model, random-DOA scenes with known direct
   sound. The W channel (ACN 0) is filtered with its magnitude + phase relevance
   (``auralization.auralize``: B = 20 bands, 129 taps, negative relevance clipped, heatmap
   normalised to its max). Filtered and noisy input are both compared with the noise-free
   direct sound (W) by log-spectrogram correlation (``spectral_similarity``, primary) and by
   SI-SDR (SDR reported too; it depends on the filtered signal's level). Paired per-example
   differences (filtered - input) with 95 % CIs:

   * REPRODUCED: both the spectral-similarity and the SI-SDR difference have CI lower bound
     > 0; PARTIAL: exactly one; NOT REPRODUCED: none.
   * control (reported): the same filter driven by *another* example's heatmap (cyclic shift
     by one), to see whether an improvement is specific to the example's relevance.

Model quality: every finding reports the accuracy (and median great-circle error) of the model
on exactly the examples used; accuracy below :data:`WEAK_ACCURACY` is flagged as a weak model
whose explanations carry little evidence about a *good* DOA model's strategy.

Explanations always use the **true class** as target (the paper explains the true DOA class;
for a weak model the predicted class would often be a wrong direction).

Scenes with a forced direction: :func:`simulate_scene` draws the class first from its
generator; :func:`forced_class_seeds` searches seeds ``SeedSequence([seed, TAG, stage, j])``,
j = 0, 1, ..., whose first draw gives a wanted class (checked again on the simulated scene). The
scenes are thus recipe scenes conditioned on the class, without changing ``scenes.py``.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch

from audiolrp.analysis import auralization as au
from audiolrp.analysis import channel_relevance as cr
from audiolrp.analysis import heatmaps as hm
from audiolrp.analysis.filterbank import design_filterbank
from audiolrp.analysis.pixel_flipping import INTENSITY_GROUPS, pixel_flipping
from audiolrp.app.pipeline import explain_batched, load_model
from audiolrp.errors import AudioLRPError
from audiolrp.evaluation import great_circle_deg, scene_config_from_recipe
from audiolrp.io import atomic_write_text, json_ready, write_json
from audiolrp.models import PRETRAINED_DIR, LoadedModel
from audiolrp.plots import (
    fig2_panels,
    plot_channel_relevance,
    plot_direction_correlation,
    plot_pixel_flipping,
    relevance_map_label,
    save_figure,
)
from audiolrp.progress import ElapsedLog
from audiolrp.signal.ambisonics import doa_grid
from audiolrp.signal.features import compute_features
from audiolrp.signal.layout import INTENSITY_NAMES as INTENSITY_CHANNEL_NAMES
from audiolrp.simulation.scenes import draw_direction, get_corpus, simulate_scene

REPRODUCED = "REPRODUCED"
PARTIAL = "PARTIAL"
NOT_REPRODUCED = "NOT REPRODUCED"

#: Seed tag of the replication scenes ("REPL"); keeps them apart from dataset/test-set seeds.
SEED_TAG = 0x5245504C
STAGE_AXIS, STAGE_RANDOM, STAGE_AURAL = 1, 2, 3

Z95 = 1.959963984540054
#: Criterion 2b: AOPC(active) >= ACTIVE_MIN_RATIO * AOPC(all).
ACTIVE_MIN_RATIO = 0.8
#: Criterion 2c: AOPC(reactive) <= REACTIVE_MAX_RATIO * AOPC(all).
REACTIVE_MAX_RATIO = 0.75
#: Models below this accuracy on the examples used are flagged as weak.
WEAK_ACCURACY = 0.5

ACTIVE = (0, 1, 2)
REACTIVE = (3, 4, 5)
AXIS_CHANNEL = {"+x": 0, "-x": 0, "+y": 1, "-y": 1}


# ------------------------------------------------------------------------------------------
# configuration
# ------------------------------------------------------------------------------------------
@dataclass
class ReplicationConfig:
    """Sizes and options of :func:`replicate` (defaults fit ~20 min on 2 CPU cores)."""

    n_channel: int = 1000
    n_general: int = 500
    n_flip: int = 200
    flip_steps: int = 10
    n_aural: int = 100
    least_relevant: bool = True
    corpus: str | None = None
    seed: int = 0
    batch_size: int = 16
    flip_batch_size: int = 64
    baseline: str = "zero-normalised"
    stages: tuple[str, ...] = ("channels", "flip", "aural")

    def validate(self) -> None:
        """Raise :class:`~audiolrp.errors.AudioLRPError` for settings out of range."""
        for name in ("n_channel", "n_general", "n_flip", "n_aural"):
            if int(getattr(self, name)) < 0:
                raise AudioLRPError(f"{name}={getattr(self, name)} is negative: pass >= 0")
        if "channels" in self.stages and self.n_channel < 4:
            raise AudioLRPError(
                f"n_channel={self.n_channel}: pass >= 4 (equally many examples per +-x, +-y)"
            )
        if self.flip_steps < 1:
            raise AudioLRPError(f"flip_steps={self.flip_steps}: pass >= 1")
        if self.batch_size < 1 or self.flip_batch_size < 1:
            raise AudioLRPError("batch sizes must be >= 1")
        bad = [s for s in self.stages if s not in ("channels", "flip", "aural")]
        if bad or not self.stages:
            raise AudioLRPError(f"unknown stages {bad}: choose from channels, flip, aural")


# ------------------------------------------------------------------------------------------
# statistics and verdicts (pure functions on numbers; unit-tested on synthetic inputs)
# ------------------------------------------------------------------------------------------
def mean_ci(values: Sequence[float] | np.ndarray) -> dict[str, float]:
    """Mean and 95 % CI ``mean +- 1.96 SE`` (SE with ddof=1; CI = mean for n < 2)."""
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size == 0:
        return {"mean": math.nan, "ci_low": math.nan, "ci_high": math.nan, "n": 0}
    m = float(v.mean())
    half = Z95 * float(v.std(ddof=1)) / math.sqrt(v.size) if v.size > 1 else 0.0
    return {"mean": m, "ci_low": m - half, "ci_high": m + half, "n": int(v.size)}


def axis_channel_checks(
    mean_shares: np.ndarray, groups: Sequence[str]
) -> list[dict[str, Any]]:
    """Criterion 1a: per group and family, is the matching-axis channel the largest mean share?

    Parameters
    ----------
    mean_shares
        ``(G, 6)`` mean relevance share per group and intensity channel.
    groups
        Group names (``"+x"``, ``"-x"``, ``"+y"``, ``"-y"``).
    """

    m = np.asarray(mean_shares, dtype=np.float64)
    if m.shape != (len(groups), 6):
        raise AudioLRPError(f"mean_shares {m.shape} does not match {len(groups)} groups x 6")
    out = []
    for gi, g in enumerate(groups):
        for family, chans in (("active", ACTIVE), ("reactive", REACTIVE)):
            vals = m[gi, list(chans)]
            top = chans[int(np.argmax(vals))]
            want = chans[AXIS_CHANNEL[g]]
            out.append({
                "group": g, "family": family,
                "largest_channel": INTENSITY_CHANNEL_NAMES[top],
                "largest_share": float(vals.max()),
                "expected_channel": INTENSITY_CHANNEL_NAMES[want],
                "expected_share": float(m[gi, want]),
                "matches": bool(top == want),
            })
    return out


def verdict_axis_channels(checks: Sequence[dict[str, Any]]) -> str:
    """1a: REPRODUCED if all checks match, PARTIAL if at least half, else NOT REPRODUCED."""
    n = len(checks)
    k = sum(bool(c["matches"]) for c in checks)
    if n and k == n:
        return REPRODUCED
    return PARTIAL if n and 2 * k >= n else NOT_REPRODUCED


def verdict_positive(ci: dict[str, float]) -> str:
    """Positive-effect verdict of a mean with CI: lower bound > 0 -> REPRODUCED; mean > 0 ->
    PARTIAL; else NOT REPRODUCED (also for nan)."""
    if not math.isfinite(ci["mean"]):
        return NOT_REPRODUCED
    if ci["ci_low"] > 0:
        return REPRODUCED
    return PARTIAL if ci["mean"] > 0 else NOT_REPRODUCED


def combine_two(a: str, b: str) -> str:
    """Both REPRODUCED -> REPRODUCED; neither at least PARTIAL -> NOT REPRODUCED; else PARTIAL."""
    if a == REPRODUCED and b == REPRODUCED:
        return REPRODUCED
    if a == NOT_REPRODUCED and b == NOT_REPRODUCED:
        return NOT_REPRODUCED
    return PARTIAL


def count_verdict(passed: Sequence[bool]) -> str:
    """All passed -> REPRODUCED; none -> NOT REPRODUCED; otherwise PARTIAL."""
    k, n = sum(bool(p) for p in passed), len(passed)
    if n and k == n:
        return REPRODUCED
    return NOT_REPRODUCED if k == 0 else PARTIAL


def pixel_flipping_checks(aopc: dict[str, np.ndarray]) -> dict[str, Any]:
    """Criteria 2a-2c from per-example AOPCs.

    Parameters
    ----------
    aopc
        Per-example AOPC arrays (same examples, same order) for keys ``"all"``, ``"active"``,
        ``"reactive"`` (most relevant first) and ``"all random"``.
    """
    a = {k: np.asarray(v, dtype=np.float64) for k, v in aopc.items()}
    need = ("all", "active", "reactive", "all random")
    missing = [k for k in need if k not in a]
    if missing:
        raise AudioLRPError(f"pixel-flipping AOPCs missing for {missing}")
    m_all, m_act, m_rea = (float(a[k].mean()) for k in ("all", "active", "reactive"))
    d_rand = mean_ci(a["all"] - a["all random"])
    d_ar = mean_ci(a["active"] - a["reactive"])
    ratio_act = m_act / m_all if m_all > 0 else math.nan
    ratio_rea = m_rea / m_all if m_all > 0 else math.nan
    c2a = d_rand["ci_low"] > 0
    c2b = m_all > 0 and ratio_act >= ACTIVE_MIN_RATIO
    c2c = m_all > 0 and ratio_rea <= REACTIVE_MAX_RATIO and d_ar["ci_low"] > 0
    return {
        "aopc_mean": {k: float(v.mean()) for k, v in a.items()},
        "aopc_ci": {k: mean_ci(v) for k, v in a.items()},
        "mrf_minus_random": d_rand,
        "active_minus_reactive": d_ar,
        "ratio_active_to_all": ratio_act,
        "ratio_reactive_to_all": ratio_rea,
        "checks": {"2a relevance order beats random": bool(c2a),
                   "2b active ~ all": bool(c2b),
                   "2c reactive markedly less": bool(c2c)},
        "verdict": count_verdict([c2a, c2b, c2c]),
    }


def auralization_checks(spec_diff: np.ndarray, sisdr_diff: np.ndarray) -> dict[str, Any]:
    """Criterion 3 from paired per-example differences (filtered - input)."""
    s, q = mean_ci(spec_diff), mean_ci(sisdr_diff)
    c_spec, c_sisdr = s["ci_low"] > 0, q["ci_low"] > 0
    return {
        "spectral_similarity_diff": s,
        "si_sdr_diff_db": q,
        "checks": {"spectral similarity improves": bool(c_spec), "SI-SDR improves": bool(c_sisdr)},
        "verdict": count_verdict([c_spec, c_sisdr]),
    }


def model_quality(pred: np.ndarray, label: np.ndarray) -> dict[str, Any]:
    """Accuracy, chance level and median great-circle error (deg) on the examples used."""

    pred, label = np.asarray(pred, dtype=np.int64), np.asarray(label, dtype=np.int64)
    if pred.size == 0:
        return {"n": 0, "accuracy": math.nan, "weak": True}
    g = np.asarray(doa_grid())
    err = great_circle_deg(g[pred, 0], g[pred, 1], g[label, 0], g[label, 1])
    acc = float(np.mean(pred == label))
    return {
        "n": int(pred.size), "accuracy": acc, "chance": 1.0 / g.shape[0],
        "median_error_deg": float(np.median(err)), "mean_error_deg": float(np.mean(err)),
        "weak": bool(acc < WEAK_ACCURACY),
    }


def model_label(lm: LoadedModel) -> str:
    """How the results name a model without quoting a machine path: a shipped model's
    registry name (``"hoa2"``), else its file name."""
    path = Path(lm.path)
    if path.parent.resolve() == PRETRAINED_DIR.resolve():
        return lm.name
    return path.name


# ------------------------------------------------------------------------------------------
# scenes
# ------------------------------------------------------------------------------------------
def replication_seed(seed: int, stage: int, index: int) -> np.random.SeedSequence:
    """Seed of replication scene ``index`` of ``stage``: ``SeedSequence([seed, TAG, stage, i])``."""
    return np.random.SeedSequence([int(seed), SEED_TAG, int(stage), int(index)])


def first_label(config: Any, seed: np.random.SeedSequence) -> int:
    """The class of the scene of ``seed``, without simulating it: step 1 of
    :func:`audiolrp.simulation.scenes.simulate_scene`
    (:func:`~audiolrp.simulation.scenes.draw_direction`)."""
    return draw_direction(config, np.random.default_rng(seed)).label


def forced_class_seeds(
    config: Any, classes: Sequence[int], n_per_class: int, seed: int, stage: int = STAGE_AXIS,
    max_tries: int = 50_000_000,
) -> list[tuple[np.random.SeedSequence, int]]:
    """Seeds whose scenes have one of ``classes``, ``n_per_class`` each, in seed order.

    Searches ``replication_seed(seed, stage, j)`` for j = 0, 1, ... (module docstring).
    """
    want = {int(c): 0 for c in classes}
    out: list[tuple[np.random.SeedSequence, int]] = []
    j = 0
    while any(v < n_per_class for v in want.values()):
        if j >= max_tries:
            raise AudioLRPError("no seeds found for the requested classes; check the classes")
        ss = replication_seed(seed, stage, j)
        c = first_label(config, ss)
        if c in want and want[c] < n_per_class:
            want[c] += 1
            out.append((replication_seed(seed, stage, j), c))
        j += 1
    return out


def replication_scene_config(recipe: dict[str, Any] | None, order: int,
                             corpus: str | None) -> Any:
    """The recipe's :class:`SceneConfig` (order >= ``order``), speech replaced by ``corpus``."""

    cfg = scene_config_from_recipe(recipe, order)
    if corpus is not None:
        cfg = dataclasses.replace(cfg, speech=None if corpus == "espeak" else corpus)
    return cfg


# ------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------
def _batches(n: int, size: int) -> Iterator[tuple[int, int]]:
    for i in range(0, n, size):
        yield i, min(n, i + size)


def _intensity_features(mixture: np.ndarray) -> np.ndarray:

    return np.asarray(compute_features(mixture[:4], "intensity", 1), dtype=np.float32)


# ------------------------------------------------------------------------------------------
# finding 1 (+ the random-DOA set reused by finding 2)
# ------------------------------------------------------------------------------------------
def _run_axis_set(lm: Any, cfg: ReplicationConfig, log: Callable[[str], None]) -> dict[str, Any]:

    scfg = replication_scene_config(lm.data_recipe, 1, cfg.corpus)
    corpus = get_corpus(scfg.speech, scfg.corpus_seed)
    classes = cr.axis_direction_classes()
    n_per = cfg.n_channel // 4
    seeds = forced_class_seeds(scfg, list(classes.values()), n_per, cfg.seed, STAGE_AXIS)
    n = len(seeds)
    log(f"channels: {n} axis scenes ({n_per} per +-x/+-y direction), classes {classes}")
    vals = np.zeros((n, 6))
    vals_bin = np.zeros((n, 6))
    labels = np.array([c for _, c in seeds], dtype=np.int64)
    preds = np.zeros(n, dtype=np.int64)
    for i0, i1 in _batches(n, cfg.batch_size):
        xs = []
        for ss, c in seeds[i0:i1]:
            sc = simulate_scene(scfg, ss, corpus, split="test")
            if sc.label != c:
                raise AudioLRPError(f"forced-class scene has class {sc.label}, expected {c}: "
                                    "scenes.simulate_scene changed its draw order")
            xs.append(_intensity_features(sc.mixture))
        rel, preds[i0:i1] = explain_batched(lm.model, np.stack(xs), labels[i0:i1])
        vals[i0:i1] = cr.channel_relevance(rel)
        vals_bin[i0:i1] = cr.channel_relevance(rel, per_bin=True)
        log(f"channels: {i1}/{n} axis scenes explained")
    return {"labels": labels, "pred": preds, "values": vals, "values_per_bin": vals_bin,
            "classes": classes, "scene_config": scfg.to_dict()}


def _run_random_set(lm: Any, cfg: ReplicationConfig, n: int, n_keep: int,
                    log: Callable[[str], None]) -> dict[str, Any]:

    scfg = replication_scene_config(lm.data_recipe, 1, cfg.corpus)
    corpus = get_corpus(scfg.speech, scfg.corpus_seed)
    vals = np.zeros((n, 6))
    labels = np.zeros(n, dtype=np.int64)
    preds = np.zeros(n, dtype=np.int64)
    dirs = np.zeros((n, 2))
    x_keep = np.zeros((n_keep, 6, 50, 512), dtype=np.float32)
    r_keep = np.zeros_like(x_keep)
    log(f"random-DOA set: {n} scenes (first {n_keep} kept for pixel flipping)")
    for i0, i1 in _batches(n, cfg.batch_size):
        xs = []
        for i in range(i0, i1):
            sc = simulate_scene(scfg, replication_seed(cfg.seed, STAGE_RANDOM, i), corpus,
                                split="test")
            labels[i], dirs[i] = sc.label, (sc.azimuth_rad, sc.elevation_rad)
            xs.append(_intensity_features(sc.mixture))
        x = np.stack(xs)
        rel, preds[i0:i1] = explain_batched(lm.model, x, labels[i0:i1])
        vals[i0:i1] = cr.channel_relevance(rel)
        k1 = min(i1, n_keep)
        if i0 < k1:
            x_keep[i0:k1], r_keep[i0:k1] = x[: k1 - i0], rel[: k1 - i0]
        log(f"random-DOA set: {i1}/{n} scenes explained")
    return {"labels": labels, "pred": preds, "values": vals, "directions_rad": dirs,
            "x": x_keep, "relevance": r_keep}


def _finding_channels(axis: dict[str, Any], rnd: dict[str, Any] | None, out: Path,
                      files: dict[str, str]) -> dict[str, Any]:

    names = INTENSITY_CHANNEL_NAMES
    shares = cr.relevance_shares(axis["values"])
    groups = cr.axis_groups(axis["labels"], axis["classes"])
    order = ("+x", "-x", "+y", "-y")
    stats = cr.channel_relevance_stats(shares, groups, names, order)
    files["fig3"] = str(save_figure(
        plot_channel_relevance(stats, title="Fig. 3 replication: intensity CRNN, "
                               "relevance share |sum R_c| per channel"),
        out / "fig3_channel_relevance.png"))
    checks = axis_channel_checks(stats.mean, order)
    for c in checks:  # reported margin: expected share - largest other share of the family
        chans = list(ACTIVE if c["family"] == "active" else REACTIVE)
        want = chans[AXIS_CHANNEL[c["group"]]]
        sel = shares[groups == c["group"]]
        others = sel[:, [k for k in chans if k != want]].max(1)
        c["margin"] = mean_ci(sel[:, want] - others)
    v1a = verdict_axis_channels(checks)
    d = shares[:, list(ACTIVE)].sum(1) - shares[:, list(REACTIVE)].sum(1)
    shares_bin = cr.relevance_shares(axis["values_per_bin"])
    d_bin = shares_bin[:, list(ACTIVE)].sum(1) - shares_bin[:, list(REACTIVE)].sum(1)
    ci = mean_ci(d)
    v1b = verdict_positive(ci)
    res: dict[str, Any] = {
        "claim": "The channel of the DOA's axis gets the largest share of relevance among the "
                 "active and among the reactive intensity channels (1a); active intensity "
                 "receives a greater total share than reactive intensity (1b).",
        "n_examples": int(shares.shape[0]),
        "classes": axis["classes"],
        "model_quality": model_quality(axis["pred"], axis["labels"]),
        "model_quality_per_group": {
            g: model_quality(axis["pred"][groups == g], axis["labels"][groups == g])
            for g in order},
        "stats": stats.as_rows(),
        "axis_checks": checks,
        "active_share": mean_ci(shares[:, list(ACTIVE)].sum(1)),
        "reactive_share": mean_ci(shares[:, list(REACTIVE)].sum(1)),
        "active_minus_reactive": ci,
        "active_minus_reactive_per_bin_abs": mean_ci(d_bin),
        "verdict_1a": v1a,
        "verdict_1b": v1b,
        "verdict": combine_two(v1a, v1b),
        "scene_config": axis["scene_config"],
    }
    if rnd is not None and rnd["values"].shape[0] >= 3:
        rs = cr.relevance_shares(rnd["values"])
        corr = cr.relevance_direction_correlation(rs, cr.directions_to_xyz(rnd["directions_rad"]),
                                                  cr.INTENSITY_CHANNEL_AXES, names)
        files["fig3_corr"] = str(save_figure(plot_direction_correlation(corr),
                                             out / "fig3_direction_correlation.png"))
        res["generalisation"] = {
            "n_examples": int(rs.shape[0]),
            "model_quality": model_quality(rnd["pred"], rnd["labels"]),
            "channels": [
                {"channel": names[c], "axis": "xyz"[cast(int, corr.channel_axes[c])],  # x, y or z
                 "pearson_r": float(corr.pearson_r[c]), "pearson_p": float(corr.pearson_p[c]),
                 "spearman_rho": float(corr.spearman_rho[c]),
                 "spearman_p": float(corr.spearman_p[c]),
                 "positive_significant": bool(corr.spearman_rho[c] > 0
                                              and corr.spearman_p[c] < 0.05)}
                for c in range(len(names))],
            "active_minus_reactive": mean_ci(rs[:, list(ACTIVE)].sum(1)
                                             - rs[:, list(REACTIVE)].sum(1)),
        }
    return res


# ------------------------------------------------------------------------------------------
# finding 2
# ------------------------------------------------------------------------------------------
def _finding_flip(lm: Any, rnd: dict[str, Any], cfg: ReplicationConfig, out: Path,
                  files: dict[str, str], log: Callable[[str], None]) -> dict[str, Any]:

    x, rel = rnd["x"], rnd["relevance"]
    labels = rnd["labels"][: x.shape[0]]
    runs = [("all", "all", "most_relevant"), ("active", "active", "most_relevant"),
            ("reactive", "reactive", "most_relevant"), ("all random", "all", "random")]
    if cfg.least_relevant:
        runs.append(("all least relevant", "all", "least_relevant"))
    results = {}
    for key, group, order in runs:
        log(f"pixel flipping: {key} ({x.shape[0]} examples x {cfg.flip_steps + 1} steps)")
        results[key] = pixel_flipping(
            lm.model, x, rel, labels, n_steps=cfg.flip_steps, order=order,  # type: ignore[arg-type]
            channels=INTENSITY_GROUPS[group], baseline=cfg.baseline,  # type: ignore[arg-type]
            batch_size=cfg.flip_batch_size, seed=cfg.seed)
    label_of = {"all": "all channels, most relevant first",
                "active": "active (0-2), most relevant first",
                "reactive": "reactive (3-5), most relevant first",
                "all random": "all channels, random order",
                "all least relevant": "all channels, least relevant first"}
    files["fig4"] = str(save_figure(
        plot_pixel_flipping({label_of[k]: r for k, r in results.items()},
                            ylabel="true-class probability",
                            title="Fig. 4 replication: intensity CRNN"),
        out / "fig4_pixel_flipping.png"))
    checks = pixel_flipping_checks({k: r.aopc_per_example for k, r in results.items()})
    return {
        "claim": "Flipping the most relevant bins drops the true-class score faster than random "
                 "flipping; perturbing active intensity causes as sharp a drop as perturbing all "
                 "channels, perturbing reactive intensity markedly less.",
        "n_examples": int(x.shape[0]),
        "n_steps": cfg.flip_steps,
        "baseline": cfg.baseline,
        "score": "clip probability of the true class",
        "model_quality": model_quality(rnd["pred"][: x.shape[0]], labels),
        "curves": {k: {"label": label_of[k], "fractions": r.fractions, "mean": r.mean,
                       "ci95": r.ci, "aopc": r.aopc} for k, r in results.items()},
        **checks,
    }


# ------------------------------------------------------------------------------------------
# finding 3
# ------------------------------------------------------------------------------------------
def _finding_aural(lm: Any, cfg: ReplicationConfig, out: Path, files: dict[str, str],
                   log: Callable[[str], None]) -> dict[str, Any]:

    if lm.feature not in ("hoa", "intensity"):
        raise AudioLRPError(
            f"the auralization model must be an HOA or intensity model, got {lm.feature!r}")
    # intensity models see the W channel through all six intensity channels: their W heatmap is
    # the relevance summed over the channels (analysis.heatmaps.audio_channel_heatmaps)
    order = lm.order if lm.feature == "hoa" else 1
    scfg = replication_scene_config(lm.data_recipe, order, cfg.corpus)
    corpus = get_corpus(scfg.speech, scfg.corpus_seed)
    n = cfg.n_aural
    bank = design_filterbank(20, 129)
    mix = np.zeros((n, 16000))
    direct = np.zeros((n, 16000))
    heat = np.zeros((n, 50, 512))
    labels = np.zeros(n, dtype=np.int64)
    preds = np.zeros(n, dtype=np.int64)
    log(f"auralization: {n} order-{order} scenes")
    for i0, i1 in _batches(n, cfg.batch_size):
        xs = []
        for i in range(i0, i1):
            sc = simulate_scene(scfg, replication_seed(cfg.seed, STAGE_AURAL, i), corpus,
                                split="test")
            labels[i] = sc.label
            mix[i], direct[i] = sc.mixture[0], sc.direct[0]
            xs.append(np.asarray(compute_features(sc.mixture, lm.feature, order),
                                 dtype=np.float32))
        rel, preds[i0:i1] = explain_batched(lm.model, np.stack(xs), labels[i0:i1])
        for j in range(i1 - i0):
            heat[i0 + j] = (hm.hoa_channel_relevance_map(rel[j], 0, order)
                            if lm.feature == "hoa" else rel[j].sum(axis=0))
        log(f"auralization: {i1}/{n} scenes explained")
    filtered = au.auralize(mix, heat, negative="clip", bank=bank)
    control = au.auralize(mix, np.roll(heat, 1, axis=0), negative="clip", bank=bank)
    spec_f, spec_i = au.spectral_similarity(filtered, direct), au.spectral_similarity(mix, direct)
    spec_c = au.spectral_similarity(control, direct)
    sisdr_f, sisdr_i = au.si_sdr_db(direct, filtered), au.si_sdr_db(direct, mix)
    sisdr_c = au.si_sdr_db(direct, control)
    sdr_f, sdr_i = au.sdr_db(direct, filtered), au.sdr_db(direct, mix)
    checks = auralization_checks(spec_f - spec_i, sisdr_f - sisdr_i)
    # example figure: the first correctly classified example (else example 0), not cherry-picked
    correct = np.flatnonzero(preds == labels)
    ex = int(correct[0]) if correct.size else 0
    ex_choice = ("the first correctly classified scene" if correct.size
                 else "no scene was classified correctly: scene 0")
    if n:
        fig = fig2_panels(mix[ex], heat[ex], direct[ex], filtered[ex],
                          channel_label="Ambisonics channel 0 (W)",
                          relevance_label=relevance_map_label(lm.feature))
        files["fig2"] = str(save_figure(fig, out / "fig2_panels.png"))
        for stem, sig in (("input", mix[ex]), ("direct", direct[ex]),
                          ("relevant", filtered[ex])):
            files[f"wav_{stem}"] = str(au.write_wav(out / f"fig2_{stem}_w.wav",
                                                    sig.astype(np.float32)))
    return {
        "claim": "Relevance-filtered audio (Eq. 3/4) keeps the time-frequency regions of the "
                 "direct speech and suppresses noise/reverberation, i.e. it is closer to the "
                 "noise-free direct sound than the input is.",
        "n_examples": n,
        "model_quality": model_quality(preds, labels),
        "filter": {"channel": ("ACN 0 (W), magnitude + phase relevance" if lm.feature == "hoa"
                               else "W, relevance summed over the 6 intensity channels"),
                   "model_feature": lm.feature, "n_bands": 20,
                   "n_taps": 129, "negative": "clip", "normalize": "max"},
        "metrics": {
            "spectral_similarity": {"filtered": mean_ci(spec_f), "input": mean_ci(spec_i),
                                    "control": mean_ci(spec_c)},
            "si_sdr_db": {"filtered": mean_ci(sisdr_f), "input": mean_ci(sisdr_i),
                          "control": mean_ci(sisdr_c)},
            "sdr_db": {"filtered": mean_ci(sdr_f), "input": mean_ci(sdr_i)},
        },
        "fraction_filtered_closer": {
            "spectral_similarity": float(np.mean(spec_f > spec_i)) if n else math.nan,
            "si_sdr": float(np.mean(sisdr_f > sisdr_i)) if n else math.nan},
        "control_minus_input": {"spectral_similarity": mean_ci(spec_c - spec_i),
                                "si_sdr_db": mean_ci(sisdr_c - sisdr_i)},
        "filtered_minus_control": {"spectral_similarity": mean_ci(spec_f - spec_c),
                                   "si_sdr_db": mean_ci(sisdr_f - sisdr_c)},
        "example_index": ex,
        "example_choice": ex_choice,
        "scene_config": scfg.to_dict(),
        **checks,
    }


# ------------------------------------------------------------------------------------------
# report
# ------------------------------------------------------------------------------------------
def _f(v: Any, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    return f"{v:.{digits}f}" if isinstance(v, float) else str(v)


def _ci(c: dict[str, Any], digits: int = 3) -> str:
    return f"{_f(c['mean'], digits)} [{_f(c['ci_low'], digits)}, {_f(c['ci_high'], digits)}]"


def _quality_line(q: dict[str, Any]) -> str:
    if not q.get("n"):
        return "Model accuracy: no examples."
    s = (f"Model on these {q['n']} examples: accuracy {100 * q['accuracy']:.1f} % (chance "
         f"{100 * q['chance']:.2f} %), median great-circle error {q['median_error_deg']:.1f} deg.")
    if q["weak"]:
        s += (f" **Weak model** (accuracy < {100 * WEAK_ACCURACY:.0f} %): the explanations "
              "describe this model's strategy, which may differ from a well-trained model's; "
              "the conclusions are correspondingly weak.")
    return s


def _header_lines(results: dict[str, Any]) -> list[str]:
    """Title, models and settings, and the verdict table."""
    L: list[str] = ["# Replication of the seed paper's findings", ""]
    cfg = results["config"]
    L += [f"Models: intensity `{results['models'].get('intensity')}`, HOA "
          f"`{results['models'].get('hoa')}`. Seed {cfg['seed']}, corpus "
          f"`{results.get('corpus') or 'recipe'}`. Explanations: LRP `paper` composite, target = "
          "true class, all frames. CIs: mean +- 1.96 SE. Criteria: "
          "`audiolrp.app.replication` module docstring.", ""]
    if not results.get("complete", True):
        L += ["**Incomplete run**: written after a finished stage; later stages are missing.", ""]
    L += ["| finding | verdict |", "|---|---|"]
    for key, title in (("channel_relevance", "1. Channel relevance (Fig. 3)"),
                       ("pixel_flipping", "2. Pixel flipping (Fig. 4)"),
                       ("auralization", "3. Auralization (Eq. 3/4, Fig. 2)")):
        f = results["findings"].get(key)
        L.append(f"| {title} | {f['verdict'] if f else 'not run'} |")
    L.append("")
    return L


def _channel_lines(ch: dict[str, Any]) -> list[str]:
    """Finding 1 (Fig. 3): per-group shares, checks 1a/1b and the generalisation extension."""
    L: list[str] = ["## 1. Channel relevance (Fig. 3)", "", f"**Claim.** {ch['claim']}", "",
          f"{ch['n_examples']} scenes, equally many per DOA class "
          + ", ".join(f"{g}: class {c}" for g, c in ch["classes"].items())
          + ". Relevance share = |sum R_c| / sum_c |sum R_c|.", "",
          _quality_line(ch["model_quality"]), "", "![Fig. 3](fig3_channel_relevance.png)",
          "", "Mean relevance share per group (median [5 %, 95 %]):", ""]
    names = list(dict.fromkeys(r["channel"] for r in ch["stats"]))
    L += ["| group | n | acc. | " + " | ".join(names) + " |",
          "|---|---|---|" + "---|" * len(names)]
    for g in dict.fromkeys(r["group"] for r in ch["stats"]):
        rows = [r for r in ch["stats"] if r["group"] == g]
        q = ch["model_quality_per_group"][g]
        L.append(f"| {g} | {rows[0]['count']} | {_f(q['accuracy'], 2)} | " + " | ".join(
            f"{r['mean']:.3f} ({r['median']:.3f} [{r['p5']:.3f}, {r['p95']:.3f}])"
            for r in rows) + " |")
    L += ["", "1a: largest mean share within each family:", "",
          "| group | family | largest | expected | match | per-example margin expected - "
          "largest other [95 % CI] (reported) |", "|---|---|---|---|---|---|"]
    for c in ch["axis_checks"]:
        margin = _ci(c["margin"]) if "margin" in c else "n/a"
        L.append(f"| {c['group']} | {c['family']} | {c['largest_channel']} "
                 f"({c['largest_share']:.3f}) | {c['expected_channel']} "
                 f"({c['expected_share']:.3f}) | {'yes' if c['matches'] else 'no'} | "
                 f"{margin} |")
    L += ["", "1b: total shares (mean [95 % CI]):", "", "| quantity | value |", "|---|---|",
          f"| active share (I_a) | {_ci(ch['active_share'])} |",
          f"| reactive share (I_r) | {_ci(ch['reactive_share'])} |",
          f"| active - reactive | {_ci(ch['active_minus_reactive'])} |",
          f"| active - reactive, shares of sum abs R (robustness) | "
          f"{_ci(ch['active_minus_reactive_per_bin_abs'])} |", "",
          f"Verdicts: 1a **{ch['verdict_1a']}**, 1b **{ch['verdict_1b']}** -> "
          f"**{ch['verdict']}**.", ""]
    gen = ch.get("generalisation")
    if gen:
        L += ["### Generalisation over all 425 classes (extension, not in the verdict)", "",
              f"{gen['n_examples']} random-DOA scenes. "
              + _quality_line(gen["model_quality"]), "",
              "![correlation](fig3_direction_correlation.png)", "",
              "| channel | axis | Pearson r | Spearman rho (p) | positive & p<0.05 |",
              "|---|---|---|---|---|"]
        for c in gen["channels"]:
            L.append(f"| {c['channel']} | \\|d_{c['axis']}\\| | {_f(c['pearson_r'])} | "
                     f"{_f(c['spearman_rho'])} ({_f(c['spearman_p'], 4)}) | "
                     f"{'yes' if c['positive_significant'] else 'no'} |")
        L += ["", f"Active - reactive share over random DOAs: "
              f"{_ci(gen['active_minus_reactive'])}.", ""]
    return L


def _flip_lines(pf: dict[str, Any]) -> list[str]:
    """Finding 2 (Fig. 4): curves, AOPC and criteria 2a-2c."""
    L: list[str] = []
    L += ["## 2. Pixel flipping (Fig. 4)", "", f"**Claim.** {pf['claim']}", "",
          f"{pf['n_examples']} random-DOA scenes, {pf['n_steps']} steps (0-100 % of the "
          f"50x512 bins), baseline `{pf['baseline']}`, score: {pf['score']}.", "",
          _quality_line(pf["model_quality"]), "", "![Fig. 4](fig4_pixel_flipping.png)", "",
          "| curve | score at 0 % | at 50 % | at 100 % | AOPC [95 % CI] |",
          "|---|---|---|---|---|"]
    for k, c in pf["curves"].items():
        mean = list(c["mean"])
        L.append(f"| {c['label']} | {_f(mean[0], 4)} | {_f(mean[len(mean) // 2], 4)} | "
                 f"{_f(mean[-1], 4)} | {_ci(pf['aopc_ci'][k], 4)} |")
    L += ["", "| criterion | measured | passed |", "|---|---|---|",
          f"| 2a AOPC(all) - AOPC(random) CI > 0 | {_ci(pf['mrf_minus_random'], 4)} | "
          f"{'yes' if pf['checks']['2a relevance order beats random'] else 'no'} |",
          f"| 2b AOPC(active) / AOPC(all) >= {ACTIVE_MIN_RATIO} | "
          f"{_f(pf['ratio_active_to_all'])} | "
          f"{'yes' if pf['checks']['2b active ~ all'] else 'no'} |",
          f"| 2c AOPC(reactive) / AOPC(all) <= {REACTIVE_MAX_RATIO} and AOPC(active) - "
          f"AOPC(reactive) CI > 0 | {_f(pf['ratio_reactive_to_all'])}; "
          f"{_ci(pf['active_minus_reactive'], 4)} | "
          f"{'yes' if pf['checks']['2c reactive markedly less'] else 'no'} |", "",
          f"Verdict: **{pf['verdict']}**.", ""]
    return L


def _aural_lines(au: dict[str, Any]) -> list[str]:
    """Finding 3 (Eq. 3/4, Fig. 2): similarity to the direct sound and paired differences."""
    L: list[str] = []
    m = au["metrics"]
    L += ["## 3. Auralization (Eq. 3/4, Fig. 2)", "", f"**Claim.** {au['claim']}", "",
          f"{au['n_examples']} random-DOA scenes; W channel filtered with its heatmap: "
          f"{au['filter']['channel']} (B = 20, 129 taps, negative relevance clipped). "
          "Compared with the noise-free direct sound (W).", "",
          _quality_line(au["model_quality"]), "",
          f"![Fig. 2](fig2_panels.png) (example {au['example_index']}: "
          f"{au.get('example_choice', '')})", "",
          "| metric vs direct sound | filtered | input | control (other example's heatmap) "
          "|", "|---|---|---|---|",
          f"| log-spectrogram correlation | {_ci(m['spectral_similarity']['filtered'])} | "
          f"{_ci(m['spectral_similarity']['input'])} | "
          f"{_ci(m['spectral_similarity']['control'])} |",
          f"| SI-SDR / dB | {_ci(m['si_sdr_db']['filtered'], 2)} | "
          f"{_ci(m['si_sdr_db']['input'], 2)} | {_ci(m['si_sdr_db']['control'], 2)} |",
          f"| SDR / dB (level-dependent) | {_ci(m['sdr_db']['filtered'], 2)} | "
          f"{_ci(m['sdr_db']['input'], 2)} | |", "",
          "| paired difference | mean [95 % CI] | fraction filtered closer |",
          "|---|---|---|",
          f"| spectral similarity, filtered - input | "
          f"{_ci(au['spectral_similarity_diff'])} | "
          f"{_f(au['fraction_filtered_closer']['spectral_similarity'], 2)} |",
          f"| SI-SDR, filtered - input | {_ci(au['si_sdr_diff_db'], 2)} | "
          f"{_f(au['fraction_filtered_closer']['si_sdr'], 2)} |",
          f"| spectral similarity, filtered - control | "
          f"{_ci(au['filtered_minus_control']['spectral_similarity'])} | |",
          f"| SI-SDR, filtered - control | "
          f"{_ci(au['filtered_minus_control']['si_sdr_db'], 2)} | |", "",
          f"Verdict: **{au['verdict']}** (both paired differences with CI > 0 -> "
          "REPRODUCED, one -> PARTIAL).", ""]
    return L


def _timing_lines(t: dict[str, float]) -> list[str]:
    """Run time per stage."""
    if not t:
        return []
    L = ["## Run time", "", "| stage | s |", "|---|---|"]
    L += [f"| {k} | {v:.1f} |" for k, v in t.items()]
    L.append("")
    return L


def report_markdown(results: dict[str, Any]) -> str:
    """The replication report (markdown) from :func:`replicate`'s results dict."""
    findings = results["findings"]
    L = _header_lines(results)
    if findings.get("channel_relevance"):
        L += _channel_lines(findings["channel_relevance"])
    if findings.get("pixel_flipping"):
        L += _flip_lines(findings["pixel_flipping"])
    if findings.get("auralization"):
        L += _aural_lines(findings["auralization"])
    L += _timing_lines(results.get("timing_s", {}))
    return "\n".join(L)


# ------------------------------------------------------------------------------------------
# driver
# ------------------------------------------------------------------------------------------
def _write_results(out: Path, cfg: ReplicationConfig, models: dict[str, str],
                   timing: dict[str, float], findings: dict[str, Any], files: dict[str, str],
                   *, complete: bool) -> dict[str, Any]:
    """Write ``results.json`` and ``replication.md`` (also after each stage, so an interrupted
    run keeps the findings finished so far; ``complete`` marks the final write)."""

    t = dict(timing)
    t["total"] = sum(timing.values())
    results = json_ready({
        "config": dataclasses.asdict(cfg),
        "complete": complete,
        "models": models,
        "corpus": cfg.corpus,
        "torch_threads": torch.get_num_threads(),
        "timing_s": t,
        "findings": findings,
        "verdicts": {k: v["verdict"] for k, v in findings.items()},
        # names inside the output folder: results.json never quotes this machine's paths
        "files": {k: Path(v).name for k, v in files.items()},
    })
    write_json(out / "results.json", results, allow_nan=False, default=None)
    atomic_write_text(out / "replication.md", report_markdown(results))
    results["files"] = {**dict(files), "results": str(out / "results.json"),
                        "report": str(out / "replication.md")}
    return results


def replicate(
    intensity_model: Any,
    hoa_model: Any,
    out_dir: str | os.PathLike[str],
    config: ReplicationConfig | None = None,
    *,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run the replication study and write ``results.json``, ``replication.md`` and figures.

    Parameters
    ----------
    intensity_model, hoa_model
        Shipped model names, saved model paths or :class:`~audiolrp.models.LoadedModel`.
        The intensity model serves findings 1 and 2, the HOA model finding 3.
    out_dir
        Output folder (created).
    config
        Sizes and options (:class:`ReplicationConfig`).
    progress
        Progress messages to stderr.

    Returns
    -------
    dict
        The content of ``results.json``.
    """

    cfg = config or ReplicationConfig()
    cfg.validate()
    out = Path(out_dir)
    say = log or ElapsedLog("replicate", progress)
    torch.manual_seed(cfg.seed)
    files: dict[str, str] = {}
    timing: dict[str, float] = {}
    findings: dict[str, Any] = {}
    models: dict[str, str] = {}
    need_int = "channels" in cfg.stages or "flip" in cfg.stages
    lm_int = load_model(intensity_model) if need_int else None
    if lm_int is not None:
        if lm_int.feature != "intensity":
            raise AudioLRPError(
                f"--intensity-model is a {lm_int.feature!r} model: pass the intensity CRNN")
        models["intensity"] = model_label(lm_int)
    lm_hoa = load_model(hoa_model) if "aural" in cfg.stages else None
    if lm_hoa is not None:
        if lm_hoa.feature not in ("hoa", "intensity"):
            raise AudioLRPError(
                f"--hoa-model is a {lm_hoa.feature!r} model: pass an HOA CRNN (e.g. hoa2) or "
                "the intensity CRNN")
        models["hoa"] = model_label(lm_hoa)

    out.mkdir(parents=True, exist_ok=True)  # only once the models have loaded
    rnd = None
    if need_int:
        t = time.perf_counter()
        n_rand = max(cfg.n_general if "channels" in cfg.stages else 0,
                     cfg.n_flip if "flip" in cfg.stages else 0)
        n_keep = min(cfg.n_flip, n_rand) if "flip" in cfg.stages else 0
        rnd = _run_random_set(lm_int, cfg, n_rand, n_keep, say) if n_rand else None
        timing["random-DOA set (simulate + LRP)"] = time.perf_counter() - t
    if "channels" in cfg.stages:
        t = time.perf_counter()
        axis = _run_axis_set(lm_int, cfg, say)
        findings["channel_relevance"] = _finding_channels(axis, rnd, out, files)
        timing["channel relevance (axis scenes, simulate + LRP)"] = time.perf_counter() - t
        say(f"channel relevance: {findings['channel_relevance']['verdict']}")
        _write_results(out, cfg, models, timing, findings, files, complete=False)
    if "flip" in cfg.stages and rnd is not None and rnd["x"].shape[0] > 0:
        t = time.perf_counter()
        findings["pixel_flipping"] = _finding_flip(lm_int, rnd, cfg, out, files, say)
        timing["pixel flipping"] = time.perf_counter() - t
        say(f"pixel flipping: {findings['pixel_flipping']['verdict']}")
        _write_results(out, cfg, models, timing, findings, files, complete=False)
    if lm_hoa is not None and cfg.n_aural > 0:
        t = time.perf_counter()
        findings["auralization"] = _finding_aural(lm_hoa, cfg, out, files, say)
        timing["auralization"] = time.perf_counter() - t
        say(f"auralization: {findings['auralization']['verdict']}")
        _write_results(out, cfg, models, timing, findings, files, complete=False)
    results = _write_results(out, cfg, models, timing, findings, files, complete=True)
    say(f"wrote {out / 'results.json'} and {out / 'replication.md'}")
    return results


__all__ = [
    "ACTIVE_MIN_RATIO",
    "NOT_REPRODUCED",
    "PARTIAL",
    "REACTIVE_MAX_RATIO",
    "REPRODUCED",
    "WEAK_ACCURACY",
    "ReplicationConfig",
    "auralization_checks",
    "axis_channel_checks",
    "combine_two",
    "count_verdict",
    "first_label",
    "forced_class_seeds",
    "mean_ci",
    "model_quality",
    "pixel_flipping_checks",
    "replicate",
    "replication_scene_config",
    "replication_seed",
    "report_markdown",
    "verdict_axis_channels",
    "verdict_positive",
]

