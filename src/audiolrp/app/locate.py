"""Where the talker is, window by window (``audiolrp locate FILE``): the DOA of every 1-s window
of a recording of any length and sample rate, without explanations.

The recording is streamed (:func:`audiolrp.app.recordings.stream_windows`: a 20-s segment and
one batch of windows in memory at a time, whatever the length), every window is brought to the
model's training level and predicted by :meth:`audiolrp.models.LoadedModel.predict` (class and
refined direction), and each window's level is kept so that digital silence and quiet windows
(:func:`audiolrp.signal.levels.quiet_windows`) are flagged instead of reported as a talker.
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
from audiolrp.models import LoadedModel, Prediction
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
    prediction: Prediction
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

    def rows(self) -> list[dict[str, Any]]:
        """One JSON-ready row per window: times, refined direction, class, confidence, level,
        flags."""
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
            "views": int(self.prediction.refinement.views),
            "direction": "refined from the class probabilities "
                         f"({self.prediction.refinement.to_dict()['method']}); "
                         "class_*: the most probable of the 425 classes",
            "flags": {"silent": f"W below {SILENCE_FLOOR_DBFS:g} dBFS: no direction",
                      "quiet": f"more than {self.quiet_below_db:g} dB below the recording's "
                               f"loud windows ({LOUD_PERCENTILE:g}th level percentile): "
                               "background at most"},
            "n_windows": self.n_windows,
            "n_silent": int(self.prediction.silent.sum()),
            "n_quiet": int(self.quiet.sum()),
            "windows": self.rows(),
        }


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

    Returns
    -------
    Localisation
        The estimates (:func:`count_windows` tells their number up front, for a bar).
    """
    info = open_recording(path, format, (model.feature, model.order, model.name))
    hop = hop_samples(hop_s)
    starts, parts = [], []
    for idx, windows in stream_windows(info, hop):
        parts.append(model.predict(windows, views=views))
        starts.append(idx)
        if progress is not None:
            progress(len(idx))
    pred = Prediction.concatenate(parts)
    return Localisation(info, model.name, hop, np.concatenate(starts), pred,
                        quiet_windows(pred.level_dbfs, quiet_below_db), quiet_below_db)


def count_windows(model: LoadedModel, path: str | Path, format: str, hop_s: float) -> int:
    """Number of windows :func:`locate_recording` will predict (reads the header only)."""
    info = open_recording(path, format, (model.feature, model.order, model.name))
    return int(window_starts(info.n_samples_16k, CLIP_SAMPLES, hop_samples(hop_s)).size)


__all__ = ["Localisation", "count_windows", "locate_recording"]
