"""Replication study of the seed paper's three findings (Kiyan et al., Figs. 2-4, Eq. 3/4).

One function, :func:`replicate`, simulates fresh test scenes, explains them with the paper's LRP
composite through the model façade (:class:`audiolrp.app.explainer.Explainer`) and decides for
each finding and each model, by the criteria below (computed here, never by hand), whether it is
REPRODUCED, PARTIAL or NOT REPRODUCED. Results go to ``OUT/results.json``, ``OUT/replication.md``
(markdown; its tables are :func:`report.tables_markdown`, which ``docs/replication.md`` embeds
byte for byte) and PNG figures.

Models: the intensity CRNN (findings 1-3) and any HOA CRNNs (findings 2 and 3, and a per-order
channel-relevance table); by default every shipped model.

Scenes: the shipped cards' test recipe (rooms 3-10 x 3-8 x 2.5-4 m, RT60 0.2-0.8 s, SNR
0-30 dB, sources 1-3 m away) with directions uniform on the sphere (off-grid), simulated at
order max(2, the model's); speech: the Debian corpus's test speakers when it is installed, else
the built-in eSpeak speech, or ``--corpus`` (:func:`audiolrp.app.speech_choice.choose_speech`;
the report names it). Seeds ``SeedSequence([seed, TAG, stage, i])``, disjoint from dataset and
card test sets; every model sees the same seeds.

Quality flag (every finding, on exactly the examples it used): median and mean great-circle
error of the refined direction (:attr:`audiolrp.models.Prediction.direction`) and of the class,
share within 10 deg, exact class, and the classic intensity-vector estimator
(:func:`audiolrp.signal.features.intensity_vector_direction`) on the same clips. A model is *fit
to explain* when the paired 95 % bootstrap CI of the mean per-clip error difference (classic -
model) lies above 0 and its median error is <= 15 deg (1.5 grid steps): :data:`FIT_RULE`.
Verdicts on a model that is not fit are printed with the flag.

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
   * extension (reported): over random DOAs, Spearman correlation of each channel's share with
     ``|d_axis|``; for HOA models the share of relevance per Ambisonics order and of magnitude
     vs phase (reported).

2. **Pixel flipping (Fig. 4)**, every model, random-DOA scenes; bins ranked by relevance and set
   to the baseline (``"zero-normalised"``); score = clip probability of the true class; AOPC
   per curve. Paired per-example AOPC differences with 95 % CIs (mean +- 1.96 SE):

   * 2a relevance order beats random order: ``AOPC(all, MRF) - AOPC(all, random)``, CI lower
     bound > 0;
   * 2b (intensity) ``AOPC(active) >= 0.8 AOPC(all)`` (and ``AOPC(all) > 0``);
   * 2c (intensity) ``AOPC(reactive) <= 0.75 AOPC(all)`` and ``AOPC(active) -
     AOPC(reactive)`` CI lower bound > 0.

   Intensity: REPRODUCED 3/3, PARTIAL 1-2, NOT REPRODUCED 0. HOA models: 2a decides alone.

3. **Direct sound (Fig. 2), as the paper states it**: "the DNN attempts to ignore
   time-frequency regions mostly occupied by noise and diffuse reverberation, instead focusing
   on regions where the direct sound speech signal is prominent". Every model, scenes with
   known parts; per STFT bin of W the direct-to-residual ratio ``|D|^2 / |V + N|^2`` in dB
   (:mod:`audiolrp.analysis.direct_sound`), relevance mapped onto the W grid as
   :func:`audiolrp.analysis.heatmaps.audio_channel_heatmaps` does (HOA: ACN 0 magnitude +
   phase; intensity: sum of the six channels). Paired 95 % bootstrap CIs over examples:

   * 3a the positive-relevance-weighted mean log-ratio exceeds the uniform mean and the
     energy-weighted (``|X_W|^2``) mean (two checks);
   * 3b the AUC of positive relevance for direct-dominated bins (> 0 dB) exceeds the AUC of the
     energy;
   * 3c control: the example's own heatmap gives a higher weighted mean log-ratio than another
     example's heatmap (cyclic shift by one) on the same bins.

   REPRODUCED: all four; NOT REPRODUCED: none; else PARTIAL. Reported beside it: the same with
   the relevance summed over all input channels, and the weight profile over the ratio (figure).

   **Listening row (Eq. 3/4, Fig. 2d)**: the W channel filtered with its heatmap
   (``auralization.auralize``: B = 20 bands, 129 taps, negative relevance clipped) against the
   noise-free direct sound, by log-spectrogram correlation and SI-SDR; paired differences
   (filtered - input) with CIs (mean +- 1.96 SE): both CI > 0 REPRODUCED, one PARTIAL, none NOT
   REPRODUCED; controls (reported): another example's heatmap, and an energy-matched heatmap
   (the heatmap's own values placed on the bins in the order of their energy,
   :func:`audiolrp.analysis.direct_sound.rank_matched`: the same 20-band smearing, placement by
   loudness).

Explanations always use the **true class** as target (the paper explains the true DOA class).

Scenes with a forced direction: :func:`simulate_scene` draws the class first from its
generator; :func:`forced_class_seeds` searches seeds ``SeedSequence([seed, TAG, stage, j])``,
j = 0, 1, ..., whose first draw gives a wanted class (checked again on the simulated scene). The
scenes are thus recipe scenes conditioned on the class, without changing the scene recipe.
"""


