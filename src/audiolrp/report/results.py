"""The report's JSON: prediction and relevance summaries of an analysed clip, angles in degrees
(``results.json`` of ``audiolrp demo`` / ``audiolrp explain``; :mod:`audiolrp.report.pages`
writes it once).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from audiolrp.app.pipeline import ClipAnalysis, class_directions_rad


def elevation_deg(x_rad: float) -> float:
    """An elevation (or any angle) in degrees, rounded to 0.01 deg."""
    return round(float(np.degrees(x_rad)), 2)


def azimuth_deg(x_rad: float) -> float:
    """An azimuth in degrees wrapped to [-180, 180), rounded to 0.01 deg."""
    return round((float(np.degrees(x_rad)) + 180.0) % 360.0 - 180.0, 2)


def prediction_dict(a: ClipAnalysis, top_k: int = 5) -> dict[str, Any]:
    """JSON-ready prediction summary of a clip: the refined direction, the predicted class and
    its direction, the confidence, the level and the ``top_k`` classes."""
    grid = class_directions_rad()
    top = np.argsort(-a.probabilities)[:top_k]
    return {
        "class": a.predicted_class,
        "azimuth_deg": azimuth_deg(a.azimuth_rad),
        "elevation_deg": elevation_deg(a.elevation_rad),
        "class_azimuth_deg": azimuth_deg(a.class_azimuth_rad),
        "class_elevation_deg": elevation_deg(a.class_elevation_rad),
        "confidence": round(a.confidence, 6),
        "level_dbfs": round(a.level_dbfs, 2) if np.isfinite(a.level_dbfs) else None,
        "silent": bool(a.silent),
        "top": [
            {
                "class": int(i),
                "azimuth_deg": azimuth_deg(grid[i, 0]),
                "elevation_deg": elevation_deg(grid[i, 1]),
                "probability": round(float(a.probabilities[i]), 6),
            }
            for i in top
        ],
    }


def analysis_dict(a: ClipAnalysis, names: Sequence[str]) -> dict[str, Any]:
    """JSON-ready relevance summary (channel relevance, pixel flipping)."""
    out: dict[str, Any] = {
        "method": a.relevance_method,
        "explained_class": a.target_class,
    }
    if a.relevance is not None:
        out["total_relevance"] = float(a.relevance.sum())
        out["explained_score"] = float(a.frame_scores[:, a.target_class].sum())
    if a.channel_relevance is not None:
        out["channel_relevance"] = {
            str(n): round(float(v), 6) for n, v in zip(names, a.channel_relevance, strict=True)
        }
    if a.pixel_flipping is not None:
        out["pixel_flipping"] = {k: v for k, v in a.pixel_flipping.items() if k != "results"}
    return out


__all__ = ["analysis_dict", "azimuth_deg", "elevation_deg", "prediction_dict"]
