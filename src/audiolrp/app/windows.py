"""A recording's analysis (``audiolrp explain FILE``): read it, cut 1-s windows, predict and
explain every window, and analyse the chosen windows in detail.

The windows reach the model through :meth:`~audiolrp.app.explainer.Explainer.features`, the
same audio -> model input function as the demo's simulated scene. Every window gets its DOA
prediction and channel relevance (LRP, paper composite); the detailed analyses (Fig. 2 heatmaps,
pixel flipping, auralization) are made for the requested windows or, by default, the most
confident one. :mod:`audiolrp.report.pages` turns the result into the report folder.
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
from audiolrp.progress import Progress, progress_bar

#: Windows per forward/backward pass.
WINDOW_BATCH: int = 8


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
    probabilities: np.ndarray  # (W, 425) clip probabilities
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
    def predicted(self) -> np.ndarray:
        """``(W,)`` predicted class per window."""
        return self.probabilities.argmax(axis=1)

    @property
    def confidence(self) -> np.ndarray:
        """``(W,)`` clip probability of the predicted class per window."""
        return self.probabilities[np.arange(self.n_windows), self.predicted]

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
    if not hop_s > 0 or not np.isfinite(hop_s):
        raise AudioLRPError(f"--hop-s {hop_s} is invalid: pass a positive number of seconds")
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
    requested: Sequence[int] | None, confidence: np.ndarray, max_detailed: int
) -> list[int]:
    """Windows to analyse in detail: ``requested`` or the most confident one; duplicates
    dropped, at most ``max_detailed`` when none are requested."""
    if requested:
        return list(dict.fromkeys(int(w) for w in requested))
    return [int(np.argmax(confidence))][: max(1, max_detailed)]


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
        probs = np.concatenate([ex.predict(features(idx)) for idx in _batches(n_win)])
    conf = probs[np.arange(n_win), probs.argmax(axis=1)]
    chosen = chosen_windows(windows, conf, max_detailed)
    with prog.step(f"explaining {n_win} window(s) with LRP", "lrp"):
        bar = progress_bar(n_win, enabled=show_bar and n_win > WINDOW_BATCH)
        cr, total, method, kept = _explain_windows(ex, probs.argmax(axis=1), chosen, features, bar)
    rec = RecordingAnalysis(
        path=path, format=format, fs_hz=int(fs), n_channels=int(signals.shape[0]),
        n_samples=int(signals.shape[1]), n_samples_16k=int(sig16.shape[1]), hop_samples=hop,
        starts=starts, probabilities=probs, channel_relevance=cr, total_relevance=total,
        relevance_method=method, chosen=chosen,
    )
    with prog.step(f"detailed analysis of window(s) {', '.join(map(str, chosen))}", "detail"):
        for w in chosen:
            audio = window(w)
            clip = ex.analyse(audio, features=kept[w][0], relevance=kept[w][1],
                              pixel_flipping=pixel_flipping, seed=w)
            clip.relevance_method = method
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
) -> tuple[np.ndarray, np.ndarray, str, dict[int, tuple[np.ndarray, np.ndarray]]]:
    """LRP of every window's predicted class, batch by batch: channel relevance ``(W, C)``,
    total relevance ``(W,)``, the method's name, and features and relevance of ``keep``."""
    n_win = int(predicted.size)
    cr = np.empty((n_win, len(ex.channel_names)))
    total = np.empty(n_win)
    kept: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    method = ""
    for idx in _batches(n_win):
        f = features(idx)
        r, method = ex.explain(f, predicted[idx].tolist())
        for j, w in enumerate(idx):
            cr[w] = channel_relevance(r[j])
            total[w] = float(r[j].sum())
            if w in keep:
                kept[w] = (f[j], r[j])
        bar(len(idx))
    return cr, total, method, kept


__all__ = [
    "WINDOW_BATCH",
    "RecordingAnalysis",
    "WindowDetail",
    "analyse_recording",
    "check_windows",
    "chosen_windows",
    "hop_samples",
]
