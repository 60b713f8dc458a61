"""Speech audio: reading a speech file, resampling to 16 kHz and energy VAD.

Every corpus turns its files into 16-kHz mono float32 with :func:`load_speech_file`
(:func:`resample_to`); the pools of :mod:`.base` mark speech-active 20-ms frames with
:func:`vad_activity` and index admissible segment starts with :func:`active_window_starts`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from audiolrp.audio_io import read_audio, resample
from audiolrp.constants import FS_HZ
from audiolrp.errors import AudioLRPError

#: VAD frame length (20 ms at 16 kHz; equals the STFT hop).
VAD_FRAME_SAMPLES: int = 320
#: A frame is active if its energy is within this many dB of the utterance's reference
#: energy (95th percentile of frame energies).
VAD_THRESHOLD_DB: float = 30.0
#: Minimum fraction of active VAD frames in a segment.
MIN_ACTIVE_FRACTION: float = 0.5
#: Files whose peak magnitude is below this (full scale = 1) are "silent".
SILENT_PEAK: float = 1e-4
#: Lowest accepted input sample rate (lower rates lack the 16-kHz band).
MIN_FS_HZ: int = 16_000


def resample_to(x: np.ndarray, fs_in_hz: int, fs_out_hz: int = FS_HZ) -> np.ndarray:
    """Resample along the last axis to float32 (:func:`audiolrp.audio_io.resample`).

    The ratio is reduced exactly (22050 -> 16000 is up 320, down 441).

    Returns
    -------
    np.ndarray
        float32 signal at ``fs_out_hz``.
    """
    x = np.asarray(x, dtype=np.float32)
    if fs_in_hz == fs_out_hz:
        return x
    return resample(x, fs_in_hz, fs_out_hz).astype(np.float32)


def frame_energy(x: np.ndarray, frame: int = VAD_FRAME_SAMPLES) -> np.ndarray:
    """Mean-square energy of consecutive non-overlapping frames (a trailing partial frame is
    zero-padded)."""
    n = -(-len(x) // frame)
    buf = np.zeros(n * frame, dtype=np.float32)
    buf[: len(x)] = x
    return np.mean(buf.reshape(n, frame).astype(np.float64) ** 2, axis=1).astype(np.float32)


def vad_activity(
    x: np.ndarray,
    *,
    frame: int = VAD_FRAME_SAMPLES,
    threshold_db: float = VAD_THRESHOLD_DB,
    energies: np.ndarray | None = None,
) -> np.ndarray:
    """Energy voice-activity detection.

    Frame ``i`` is active iff ``10 log10(E_i / E_ref) >= -threshold_db`` where ``E_ref`` is the
    95th percentile of the frame energies of ``x`` (robust to clicks) and ``E_i > 0``.

    Returns
    -------
    np.ndarray of bool, shape (ceil(len(x) / frame),)
    """
    e = frame_energy(x, frame) if energies is None else energies
    if e.size == 0:
        return np.zeros(0, dtype=bool)
    ref = float(np.percentile(e, 95))
    if ref <= 0:
        return np.zeros(e.shape, dtype=bool)
    return (e > 0) & (e >= ref * 10.0 ** (-threshold_db / 10.0))


def active_window_starts(active: np.ndarray, n_frames: int, min_fraction: float) -> np.ndarray:
    """Start indices ``s`` with ``mean(active[s:s+n_frames]) >= min_fraction`` (full windows)."""
    if len(active) < n_frames:
        return np.zeros(0, dtype=np.int64)
    c = np.concatenate([[0], np.cumsum(active, dtype=np.int64)])
    counts = c[n_frames:] - c[:-n_frames]
    return np.nonzero(counts >= int(np.ceil(min_fraction * n_frames - 1e-9)))[0].astype(np.int64)


def load_speech_file(path: str | os.PathLike, *, downmix: bool = False) -> np.ndarray:
    """Read, validate and resample one speech file to 16 kHz mono float32.

    ``downmix=True`` averages the channels of a multichannel file instead of rejecting it
    (used for the Fish Fillets dialogue, stored as stereo with identical content).

    Raises
    ------
    AudioLRPError
        Not readable as audio, truncated, not mono, sample rate below 16 kHz, silent, or shorter
        than one VAD frame. :class:`DirectoryCorpus` turns these into skipped-file warnings.
    """
    p = Path(path)
    x, fs = read_audio(
        p, "float32", check_truncation=False,
        unreadable="{path}: unreadable or truncated audio ({reason})",
    )
    if x.shape[1] != 1 and downmix:
        x = x.mean(axis=1, keepdims=True)
    if x.shape[1] != 1:
        raise AudioLRPError(f"{p}: has {x.shape[1]} channels; speech files must be mono")
    if fs < MIN_FS_HZ:
        raise AudioLRPError(f"{p}: sample rate {fs} Hz is below {MIN_FS_HZ} Hz")
    y = resample_to(x[:, 0], fs)
    if not np.all(np.isfinite(y)):
        raise AudioLRPError(f"{p}: contains NaN/inf samples")
    if len(y) < VAD_FRAME_SAMPLES:
        raise AudioLRPError(f"{p}: too short ({len(y)} samples at 16 kHz)")
    if float(np.max(np.abs(y))) < SILENT_PEAK:
        raise AudioLRPError(f"{p}: is silent")
    return y

