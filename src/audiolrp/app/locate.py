"""Where the talker is, window by window (``audiolrp locate FILE``): the DOA of every 1-s window
of a recording of any length and sample rate, without explanations.

The recording is streamed (:func:`audiolrp.app.recordings.stream_windows`: a 20-s segment and
one batch of windows in memory at a time, whatever the length), every window is brought to the
model's training level and predicted by :meth:`audiolrp.models.LoadedModel.predict` (class and
refined direction; a multi-source model's talkers by
:meth:`~audiolrp.models.LoadedModel.detect_sources`), and each window's level is kept so that
digital silence and quiet windows (:func:`audiolrp.signal.levels.quiet_windows`) are flagged
instead of reported as a talker.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from audiolrp.app.recordings import (
    RecordingInfo,
    open_recording,
    stream_windows,
    window_starts,
)
from audiolrp.app.windows import hop_samples
from audiolrp.constants import CLIP_SAMPLES, FS_HZ
from audiolrp.models import LoadedModel, Prediction, SourcesPrediction
from audiolrp.signal.levels import (
    LOUD_PERCENTILE,
    QUIET_BELOW_DB,
    SILENCE_FLOOR_DBFS,
    quiet_windows,
)


@dataclass
class Localisation:
    """DOA estimates of every window of a recording."""

    info: RecordingInfo
    model: str
    hop_samples: int  # at 16 kHz
    starts: np.ndarray  # (W,) window starts at 16 kHz
    prediction: Prediction | SourcesPrediction  # the latter for a multi-source model
    quiet: np.ndarray  # (W,) bool
    quiet_below_db: float

    @property
    def n_windows(self) -> int:
        """Number of windows."""
        return int(self.starts.size)

    @property
    def times_s(self) -> np.ndarray:
        """``(W,)`` window centre times in seconds."""
        return (self.starts + CLIP_SAMPLES / 2) / FS_HZ

    @property
    def multisource(self) -> bool:
        """Whether the windows hold a multi-source model's detections."""
        return isinstance(self.prediction, SourcesPrediction)

    def points(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(times_s, azimuth_rad, elevation_rad, weight)`` of every direction found, for the
        plots: one per window (weight: confidence), or one per detected talker (weight: its
        activity); silent windows give NaN directions or none."""
        p = self.prediction
        if isinstance(p, SourcesPrediction):
            t, az, el, w = [], [], [], []
            for i, (cls, d) in enumerate(zip(p.classes, p.directions_rad, strict=True)):
                t += [self.times_s[i]] * len(cls)
                az += list(d[:, 0])
                el += list(d[:, 1])
                w += list(p.activity[i, cls])
            return np.array(t), np.array(az), np.array(el), np.array(w)
        return (self.times_s, np.radians(p.azimuth_deg), np.radians(p.elevation_deg),
                p.confidence)

    def rows(self) -> list[dict[str, Any]]:
        """One JSON-ready row per window: times, refined direction, class, confidence (or the
        detected talkers), level, flags."""
        out = []
        end = self.info.n_samples_16k
        for i, p in enumerate(self.prediction.rows()):
            s = int(self.starts[i])
            out.append({"index": i, "start_s": round(s / FS_HZ, 4),
                        "end_s": round(min(s + CLIP_SAMPLES, end) / FS_HZ, 4),
                        **p, "quiet": bool(self.quiet[i])})
        return out

    def to_dict(self) -> dict[str, Any]:
        """The ``locate.json`` content."""
        return {
            "command": "locate",
            "file": self.info.path.name,
            "format": self.info.format,
            "sample_rate_hz": self.info.fs_hz,
            "channels": self.info.n_channels,
            "duration_s": round(self.info.duration_s, 4),
            "model": self.model,
            "hop_s": self.hop_samples / FS_HZ,
            **self._method(),
            "flags": {"silent": f"W below {SILENCE_FLOOR_DBFS:g} dBFS: no direction",
                      "quiet": f"more than {self.quiet_below_db:g} dB below the recording's "
                               f"loud windows ({LOUD_PERCENTILE:g}th level percentile): "
                               "background at most"},
            "n_windows": self.n_windows,
            "n_silent": int(self.prediction.silent.sum()),
            "n_quiet": int(self.quiet.sum()),
            "windows": self.rows(),
        }

    def _method(self) -> dict[str, Any]:
        """How the directions were read (the ``locate.json`` keys that say so)."""
        p = self.prediction
        if isinstance(p, SourcesPrediction):
            return {"task": "multi",
                    "direction": "talkers: peaks of the window's activity map over the 425 "
                                 "classes (mean frame sigmoid), counted and refined by the "
                                 "model's detector (audiolrp.models.multisource)",
                    "detector": p.detector.to_dict()}
        return {"task": "single", "views": int(p.refinement.views),
                "direction": "refined from the class probabilities "
                             f"({p.refinement.to_dict()['method']}); "
                             "class_*: the most probable of the 425 classes"}


def locate_recording(
    model: LoadedModel,
    path: str | Path,
    *,
    format: str = "ambix",
    hop_s: float = 1.0,
    quiet_below_db: float = QUIET_BELOW_DB,
    progress: Callable[[int], None] | None = None,
    views: int | None = 1,
) -> Localisation:
    """Predict the DOA of every 1-s window of ``path`` (streamed; bounded memory).

    Parameters
    ----------
    model
        The model (:func:`audiolrp.models.load`).
    path, format
        AmbiX (default) or FuMa recording, any length and sample rate.
    hop_s
        Hop between windows in seconds (>= 0.05).
    quiet_below_db
        Windows this far below the recording's loud windows are flagged quiet.
    progress
        Called with the number of windows done after each batch.
    views
        Sound-field views fused into each direction (:meth:`LoadedModel.predict`): 1 (the
        default, fastest) or more, each costing one forward pass; ``None``: the model's own.
        Not used by a multi-source model (its talkers come from one view).

    Returns
    -------
    Localisation
        The estimates (:func:`count_windows` tells their number up front, for a bar).
    """
    info = open_recording(path, format, (model.feature, model.order, model.name))
    hop = hop_samples(hop_s)
    multi = model.task == "multi"
    starts: list[np.ndarray] = []
    parts: list[Any] = []
    for idx, windows in stream_windows(info, hop):
        parts.append(model.detect_sources(windows) if multi
                     else model.predict(windows, views=views))
        starts.append(idx)
        if progress is not None:
            progress(len(idx))
    pred = (SourcesPrediction.concatenate(parts) if multi
            else Prediction.concatenate(parts))
    return Localisation(info, model.name, hop, np.concatenate(starts), pred,
                        quiet_windows(pred.level_dbfs, quiet_below_db), quiet_below_db)


def count_windows(model: LoadedModel, path: str | Path, format: str, hop_s: float) -> int:
    """Number of windows :func:`locate_recording` will predict (reads the header only)."""
    info = open_recording(path, format, (model.feature, model.order, model.name))
    return int(window_starts(info.n_samples_16k, CLIP_SAMPLES, hop_samples(hop_s)).size)


__all__ = ["Localisation", "count_windows", "locate_recording"]