from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from audiolrp.app.explainer import Explainer
from audiolrp.app.replication.criteria import (
    ACTIVE_MIN_RATIO,
    AXIS_CHANNEL,
    DIRECT_CHECKS,
    FIT_MAX_MEDIAN_DEG,
    FIT_RULE,
    NOT_REPRODUCED,
    PARTIAL,
    REACTIVE_MAX_RATIO,
    REPRODUCED,
    auralization_checks,
    axis_channel_checks,
    bootstrap_mean_ci,
    combine_two,
    count_verdict,
    direct_sound_checks,
    mean_ci,
    model_quality,
    pixel_flipping_checks,
    relevance_order_checks,
    verdict_axis_channels,
    verdict_positive,
)
from audiolrp.app.replication.report import report_markdown, tables_markdown
from audiolrp.app.replication.runs import (
    ReplicationConfig,
    SceneSet,
    channel_orders,
    explain_scenes,
    finding_channels,
    finding_direct_and_aural,
    finding_flip,
    first_label,
    forced_class_seeds,
    model_label,
    replication_scene_config,
    replication_seed,
    run_axis_set,
    run_random_set,
    scenes_for,
)
from audiolrp.app.speech_choice import SpeechChoice, choose_speech
from audiolrp.errors import AudioLRPError
from audiolrp.io import atomic_write_text, json_ready, write_json
from audiolrp.models import LoadedModel
from audiolrp.progress import ElapsedLog
from audiolrp.signal.feature_kinds import HOA

#: The shipped models :func:`replicate` runs by default: the intensity CRNN, then the HOA ones.
DEFAULT_INTENSITY_MODEL = "intensity"
DEFAULT_HOA_MODELS: tuple[str, ...] = ("hoa1", "hoa2", "hoa3", "hoa4")
#: Finding keys of ``results["findings"]`` with one entry per model, in table order.
PER_MODEL_FINDINGS: tuple[str, ...] = ("pixel_flipping", "direct_sound", "auralization")

ModelSpec = str | os.PathLike[str] | LoadedModel


# ------------------------------------------------------------------------------------------
# driver
# ------------------------------------------------------------------------------------------
def _verdicts(findings: dict[str, Any]) -> dict[str, str]:
    """Flat ``{"MODEL FINDING": verdict}`` in table order."""
    out: dict[str, str] = {}
    ch = findings.get("channel_relevance")
    labels = list(dict.fromkeys(
        ([ch["model"]] if ch else [])
        + [label for key in PER_MODEL_FINDINGS for label in (findings.get(key) or {})]))
    for label in labels:
        if ch and ch["model"] == label:
            out[f"{label} channel_relevance"] = ch["verdict"]
        for key in PER_MODEL_FINDINGS:
            f = (findings.get(key) or {}).get(label)
            if f:
                out[f"{label} {key}"] = f["verdict"]
    return out


