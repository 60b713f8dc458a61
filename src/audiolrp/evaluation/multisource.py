"""Evaluation with several sources per clip: Hungarian-matched angular error, misses, false
alarms and source counting, for the multi-source model and for the classic estimator's
multi-source counterpart on the same clips.

Matching (:func:`match_directions`): the true and the estimated directions of a clip are paired
by :func:`scipy.optimize.linear_sum_assignment` on their great-circle angles (minimum total
angle); the ``min(n_true, n_est)`` pairs give the matched errors, ``max(n_true - n_est, 0)``
true sources are misses and ``max(n_est - n_true, 0)`` estimates are false alarms; the count is
right when ``n_est == n_true``.

Classic estimator (:func:`intensity_histogram`, :func:`classic_detections`): the active
intensity ``Re{conj(W) [X, Y, Z]}`` of every STFT bin points at the source dominating that
bin; each bin votes for its nearest class with its weight ``|W|^2`` (energy); the histogram is
smoothed with a Gaussian of ``smooth_deg`` over the class distances and normalised to a maximum
of 1, and its peaks (:func:`audiolrp.models.multisource.grid_peaks`: threshold relative to the
maximum, minimum separation) are the sources. No learning apart from the threshold, which is
chosen on validation clips like the model's (:func:`choose_threshold`).

Counting by a learned source counter (:func:`with_counter`,
:mod:`audiolrp.models.source_count`): a multinomial logistic regression on the peak heights of
a map, fitted on the validation clips' maps and true counts, replaces the thresholds of either
detector; :func:`evaluate_multisource` reports both ways of counting.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from audiolrp.data.multisource import MultiSourceDataset
from audiolrp.errors import AudioLRPError
from audiolrp.models.multisource import SourceDetector, clip_activity, grid_distances_deg
from audiolrp.models.source_count import choose_source_counter
from audiolrp.signal.ambisonics import (
    angular_error_deg,
    direction_from_vector,
    doa_grid,
    nearest_class,
)
from audiolrp.signal.features import compute_features, stft

#: Smoothing of the classic estimator's direction histogram (degrees).
CLASSIC_SMOOTH_DEG: float = 8.0
#: Thresholds tried by :func:`choose_threshold` (model activity / relative histogram height).
#: (geometric below 0.05: a clip's mean frame sigmoid of a talker can be small)
THRESHOLDS: tuple[float, ...] = tuple(
    float(t) for t in np.unique(np.round(np.concatenate(
        [np.geomspace(0.002, 0.05, 15), np.arange(0.05, 0.96, 0.025)]), 4))
)


@dataclass(frozen=True)
class Match:
    """One clip's matching: pairs ``(true index, estimate index)`` and their angles."""

    pairs: tuple[tuple[int, int], ...]
    errors_deg: np.ndarray
    misses: int
    false_alarms: int


def match_directions(true_rad: np.ndarray, est_rad: np.ndarray) -> Match:
    """Hungarian matching of true and estimated directions (``(n, 2)``, ``(m, 2)`` radians)."""
    t = np.asarray(true_rad, np.float64).reshape(-1, 2)
    e = np.asarray(est_rad, np.float64).reshape(-1, 2)
    if len(t) == 0 or len(e) == 0:
        return Match((), np.zeros(0), len(t), len(e))
    cost = angular_error_deg(t[:, None, 0], t[:, None, 1], e[None, :, 0], e[None, :, 1])
    rows, cols = linear_sum_assignment(cost)
    pairs = tuple((int(r), int(c)) for r, c in zip(rows, cols, strict=True))
    return Match(pairs, cost[rows, cols], len(t) - len(pairs), len(e) - len(pairs))


