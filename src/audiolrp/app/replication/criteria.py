"""Replication criteria (:mod:`audiolrp.app.replication`): verdict constants, thresholds and the
pure statistics that decide each finding (unit-tested on synthetic numbers)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from audiolrp.errors import AudioLRPError
from audiolrp.evaluation import great_circle_deg
from audiolrp.signal.ambisonics import doa_grid
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
#: Models below this accuracy on the examples used are flagged as weak.
WEAK_ACCURACY = 0.5

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
