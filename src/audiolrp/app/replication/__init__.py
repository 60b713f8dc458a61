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
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from audiolrp.app.explainer import Explainer
from audiolrp.app.replication.criteria import (
    ACTIVE_MIN_RATIO,
    AXIS_CHANNEL,
    NOT_REPRODUCED,
    PARTIAL,
    REACTIVE_MAX_RATIO,
    REPRODUCED,
    WEAK_ACCURACY,
    auralization_checks,
    axis_channel_checks,
    combine_two,
    count_verdict,
    mean_ci,
    model_quality,
    pixel_flipping_checks,
    verdict_axis_channels,
    verdict_positive,
)
from audiolrp.app.replication.report import (
    report_markdown,
)
from audiolrp.app.replication.runs import (
    ReplicationConfig,
    _finding_aural,
    _finding_channels,
    _finding_flip,
    _run_axis_set,
    _run_random_set,
    first_label,
    forced_class_seeds,
    model_label,
    replication_scene_config,
    replication_seed,
)
from audiolrp.errors import AudioLRPError
from audiolrp.io import atomic_write_text, json_ready, write_json
from audiolrp.progress import ElapsedLog


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
    lm_int = Explainer.load(intensity_model).model if need_int else None
    if lm_int is not None:
        if lm_int.feature != "intensity":
            raise AudioLRPError(
                f"--intensity-model is a {lm_int.feature!r} model: pass the intensity CRNN")
        models["intensity"] = model_label(lm_int)
    lm_hoa = Explainer.load(hoa_model).model if "aural" in cfg.stages else None
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
    "AXIS_CHANNEL",
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
