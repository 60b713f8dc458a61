"""Several sources at once: the CRNN's sigmoid head, its clip activity map and the peak picking
that turns a map over the 425 classes into a number of sources and their directions.

The multi-source model is the CRNN of Table 1 with ``head="sigmoid"`` (Poschadel et al.'s
multi-source CRNN: one independent activity per direction class, trained with binary
cross-entropy against soft targets around every source, :mod:`audiolrp.training.multisource`).
The clip activity is the mean frame sigmoid per class (``CRNN.clip_probabilities``). Sources
are the peaks of that map (:func:`grid_peaks`): greedy non-maximum suppression on the sphere,
a class is a source when its activity reaches ``threshold`` and it lies at least
``min_separation_deg`` from every stronger source, at most ``max_sources`` of them. The
threshold is chosen on validation scenes and stored in the model file (``"multisource"``).
A learned source counter (:mod:`audiolrp.models.source_count`), when the model file stores one
(``"multisource"``/``"counter"``), replaces the threshold rule: the counter predicts the number
of sources ``n`` from the map and the strongest ``n`` peaks are the sources.
The same peak picking serves the classic estimator's direction histogram
(:mod:`audiolrp.evaluation.multisource`).

A recording is read through the façade like a one-talker model's:
``models.load("multi-intensity").detect_sources(clips)`` brings every clip to the training
level, computes its activity map and returns a :class:`SourcesPrediction` (the detected
talkers of each clip, their directions, classes and activities).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import torch

from audiolrp.errors import AudioLRPError
from audiolrp.models.crnn import CRNN
from audiolrp.signal.ambisonics import (
    class_distance_deg,
    direction_from_vector,
    doa_grid,
    unit_vector,
)

if TYPE_CHECKING:
    from audiolrp.models.source_count import SourceCounter

#: Key of the detector settings in a multi-source model's JSON description.
DETECTOR_KEY: str = "multisource"


def model_task(config: dict[str, Any]) -> str:
    """``"multi"`` for a multi-source model description (sigmoid head), else ``"single"``."""
    head = (config.get("architecture") or {}).get("head", "softmax")
    return "multi" if head == "sigmoid" else "single"


@functools.cache
def grid_distances_deg() -> np.ndarray:
    """``(425, 425)`` class distances of the DOA grid (computed once, read-only)."""
    d = class_distance_deg()
    d.setflags(write=False)
    return d


def clip_activity(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``(B, 425)`` clip activity (mean frame sigmoid) of a sigmoid-head model, no grad."""
    if getattr(model, "head", "softmax") != "sigmoid":
        raise AudioLRPError(
            "this model has a softmax head (one source); load a multi-source model "
            "(trained with `audiolrp train --task multi`)"
        )
    with torch.no_grad():
        return cast(CRNN, model).clip_probabilities(model(x))


def grid_peaks(
    values: np.ndarray,
    threshold: float,
    min_separation_deg: float,
    max_peaks: int = 3,
    distance_deg: np.ndarray | None = None,
    relative: float = 0.0,
) -> np.ndarray:
    """Classes that are peaks of a map over the grid (greedy non-maximum suppression).

    Parameters
    ----------
    values
        ``(n_classes,)`` map (activities or histogram weights).
    threshold
        A peak needs ``values >= threshold``.
    min_separation_deg
        A peak lies at least this far from every stronger peak.
    max_peaks
        At most this many peaks, strongest first.
    distance_deg
        ``(n_classes, n_classes)`` class distances (default: those of the DOA grid).
    relative
        A peak also needs ``values >= relative * max(values)`` (0: absolute threshold only).

    Returns
    -------
    ndarray of int
        Peak classes, strongest first (possibly empty).
    """
    v = np.asarray(values, np.float64).reshape(-1)
    dist = grid_distances_deg() if distance_deg is None else np.asarray(distance_deg)
    if dist.shape != (v.size, v.size):
        raise AudioLRPError(f"a map over {dist.shape[0]} classes is needed, got {v.size} values")
    order = np.argsort(-v, kind="stable")
    floor = max(float(threshold), float(relative) * float(v.max(initial=0.0)))
    peaks: list[int] = []
    for c in order:
        if len(peaks) >= max_peaks or not v[c] >= floor:
            break
        if all(dist[c, p] >= min_separation_deg for p in peaks):
            peaks.append(int(c))
    return np.asarray(peaks, np.int64)


