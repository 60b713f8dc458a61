"""STFT conventions used by the analyses (delegates to :mod:`audiolrp.features` when present).

The project-wide STFT (see ``docs/CONTRIBUTING-helpers.md``): periodic Hann window of 640
samples, hop 320 (COLA: shifted windows sum to exactly 1), frame ``n`` (0..49) starts at sample
``n*320 - 160`` with zero padding outside the clip, 1024-point FFT, Nyquist bin dropped -> 512 bins
at ``k * 16000 / 1024`` Hz. Output ``(..., 50, 512)`` complex, frames before bins.

:mod:`audiolrp.features` owns the transform; this module mirrors the specification so the
analyses work (and are testable) on their own, and uses the features module when it is
importable. ``tests/analysis`` checks that both agree.
"""

from __future__ import annotations

import numpy as np

from audiolrp.constants import CLIP_SAMPLES, FS_HZ, HOP_SAMPLES, N_BINS, N_FFT, N_FRAMES

WINDOW_SAMPLES: int = 2 * HOP_SAMPLES  # 640
FIRST_FRAME_START: int = -HOP_SAMPLES // 2  # -160


def stft_window() -> np.ndarray:
    """Periodic Hann window of 640 samples (float64)."""
    j = np.arange(WINDOW_SAMPLES)
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * j / WINDOW_SAMPLES)


def frame_start_samples(n_frames: int = N_FRAMES) -> np.ndarray:
    """First sample of each frame: ``n * 320 - 160``."""
    return np.arange(n_frames) * HOP_SAMPLES + FIRST_FRAME_START


def frame_times_s(n_frames: int = N_FRAMES) -> np.ndarray:
    """Centre of each frame in seconds: ``(n * 320 + 160) / 16000``."""
    return (frame_start_samples(n_frames) + WINDOW_SAMPLES / 2) / FS_HZ


def bin_frequencies_hz() -> np.ndarray:
    """Centre frequency of each of the 512 bins: ``k * 16000 / 1024`` Hz."""
    return np.arange(N_BINS) * FS_HZ / N_FFT


def frame_segments(audio: np.ndarray, n_frames: int = N_FRAMES) -> np.ndarray:
    """Unwindowed frames ``(..., n_frames, 640)`` of ``audio (..., L)``, zeros outside the clip."""
    audio = np.asarray(audio)
    length = audio.shape[-1]
    starts = frame_start_samples(n_frames)
    pad_left = -FIRST_FRAME_START
    pad_right = max(0, int(starts[-1]) + WINDOW_SAMPLES - length)
    padded = np.pad(audio, [(0, 0)] * (audio.ndim - 1) + [(pad_left, pad_right)])
    idx = (starts + pad_left)[:, None] + np.arange(WINDOW_SAMPLES)[None, :]
    return padded[..., idx]


def local_stft(audio: np.ndarray, n_frames: int | None = None) -> np.ndarray:
    """The specified STFT computed here (float64); ``n_frames`` defaults to ``L // 320``."""
    audio = np.asarray(audio, dtype=np.float64)
    if n_frames is None:
        n_frames = max(1, audio.shape[-1] // HOP_SAMPLES)
    segs = frame_segments(audio, n_frames) * stft_window()
    return np.fft.rfft(segs, n=N_FFT, axis=-1)[..., :N_BINS]


def stft(audio: np.ndarray) -> np.ndarray:
    """Complex STFT ``(..., 50, 512)`` of ``audio (..., 16000)`` per the project conventions."""
    audio = np.asarray(audio)
    try:
        from audiolrp import features  # noqa: PLC0415 (lazy: written concurrently)

        spec = features.stft(audio)
        return np.asarray(spec.numpy() if hasattr(spec, "numpy") else spec)
    except (ImportError, AttributeError):
        return local_stft(audio)


__all__ = [
    "CLIP_SAMPLES",
    "WINDOW_SAMPLES",
    "bin_frequencies_hz",
    "frame_segments",
    "frame_start_samples",
    "frame_times_s",
    "local_stft",
    "stft",
    "stft_window",
]
