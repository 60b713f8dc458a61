"""DOA metrics of clip predictions: great-circle errors, accuracy, breakdowns by SNR, RT60 and
talker, the classic intensity-vector baseline on the same clips, and their text summary
(:mod:`audiolrp.evaluation`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from audiolrp.errors import AudioLRPError
from audiolrp.signal.ambisonics import (
    angular_error_deg,
    class_neighbour_spacing_deg,
    doa_grid,
    nearest_class,
    unit_vector,
    vector_angle_deg,
)

if TYPE_CHECKING:
    from audiolrp.evaluation.predict import Predictions

# ------------------------------------------------------------------------------------------
# Geometry
# ------------------------------------------------------------------------------------------


def great_circle_deg(
    az1_rad: np.ndarray, el1_rad: np.ndarray, az2_rad: np.ndarray, el2_rad: np.ndarray
) -> np.ndarray:
    """Great-circle angle in degrees between directions, ``atan2(|u x v|, u . v)``
    (:func:`audiolrp.signal.ambisonics.angular_error_deg`)."""
    return angular_error_deg(az1_rad, el1_rad, az2_rad, el2_rad)


def axis_sign_folded_error_deg(
    az1_rad: np.ndarray, el1_rad: np.ndarray, az2_rad: np.ndarray, el2_rad: np.ndarray
) -> np.ndarray:
    """Great-circle angle in degrees after mirroring both directions into the first octant.

    ``(x, y, z) -> (|x|, |y|, |z|)``: 0 when one direction is a mirror image of the other in
    any of the coordinate planes (the ambiguity left by HOA channel magnitudes alone).
    """
    return vector_angle_deg(
        np.abs(unit_vector(az1_rad, el1_rad)), np.abs(unit_vector(az2_rad, el2_rad))
    )


def neighbour_spacing_deg(grid_rad: np.ndarray) -> float:
    """Largest angle from a grid direction to its nearest other grid direction (degrees;
    :func:`audiolrp.signal.ambisonics.class_neighbour_spacing_deg`)."""
    return float(np.max(class_neighbour_spacing_deg(grid_rad)))


def _default_grid() -> np.ndarray:

    return np.asarray(doa_grid(), np.float64)


# ------------------------------------------------------------------------------------------
# Metrics
# ------------------------------------------------------------------------------------------


def _summary(err: np.ndarray) -> dict[str, float]:
    if err.size == 0:
        return {"mean": float("nan"), "median": float("nan"), "p90": float("nan")}
    return {
        "mean": float(np.mean(err)),
        "median": float(np.median(err)),
        "p90": float(np.percentile(err, 90)),
    }


def _bin_edges(values: np.ndarray, n_bins: int) -> np.ndarray:
    edges = np.unique(np.quantile(values, np.linspace(0.0, 1.0, n_bins + 1)))
    if edges.size == 1:
        edges = np.array([edges[0], edges[0]])
    return edges


def breakdown(
    values: np.ndarray,
    correct: np.ndarray,
    error_deg: np.ndarray,
    *,
    n_bins: int = 4,
    edges: np.ndarray | None = None,
) -> list[dict[str, float]]:
    """Accuracy and error per bin of ``values`` (equal-count bins unless ``edges`` given).

    Bins are ``[low, high)``; the last one also holds ``high``. NaN values are skipped.
    """
    values = np.asarray(values, np.float64)
    ok = np.isfinite(values)
    if not np.any(ok):
        return []
    edges = _bin_edges(values[ok], n_bins) if edges is None else np.asarray(edges, np.float64)
    rows = []
    for i in range(len(edges) - 1):
        lo, hi = edges[i], edges[i + 1]
        last = i == len(edges) - 2
        sel = ok & (values >= lo) & ((values <= hi) if last else (values < hi))
        rows.append(
            {
                "low": float(lo),
                "high": float(hi),
                "n": int(np.sum(sel)),
                "accuracy": float(np.mean(correct[sel])) if np.any(sel) else float("nan"),
                "mean_error_deg": float(np.mean(error_deg[sel])) if np.any(sel) else float("nan"),
                "median_error_deg": (
                    float(np.median(error_deg[sel])) if np.any(sel) else float("nan")
                ),
            }
        )
    return rows


def speaker_breakdown(
    speaker: np.ndarray,
    correct: np.ndarray,
    error_deg: np.ndarray,
    baseline_error_deg: np.ndarray | None = None,
) -> list[dict[str, Any]]:
    """Accuracy and error per talker of the target speech, sorted by name.

    Shows whether a model generalises to voices it never heard (the cards' test speakers are
    disjoint from the training speakers). Clips without a speaker name (``""``) are skipped.
    ``baseline_error_deg`` (the classic estimator's error per clip, NaN where unknown) adds
    its mean per talker, so a hard voice is told apart from a hard recording.
    """
    names = np.asarray(speaker, dtype=object).reshape(-1)
    rows: list[dict[str, Any]] = []
    for name in sorted({str(n) for n in names if n}):
        sel = np.array([str(n) == name for n in names])
        row: dict[str, Any] = {
            "speaker": name,
            "n": int(sel.sum()),
            "accuracy": float(np.mean(correct[sel])),
            "mean_error_deg": float(np.mean(error_deg[sel])),
            "median_error_deg": float(np.median(error_deg[sel])),
        }
        if baseline_error_deg is not None:
            b = np.asarray(baseline_error_deg, np.float64)[sel]
            b = b[np.isfinite(b)]
            row["baseline_mean_error_deg"] = float(np.mean(b)) if b.size else float("nan")
        rows.append(row)
    return rows


def _checked_classes(
    pred: np.ndarray, label: np.ndarray, grid_rad: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``pred``, ``label`` as flat int64 arrays and the class grid, after checking that they
    have equal counts and lie on the grid (one-line errors)."""
    pred = np.asarray(pred, np.int64).reshape(-1)
    label = np.asarray(label, np.int64).reshape(-1)
    if pred.shape != label.shape:
        raise AudioLRPError(f"{pred.size} predictions but {label.size} labels: pass equal counts")
    grid = _default_grid() if grid_rad is None else np.asarray(grid_rad, np.float64)
    if pred.size and (
        max(pred.max(), label.max()) >= len(grid) or min(pred.min(), label.min()) < 0
    ):
        raise AudioLRPError(f"class indices must lie in 0..{len(grid) - 1}")
    return pred, label, grid


def _refined_metrics(
    refined_rad: tuple[np.ndarray, np.ndarray], true_az: np.ndarray, true_el: np.ndarray
) -> dict[str, Any]:
    """``refined_error_deg`` (mean/median/p90 vs the true direction) and
    ``refined_share_within_10_deg`` of directions refined below the grid."""
    raz = np.asarray(refined_rad[0], np.float64).reshape(-1)
    rel = np.asarray(refined_rad[1], np.float64).reshape(-1)
    err_ref = great_circle_deg(raz, rel, true_az, true_el)
    return {
        "refined_error_deg": _summary(err_ref),
        "refined_share_within_10_deg": (
            float(np.mean(err_ref <= 10.0)) if raz.size else float("nan")
        ),
    }


def compute_metrics(
    pred: np.ndarray,
    label: np.ndarray,
    true_azimuth_rad: np.ndarray | None = None,
    true_elevation_rad: np.ndarray | None = None,
    *,
    grid_rad: np.ndarray | None = None,
    snr_db: np.ndarray | None = None,
    rt60_s: np.ndarray | None = None,
    n_bins: int = 4,
    neighbour_tolerance_deg: float | None = None,
    speaker: np.ndarray | None = None,
    baseline_error_deg: np.ndarray | None = None,
    refined_rad: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, Any]:
    """DOA metrics of clip predictions.

    Parameters
    ----------
    pred, label
        Predicted and true class indices, shape ``(n,)``.
    true_azimuth_rad, true_elevation_rad
        Exact true source directions (default: the true class directions).
    grid_rad
        ``(n_classes, 2)`` class directions [azimuth, elevation] (default ``doa_grid()``).
    snr_db, rt60_s
        Per-clip conditions for the breakdowns (optional).
    n_bins
        Equal-count bins of the breakdowns.
    neighbour_tolerance_deg
        Class-error threshold of ``accuracy_within_neighbour`` (default: the grid's largest
        nearest-neighbour spacing, :func:`neighbour_spacing_deg`).
    speaker
        Talker of each clip (``""`` = unknown) for ``by_speaker`` (:func:`speaker_breakdown`).
    baseline_error_deg
        The classic estimator's error per clip (NaN where unknown); adds its mean per talker
        to ``by_speaker``.
    refined_rad
        ``(azimuth_rad, elevation_rad)`` of the directions refined below the grid
        (:class:`audiolrp.models.Prediction`): adds ``refined_error_deg`` (mean/median/p90 vs
        the true direction) and ``refined_share_within_10_deg``.

    Returns
    -------
    dict
        ``n_examples``, ``accuracy``, ``error_vs_true_direction_deg`` and
        ``error_vs_true_class_deg`` and ``error_ignoring_axis_signs_deg`` (mean/median/p90; the
        last vs the true direction), ``accuracy_within_neighbour``,
        ``neighbour_tolerance_deg``, ``by_snr_db`` and ``by_rt60_s`` (lists of bins) and
        ``by_speaker`` (one row per talker; empty without ``speaker``).
    """
    pred, label, grid = _checked_classes(pred, label, grid_rad)
    if true_azimuth_rad is None or true_elevation_rad is None:
        true_az, true_el = grid[label, 0], grid[label, 1]
    else:
        true_az = np.asarray(true_azimuth_rad, np.float64).reshape(-1)
        true_el = np.asarray(true_elevation_rad, np.float64).reshape(-1)
    correct = (pred == label).astype(np.float64)
    err_dir = great_circle_deg(grid[pred, 0], grid[pred, 1], true_az, true_el)
    err_cls = great_circle_deg(grid[pred, 0], grid[pred, 1], grid[label, 0], grid[label, 1])
    tol = (
        neighbour_spacing_deg(grid) if neighbour_tolerance_deg is None else neighbour_tolerance_deg
    )
    metrics: dict[str, Any] = {
        "n_examples": int(pred.size),
        "accuracy": float(np.mean(correct)) if pred.size else float("nan"),
        "error_vs_true_direction_deg": _summary(err_dir),
        "error_vs_true_class_deg": _summary(err_cls),
        "error_ignoring_axis_signs_deg": _summary(
            axis_sign_folded_error_deg(grid[pred, 0], grid[pred, 1], true_az, true_el)
        ),
        "accuracy_within_neighbour": (
            float(np.mean(err_cls <= tol + 1e-6)) if pred.size else float("nan")
        ),
        "neighbour_tolerance_deg": float(tol),
        "share_within_10_deg": float(np.mean(err_dir <= 10.0)) if pred.size else float("nan"),
    }
    if refined_rad is not None:
        metrics.update(_refined_metrics(refined_rad, true_az, true_el))
    metrics["by_snr_db"] = (
        breakdown(np.asarray(snr_db), correct, err_dir, n_bins=n_bins) if snr_db is not None else []
    )
    metrics["by_rt60_s"] = (
        breakdown(np.asarray(rt60_s), correct, err_dir, n_bins=n_bins) if rt60_s is not None else []
    )
    metrics["by_speaker"] = (
        speaker_breakdown(speaker, correct, err_dir, baseline_error_deg)
        if speaker is not None
        else []
    )
    return metrics


def baseline_metrics(
    preds: Predictions, true_azimuth_rad: np.ndarray, true_elevation_rad: np.ndarray
) -> dict[str, Any] | None:
    """Errors of the classic broadband intensity-vector estimate on the same clips.

    ``error_vs_true_direction_deg`` of its continuous direction (mean/median/p90),
    ``share_within_10_deg`` beside the model's, and the exact-class ``accuracy`` of its nearest
    class. ``None`` when the clips carried no first-order audio.
    """

    baz, bel = preds.baseline_azimuth_rad, preds.baseline_elevation_rad
    ok = np.isfinite(baz) & np.isfinite(bel)
    if not ok.any():
        return None
    err = great_circle_deg(baz[ok], bel[ok], true_azimuth_rad[ok], true_elevation_rad[ok])
    grid = _default_grid()
    model_err = great_circle_deg(
        grid[preds.pred[ok], 0], grid[preds.pred[ok], 1], true_azimuth_rad[ok],
        true_elevation_rad[ok],
    )
    return {
        "estimator": "broadband active intensity vector sum_{t,f} Re{conj(W) [X, Y, Z]}",
        "n_examples": int(ok.sum()),
        "error_vs_true_direction_deg": _summary(err),
        "share_within_10_deg": float(np.mean(err <= 10.0)),
        "model_share_within_10_deg": float(np.mean(model_err <= 10.0)),
        "accuracy": float(np.mean(nearest_class(baz[ok], bel[ok]) == preds.label[ok])),
        "model_wins_share": float(np.mean(model_err < err)),
    }


def format_metrics(metrics: dict[str, Any]) -> str:
    """Human-readable multi-line summary of :func:`compute_metrics` output."""
    d = metrics["error_vs_true_direction_deg"]
    c = metrics["error_vs_true_class_deg"]
    lines = [f"examples: {metrics['n_examples']}"]
    r = metrics.get("refined_error_deg")
    if r:
        lines.append(
            f"refined direction error vs true direction (deg): mean {r['mean']:.2f}, median "
            f"{r['median']:.2f}; within 10 deg: {metrics['refined_share_within_10_deg']:.3f}"
        )
    lines += [
        f"accuracy (exact class): {metrics['accuracy']:.3f}",
        f"accuracy within neighbour (<= {metrics['neighbour_tolerance_deg']:.1f} deg): "
        f"{metrics['accuracy_within_neighbour']:.3f}",
        f"class error vs true direction (deg): mean {d['mean']:.2f}, median {d['median']:.2f}",
        f"error vs true class (deg): mean {c['mean']:.2f}, median {c['median']:.2f}",
    ]
    f = metrics.get("error_ignoring_axis_signs_deg")
    if f:
        lines.append(
            f"error ignoring the signs of x, y, z (deg): mean {f['mean']:.2f}, "
            f"median {f['median']:.2f}"
        )
    b = metrics.get("baseline_intensity_vector")
    if b:
        e = b["error_vs_true_direction_deg"]
        lines.append(
            f"classic intensity-vector estimator on the same clips (deg): mean {e['mean']:.2f}, "
            f"median {e['median']:.2f}; within 10 deg: baseline {b['share_within_10_deg']:.3f}, "
            f"model {b['model_share_within_10_deg']:.3f}; model closer on "
            f"{b['model_wins_share']:.3f} of the clips"
        )
    for key, unit in (("by_snr_db", "SNR dB"), ("by_rt60_s", "RT60 s")):
        for row in metrics.get(key, []):
            lines.append(
                f"  {unit} [{row['low']:.2f}, {row['high']:.2f}]: n={row['n']}, accuracy "
                f"{row['accuracy']:.3f}, mean error {row['mean_error_deg']:.2f} deg"
            )
    for row in metrics.get("by_speaker", []):
        classic = row.get("baseline_mean_error_deg")
        lines.append(
            f"  talker {row['speaker']}: n={row['n']}, accuracy {row['accuracy']:.3f}, mean "
            f"error {row['mean_error_deg']:.2f} deg"
            + (f" (classic {classic:.2f})" if classic is not None and np.isfinite(classic) else "")
        )
    return "\n".join(lines)


__all__ = [
    "axis_sign_folded_error_deg",
    "baseline_metrics",
    "breakdown",
    "compute_metrics",
    "format_metrics",
    "great_circle_deg",
    "neighbour_spacing_deg",
    "speaker_breakdown",
]
