"""Input level of Ambisonics clips: the W-channel level in dBFS, digital silence, quiet windows
and the gain that brings a clip to the level a model was trained at.

The models of the paper read linear STFT magnitudes (HOA features) or intensity vectors
normalised by an energy density plus an absolute regulariser (section "Experimental Setup"),
so their input depends on the level of the audio. Every training scene is scaled so that the
W channel (ACN 0) of its 1-s mixture has RMS ``target_rms`` (0.05, about -26 dBFS; recipe step
6 of :mod:`audiolrp.simulation.scenes`). A user's recording arrives anywhere between -60 and
-10 dBFS, so the one audio -> model-input path (:meth:`audiolrp.models.LoadedModel.input`)
scales every clip by

    g = target_rms / rms(W)                                                     (level gain)

before the features: the features and everything after them are then the same for any
recording level, up to float rounding. Conventions:

* level in dBFS = ``20 log10(rms(W))`` with full scale = 1.0 (a full-scale square wave is
  0 dBFS, a full-scale sine -3 dBFS);
* a clip whose W level is below :data:`SILENCE_FLOOR_DBFS` (-120 dBFS, below the noise of any
  24-bit converter) is *silent*: it is never amplified, and no direction is reported for it;
* within a recording, a window more than ``quiet_below_db`` (default
  :data:`QUIET_BELOW_DB` = 30 dB) below the recording's loud windows (their 95th level
  percentile) is *quiet*: it holds background noise at most, so its direction is reported with
  a flag, never as if it were a talker's.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from audiolrp.errors import AudioLRPError

#: W level (dBFS) below which a clip counts as digital silence: no gain, no direction.
SILENCE_FLOOR_DBFS: float = -120.0
#: A window this many dB below the recording's loud windows is flagged as quiet.
QUIET_BELOW_DB: float = 30.0
#: Percentile of the windows' levels that stands for "the recording's loud windows".
LOUD_PERCENTILE: float = 95.0


def w_rms(audio: ArrayLike) -> np.ndarray:
    """RMS of the W channel (ACN 0) of clips ``(..., n_sh, n_samples)``, in float64, ``(...)``.

    Raises
    ------
    AudioLRPError
        When the audio holds NaN or infinite samples.
    """
    x = np.asarray(audio)
    if x.ndim < 2 or x.shape[-1] == 0:
        raise AudioLRPError(
            f"audio has shape {x.shape}: pass clips (..., channels, samples)"
        )
    w = x[..., 0, :].astype(np.float64, copy=False)
    if not np.all(np.isfinite(w)):
        raise AudioLRPError(
            "the audio holds NaN or infinite samples: repair or re-export the recording"
        )
    return np.asarray(np.sqrt(np.mean(w * w, axis=-1)))


def rms_to_dbfs(rms: ArrayLike) -> np.ndarray:
    """``20 log10(rms)`` in dBFS (full scale = 1.0); ``-inf`` for a zero RMS."""
    r = np.asarray(rms, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.asarray(20.0 * np.log10(r))


def level_gains(
    audio: ArrayLike,
    target_rms: float,
    silence_floor_dbfs: float = SILENCE_FLOOR_DBFS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gain per clip to the level ``target_rms`` of W, the clips' levels, and which are silent.

    Parameters
    ----------
    audio
        Clips ``(B, n_sh, n_samples)`` (or one clip ``(n_sh, n_samples)``), AmbiX (W first).
    target_rms
        The W RMS the model was trained at (``LoadedModel.input_rms``).
    silence_floor_dbfs
        Clips below this W level are silent: their gain is 1 (never amplified).

    Returns
    -------
    gain : np.ndarray
        ``(B,)`` float64 linear gains ``target_rms / rms(W)`` (1 for silent clips).
    level_dbfs : np.ndarray
        ``(B,)`` W levels of the clips as given (``-inf`` for all-zero clips).
    silent : np.ndarray
        ``(B,)`` bool, level below ``silence_floor_dbfs``.
    """
    if not target_rms > 0 or not np.isfinite(target_rms):
        raise AudioLRPError(f"target level {target_rms} is invalid: pass a positive W RMS")
    rms = np.atleast_1d(w_rms(audio))
    level = rms_to_dbfs(rms)
    silent = ~(level >= silence_floor_dbfs)
    safe = np.where(silent, 1.0, rms)
    gain = np.where(silent, 1.0, target_rms / safe)
    return gain, level, silent


def quiet_windows(
    level_dbfs: ArrayLike,
    below_db: float = QUIET_BELOW_DB,
    percentile: float = LOUD_PERCENTILE,
) -> np.ndarray:
    """Windows of a recording more than ``below_db`` under its loud windows' level.

    The reference is the ``percentile`` of the non-silent windows' levels (so one loud click
    does not mark the whole recording quiet). Silent windows (``-inf``) are quiet too.

    Returns
    -------
    np.ndarray
        ``(W,)`` bool.
    """
    lv = np.asarray(level_dbfs, dtype=np.float64).reshape(-1)
    finite = np.isfinite(lv)
    if not finite.any():
        return np.ones(lv.shape, dtype=bool)
    reference = float(np.percentile(lv[finite], percentile))
    return np.asarray(~(lv >= reference - below_db))


__all__ = [
    "LOUD_PERCENTILE",
    "QUIET_BELOW_DB",
    "SILENCE_FLOOR_DBFS",
    "level_gains",
    "quiet_windows",
    "rms_to_dbfs",
    "w_rms",
]