def multisource_metrics(
    true_dirs: Sequence[np.ndarray], est_dirs: Sequence[np.ndarray]
) -> dict[str, Any]:
    """Matched error, misses, false alarms and counting over clips.

    Parameters
    ----------
    true_dirs, est_dirs
        Per clip ``(n_i, 2)`` / ``(m_i, 2)`` directions in radians.

    Returns
    -------
    dict
        ``n_clips``, ``n_sources``, ``matched_error_deg`` (mean/median/p90 over matched pairs),
        ``matched_within_10_deg``/``_20_deg`` (share of true sources matched within),
        ``misses``, ``false_alarms`` (totals and per true source), ``count_accuracy``,
        ``count_confusion`` (``true -> {estimated: clips}``).
    """
    if len(true_dirs) != len(est_dirs):
        raise AudioLRPError(f"{len(true_dirs)} true and {len(est_dirs)} estimated clips differ")
    errs: list[np.ndarray] = []
    misses = fas = right = n_src = 0
    confusion: dict[str, dict[str, int]] = {}
    for t, e in zip(true_dirs, est_dirs, strict=True):
        m = match_directions(t, e)
        errs.append(m.errors_deg)
        misses += m.misses
        fas += m.false_alarms
        n_t, n_e = len(np.asarray(t).reshape(-1, 2)), len(np.asarray(e).reshape(-1, 2))
        n_src += n_t
        right += int(n_t == n_e)
        row = confusion.setdefault(str(n_t), {})
        row[str(n_e)] = row.get(str(n_e), 0) + 1
    err = np.concatenate(errs) if errs else np.zeros(0)
    n_clips = len(true_dirs)

    def summary(x: np.ndarray) -> dict[str, float | None]:
        if x.size == 0:
            return {"mean": None, "median": None, "p90": None}
        return {"mean": float(x.mean()), "median": float(np.median(x)),
                "p90": float(np.percentile(x, 90))}

    return {
        "n_clips": n_clips,
        "n_sources": n_src,
        "matched_error_deg": summary(err),
        "matched_within_10_deg": float(np.sum(err <= 10.0) / max(n_src, 1)),
        "matched_within_20_deg": float(np.sum(err <= 20.0) / max(n_src, 1)),
        "misses": misses,
        "false_alarms": fas,
        "miss_rate": misses / max(n_src, 1),
        "false_alarms_per_clip": fas / max(n_clips, 1),
        "count_accuracy": right / max(n_clips, 1),
        "count_confusion": confusion,
    }


def intensity_histogram(audio: np.ndarray, smooth_deg: float = CLASSIC_SMOOTH_DEG) -> np.ndarray:
    """The classic estimator's map: energy-weighted histogram of per-bin active-intensity
    directions over the 425 classes, Gaussian-smoothed, maximum 1 (``(B, 425)`` float64).

    Parameters
    ----------
    audio
        SN3D/ACN audio ``(B, K >= 4, samples)`` (or ``(K, samples)``).
    smooth_deg
        Standard deviation of the smoothing over class distances (degrees; 0: none).
    """
    x = torch.as_tensor(np.asarray(audio, np.float64))
    single = x.dim() == 2
    if single:
        x = x[None]
    if x.dim() != 3 or x.shape[1] < 4:
        raise AudioLRPError(f"need first-order audio (B, K >= 4, samples), got {tuple(x.shape)}")
    spec = stft(x[:, :4]).numpy()  # (B, 4, T, F)
    w = spec[:, 0]
    vec = np.stack([spec[:, 3], spec[:, 1], spec[:, 2]], -1)  # x, y, z
    i_a = np.real(np.conj(w)[..., None] * vec).reshape(len(x), -1, 3)
    weight = (np.abs(w) ** 2).reshape(len(x), -1)
    n_cls = len(doa_grid())
    hist = np.zeros((len(x), n_cls))
    for b in range(len(x)):
        ok = np.linalg.norm(i_a[b], axis=-1) > 0
        az, el = direction_from_vector(i_a[b][ok])
        cls = nearest_class(az, el)
        hist[b] = np.bincount(cls, weights=weight[b][ok], minlength=n_cls)
    if smooth_deg > 0:
        kern = np.exp(-0.5 * (grid_distances_deg() / smooth_deg) ** 2)
        hist = hist @ kern.T
    peak = hist.max(axis=1, keepdims=True)
    hist = np.divide(hist, peak, out=np.zeros_like(hist), where=peak > 0)
    return hist[0] if single else hist


def detections(maps: np.ndarray, detector: SourceDetector) -> list[np.ndarray]:
    """Per clip the ``(K, 2)`` detected directions of ``(B, 425)`` maps."""
    return [detector.detect(m)[1] for m in np.asarray(maps)]


