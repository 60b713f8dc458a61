"""The target talker: its speech excerpt (recipe step 4), spectral tilt (5c) and band limit
(5d) filters, and the speaker metadata of a scene."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import scipy.signal

from audiolrp.constants import CLIP_SAMPLES, FS_HZ
from audiolrp.errors import AudioLRPError

TILT_PIVOT_HZ: float = 1000.0
"""Frequency at which the talker's spectral tilt (recipe step 5c) has 0 dB gain."""

TILT_MAX_GAIN_DB: float = 20.0
"""Largest boost or cut of the spectral tilt filter (recipe step 5c), in dB."""

TILT_TAPS: int = 257
"""Length of the linear-phase tilt FIR; odd, so its delay of 128 samples is removed exactly."""

LOWPASS_TAPS: int = 257
"""Length of the linear-phase band-limit FIR (recipe step 5d); odd, delay removed exactly."""


def _draw_speech(
    corpus: Any, split: str, rng: np.random.Generator, lead: int
) -> np.ndarray:
    """Recipe step 4, the draw: ``lead + 1 s`` of target speech (float64) that is not silent
    inside the clip (up to 20 tries)."""
    for _ in range(20):
        seg = np.asarray(
            corpus.sample_segment(split, rng, duration_s=(lead + CLIP_SAMPLES) / FS_HZ),
            dtype=np.float64,
        )
        if seg.shape != (lead + CLIP_SAMPLES,):
            raise AudioLRPError(
                f"speech corpus returned a segment of shape {seg.shape}; expected "
                f"({lead + CLIP_SAMPLES},)"
            )
        if np.any(seg[lead:] != 0):
            return seg
    raise AudioLRPError("speech corpus returned only silent segments; check the corpus")


def tilt_filter(slope_db_per_octave: float, n_taps: int = TILT_TAPS) -> np.ndarray:
    """Linear-phase FIR of a spectral tilt (recipe step 5c), float64, ``n_taps`` odd.

    Magnitude response (frequency-sampling design, :func:`scipy.signal.firwin2`, Hamming
    window)::

        G(f) = 10^(g(f) / 20),  g(f) = clip(s * log2(max(f, f_1) / f_p), -G_max, G_max)

    with ``s`` the slope in dB per octave, ``f_p`` = :data:`TILT_PIVOT_HZ`, ``G_max`` =
    :data:`TILT_MAX_GAIN_DB` and ``f_1`` the first non-zero design frequency (the response is
    flat below it). The design meets ``g`` within 0.5 dB from 250 Hz to 7 kHz where ``|g|``
    is at least 3 dB below the limit (257 taps round the knee and smooth the response below
    250 Hz). Applied centred (:func:`apply_tilt`), so it adds no delay.
    """
    if n_taps < 3 or n_taps % 2 == 0:
        raise AudioLRPError(f"tilt filter length {n_taps} must be odd and >= 3")
    freq_hz = np.linspace(0.0, FS_HZ / 2, 257)
    octaves = np.log2(np.maximum(freq_hz, freq_hz[1]) / TILT_PIVOT_HZ)
    gain_db = np.clip(slope_db_per_octave * octaves, -TILT_MAX_GAIN_DB, TILT_MAX_GAIN_DB)
    taps = scipy.signal.firwin2(n_taps, freq_hz, 10.0 ** (gain_db / 20.0), fs=FS_HZ)
    return np.asarray(taps, np.float64)


def apply_tilt(signal: np.ndarray, slope_db_per_octave: float) -> np.ndarray:
    """``signal`` (1-D, float64) filtered with :func:`tilt_filter`, centred (no delay), same
    length. A slope of 0 returns the signal unchanged."""
    if slope_db_per_octave == 0.0:
        return signal
    taps = tilt_filter(slope_db_per_octave)
    return np.asarray(scipy.signal.oaconvolve(signal, taps, mode="same"))


def lowpass_filter(cutoff_hz: float, n_taps: int = LOWPASS_TAPS) -> np.ndarray:
    """Linear-phase low-pass FIR of the talker's band limit (recipe step 5d), float64.

    The windowed ideal low-pass (:func:`scipy.signal.firwin`, Hamming window, DC gain 1)::

        h[n] = w[n] * 2 f_c / f_s * sinc(2 f_c / f_s * (n - (L - 1) / 2)),  n = 0 .. L-1

    normalised to ``sum h = 1``. Its gain is -6 dB at ``f_c``, within 0.1 dB of 1 below
    ``f_c - 250 Hz`` and at least 50 dB down above ``f_c + 250 Hz`` (257 taps at 16 kHz).
    Applied centred (:func:`apply_lowpass`), so it adds no delay.
    """
    if n_taps < 3 or n_taps % 2 == 0:
        raise AudioLRPError(f"low-pass filter length {n_taps} must be odd and >= 3")
    if not 0.0 < cutoff_hz < FS_HZ / 2:
        raise AudioLRPError(f"low-pass cut-off {cutoff_hz} Hz must lie in (0, {FS_HZ / 2:g}) Hz")
    taps = scipy.signal.firwin(n_taps, cutoff_hz, window="hamming", fs=FS_HZ)
    return np.asarray(taps, np.float64)


def apply_lowpass(signal: np.ndarray, cutoff_hz: float) -> np.ndarray:
    """``signal`` (1-D, float64) filtered with :func:`lowpass_filter`, centred (no delay), same
    length."""
    taps = lowpass_filter(cutoff_hz)
    return np.asarray(scipy.signal.oaconvolve(signal, taps, mode="same"))



def _speaker_info(corpus: Any) -> dict[str, Any]:
    """Best-effort metadata of the last target segment drawn from the corpus."""
    info: dict[str, Any] = {"corpus": str(getattr(corpus, "name", type(corpus).__name__))}
    last = getattr(corpus, "last_segment_info", None)
    if callable(last):
        last = last()
    if isinstance(last, dict):
        info.update(
            {(k if k == "speaker" else f"speech_{k}"): v for k, v in last.items() if _jsonable(v)}
        )
    return info


def _jsonable(v: Any) -> bool:
    try:
        json.dumps(v)
        return True
    except TypeError:
        return False
