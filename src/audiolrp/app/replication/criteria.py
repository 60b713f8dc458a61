"""Replication criteria (:mod:`audiolrp.app.replication`): verdict constants, thresholds, the
quality flag and the pure statistics that decide each finding (unit-tested on synthetic
numbers)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from audiolrp.analysis.statistics import bootstrap_indices
from audiolrp.errors import AudioLRPError
from audiolrp.signal.layout import INTENSITY_NAMES as INTENSITY_CHANNEL_NAMES

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
#: Quality bar ("fit to explain"): the median error of the refined direction on the examples
#: used is at most 1.5 steps of the 10-degree class grid ...
FIT_MAX_MEDIAN_DEG = 15.0
#: ... and the model beats the classic intensity-vector estimator clearly: the paired bootstrap
#: CI of the mean per-clip error difference (classic - model) lies above 0.
FIT_RULE = ("fit to explain: on the examples used, the paired 95 % bootstrap CI of the mean "
            "per-clip error difference (classic intensity vector - model's refined direction) "
            "lies above 0 and the model's median error is <= 15 deg (1.5 steps of the 10-deg "
            "class grid)")
#: Bootstrap resamples of every bootstrap CI of the replication.
N_BOOT = 2000
#: Finding 3 (direct sound): a bin is direct-dominated when its direct-to-residual ratio > 0 dB.
DIRECT_THRESHOLD_DB = 0.0

ACTIVE = (0, 1, 2)
REACTIVE = (3, 4, 5)
AXIS_CHANNEL = {"+x": 0, "-x": 0, "+y": 1, "-y": 1}


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


def bootstrap_mean_ci(values: Sequence[float] | np.ndarray, n_boot: int = N_BOOT,
                      seed: int = 0) -> dict[str, float]:
    """Mean and 95 % percentile-bootstrap CI over examples (non-finite values dropped).

    Resamples :func:`audiolrp.analysis.statistics.bootstrap_indices` ``(n_boot, n)``; the CI is
    the 2.5 and 97.5 percentiles of the resampled means. For paired differences pass the
    per-example differences. ``n < 2``: CI = mean (NaN for no values).
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0:
        return {"mean": math.nan, "ci_low": math.nan, "ci_high": math.nan, "n": 0}
    m = float(v.mean())
    if v.size < 2:
        return {"mean": m, "ci_low": m, "ci_high": m, "n": int(v.size)}
    means = v[bootstrap_indices(v.size, n_boot, seed)].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return {"mean": m, "ci_low": float(lo), "ci_high": float(hi), "n": int(v.size)}


def _error_summary(err: np.ndarray) -> dict[str, float]:
    if err.size == 0:
        return {"median_deg": math.nan, "mean_deg": math.nan, "within_10_deg": math.nan}
    return {"median_deg": float(np.median(err)), "mean_deg": float(np.mean(err)),
            "within_10_deg": float(np.mean(err <= 10.0))}


def model_quality(
    refined_error_deg: Sequence[float] | np.ndarray,
    class_error_deg: Sequence[float] | np.ndarray,
    classic_error_deg: Sequence[float] | np.ndarray,
    exact_class: Sequence[bool] | np.ndarray,
    *,
    seed: int = 0,
) -> dict[str, Any]:
    """The quality flag of a finding, on exactly the examples it used.

    Parameters
    ----------
    refined_error_deg
        Per clip, great-circle error of the model's refined direction against the true
        direction (:attr:`audiolrp.models.Prediction.direction`).
    class_error_deg
        The same for the direction of the predicted class.
    classic_error_deg
        The same for the classic intensity-vector estimate of the same clip
        (:func:`audiolrp.signal.features.intensity_vector_direction`).
    exact_class
        Per clip, whether the predicted class is the true class.
    seed
        Seed of the bootstrap.

    Returns
    -------
    dict
        ``n``; ``refined``, ``class``, ``classic``: median / mean error and share within 10 deg;
        ``exact_class`` (accuracy; chance 1/425 in ``chance``); ``classic_minus_refined_deg``:
        mean per-clip error difference with its paired bootstrap CI; ``beats_classic``,
        ``median_ok`` and ``fit`` (both; :data:`FIT_RULE`).
    """
    ref = np.asarray(refined_error_deg, dtype=np.float64).ravel()
    cls = np.asarray(class_error_deg, dtype=np.float64).ravel()
    cla = np.asarray(classic_error_deg, dtype=np.float64).ravel()
    exact = np.asarray(exact_class, dtype=bool).ravel()
    if not ref.size == cls.size == cla.size == exact.size:
        raise AudioLRPError(
            f"quality inputs differ in length ({ref.size}, {cls.size}, {cla.size}, "
            f"{exact.size}): pass one value per example")
    n = int(ref.size)
    diff = bootstrap_mean_ci(cla - ref, seed=seed)
    beats = bool(n > 1 and diff["ci_low"] > 0)
    median_ok = bool(n > 0 and float(np.median(ref)) <= FIT_MAX_MEDIAN_DEG)
    return {
        "n": n,
        "refined": _error_summary(ref),
        "class": _error_summary(cls),
        "classic": _error_summary(cla),
        "exact_class": float(np.mean(exact)) if n else math.nan,
        "chance": 1.0 / 425,
        "classic_minus_refined_deg": diff,
        "beats_classic": beats,
        "median_ok": median_ok,
        "fit": beats and median_ok,
    }


