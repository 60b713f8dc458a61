"""The recordings yardstick: DOA error on scenes as users bring them.

The model cards' test set (grid directions, one fixed level, ideal spherical harmonics, 85 %
band-limited game voices) says little about a user's recording. This yardstick does:

* **talkers balanced by family** (:data:`FAMILIES`): studio prompts (the Debian corpus's test
  speakers ``asterisk-*``) and synthetic voices (eSpeak NG, built in) in equal numbers form the
  headline; the band-limited game voices (``fillets-*``, 8 kHz game audio) are reported as
  their own family, never mixed into the headline;
* **input levels** log-uniform over -60...-10 dBFS on W (:data:`LEVEL_RANGE_DBFS`): every clip
  is scaled after simulation, as recordings arrive;
* **off-grid directions** (uniform on the sphere), the card recipe's rooms, SNR 0-30 dB and
  RT60 0.2-0.8 s;
* **conditions** (:data:`CONDITIONS`): ideal SH, directional noise, a tetrahedral array for the
  first-order models and a 32-capsule rigid-sphere array for orders >= 2
  (:mod:`audiolrp.simulation.microphones`);
* **angular error first**: median / mean / share within 10 deg of the refined direction
  (:class:`audiolrp.models.Prediction`), then of the class direction, then exact class, beside
  the classic broadband intensity-vector estimator on the same clips.

Scene ``i`` of a stream is ``simulate_scene(config, scene_seed(seed, "test", i), corpus,
split="test")`` (:func:`audiolrp.data.datasets.scene_seed`); its level is drawn from
``SeedSequence([seed, i, LEVEL_STREAM])``. The Debian families share one stream, split by the
target talker's name, so the same seed gives the same scenes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from audiolrp.data.datasets import scene_seed
from audiolrp.errors import AudioLRPError
from audiolrp.evaluation import point_noise_overrides, scene_config_from_recipe
from audiolrp.models import LoadedModel
from audiolrp.signal.ambisonics import (
    direction_from_vector,
    nearest_class,
    unit_vector,
    vector_angle_deg,
)
from audiolrp.signal.features import intensity_vector_direction
from audiolrp.signal.levels import rms_to_dbfs, w_rms
from audiolrp.simulation.scenes import SceneConfig, get_corpus, simulate_scene
from audiolrp.training.export import card_test_recipe

#: W levels of the yardstick's clips (dBFS), drawn log-uniformly (uniform in dB).
LEVEL_RANGE_DBFS: tuple[float, float] = (-60.0, -10.0)
#: Third element of the level generator's seed sequence.
LEVEL_STREAM = 7
#: Default seed (differs from the cards' and the validation scenes').
YARDSTICK_SEED = 20261205


@dataclass(frozen=True)
class Family:
    """A talker family: the corpus and the speaker-name prefix of its target talkers."""

    corpus: str
    prefix: str | None
    description: str


FAMILIES: dict[str, Family] = {
    "studio": Family("debian", "asterisk-", "studio prompts (Asterisk, Debian corpus test split)"),
    "synthetic": Family("espeak", None, "eSpeak NG synthetic voices (built in, test split)"),
    "game": Family("debian", "fillets-", "band-limited game voices (Fish Fillets NG, 8 kHz "
                   "game audio, Debian corpus test split)"),
}
#: Families pooled, in equal numbers, into the headline numbers.
HEADLINE_FAMILIES: tuple[str, ...] = ("studio", "synthetic")


@dataclass(frozen=True)
class Condition:
    """A recording condition: scene overrides and the model orders it applies to."""

    key: str
    title: str
    overrides: dict[str, Any] = field(default_factory=dict)
    min_order: int = 0
    max_order: int = 4

    def applies_to(self, model: LoadedModel) -> bool:
        """Whether ``model``'s input order is within this condition's orders."""
        return self.min_order <= model.order <= self.max_order

    @property
    def scene_order(self) -> int:
        """Ambisonics order the scenes are simulated at (the highest model order served)."""
        return self.max_order


CONDITIONS: tuple[Condition, ...] = (
    Condition("ideal", "ideal spherical harmonics"),
    Condition("directional-noise", "ideal SH, 1-4 reverberant pink-noise point sources",
              point_noise_overrides(1, 4)),
    Condition("tetra", "tetrahedral cardioid array (A->B)", {"mic": "tetra"}, max_order=1),
    Condition("sphere32", "32-capsule rigid-sphere array", {"mic": "sphere32"}, min_order=2),
)


def card_like_recipe() -> dict[str, Any]:
    """The card test recipe with off-grid (uniform) directions (``{"config": ...}``)."""
    recipe = card_test_recipe()
    recipe["config"]["direction_sampling"] = "uniform"
    return recipe


@dataclass
class YardstickScenes:
    """The clips of one condition and family, at their drawn levels."""

    condition: str
    family: str
    audio: np.ndarray  # (n, n_sh, 16000) float64, at the drawn levels
    true_vectors: np.ndarray  # (n, 3)
    level_dbfs: np.ndarray  # (n,)
    speakers: list[str]
    scene_indices: np.ndarray  # (n,) index in the seeded stream
    baseline_error_deg: np.ndarray  # (n,) classic intensity-vector estimator


def _config(condition: Condition, corpus: str) -> SceneConfig:
    """The condition's scene config (a setting the simulator lacks is an error there)."""
    over = {**condition.overrides, "speech": corpus, "order": condition.scene_order}
    return scene_config_from_recipe(card_like_recipe(), condition.scene_order, over)


