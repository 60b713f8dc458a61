"""Replication runs (:mod:`audiolrp.app.replication`): its configuration, seeded scenes (with a
forced class where a finding needs one), explaining them, and each finding's measurements and
figures."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np

from audiolrp.analysis import auralization as au
from audiolrp.analysis import channel_relevance as cr
from audiolrp.analysis import heatmaps as hm
from audiolrp.analysis.filterbank import design_filterbank
from audiolrp.analysis.pixel_flipping import INTENSITY_GROUPS, pixel_flipping
from audiolrp.app.pipeline import explain_paper
from audiolrp.app.replication.criteria import (
    ACTIVE,
    AXIS_CHANNEL,
    REACTIVE,
    SEED_TAG,
    STAGE_AURAL,
    STAGE_AXIS,
    STAGE_RANDOM,
    auralization_checks,
    axis_channel_checks,
    combine_two,
    mean_ci,
    model_quality,
    pixel_flipping_checks,
    verdict_axis_channels,
    verdict_positive,
)
from audiolrp.errors import AudioLRPError
from audiolrp.evaluation import scene_config_from_recipe
from audiolrp.models import PRETRAINED_DIR, LoadedModel
from audiolrp.plots import (
    fig2_panels,
    plot_channel_relevance,
    plot_direction_correlation,
    plot_pixel_flipping,
    relevance_map_label,
    save_figure,
)
from audiolrp.signal.layout import INTENSITY_NAMES as INTENSITY_CHANNEL_NAMES
from audiolrp.simulation.scenes import (
    Scene,
    SceneConfig,
    draw_direction,
    get_corpus,
    simulate_scene,
)


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


def _scene_batches(
    scfg: SceneConfig, corpus: Any, seeds: Sequence[np.random.SeedSequence], size: int
) -> Iterator[tuple[int, int, list[Scene]]]:
    """``(i0, i1, scenes)``: scenes ``i0..i1-1`` of ``seeds`` (test split), ``size`` at a time."""
    for i0, i1 in _batches(len(seeds), size):
        yield i0, i1, [simulate_scene(scfg, ss, corpus, split="test") for ss in seeds[i0:i1]]


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
    for i0, i1, scenes in _scene_batches(scfg, corpus, [ss for ss, _ in seeds], cfg.batch_size):
        for sc, c in zip(scenes, labels[i0:i1], strict=True):
            if sc.label != c:
                raise AudioLRPError(f"forced-class scene has class {sc.label}, expected {c}: "
                                    "scenes.simulate_scene changed its draw order")
        x = lm.features(np.stack([sc.mixture for sc in scenes]))
        rel, preds[i0:i1] = explain_paper(lm, x, labels[i0:i1])
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
    seeds = [replication_seed(cfg.seed, STAGE_RANDOM, i) for i in range(n)]
    for i0, i1, scenes in _scene_batches(scfg, corpus, seeds, cfg.batch_size):
        for i, sc in enumerate(scenes, start=i0):
            labels[i], dirs[i] = sc.label, (sc.azimuth_rad, sc.elevation_rad)
        x = lm.features(np.stack([sc.mixture for sc in scenes]))
        rel, preds[i0:i1] = explain_paper(lm, x, labels[i0:i1])
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
    seeds = [replication_seed(cfg.seed, STAGE_AURAL, i) for i in range(n)]
    for i0, i1, scenes in _scene_batches(scfg, corpus, seeds, cfg.batch_size):
        for i, sc in enumerate(scenes, start=i0):
            labels[i] = sc.label
            mix[i], direct[i] = sc.mixture[0], sc.direct[0]
        x = lm.features(np.stack([sc.mixture for sc in scenes]))
        rel, preds[i0:i1] = explain_paper(lm, x, labels[i0:i1])
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