def relevance_order_checks(aopc: dict[str, np.ndarray]) -> dict[str, Any]:
    """Criterion 2a alone (HOA models: their channels are not active / reactive intensity).

    ``aopc`` holds per-example AOPCs for ``"all"`` (most relevant first) and ``"all random"``;
    REPRODUCED when ``AOPC(all) - AOPC(random)`` has CI lower bound > 0, else NOT REPRODUCED.
    """
    a = {k: np.asarray(v, dtype=np.float64) for k, v in aopc.items()}
    missing = [k for k in ("all", "all random") if k not in a]
    if missing:
        raise AudioLRPError(f"pixel-flipping AOPCs missing for {missing}")
    d_rand = mean_ci(a["all"] - a["all random"])
    c2a = bool(d_rand["ci_low"] > 0)
    return {
        "aopc_mean": {k: float(v.mean()) for k, v in a.items()},
        "aopc_ci": {k: mean_ci(v) for k, v in a.items()},
        "mrf_minus_random": d_rand,
        "checks": {"2a relevance order beats random": c2a},
        "verdict": count_verdict([c2a]),
    }


#: The four checks of finding 3 (direct sound), in report order.
DIRECT_CHECKS = (
    "3a relevance-weighted > uniform",
    "3a relevance-weighted > energy-weighted",
    "3b AUC relevance > AUC energy",
    "3c own heatmap > another clip's",
)


def direct_sound_checks(measures: dict[str, np.ndarray], seed: int = 0) -> dict[str, Any]:
    """Criteria of finding 3 as the paper states it, from per-example measures.

    Parameters
    ----------
    measures
        :func:`audiolrp.analysis.direct_sound.direct_sound_measures` of the examples.
    seed
        Seed of the bootstrap.

    Returns
    -------
    dict
        ``means`` (mean [CI] of every measure), ``differences`` (paired bootstrap CIs of the
        four tested differences and of the control's AUC), ``checks`` (:data:`DIRECT_CHECKS`:
        CI lower bound > 0) and ``verdict`` (all four -> REPRODUCED, none -> NOT REPRODUCED,
        else PARTIAL).
    """
    m = {k: np.asarray(v, dtype=np.float64) for k, v in measures.items()}
    need = ("relevance_weighted", "energy_weighted", "uniform", "control_weighted",
            "auc_relevance", "auc_energy", "auc_control")
    missing = [k for k in need if k not in m]
    if missing:
        raise AudioLRPError(f"direct-sound measures missing: {missing}")
    diffs = {
        "relevance_minus_uniform_db": m["relevance_weighted"] - m["uniform"],
        "relevance_minus_energy_db": m["relevance_weighted"] - m["energy_weighted"],
        "auc_relevance_minus_energy": m["auc_relevance"] - m["auc_energy"],
        "relevance_minus_control_db": m["relevance_weighted"] - m["control_weighted"],
        "auc_relevance_minus_control": m["auc_relevance"] - m["auc_control"],
    }
    d = {k: bootstrap_mean_ci(v, seed=seed) for k, v in diffs.items()}
    passed = [d[k]["ci_low"] > 0 for k in ("relevance_minus_uniform_db",
                                           "relevance_minus_energy_db",
                                           "auc_relevance_minus_energy",
                                           "relevance_minus_control_db")]
    return {
        "means": {k: bootstrap_mean_ci(v, seed=seed) for k, v in m.items()},
        "differences": d,
        "checks": {name: bool(p) for name, p in zip(DIRECT_CHECKS, passed, strict=True)},
        "verdict": count_verdict(passed),
    }