def level_gain(audio: np.ndarray, seed: int, index: int) -> tuple[float, float]:
    """``(gain, level_dbfs)``: the drawn W level of scene ``index`` and the gain giving it."""
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), int(index), LEVEL_STREAM]))
    level = float(rng.uniform(*LEVEL_RANGE_DBFS))
    now = float(rms_to_dbfs(w_rms(audio)))
    return 10.0 ** ((level - now) / 20.0), level


def simulate_family_scenes(
    condition: Condition,
    families: Sequence[str],
    n: int,
    seed: int = YARDSTICK_SEED,
    max_scenes: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, YardstickScenes]:
    """``n`` scenes for each of ``families`` of one corpus (one seeded stream, split by the
    target talker's name prefix).

    Raises
    ------
    AudioLRPError
        When the families use different corpora, or the stream holds too few scenes of a
        family within ``max_scenes`` (default ``40 n``).
    """
    corpora = {FAMILIES[f].corpus for f in families}
    if len(corpora) != 1:
        raise AudioLRPError(f"families {list(families)} use several corpora: pass one at a time")
    corpus_name = corpora.pop()
    cfg = _config(condition, corpus_name)
    corpus = get_corpus(cfg.speech, cfg.corpus_seed)
    got: dict[str, list[tuple[int, Any, float, float]]] = {f: [] for f in families}
    limit = max_scenes if max_scenes is not None else 40 * n
    i = 0
    while any(len(v) < n for v in got.values()):
        if i >= limit:
            short = {f: len(v) for f, v in got.items() if len(v) < n}
            raise AudioLRPError(
                f"only {short} scenes of those families in the first {limit} scenes: ask for "
                "fewer scenes or a larger max_scenes"
            )
        sc = simulate_scene(cfg, scene_seed(seed, "test", i), corpus, split="test")
        speaker = str(sc.params.get("speaker") or "")
        for f in families:
            prefix = FAMILIES[f].prefix
            if len(got[f]) < n and (prefix is None or speaker.startswith(prefix)):
                gain, level = level_gain(sc.mixture, seed, i)
                got[f].append((i, sc, gain, level))
                if progress is not None:
                    progress(1)
                break
        i += 1
    out = {}
    for f, items in got.items():
        audio = np.stack([np.asarray(sc.mixture, np.float64) * g for _, sc, g, _ in items])
        truth = np.stack([unit_vector(sc.azimuth_rad, sc.elevation_rad) for _, sc, _, _ in items])
        base = np.array([vector_angle_deg(unit_vector(*intensity_vector_direction(a[:4])), t)
                         for a, t in zip(audio, truth, strict=True)], np.float64)
        out[f] = YardstickScenes(
            condition.key, f, audio, truth, np.array([lv for *_, lv in items]),
            [str(sc.params.get("speaker") or "") for _, sc, _, _ in items],
            np.array([k for k, *_ in items]), base,
        )
    return out


def level_sweep(
    model: LoadedModel,
    scenes: Sequence[YardstickScenes],
    levels_dbfs: Sequence[float] = LEVEL_RANGE_DBFS,
) -> dict[str, dict[str, float]]:
    """The same clips at each of ``levels_dbfs`` (W level set exactly): refined-direction
    error summary per level. Level invariance means equal summaries at every level."""
    out = {}
    for level in levels_dbfs:
        errs = []
        for sc in scenes:
            now = rms_to_dbfs(w_rms(sc.audio))[:, None, None]
            moved = dataclasses.replace(sc, audio=sc.audio * 10.0 ** ((level - now) / 20.0))
            errs.append(model_errors(model, moved)["refined"])
        out[f"{level:g}"] = error_summary(np.concatenate(errs))
    return out


def error_summary(err_deg: np.ndarray) -> dict[str, float]:
    """``median``, ``mean`` and ``within_10_deg`` (share) of angular errors."""
    e = np.asarray(err_deg, np.float64)
    return {"median": float(np.median(e)), "mean": float(np.mean(e)),
            "within_10_deg": float(np.mean(e <= 10.0))}