def choose_threshold(
    maps: np.ndarray,
    true_dirs: Sequence[np.ndarray],
    make_detector: Callable[[float], SourceDetector],
    thresholds: Sequence[float] = THRESHOLDS,
) -> tuple[float, dict[str, Any]]:
    """The threshold with the best source counting on validation clips (ties: lower matched
    mean error), and the metrics it reached."""
    best: tuple[float, float, float] | None = None
    best_metrics: dict[str, Any] = {}
    for thr in thresholds:
        m = multisource_metrics(true_dirs, detections(maps, make_detector(float(thr))))
        mean = m["matched_error_deg"]["mean"]
        key = (m["count_accuracy"], -(mean if mean is not None else 180.0), -float(thr))
        if best is None or key > best:
            best, best_metrics = key, {"threshold": float(thr), **m}
    assert best is not None
    return float(best_metrics["threshold"]), best_metrics


#: Relative thresholds tried by :func:`choose_detector`.
RELATIVES: tuple[float, ...] = (0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)


def choose_detector(
    maps: np.ndarray,
    true_dirs: Sequence[np.ndarray],
    base: SourceDetector,
    thresholds: Sequence[float] = THRESHOLDS,
    relatives: Sequence[float] = RELATIVES,
    fit_counter: bool = False,
) -> tuple[SourceDetector, dict[str, Any]]:
    """The absolute and relative thresholds (``base``'s other settings) with the best source
    counting on validation clips (ties: lower matched mean error), and its metrics.

    With ``fit_counter`` a source counter is also fitted on the clips (:func:`with_counter`);
    the detector keeps it when its cross-validated count accuracy is at least the threshold
    rule's count accuracy on the same clips. The metrics are then those of the returned
    detector, with ``threshold_rule_count_accuracy`` and ``counter_cv_count_accuracy`` added.
    """
    best: tuple[float, float] | None = None
    chosen, chosen_m = base, {}
    for rel in relatives:
        for thr in thresholds:
            det = dataclasses.replace(base, threshold=float(thr), relative=float(rel),
                                      counter=None)
            m = multisource_metrics(true_dirs, detections(maps, det))
            mean = m["matched_error_deg"]["mean"]
            key = (m["count_accuracy"], -(mean if mean is not None else 180.0))
            if best is None or key > best:
                best, chosen, chosen_m = key, det, m
    if not fit_counter:
        return chosen, {"detector": chosen.to_dict(), **chosen_m}
    counted = with_counter(maps, true_dirs, chosen)
    assert counted.counter is not None
    cv = dict(counted.counter.validation)["cv_count_accuracy"]
    extra = {"threshold_rule_count_accuracy": chosen_m["count_accuracy"],
             "counter_cv_count_accuracy": cv}
    if cv >= chosen_m["count_accuracy"]:
        chosen, chosen_m = counted, multisource_metrics(true_dirs, detections(maps, counted))
    return chosen, {"detector": chosen.to_dict(), **chosen_m, **extra}


def with_counter(
    maps: np.ndarray, true_dirs: Sequence[np.ndarray], detector: SourceDetector
) -> SourceDetector:
    """``detector`` with a source counter fitted on these clips' maps and true counts
    (:func:`audiolrp.models.source_count.choose_source_counter`, the detector's separation and
    most sources)."""
    counts = [len(np.asarray(t).reshape(-1, 2)) for t in true_dirs]
    counter = choose_source_counter(np.asarray(maps), counts,
                                    min_separation_deg=detector.min_separation_deg,
                                    max_sources=detector.max_sources)
    return dataclasses.replace(detector, counter=counter)


def model_activity(
    model: torch.nn.Module, audio: np.ndarray, feature: str, batch_size: int = 32
) -> np.ndarray:
    """``(B, 425)`` clip activities of a sigmoid-head model on raw SN3D audio ``(B, K, n)``."""
    out = []
    for lo in range(0, len(audio), batch_size):
        x = compute_features(torch.as_tensor(np.asarray(audio[lo : lo + batch_size],
                                                        np.float32)), feature, 1)
        out.append(clip_activity(model, x).numpy())
    return np.concatenate(out) if out else np.zeros((0, len(doa_grid())))


