"""A recording's analysis (``audiolrp explain FILE``): read it, cut 1-s windows, predict and
explain every window, and analyse the chosen windows in detail.

The windows reach the model through :meth:`~audiolrp.app.explainer.Explainer.predict` and
:meth:`~audiolrp.app.explainer.Explainer.features` (:meth:`audiolrp.models.LoadedModel.input`:
each window brought to the model's training level), the same audio -> model input function as
the demo's simulated scene. Every window gets its DOA prediction (class and refined direction,
its level, and flags for digital silence and for quiet windows far below the recording's loud
ones) and channel relevance (LRP, paper composite); the detailed analyses (Fig. 2 heatmaps,
pixel flipping, auralization) are made for the requested windows or, by default, the most
confident one that is neither silent nor quiet. :mod:`audiolrp.report.pages` turns the
result into the report folder.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from audiolrp.analysis.directions import DirectionAnalysis, analyse_directions
from audiolrp.app.explainer import Explainer
from audiolrp.app.pipeline import ClipAnalysis, channel_relevance
from audiolrp.app.recordings import (
    get_window,
    read_ambisonics,
    resample_to_model_rate,
    window_starts,
)
from audiolrp.constants import CLIP_SAMPLES, FS_HZ
from audiolrp.errors import AudioLRPError
from audiolrp.models import Prediction
from audiolrp.progress import Progress, progress_bar
from audiolrp.signal.levels import quiet_windows

#: Windows per forward/backward pass.
WINDOW_BATCH: int = 8
#: Smallest window hop in seconds (finer hops only repeat the same audio).
MIN_HOP_S: float = 0.05


@dataclass
class WindowDetail:
    """One window analysed in detail."""

    index: int
    audio: np.ndarray  # (K, 16000) at 16 kHz
    clip: ClipAnalysis
    directions: DirectionAnalysis | None = None  # relevance in space (no true source known)


@dataclass
class RecordingAnalysis:
    """A recording, its windows and everything computed for them."""

    path: Path
    format: str
    fs_hz: int  # sample rate of the file
    n_channels: int  # channels of the file
    n_samples: int  # samples of the file (at fs_hz)
    n_samples_16k: int  # samples after resampling to 16 kHz
    hop_samples: int  # window hop at 16 kHz
    starts: np.ndarray  # (W,) window start samples at 16 kHz
    prediction: Prediction  # per window: refined direction, class, probabilities, level
    quiet: np.ndarray  # (W,) bool: more than QUIET_BELOW_DB below the loud windows (or silent)
    channel_relevance: np.ndarray  # (W, C) signed relevance per input channel
    total_relevance: np.ndarray  # (W,)
    relevance_method: str
    chosen: list[int]
    details: list[WindowDetail] = field(default_factory=list)

    @property
    def n_windows(self) -> int:
        """Number of 1-s windows."""
        return int(self.starts.size)

    @property
    def duration_s(self) -> float:
        """Length of the file in seconds."""
        return self.n_samples / self.fs_hz

    @property
    def probabilities(self) -> np.ndarray:
        """``(W, 425)`` clip probabilities per window (zeros for silent windows)."""
        return self.prediction.probabilities

    @property
    def predicted(self) -> np.ndarray:
        """``(W,)`` predicted class per window (-1 for silent windows)."""
        return self.prediction.class_index

    @property
    def confidence(self) -> np.ndarray:
        """``(W,)`` clip probability of the predicted class per window (0 when silent)."""
        return self.prediction.confidence

    @property
    def times_s(self) -> np.ndarray:
        """``(W,)`` window centre times in seconds."""
        return (self.starts + CLIP_SAMPLES / 2) / FS_HZ

    def start_s(self, i: int) -> float:
        """Start of window ``i`` in seconds."""
        return float(self.starts[i] / FS_HZ)

    def end_s(self, i: int) -> float:
        """End of window ``i`` in seconds (the end of the recording for a padded window)."""
        return float(min(self.starts[i] + CLIP_SAMPLES, self.n_samples_16k) / FS_HZ)


def hop_samples(hop_s: float) -> int:
    """The window hop in samples at 16 kHz (at least 1).

    Raises
    ------
    AudioLRPError
        When ``hop_s`` is not a positive finite number.
    """
    if not hop_s >= MIN_HOP_S or not np.isfinite(hop_s):
        raise AudioLRPError(
            f"--hop-s {hop_s} is invalid: pass at least {MIN_HOP_S} s (a window every 50 ms "
            "already overlaps 95 %)"
        )
    return max(1, int(round(hop_s * FS_HZ)))


def check_windows(requested: Sequence[int] | None, n_windows: int, name: str) -> None:
    """Raise a one-line error when a requested window index is out of range."""
    bad = [w for w in requested or () if not 0 <= int(w) < n_windows]
    if bad:
        raise AudioLRPError(
            f"--windows {bad[0]} is out of range: {name} has {n_windows} windows "
            f"(0..{n_windows - 1})"
        )


def chosen_windows(
    requested: Sequence[int] | None,
    confidence: np.ndarray,
    max_detailed: int,
    quiet: np.ndarray | None = None,
) -> list[int]:
    """Windows to analyse in detail: ``requested`` or the most confident one that is not
    ``quiet`` (any window if all are); duplicates dropped, at most ``max_detailed`` when none
    are requested."""
    if requested:
        return list(dict.fromkeys(int(w) for w in requested))
    conf = np.asarray(confidence, np.float64)
    if quiet is not None and not np.all(quiet):
        conf = np.where(quiet, -1.0, conf)
    return [int(np.argmax(conf))][: max(1, max_detailed)]


def _batches(n: int, size: int = WINDOW_BATCH) -> Iterator[list[int]]:
    for i in range(0, n, size):
        yield list(range(i, min(i + size, n)))


def analyse_recording(
    ex: Explainer,
    path: str | Path,
    format: str = "ambix",
    hop_s: float = 0.5,
    windows: Sequence[int] | None = None,
    pixel_flipping: bool = True,
    max_detailed: int = 3,
    progress: Progress | None = None,
    show_bar: bool = False,
) -> RecordingAnalysis:
    """Read ``path``, predict and explain every 1-s window, analyse the chosen windows.

    Windows hop by ``hop_s``; ``windows`` (indices) picks the detailed ones, by default the
    most confident window.
    """
    path = Path(path)
    prog = progress or Progress(0, enabled=False)
    hop = hop_samples(hop_s)
    with prog.step(f"reading {path.name}", "read"):
        signals, fs = read_ambisonics(path, format=format, model=(ex.feature, ex.order, ex.name))
    sig16 = resample_to_model_rate(signals[: ex.n_audio_channels], fs)
    starts = window_starts(sig16.shape[1], CLIP_SAMPLES, hop)
    n_win = int(starts.size)
    check_windows(windows, n_win, path.name)

    def window(i: int) -> np.ndarray:
        return get_window(sig16, int(starts[i]))

    def features(idx: Sequence[int]) -> np.ndarray:
        return ex.features(np.stack([window(i) for i in idx]))

    with prog.step(f"predicting the DOA of {n_win} window(s)", "predict"):
        parts = [ex.predict(np.stack([window(i) for i in idx])) for idx in _batches(n_win)]
        pred = Prediction.concatenate(parts)
    quiet = quiet_windows(pred.level_dbfs)
    chosen = chosen_windows(windows, pred.confidence, max_detailed, quiet)
    with prog.step(f"explaining {n_win} window(s) with LRP", "lrp"):
        bar = progress_bar(n_win, enabled=show_bar and n_win > WINDOW_BATCH)
        cr, total, kept = _explain_windows(ex, pred.class_index, chosen, features, bar)
    rec = RecordingAnalysis(
        path=path, format=format, fs_hz=int(fs), n_channels=int(signals.shape[0]),
        n_samples=int(signals.shape[1]), n_samples_16k=int(sig16.shape[1]), hop_samples=hop,
        starts=starts, prediction=pred, quiet=quiet, channel_relevance=cr,
        total_relevance=total, relevance_method=ex.relevance_method, chosen=chosen,
    )
    with prog.step(f"detailed analysis of window(s) {', '.join(map(str, chosen))}", "detail"):
        for w in chosen:
            audio = window(w)
            clip = ex.analyse(audio, features=kept[w][0], relevance=kept[w][1],
                              pixel_flipping=pixel_flipping, seed=w)
            directions = (
                analyse_directions(clip.relevance, audio,
                                   predicted_rad=(clip.azimuth_rad, clip.elevation_rad))
                if clip.relevance is not None and audio.shape[0] >= 4 else None
            )
            rec.details.append(WindowDetail(w, audio, clip, directions))
    return rec


def _explain_windows(
    ex: Explainer,
    predicted: np.ndarray,
    keep: Sequence[int],
    features: Callable[[Sequence[int]], np.ndarray],
    bar: Callable[[int], None],
) -> tuple[np.ndarray, np.ndarray, dict[int, tuple[np.ndarray, np.ndarray]]]:
    """LRP of every window's predicted class, batch by batch: channel relevance ``(W, C)``,
    total relevance ``(W,)``, and features and relevance of ``keep``. Silent windows (class
    -1) are not explained: their relevance is zero."""
    n_win = int(predicted.size)
    cr = np.zeros((n_win, len(ex.channel_names)))
    total = np.zeros(n_win)
    kept: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for idx in _batches(n_win):
        f = features(idx)
        live = [j for j, w in enumerate(idx) if predicted[w] >= 0]
        r = np.zeros(f.shape, np.float64)
        if live:
            r[live] = ex.explain(f[live], predicted[[idx[j] for j in live]])[0]
        for j, w in enumerate(idx):
            cr[w] = channel_relevance(r[j])
            total[w] = float(r[j].sum())
            if w in keep:
                kept[w] = (f[j], r[j])
        bar(len(idx))
    return cr, total, kept


__all__ = [
    "MIN_HOP_S",
    "WINDOW_BATCH",
    "RecordingAnalysis",
    "WindowDetail",
    "analyse_recording",
    "check_windows",
    "chosen_windows",
    "hop_samples",
]