def model_errors(model: LoadedModel, scenes: YardstickScenes, level: bool = True) -> dict[str, Any]:
    """Per-clip errors of ``model`` on ``scenes`` (refined and class direction, exact class
    against the class nearest to the true direction). ``level=False`` skips the level gain
    (the behaviour before it existed), for comparison."""
    pred = model.predict(scenes.audio, level=level)
    refined = vector_angle_deg(pred.direction, scenes.true_vectors)
    cls = vector_angle_deg(pred.class_direction, scenes.true_vectors)
    az, el = direction_from_vector(scenes.true_vectors)
    exact = pred.class_index == nearest_class(az, el)
    return {"refined": refined, "class": cls, "exact": exact.astype(np.float64)}


def summarise(errs: list[dict[str, Any]], baseline: list[np.ndarray]) -> dict[str, Any]:
    """Pooled summary of several families' per-clip errors (pass equal counts to balance)."""
    refined = np.concatenate([e["refined"] for e in errs])
    cls = np.concatenate([e["class"] for e in errs])
    exact = np.concatenate([e["exact"] for e in errs])
    base = np.concatenate(baseline)
    return {"n": int(refined.size), "refined_deg": error_summary(refined),
            "class_deg": error_summary(cls), "exact_class": float(np.mean(exact)),
            "classic_deg": error_summary(base),
            "model_closer_than_classic": float(np.mean(refined < base))}