def _write_results(out: Path, cfg: ReplicationConfig, models: dict[str, Any],
                   speech: SpeechChoice, timing: dict[str, float], findings: dict[str, Any],
                   files: dict[str, str], *, complete: bool) -> dict[str, Any]:
    """Write ``results.json`` and ``replication.md`` (also after each stage, so an interrupted
    run keeps the findings finished so far; ``complete`` marks the final write)."""

    t = dict(timing)
    t["total"] = sum(timing.values())
    results = json_ready({
        "config": dataclasses.asdict(cfg),
        "complete": complete,
        "models": models,
        "corpus": speech.name,
        "speech": speech.as_dict(),
        "quality_rule": FIT_RULE,
        "torch_threads": torch.get_num_threads(),
        "timing_s": t,
        "findings": findings,
        "verdicts": _verdicts(findings),
        # names inside the output folder: results.json never quotes this machine's paths
        "files": {k: Path(v).name for k, v in files.items()},
    })
    write_json(out / "results.json", results, allow_nan=False, default=None)
    atomic_write_text(out / "replication.md", report_markdown(results))
    results["files"] = {**dict(files), "results": str(out / "results.json"),
                        "report": str(out / "replication.md")}
    return results


def _model_list(models: ModelSpec | Sequence[ModelSpec] | None) -> list[ModelSpec]:
    if models is None:
        return []
    if isinstance(models, str):
        return [m.strip() for m in models.split(",") if m.strip()]
    if isinstance(models, LoadedModel | os.PathLike):
        return [models]
    return list(models)


def _load_models(
    intensity_model: ModelSpec | None, hoa_models: ModelSpec | Sequence[ModelSpec] | None
) -> list[LoadedModel]:
    """The models of a replication, the intensity CRNN first (one-line errors for a model of
    the wrong kind or none)."""
    lms: list[LoadedModel] = []
    if intensity_model is not None:
        lm_int = Explainer.load(intensity_model).model
        if not lm_int.layout.is_intensity:
            raise AudioLRPError(
                f"--intensity-model is a {lm_int.feature!r} model: pass the intensity CRNN")
        lms.append(lm_int)
    for spec in _model_list(hoa_models):
        lm = Explainer.load(spec).model
        if lm.layout.kind is not HOA:
            raise AudioLRPError(
                f"--hoa-models: {model_label(lm)} is a {lm.feature!r} model: pass HOA CRNNs "
                "(e.g. hoa1,hoa2,hoa3,hoa4)")
        lms.append(lm)
    if not lms:
        raise AudioLRPError("no models: pass --intensity-model and/or --hoa-models")
    return lms