def evaluate_multisource(
    model: torch.nn.Module | None,
    feature: str,
    test_audio: np.ndarray,
    test_dirs: Sequence[np.ndarray],
    val_audio: np.ndarray,
    val_dirs: Sequence[np.ndarray],
    *,
    model_detector: SourceDetector | None = None,
    min_separation_deg: float = 25.0,
    counter: bool = True,
) -> dict[str, Any]:
    """The model (if given) and the classic estimator on the same test clips.

    The classic estimator's absolute and relative thresholds are chosen on the validation clips
    (:func:`choose_detector`); the model's too unless ``model_detector`` is given (then it is
    used as it is, e.g. the one stored in the model file, with its counter if it has one).
    With ``counter`` each map also gets a source counter fitted on the validation clips
    (:func:`with_counter`), evaluated as ``classic_counter`` and ``model_counter``.

    Returns
    -------
    dict
        ``classic``, ``model`` (metrics of :func:`multisource_metrics` plus ``threshold`` and
        ``detector``), ``classic_counter``, ``model_counter`` (with ``counter``), ``n_test``,
        ``n_val``.
    """
    out: dict[str, Any] = {"n_test": len(test_audio), "n_val": len(val_audio)}
    base = classic_detector(0.5, min_separation_deg)
    hist_val = intensity_histogram(val_audio)
    hist_test = intensity_histogram(test_audio)
    det_c, _ = choose_detector(hist_val, val_dirs, base)
    rows: list[tuple[str, SourceDetector, np.ndarray]] = [("classic", det_c, hist_test)]
    if counter:
        rows.append(("classic_counter", with_counter(hist_val, val_dirs, det_c), hist_test))
    if model is not None:
        det = model_detector
        act_val = model_activity(model, val_audio, feature) if counter or det is None else None
        if det is None:
            assert act_val is not None
            det, _ = choose_detector(act_val, val_dirs, SourceDetector(
                min_separation_deg=min_separation_deg))
        act = model_activity(model, test_audio, feature)
        rows.append(("model", det, act))
        if counter and act_val is not None:
            rows.append(("model_counter", with_counter(act_val, val_dirs, det), act))
    for name, d, maps in rows:
        out[name] = {"threshold": d.threshold, "detector": d.to_dict(),
                     **multisource_metrics(test_dirs, detections(maps, d))}
    out["classic"]["estimator"] = ("peaks of the energy-weighted histogram of per-bin "
                                   "active-intensity directions")
    return out


def dataset_clips(
    root: str | os.PathLike[str], split: str, limit: int | None = None
) -> tuple[np.ndarray, list[np.ndarray]]:
    """First-order mixtures ``(B, 4, n)`` and per-clip true directions (``(S, 2)`` azimuth,
    elevation in radians) of a multi-source dataset split (the first ``limit`` clips)."""
    ds = MultiSourceDataset(root, split)
    n = len(ds) if limit is None else min(int(limit), len(ds))
    if n == 0:
        raise AudioLRPError(f"{root} has no {split} scenes: simulate some with --n-{split}")
    return (np.stack([ds.audio(i, order=1) for i in range(n)]),
            [ds.directions(i) for i in range(n)])


def classic_detector(threshold: float, min_separation_deg: float = 25.0) -> SourceDetector:
    """The classic estimator's peak picking (relative threshold, same separation rule)."""
    return SourceDetector(threshold=threshold, min_separation_deg=min_separation_deg)


def format_multisource(name: str, m: dict[str, Any]) -> str:
    """One line of a metrics dict (for the CLI and logs)."""
    e = m["matched_error_deg"]
    mean = "-" if e["mean"] is None else f"{e['mean']:.1f}"
    med = "-" if e["median"] is None else f"{e['median']:.1f}"
    return (
        f"{name}: matched error mean/median {mean}/{med} deg, within 10/20 deg "
        f"{m['matched_within_10_deg']:.3f}/{m['matched_within_20_deg']:.3f}, misses "
        f"{m['misses']}, false alarms {m['false_alarms']}, count accuracy "
        f"{m['count_accuracy']:.3f} ({m['n_clips']} clips, {m['n_sources']} sources)"
    )


__all__ = [
    "CLASSIC_SMOOTH_DEG",
    "RELATIVES",
    "THRESHOLDS",
    "Match",
    "choose_detector",
    "choose_threshold",
    "classic_detector",
    "detections",
    "evaluate_multisource",
    "format_multisource",
    "intensity_histogram",
    "match_directions",
    "model_activity",
    "multisource_metrics",
    "with_counter",
]