def refine_peak(
    values: np.ndarray, peak: int, radius_deg: float, grid_rad: np.ndarray | None = None
) -> tuple[float, float]:
    """Direction of a peak below the grid: the value-weighted mean of the unit vectors of the
    classes within ``radius_deg`` of ``peak`` (its own direction when the weights vanish)."""
    grid = doa_grid() if grid_rad is None else np.asarray(grid_rad)
    dist = (grid_distances_deg() if grid_rad is None else class_distance_deg(grid))[peak]
    near = dist <= radius_deg
    w = np.clip(np.asarray(values, np.float64)[near], 0.0, None)
    az, el = grid[near, 0], grid[near, 1]
    vec = np.stack([np.cos(az) * np.cos(el), np.sin(az) * np.cos(el), np.sin(el)], -1)
    s = (w[:, None] * vec).sum(0)
    if not np.linalg.norm(s) > 0:
        return float(grid[peak, 0]), float(grid[peak, 1])
    a, e = direction_from_vector(s)
    return float(a), float(e)


@dataclass(frozen=True)
class SourceDetector:
    """Peak picking on a clip map: threshold, separation, most sources, refinement radius,
    and a threshold relative to the map's maximum (``relative``, 0: none).

    With a ``counter`` (:class:`audiolrp.models.source_count.SourceCounter`) the thresholds are
    not used: the counter's count ``n`` of the map gives the strongest ``n`` peaks (threshold 0,
    same separation, at most ``max_sources``).
    """

    threshold: float = 0.5
    min_separation_deg: float = 25.0
    max_sources: int = 3
    refine_radius_deg: float = 15.0
    relative: float = 0.0
    counter: SourceCounter | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not math.isfinite(self.threshold):
            raise AudioLRPError(f"detector threshold {self.threshold} must be finite")
        if not (self.min_separation_deg >= 0 and self.max_sources >= 1):
            raise AudioLRPError(
                "detector needs min_separation_deg >= 0 and max_sources >= 1, got "
                f"{self.min_separation_deg} and {self.max_sources}"
            )

    def detect(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(classes (K,), directions (K, 2) [azimuth_rad, elevation_rad])`` of one map."""
        if self.counter is not None:
            n = min(self.counter.count(values), self.max_sources)
            peaks = grid_peaks(values, 0.0, self.min_separation_deg, n)
        else:
            peaks = grid_peaks(values, self.threshold, self.min_separation_deg,
                               self.max_sources, relative=self.relative)
        dirs = np.array(
            [refine_peak(values, int(p), self.refine_radius_deg) for p in peaks], np.float64
        ).reshape(-1, 2)
        return peaks, dirs

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready settings (the counter under ``"counter"`` when there is one)."""
        d: dict[str, Any] = {
            "threshold": float(self.threshold),
            "min_separation_deg": float(self.min_separation_deg),
            "max_sources": int(self.max_sources),
            "refine_radius_deg": float(self.refine_radius_deg),
            "relative": float(self.relative),
        }
        if self.counter is not None:
            d["counter"] = self.counter.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SourceDetector:
        """Inverse of :meth:`to_dict` (extra keys, e.g. how it was chosen, are ignored; no
        ``"counter"``: the threshold rule, as in model files written before the counter)."""
        # source_count imports grid_peaks from here: import it when a description is read
        from audiolrp.models.source_count import SourceCounter  # noqa: PLC0415

        counter = d.get("counter")
        return cls(
            threshold=float(d.get("threshold", 0.5)),
            min_separation_deg=float(d.get("min_separation_deg", 25.0)),
            max_sources=int(d.get("max_sources", 3)),
            refine_radius_deg=float(d.get("refine_radius_deg", 15.0)),
            relative=float(d.get("relative", 0.0)),
            counter=None if counter is None else SourceCounter.from_dict(dict(counter)),
        )


@dataclass
class SourcesPrediction:
    """The talkers a multi-source model detects in each of ``B`` clips.

    Silent clips (W below :data:`audiolrp.signal.levels.SILENCE_FLOOR_DBFS`) are not run
    through the model: their activity is zero and they have no sources.

    Attributes
    ----------
    activity
        ``(B, 425)`` clip activity maps (mean frame sigmoid per class).
    classes
        Per clip, ``(K_b,)`` int classes of the detected peaks, strongest first.
    directions_rad
        Per clip, ``(K_b, 2)`` [azimuth, elevation] in radians of those peaks, refined below
        the grid (:meth:`SourceDetector.detect`).
    level_dbfs
        ``(B,)`` W level of each clip as given (before the level gain).
    silent
        ``(B,)`` bool: digital silence, no sources.
    detector
        The detector that read the maps (the one stored in the model file).
    """

    activity: np.ndarray
    classes: list[np.ndarray]
    directions_rad: list[np.ndarray]
    level_dbfs: np.ndarray
    silent: np.ndarray
    detector: SourceDetector

    @classmethod
    def from_activity(
        cls,
        activity: np.ndarray,
        detector: SourceDetector,
        level_dbfs: np.ndarray | None = None,
        silent: np.ndarray | None = None,
    ) -> SourcesPrediction:
        """Detections of clip activity maps ``(B, 425)``; ``silent`` rows get none."""
        a = np.asarray(activity, np.float64).copy()
        if a.ndim != 2:
            raise AudioLRPError(f"activity maps have shape {a.shape}: pass (B, n_classes)")
        b = a.shape[0]
        sil = np.zeros(b, bool) if silent is None else np.asarray(silent, bool).reshape(b)
        a[sil] = 0.0
        classes, dirs = [], []
        for i in range(b):
            c, d = (np.zeros(0, np.int64), np.zeros((0, 2))) if sil[i] else detector.detect(a[i])
            classes.append(np.asarray(c, np.int64))
            dirs.append(np.asarray(d, np.float64).reshape(-1, 2))
        lv = np.full(b, np.nan) if level_dbfs is None else np.asarray(level_dbfs, np.float64)
        return cls(a, classes, dirs, lv.reshape(b), sil, detector)

    @classmethod
    def concatenate(cls, parts: Sequence[SourcesPrediction]) -> SourcesPrediction:
        """One prediction of consecutive batches' predictions (same detector)."""
        return cls(
            activity=np.concatenate([p.activity for p in parts]),
            classes=[c for p in parts for c in p.classes],
            directions_rad=[d for p in parts for d in p.directions_rad],
            level_dbfs=np.concatenate([p.level_dbfs for p in parts]),
            silent=np.concatenate([p.silent for p in parts]),
            detector=parts[0].detector,
        )

    def __len__(self) -> int:
        return len(self.classes)

    @property
    def counts(self) -> np.ndarray:
        """``(B,)`` number of detected sources per clip."""
        return np.array([len(c) for c in self.classes], np.int64)

    def directions(self) -> list[np.ndarray]:
        """Per clip, ``(K_b, 3)`` unit vectors (x front, y left, z up) of the sources."""
        return [unit_vector(d[:, 0], d[:, 1]).reshape(-1, 3) for d in self.directions_rad]

    def rows(self) -> list[dict[str, Any]]:
        """One JSON-ready dict per clip: level, silence, the number of sources and each
        source's direction (azimuth in [-180, 180) deg), class and activity."""
        out = []
        for i in range(len(self)):
            sources = []
            for c, (az, el) in zip(self.classes[i], self.directions_rad[i], strict=True):
                sources.append({
                    "azimuth_deg": round((math.degrees(az) + 180.0) % 360.0 - 180.0, 2),
                    "elevation_deg": round(math.degrees(el), 2),
                    "class": int(c),
                    "activity": round(float(self.activity[i, c]), 6),
                })
            lv = self.level_dbfs[i]
            out.append({"silent": bool(self.silent[i]),
                        "level_dbfs": round(float(lv), 2) if np.isfinite(lv) else None,
                        "n_sources": len(sources), "sources": sources})
        return out


def detector_of(config: dict[str, Any]) -> SourceDetector:
    """The detector stored in a multi-source model's JSON description (defaults otherwise; with
    its source counter when the description stores one)."""
    return SourceDetector.from_dict(dict(config.get(DETECTOR_KEY) or {}))


__all__ = [
    "DETECTOR_KEY",
    "SourceDetector",
    "SourcesPrediction",
    "clip_activity",
    "detector_of",
    "grid_distances_deg",
    "grid_peaks",
    "model_task",
    "refine_peak",
]
