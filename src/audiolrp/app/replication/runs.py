"""Replication runs (:mod:`audiolrp.app.replication`): its configuration, seeded scenes (with a
forced class where a finding needs one), explaining them through the model façade, and each
finding's measurements, quality flags and figures."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np

from audiolrp.analysis import auralization as au
from audiolrp.analysis import channel_relevance as cr
from audiolrp.analysis import direct_sound as ds
from audiolrp.analysis import heatmaps as hm
from audiolrp.analysis.filterbank import design_filterbank
from audiolrp.analysis.pixel_flipping import pixel_flipping
from audiolrp.app.explainer import Explainer
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
    direct_sound_checks,
    mean_ci,
    model_quality,
    pixel_flipping_checks,
    relevance_order_checks,
    verdict_axis_channels,
    verdict_positive,
)
from audiolrp.app.speech_choice import SpeechChoice
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
from audiolrp.plots.direct_sound import plot_direct_ratio_profile
from audiolrp.signal.ambisonics import (
    acn_order_degree,
    angular_error_deg,
    doa_grid,
    unit_vector,
    vector_angle_deg,
)
from audiolrp.signal.features import intensity_vector_direction
from audiolrp.signal.layout import INTENSITY_NAMES as INTENSITY_CHANNEL_NAMES
from audiolrp.simulation.scenes import (
    Scene,
    SceneConfig,
    draw_direction,
    get_corpus,
    simulate_scene,
)
from audiolrp.training.export import card_test_recipe

#: Overrides of the card test recipe for every replication scene: off-grid directions (uniform
#: on the sphere, labelled with the nearest class), so that the class, the refined direction and
#: the classic estimator are all measured against the exact direction.
SCENE_OVERRIDES: dict[str, Any] = {"direction_sampling": "uniform"}


# ------------------------------------------------------------------------------------------
# configuration
# ------------------------------------------------------------------------------------------
@dataclass
class ReplicationConfig:
    """Sizes and options of :func:`replicate` (the defaults run all five shipped models in about
    an hour on 2 shared CPU cores; ``docs/replication.md`` gives the measured time).

    ``n_channel`` axis scenes (finding 1, intensity model); per model ``n_general`` random-DOA
    scenes (the extension of finding 1, the HOA per-order channel table), the first ``n_flip``
    of them pixel-flipped in ``flip_steps`` steps (finding 2), and ``n_aural`` scenes with known
    parts (finding 3). ``corpus``: ``None`` = the Debian corpus when installed, else the
    built-in speech (:func:`audiolrp.app.speech_choice.choose_speech`).
    """

    n_channel: int = 1000
    n_general: int = 500
    n_flip: int = 200
    flip_steps: int = 10
    n_aural: int = 200
    least_relevant: bool = True
    corpus: str | None = None
    seed: int = 0
    batch_size: int = 16
    flip_batch_size: int = 64
    baseline: str = "zero-normalised"
    stages: tuple[str, ...] = ("channels", "flip", "aural")
    wavs: bool = True
    scene_overrides: dict[str, Any] = field(default_factory=lambda: dict(SCENE_OVERRIDES))

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


def file_tag(label: str) -> str:
    """``label`` as part of a file name: ``.json`` dropped, other characters than letters,
    digits, ``-`` and ``_`` replaced by ``_``."""
    stem = label[:-5] if label.endswith(".json") else label
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in stem) or "model"


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
                             corpus: str | None, overrides: dict[str, Any] | None = None) -> Any:
    """The :class:`SceneConfig` of ``recipe`` (order >= ``order``) with ``overrides``, speech
    replaced by ``corpus`` (``"espeak"`` -> the built-in speech; ``None`` keeps the recipe's)."""

    cfg = scene_config_from_recipe(recipe, order, overrides)
    if corpus is not None:
        cfg = dataclasses.replace(cfg, speech=None if corpus == "espeak" else corpus)
    return cfg


def scenes_for(lm: LoadedModel, cfg: ReplicationConfig, speech: SpeechChoice) -> SceneConfig:
    """The scene configuration of every replication set of ``lm``: the shipped cards' test
    recipe (:func:`audiolrp.training.export.card_test_recipe`) with ``cfg.scene_overrides``
    (off-grid directions), simulated at order max(2, the model's), with ``speech``."""
    scfg = scene_config_from_recipe(card_test_recipe(), max(1, lm.order), cfg.scene_overrides)
    return cast(SceneConfig, dataclasses.replace(scfg, speech=speech.spec))


# ------------------------------------------------------------------------------------------
# explaining a set of scenes through the façade
# ------------------------------------------------------------------------------------------
def _batches(n: int, size: int) -> Iterator[tuple[int, int]]:
    for i in range(0, n, size):
        yield i, min(n, i + size)


@dataclass
class SceneSet:
    """What a finding keeps of its explained scenes (one row per scene)."""

    labels: np.ndarray  # (n,) true class
    pred: np.ndarray  # (n,) predicted class
    true_rad: np.ndarray  # (n, 2) exact direction [az, el]
    refined_xyz: np.ndarray  # (n, 3) the model's refined direction (Prediction.direction)
    classic_rad: np.ndarray  # (n, 2) intensity-vector estimate of the same clip
    values: np.ndarray  # (n, C) channel relevance |sum_{t,f} R_c|
    values_per_bin: np.ndarray  # (n, C) sum_{t,f} |R_c|
    x: np.ndarray | None = None  # (n_keep, C, 50, 512) model input
    relevance: np.ndarray | None = None  # (n_keep, C, 50, 512)
    extra: dict[str, Any] = field(default_factory=dict)

    def quality(self, n: int | None = None, seed: int = 0) -> dict[str, Any]:
        """:func:`model_quality` of the first ``n`` scenes (all by default)."""
        k = self.labels.size if n is None else min(n, self.labels.size)
        grid = np.asarray(doa_grid())
        true_xyz = unit_vector(self.true_rad[:k, 0], self.true_rad[:k, 1])
        cls = grid[self.pred[:k]]
        return model_quality(
            vector_angle_deg(self.refined_xyz[:k], true_xyz),
            vector_angle_deg(unit_vector(cls[:, 0], cls[:, 1]), true_xyz),
            angular_error_deg(self.classic_rad[:k, 0], self.classic_rad[:k, 1],
                              self.true_rad[:k, 0], self.true_rad[:k, 1]),
            self.pred[:k] == self.labels[:k], seed=seed)


PerBatch = Callable[[int, list[Scene], np.ndarray, np.ndarray], None]


def explain_scenes(
    lm: LoadedModel, scfg: SceneConfig, seeds: Sequence[np.random.SeedSequence],
    cfg: ReplicationConfig, log: Callable[[str], None], what: str, *, n_keep: int = 0,
    expect: Sequence[int] | None = None, per_batch: PerBatch | None = None,
) -> SceneSet:
    """Simulate the scenes of ``seeds`` (test split), explain their true class and predict.

    Features, prediction (refined direction) and LRP (paper composite) all go through the model
    façade: :meth:`LoadedModel.features`, :meth:`LoadedModel.predict_features` and
    :meth:`Explainer.explain`. ``per_batch(i0, scenes, x, relevance)`` sees every batch (for
    what a finding needs of the full relevance); the first ``n_keep`` inputs and relevances are
    kept. ``expect``: the class each scene must have (forced-class scenes).
    """
    corpus = get_corpus(scfg.speech, scfg.corpus_seed)
    explainer = Explainer(lm, cfg.batch_size)
    n, c = len(seeds), lm.layout.n_channels
    out = SceneSet(labels=np.zeros(n, np.int64), pred=np.zeros(n, np.int64),
                   true_rad=np.zeros((n, 2)), refined_xyz=np.zeros((n, 3)),
                   classic_rad=np.zeros((n, 2)), values=np.zeros((n, c)),
                   values_per_bin=np.zeros((n, c)))
    if n_keep:
        out.x = np.zeros((n_keep, c, 50, 512), np.float32)
        out.relevance = np.zeros_like(out.x)
    step = max(1, n // 10)
    for i0, i1 in _batches(n, cfg.batch_size):
        scenes = [simulate_scene(scfg, ss, corpus, split="test") for ss in seeds[i0:i1]]
        for i, sc in enumerate(scenes, start=i0):
            if expect is not None and sc.label != expect[i]:
                raise AudioLRPError(f"forced-class scene has class {sc.label}, expected "
                                    f"{expect[i]}: scenes.simulate_scene changed its draw order")
            out.labels[i], out.true_rad[i] = sc.label, (sc.azimuth_rad, sc.elevation_rad)
        mix = np.stack([sc.mixture for sc in scenes])
        az, el = intensity_vector_direction(mix[:, :4].astype(np.float64))
        out.classic_rad[i0:i1] = np.stack([az, el], axis=1)
        x = lm.features(mix)
        out.refined_xyz[i0:i1] = lm.predict_features(x, cfg.batch_size).direction
        rel, out.pred[i0:i1] = explainer.explain(x, out.labels[i0:i1])
        out.values[i0:i1] = cr.channel_relevance(rel)
        out.values_per_bin[i0:i1] = cr.channel_relevance(rel, per_bin=True)
        k1 = min(i1, n_keep)
        if out.x is not None and out.relevance is not None and i0 < k1:
            out.x[i0:k1], out.relevance[i0:k1] = x[: k1 - i0], rel[: k1 - i0]
        if per_batch is not None:
            per_batch(i0, scenes, x, rel)
        if i1 == n or (i1 // step) != (i0 // step):
            log(f"{what}: {i1}/{n} scenes explained")
    return out


# ------------------------------------------------------------------------------------------
# finding 1 (intensity) and the per-order channel table (HOA)
# ------------------------------------------------------------------------------------------
def run_axis_set(lm: LoadedModel, cfg: ReplicationConfig, speech: SpeechChoice,
                 log: Callable[[str], None]) -> tuple[SceneSet, dict[str, int], SceneConfig]:
    """Finding 1's scenes: ``n_channel / 4`` per class containing +-e_x, +-e_y."""
    scfg = scenes_for(lm, cfg, speech)
    classes = cr.axis_direction_classes()
    n_per = cfg.n_channel // 4
    seeds = forced_class_seeds(scfg, list(classes.values()), n_per, cfg.seed, STAGE_AXIS)
    log(f"{model_label(lm)} channels: {len(seeds)} axis scenes ({n_per} per +-x/+-y "
        f"direction), classes {classes}")
    got = explain_scenes(lm, scfg, [ss for ss, _ in seeds], cfg, log,
                         f"{model_label(lm)} axis set", expect=[c for _, c in seeds])
    return got, classes, scfg


def run_random_set(lm: LoadedModel, cfg: ReplicationConfig, speech: SpeechChoice, n: int,
                   n_keep: int, log: Callable[[str], None]) -> SceneSet:
    """The random-DOA scenes of a model (generalisation / order table; the first ``n_keep``
    kept for pixel flipping)."""
    scfg = scenes_for(lm, cfg, speech)
    log(f"{model_label(lm)} random-DOA set: {n} scenes (first {n_keep} kept for pixel "
        "flipping)")
    seeds = [replication_seed(cfg.seed, STAGE_RANDOM, i) for i in range(n)]
    got = explain_scenes(lm, scfg, seeds, cfg, log, f"{model_label(lm)} random-DOA set",
                         n_keep=n_keep)
    got.extra["scene_config"] = scfg.to_dict()
    return got


def finding_channels(axis: SceneSet, classes: dict[str, int], scfg: SceneConfig,
                     rnd: SceneSet | None, cfg: ReplicationConfig, out: Path,
                     files: dict[str, str]) -> dict[str, Any]:
    """Finding 1 (Fig. 3) on the intensity model's axis scenes (+ its extension)."""
    names = INTENSITY_CHANNEL_NAMES
    shares = cr.relevance_shares(axis.values)
    groups = cr.axis_groups(axis.labels, classes)
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
    shares_bin = cr.relevance_shares(axis.values_per_bin)
    d_bin = shares_bin[:, list(ACTIVE)].sum(1) - shares_bin[:, list(REACTIVE)].sum(1)
    ci = mean_ci(d)
    v1b = verdict_positive(ci)
    res: dict[str, Any] = {
        "claim": "The channel of the DOA's axis gets the largest share of relevance among the "
                 "active and among the reactive intensity channels (1a); active intensity "
                 "receives a greater total share than reactive intensity (1b).",
        "n_examples": int(shares.shape[0]),
        "classes": classes,
        "model_quality": axis.quality(seed=cfg.seed),
        "exact_class_per_group": {
            g: float(np.mean(axis.pred[groups == g] == axis.labels[groups == g]))
            if np.any(groups == g) else math.nan for g in order},
        "stats": stats.as_rows(),
        "axis_checks": checks,
        "active_share": mean_ci(shares[:, list(ACTIVE)].sum(1)),
        "reactive_share": mean_ci(shares[:, list(REACTIVE)].sum(1)),
        "active_minus_reactive": ci,
        "active_minus_reactive_per_bin_abs": mean_ci(d_bin),
        "verdict_1a": v1a,
        "verdict_1b": v1b,
        "verdict": combine_two(v1a, v1b),
        "scene_config": scfg.to_dict(),
    }
    if rnd is not None and rnd.values.shape[0] >= 3:
        rs = cr.relevance_shares(rnd.values)
        corr = cr.relevance_direction_correlation(
            rs, cr.directions_to_xyz(rnd.true_rad), cr.INTENSITY_CHANNEL_AXES, names)
        files["fig3_corr"] = str(save_figure(plot_direction_correlation(corr),
                                             out / "fig3_direction_correlation.png"))
        res["generalisation"] = {
            "n_examples": int(rs.shape[0]),
            "model_quality": rnd.quality(seed=cfg.seed),
            "channels": [
                {"channel": names[c], "axis": "xyz"[cast(int, corr.channel_axes[c])],
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


def channel_orders(lm: LoadedModel, rnd: SceneSet, cfg: ReplicationConfig) -> dict[str, Any]:
    """Relevance share per Ambisonics order and magnitude vs phase of an HOA model (random-DOA
    scenes; shares of ``|sum_{t,f} R_c|``), reported, not a verdict."""
    k = lm.layout.n_audio_channels
    shares = cr.relevance_shares(rnd.values)
    orders = np.array([acn_order_degree(a)[0] for a in range(k)])
    per_order = []
    for n in range(lm.order + 1):
        cols = np.flatnonzero(orders == n)
        s = shares[:, cols].sum(1) + shares[:, k + cols].sum(1)
        uniform = cols.size / k
        per_order.append({"order": n, "n_channels": int(2 * cols.size), "share": mean_ci(s),
                          "uniform_share": uniform,
                          "share_over_uniform": float(s.mean() / uniform),
                          "magnitude_share": mean_ci(shares[:, cols].sum(1))})
    return {
        "n_examples": int(shares.shape[0]),
        "relevance": "|sum_{t,f} R_c| shares",
        "model_quality": rnd.quality(seed=cfg.seed),
        "magnitude_share": mean_ci(shares[:, :k].sum(1)),
        "phase_share": mean_ci(shares[:, k:].sum(1)),
        "per_order": per_order,
    }


# ------------------------------------------------------------------------------------------
# finding 2
# ------------------------------------------------------------------------------------------
_CURVE_LABELS = {"all": "all channels, most relevant first",
                 "active": "active (0-2), most relevant first",
                 "reactive": "reactive (3-5), most relevant first",
                 "all random": "all channels, random order",
                 "all least relevant": "all channels, least relevant first"}


def finding_flip(lm: LoadedModel, rnd: SceneSet, cfg: ReplicationConfig, out: Path,
                 files: dict[str, str], log: Callable[[str], None]) -> dict[str, Any]:
    """Finding 2 (Fig. 4): pixel flipping of the first ``n_flip`` random-DOA scenes.

    Intensity model: curves all / active / reactive most relevant first, random, least
    relevant first; criteria 2a-2c. HOA models: all channels most relevant first, random, least
    relevant first; criterion 2a (the other two concern active / reactive intensity).
    """
    x, rel = rnd.x, rnd.relevance
    if x is None or rel is None:
        raise AudioLRPError("pixel flipping needs the kept inputs and relevances")
    label = model_label(lm)
    labels = rnd.labels[: x.shape[0]]
    groups = lm.layout.groups
    intensity = lm.layout.is_intensity  # criteria 2b, 2c concern active / reactive intensity
    runs = [("all", "all", "most_relevant")]
    if intensity:
        runs += [("active", "active", "most_relevant"), ("reactive", "reactive", "most_relevant")]
    runs.append(("all random", "all", "random"))
    if cfg.least_relevant:
        runs.append(("all least relevant", "all", "least_relevant"))
    results = {}
    for key, group, order in runs:
        log(f"{label} pixel flipping: {key} ({x.shape[0]} examples x {cfg.flip_steps + 1} "
            "steps)")
        results[key] = pixel_flipping(
            lm.model, x, rel, labels, n_steps=cfg.flip_steps, order=order,  # type: ignore[arg-type]
            channels=groups[group], baseline=cfg.baseline,  # type: ignore[arg-type]
            batch_size=cfg.flip_batch_size, seed=cfg.seed)
    name = f"fig4_pixel_flipping_{file_tag(label)}.png"
    files[f"fig4 {label}"] = str(save_figure(
        plot_pixel_flipping({_CURVE_LABELS[k]: r for k, r in results.items()},
                            ylabel="true-class probability",
                            title=f"Fig. 4 replication: {label}"),
        out / name))
    aopc = {k: r.aopc_per_example for k, r in results.items()}
    checks = pixel_flipping_checks(aopc) if intensity else relevance_order_checks(aopc)
    return {
        "claim": ("Flipping the most relevant bins drops the true-class score faster than "
                  "random flipping; perturbing active intensity causes as sharp a drop as "
                  "perturbing all channels, perturbing reactive intensity markedly less."
                  if intensity else
                  "Flipping the most relevant bins drops the true-class score faster than "
                  "random flipping (2a; 2b/2c concern the intensity channels)."),
        "n_examples": int(x.shape[0]),
        "n_steps": cfg.flip_steps,
        "baseline": cfg.baseline,
        "score": "clip probability of the true class",
        "figure": name,
        "model_quality": rnd.quality(x.shape[0], seed=cfg.seed),
        "curves": {k: {"label": _CURVE_LABELS[k], "fractions": r.fractions, "mean": r.mean,
                       "ci95": r.ci, "aopc": r.aopc} for k, r in results.items()},
        **checks,
    }


# ------------------------------------------------------------------------------------------
# finding 3: direct sound (as stated) and auralization (listening)
# ------------------------------------------------------------------------------------------
@dataclass
class _AuralScenes:
    """The scenes of finding 3: W of the mixture and of the direct sound, the
    direct-to-residual ratio, energy and relevance maps per bin, and the explained set."""

    mix: np.ndarray
    direct: np.ndarray
    log_ratio: np.ndarray
    energy: np.ndarray
    heat: np.ndarray
    heat_all: np.ndarray
    got: Any
    scfg: SceneConfig

    @property
    def n(self) -> int:
        """Number of scenes."""
        return int(self.mix.shape[0])


def _aural_scenes(lm: LoadedModel, cfg: ReplicationConfig, speech: SpeechChoice,
                  log: Callable[[str], None]) -> _AuralScenes:
    """Simulate and explain the ``n_aural`` scenes of finding 3, keeping per scene only W, its
    parts' ratio per bin and the relevance maps (heatmap of W and the sum of all channels)."""
    label = model_label(lm)
    feature, order = lm.feature, lm.order
    scfg = scenes_for(lm, cfg, speech)
    n = cfg.n_aural
    mix = np.zeros((n, 16000))
    direct = np.zeros((n, 16000))
    log_ratio = np.zeros((n, 50, 512))
    energy = np.zeros((n, 50, 512))
    heat = np.zeros((n, 50, 512))
    heat_all = np.zeros((n, 50, 512))

    def keep(i0: int, scenes: list[Scene], x: np.ndarray, rel: np.ndarray) -> None:
        for j, sc in enumerate(scenes):
            i = i0 + j
            mix[i], direct[i] = sc.mixture[0], sc.direct[0]
            log_ratio[i] = ds.direct_to_residual_db(sc.direct[0], sc.reverberant[0],
                                                    sc.noise[0])
            energy[i] = ds.power_spectrogram(sc.mixture[0])
            heat[i] = hm.audio_channel_heatmaps(rel[j], feature, order)[0]
            heat_all[i] = rel[j].sum(axis=0)

    log(f"{label} finding 3: {n} order-{scfg.order} scenes with known parts")
    seeds = [replication_seed(cfg.seed, STAGE_AURAL, i) for i in range(n)]
    got = explain_scenes(lm, scfg, seeds, cfg, log, f"{label} finding 3", per_batch=keep)
    return _AuralScenes(mix, direct, log_ratio, energy, heat, heat_all, got, scfg)


def finding_direct_and_aural(
    lm: LoadedModel, cfg: ReplicationConfig, speech: SpeechChoice, out: Path,
    files: dict[str, str], log: Callable[[str], None],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Finding 3 on ``n_aural`` scenes with known parts: the direct-to-residual test per
    time-frequency bin of W (:mod:`audiolrp.analysis.direct_sound`) and the auralization row
    (Eq. 3/4), both on the same scenes and heatmaps."""
    sc = _aural_scenes(lm, cfg, speech, log)
    quality = sc.got.quality(seed=cfg.seed)
    return (_direct_sound_result(lm, sc, quality, cfg, out, files),
            _auralization_result(lm, sc, quality, cfg, out, files))


def _direct_sound_result(lm: LoadedModel, sc: _AuralScenes, quality: dict[str, Any],
                         cfg: ReplicationConfig, out: Path,
                         files: dict[str, str]) -> dict[str, Any]:
    """Finding 3 as stated: relevance against the direct-to-residual ratio, bin by bin."""
    label, n, w_label = model_label(lm), sc.n, lm.layout.kind.w_heatmap_label
    log_ratio, heat, heat_all, energy, scfg = (sc.log_ratio, sc.heat, sc.heat_all, sc.energy,
                                               sc.scfg)
    measures = ds.direct_sound_measures(log_ratio, heat, energy)
    measures_all = ds.direct_sound_measures(log_ratio, heat_all, energy)
    checks = direct_sound_checks(measures, seed=cfg.seed)
    robust = direct_sound_checks(measures_all, seed=cfg.seed)
    edges = ds.PROFILE_EDGES_DB
    profiles = {
        "positive relevance": ds.ratio_profile(log_ratio, np.maximum(heat, 0.0), edges),
        "energy |X_W|^2": ds.ratio_profile(log_ratio, energy, edges),
        "bins (uniform)": ds.ratio_profile(log_ratio, np.ones_like(log_ratio), edges),
    }
    mean_profiles = {k: np.nanmean(v, axis=0) if n else np.full(edges.size - 1, np.nan)
                     for k, v in profiles.items()}
    fig_name = f"direct_ratio_{file_tag(label)}.png"
    files[f"direct ratio {label}"] = str(save_figure(
        plot_direct_ratio_profile(edges, mean_profiles,
                                  title=f"Finding 3: {label}, {n} scenes"), out / fig_name))
    direct_res = {
        "claim": "The DNN attempts to ignore time-frequency regions mostly occupied by noise "
                 "and diffuse reverberation, instead focusing on regions where the direct "
                 "sound speech signal is prominent.",
        "n_examples": n,
        "model_quality": quality,
        "map": w_label,
        "ratio": "|direct|^2 / |reverberant + noise|^2 per STFT bin of W, dB, clipped to "
                 f"+-{ds.CLIP_DB:g}; direct-dominated: > 0 dB",
        "figure": fig_name,
        **checks,
        "all_input_channels": {"means": robust["means"], "differences": robust["differences"],
                               "checks": robust["checks"], "verdict": robust["verdict"]},
        "profile": {"edges_db": edges, **mean_profiles},
        "scene_config": scfg.to_dict(),
    }
    return direct_res


def _auralization_result(lm: LoadedModel, sc: _AuralScenes, quality: dict[str, Any],
                         cfg: ReplicationConfig, out: Path,
                         files: dict[str, str]) -> dict[str, Any]:
    """Finding 3's listening row: relevance-filtered W against the direct sound (Eq. 3/4,
    Fig. 2d), with a shifted-heatmap and an energy-matched control."""
    label, n, feature, w_label = model_label(lm), sc.n, lm.feature, lm.layout.kind.w_heatmap_label
    mix, direct, heat, energy, got = sc.mix, sc.direct, sc.heat, sc.energy, sc.got
    bank = design_filterbank(20, 129)
    filtered = au.auralize(mix, heat, negative="clip", bank=bank)
    control = au.auralize(mix, np.roll(heat, 1, axis=0), negative="clip", bank=bank)
    # energy-matched control: the heatmap's own values placed on the bins in the order of the
    # input energy |X_W|^2 (same values, same sparsity, smeared by the same 20 bands; only the
    # placement differs): does relevance pick better bins than loudness does?
    energy_ctrl = au.auralize(mix, ds.rank_matched(heat, energy), negative="clip", bank=bank)
    spec_f, spec_i = au.spectral_similarity(filtered, direct), au.spectral_similarity(mix, direct)
    spec_c = au.spectral_similarity(control, direct)
    spec_e = au.spectral_similarity(energy_ctrl, direct)
    sisdr_f, sisdr_i = au.si_sdr_db(direct, filtered), au.si_sdr_db(direct, mix)
    sisdr_c = au.si_sdr_db(direct, control)
    sisdr_e = au.si_sdr_db(direct, energy_ctrl)
    sdr_f, sdr_i = au.sdr_db(direct, filtered), au.sdr_db(direct, mix)
    aural_checks = auralization_checks(spec_f - spec_i, sisdr_f - sisdr_i)
    # example figure: the first correctly classified example (else example 0), not cherry-picked
    correct = np.flatnonzero(got.pred == got.labels)
    ex = int(correct[0]) if correct.size else 0
    ex_choice = ("the first correctly classified scene" if correct.size
                 else "no scene was classified correctly: scene 0")
    fig2 = f"fig2_panels_{file_tag(label)}.png"
    if n:
        fig = fig2_panels(mix[ex], heat[ex], direct[ex], filtered[ex],
                          channel_label="Ambisonics channel 0 (W)",
                          relevance_label=relevance_map_label(feature))
        files[f"fig2 {label}"] = str(save_figure(fig, out / fig2))
        if cfg.wavs:
            for stem, sig in (("input", mix[ex]), ("direct", direct[ex]),
                              ("relevant", filtered[ex])):
                files[f"wav {label} {stem}"] = str(au.write_wav(
                    out / f"fig2_{file_tag(label)}_{stem}_w.wav", sig.astype(np.float32)))
    aural_res = {
        "claim": "Relevance-filtered audio (Eq. 3/4) keeps the time-frequency regions of the "
                 "direct speech and suppresses noise/reverberation, i.e. it is closer to the "
                 "noise-free direct sound than the input is.",
        "n_examples": n,
        "model_quality": quality,
        "figure": fig2,
        "filter": {"channel": w_label, "model_feature": feature, "n_bands": 20,
                   "n_taps": 129, "negative": "clip", "normalize": "max"},
        "metrics": {
            "spectral_similarity": {"filtered": mean_ci(spec_f), "input": mean_ci(spec_i),
                                    "control": mean_ci(spec_c),
                                    "energy_control": mean_ci(spec_e)},
            "si_sdr_db": {"filtered": mean_ci(sisdr_f), "input": mean_ci(sisdr_i),
                          "control": mean_ci(sisdr_c), "energy_control": mean_ci(sisdr_e)},
            "sdr_db": {"filtered": mean_ci(sdr_f), "input": mean_ci(sdr_i)},
        },
        "fraction_filtered_closer": {
            "spectral_similarity": float(np.mean(spec_f > spec_i)) if n else math.nan,
            "si_sdr": float(np.mean(sisdr_f > sisdr_i)) if n else math.nan},
        "filtered_minus_control": {"spectral_similarity": mean_ci(spec_f - spec_c),
                                   "si_sdr_db": mean_ci(sisdr_f - sisdr_c)},
        "filtered_minus_energy_control": {"spectral_similarity": mean_ci(spec_f - spec_e),
                                          "si_sdr_db": mean_ci(sisdr_f - sisdr_e)},
        "example_index": ex,
        "example_choice": ex_choice,
        **aural_checks,
    }
    return aural_res