def replicate(
    intensity_model: ModelSpec | None = DEFAULT_INTENSITY_MODEL,
    hoa_models: ModelSpec | Sequence[ModelSpec] | None = DEFAULT_HOA_MODELS,
    out_dir: str | os.PathLike[str] = "replication",
    config: ReplicationConfig | None = None,
    *,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run the replication study and write ``results.json``, ``replication.md`` and figures.

    Parameters
    ----------
    intensity_model
        The intensity CRNN (findings 1-3): shipped name, saved model path or
        :class:`~audiolrp.models.LoadedModel`; ``None`` skips its rows.
    hoa_models
        HOA CRNNs (findings 2 and 3, per-order channel table): one or several (a sequence or a
        comma-separated string); ``None`` or empty for none.
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
    speech = choose_speech(cfg.corpus, "debian")
    torch.manual_seed(cfg.seed)
    files: dict[str, str] = {}
    timing: dict[str, float] = {}
    findings: dict[str, Any] = {}
    lms = _load_models(intensity_model, hoa_models)
    models = {model_label(lm): {"feature": lm.feature, "order": lm.order,
                                "weights_sha256": lm.config.get("weights_sha256")} for lm in lms}
    out.mkdir(parents=True, exist_ok=True)  # only once the models have loaded
    say(f"models {', '.join(models)}; speech: {speech.describe()}")

    def save(complete: bool = False) -> dict[str, Any]:
        return _write_results(out, cfg, models, speech, timing, findings, files,
                              complete=complete)

    @contextmanager
    def timed(key: str) -> Iterator[None]:
        t = time.perf_counter()
        yield
        timing[key] = time.perf_counter() - t

    for lm in lms:
        label = model_label(lm)
        rnd: SceneSet | None = None
        n_rand = max(cfg.n_general if "channels" in cfg.stages else 0,
                     cfg.n_flip if "flip" in cfg.stages else 0)
        if n_rand:
            n_keep = min(cfg.n_flip, n_rand) if "flip" in cfg.stages else 0
            with timed(f"{label}: random-DOA set (simulate + LRP)"):
                rnd = run_random_set(lm, cfg, speech, n_rand, n_keep, say)
        if "channels" in cfg.stages:
            if lm.layout.is_intensity:  # finding 1 is stated for the intensity channels
                with timed(f"{label}: channel relevance (axis scenes, simulate + LRP)"):
                    axis, classes, scfg = run_axis_set(lm, cfg, speech, say)
                    ch = finding_channels(axis, classes, scfg, rnd, cfg, out, files)
                findings["channel_relevance"] = {"model": label, **ch}
                say(f"{label} channel relevance: {ch['verdict']}")
            elif rnd is not None:
                findings.setdefault("channel_orders", {})[label] = channel_orders(lm, rnd, cfg)
            save()
        if "flip" in cfg.stages and rnd is not None and rnd.x is not None and rnd.x.shape[0]:
            with timed(f"{label}: pixel flipping"):
                pf = finding_flip(lm, rnd, cfg, out, files, say)
            findings.setdefault("pixel_flipping", {})[label] = pf
            say(f"{label} pixel flipping: {pf['verdict']}")
            save()
        rnd = None  # frees the kept inputs and relevances before the next model
        if "aural" in cfg.stages and cfg.n_aural > 0:
            with timed(f"{label}: finding 3 (simulate + LRP + measures)"):
                direct, aural = finding_direct_and_aural(lm, cfg, speech, out, files, say)
            findings.setdefault("direct_sound", {})[label] = direct
            findings.setdefault("auralization", {})[label] = aural
            say(f"{label} direct sound: {direct['verdict']}; auralization: {aural['verdict']}")
            save()
    results = save(complete=True)
    say(f"wrote {out / 'results.json'} and {out / 'replication.md'}")
    return results


__all__ = [
    "ACTIVE_MIN_RATIO",
    "AXIS_CHANNEL",
    "DEFAULT_HOA_MODELS",
    "DEFAULT_INTENSITY_MODEL",
    "DIRECT_CHECKS",
    "FIT_MAX_MEDIAN_DEG",
    "FIT_RULE",
    "NOT_REPRODUCED",
    "PARTIAL",
    "PER_MODEL_FINDINGS",
    "REACTIVE_MAX_RATIO",
    "REPRODUCED",
    "ReplicationConfig",
    "SceneSet",
    "auralization_checks",
    "axis_channel_checks",
    "bootstrap_mean_ci",
    "choose_speech",
    "combine_two",
    "count_verdict",
    "direct_sound_checks",
    "explain_scenes",
    "first_label",
    "forced_class_seeds",
    "mean_ci",
    "model_quality",
    "pixel_flipping_checks",
    "relevance_order_checks",
    "replicate",
    "replication_scene_config",
    "replication_seed",
    "report_markdown",
    "scenes_for",
    "tables_markdown",
    "verdict_axis_channels",
    "verdict_positive",
]