def run_yardstick(
    models: Sequence[LoadedModel],
    *,
    n: int = 100,
    seed: int = YARDSTICK_SEED,
    conditions: Sequence[str] | None = None,
    families: Sequence[str] = ("studio", "synthetic", "game"),
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Every model on every condition that applies to it, per family and pooled.

    Parameters
    ----------
    models
        Loaded models (:func:`audiolrp.models.load`).
    n
        Scenes per family and condition (the headline pools :data:`HEADLINE_FAMILIES`, ``n``
        each).
    conditions
        Keys of :data:`CONDITIONS` (default: all).
    families
        Keys of :data:`FAMILIES`.
    progress
        Called with a line per finished (condition, family).

    Returns
    -------
    dict
        ``{"settings": ..., "results": {condition: {model: {"headline": summary,
        "families": {family: summary}, "headline_without_level_gain": summary (ideal only),
        "by_level": [...] }}}}``; summaries from :func:`summarise`.
    """
    keys = [c.key for c in CONDITIONS] if conditions is None else list(conditions)
    unknown = set(keys) - {c.key for c in CONDITIONS}
    if unknown or not keys:
        raise AudioLRPError(f"unknown conditions {sorted(unknown)}: use "
                            f"{', '.join(c.key for c in CONDITIONS)}")
    bad = set(families) - FAMILIES.keys()
    if bad:
        raise AudioLRPError(f"unknown families {sorted(bad)}: use {', '.join(FAMILIES)}")
    log = progress or (lambda line: None)
    results: dict[str, Any] = {}
    for cond in (c for c in CONDITIONS if c.key in keys):
        users = [m for m in models if cond.applies_to(m)]
        if not users:
            continue
        scenes: dict[str, YardstickScenes] = {}
        by_corpus: dict[str, list[str]] = {}
        for f in families:
            by_corpus.setdefault(FAMILIES[f].corpus, []).append(f)
        for fams in by_corpus.values():
            scenes.update(simulate_family_scenes(cond, fams, n, seed))
            log(f"{cond.key}: simulated {', '.join(fams)} ({n} scenes each)")
        results[cond.key] = {}
        for m in users:
            errs = {f: model_errors(m, s) for f, s in scenes.items()}
            head = [f for f in HEADLINE_FAMILIES if f in scenes]
            entry: dict[str, Any] = {
                "families": {f: summarise([errs[f]], [scenes[f].baseline_error_deg])
                             for f in scenes},
            }
            if head:
                entry["headline"] = summarise([errs[f] for f in head],
                                              [scenes[f].baseline_error_deg for f in head])
                levels = np.concatenate([scenes[f].level_dbfs for f in head])
                refined = np.concatenate([errs[f]["refined"] for f in head])
                edges = np.linspace(*LEVEL_RANGE_DBFS, 4)
                entry["by_level"] = [
                    {"low_dbfs": float(lo), "high_dbfs": float(hi),
                     "n": int(np.sum(sel)), "refined_median_deg": float(np.median(refined[sel]))}
                    for lo, hi in zip(edges[:-1], edges[1:], strict=True)
                    if np.any(sel := (levels >= lo) & (levels <= hi))
                ]
                if cond.key == "ideal":
                    raw = [model_errors(m, scenes[f], level=False) for f in head]
                    entry["headline_without_level_gain"] = summarise(
                        raw, [scenes[f].baseline_error_deg for f in head])
                    entry["level_sweep"] = level_sweep(m, [scenes[f] for f in head])
            results[cond.key][m.name] = entry
            log(f"{cond.key}: {m.name} done")
    return {
        "settings": {
            "n_per_family": n, "seed": seed, "families": {f: FAMILIES[f].description
                                                          for f in families},
            "headline_families": [f for f in HEADLINE_FAMILIES if f in families],
            "levels_dbfs": list(LEVEL_RANGE_DBFS), "directions": "uniform on the sphere",
            "recipe": card_like_recipe()["config"],
            "conditions": {c.key: {"title": c.title, "overrides": c.overrides,
                                   "orders": [c.min_order, c.max_order]}
                           for c in CONDITIONS if c.key in keys},
        },
        "results": results,
    }


def card_entry(report: dict[str, Any], model: str, command: str) -> dict[str, Any]:
    """The ``yardstick`` entry of a model file: ``model``'s numbers in ``report`` (headline and
    families per condition), what they were measured on, and the command that measures them
    (:func:`audiolrp.training.cards.model_card_markdown` draws it)."""
    st = report["settings"]
    conds = {c: per[model] for c, per in report["results"].items() if model in per}
    if not conds:
        raise AudioLRPError(f"the yardstick report has no results for {model!r}")
    return {
        "description": (
            f"{st['n_per_family']} scenes per talker family and condition (headline: "
            f"{' + '.join(st['headline_families'])} in equal numbers; game voices apart), W "
            f"levels {st['levels_dbfs'][0]:g}..{st['levels_dbfs'][1]:g} dBFS, off-grid sources, "
            f"seed {st['seed']}"
        ),
        "command": command,
        "conditions": {c: {k: v for k, v in e.items() if k in ("headline", "families")}
                       for c, e in conds.items()},
    }


def markdown_table(report: dict[str, Any]) -> str:
    """A Markdown table of every model and condition (headline numbers, game voices apart)."""
    lines = ["| model | condition | refined median / mean (deg) | within 10 deg | class median "
             "(deg) | exact class | classic median / mean (deg) | game voices: refined median |",
             "|---|---|---|---|---|---|---|---|"]
    names = sorted({m for per in report["results"].values() for m in per})
    for name in names:
        for cond, per in report["results"].items():
            e = per.get(name)
            if e is None or "headline" not in e:
                continue
            h, g = e["headline"], e["families"].get("game")
            r, b = h["refined_deg"], h["classic_deg"]
            lines.append(
                f"| `{name}` | {cond} | {r['median']:.2f} / {r['mean']:.2f} | "
                f"{100 * r['within_10_deg']:.0f} % | {h['class_deg']['median']:.2f} | "
                f"{100 * h['exact_class']:.0f} % | {b['median']:.2f} / {b['mean']:.2f} | "
                + (f"{g['refined_deg']['median']:.2f} |" if g else "- |")
            )
    return "\n".join(lines)


def format_yardstick(report: dict[str, Any]) -> str:
    """A plain-text table of :func:`run_yardstick`'s headline and game-voice numbers."""
    lines = [f"{'condition':<18} {'model':<10} {'refined med/mean/<=10':>24} "
             f"{'class med/mean':>15} {'exact':>6} {'classic med/mean':>17} {'game refined':>13}"]
    for cond, per_model in report["results"].items():
        for name, e in per_model.items():
            h = e.get("headline")
            g = e["families"].get("game")
            if h is None:
                continue
            r, c, b = h["refined_deg"], h["class_deg"], h["classic_deg"]
            game = f"{g['refined_deg']['median']:.1f}/{g['refined_deg']['mean']:.1f}" if g else "-"
            lines.append(
                f"{cond:<18} {name:<10} {r['median']:>7.1f}/{r['mean']:>5.1f}/"
                f"{100 * r['within_10_deg']:>5.1f}% {c['median']:>7.1f}/{c['mean']:>6.1f} "
                f"{100 * h['exact_class']:>5.1f}% {b['median']:>8.1f}/{b['mean']:>7.1f} "
                f"{game:>13}"
            )
    return "\n".join(lines)


__all__ = [
    "CONDITIONS",
    "FAMILIES",
    "HEADLINE_FAMILIES",
    "LEVEL_RANGE_DBFS",
    "YARDSTICK_SEED",
    "Condition",
    "Family",
    "YardstickScenes",
    "card_entry",
    "card_like_recipe",
    "error_summary",
    "format_yardstick",
    "level_gain",
    "level_sweep",
    "markdown_table",
    "model_errors",
    "run_yardstick",
    "simulate_family_scenes",
    "summarise",
]
