"""Recipe steps 3-4: the scene room's HOA (or array) RIR from a source to the receiver,
the speech image (direct path and reverberation) and the FFT convolution windows."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.fft

from audiolrp.constants import CLIP_SAMPLES, FS_HZ, SPEED_OF_SOUND_M_S
from audiolrp.simulation.microphones import simulate_array_rir
from audiolrp.simulation.rooms import simulate_hoa_rir
from audiolrp.simulation.scenes.config import SceneConfig
from audiolrp.simulation.scenes.geometry import _Acoustics


def _scene_rir(config: SceneConfig, acoustics: _Acoustics) -> tuple[np.ndarray, np.ndarray]:
    """Recipe step 3: the HOA RIR ``(full, direct path)``, float64, truncated at
    ``min(rir_length_s, distance / c + rt60 * rir_decay_db / 60)``."""
    a = acoustics
    rir = _room_rir(config, a, a.source_m, a.distance_m, a.rir_seed)
    return np.asarray(rir.full, dtype=np.float64), np.asarray(rir.direct, dtype=np.float64)


def _room_rir(
    config: SceneConfig, acoustics: _Acoustics, source_m: np.ndarray, distance_m: float,
    seed: int,
) -> Any:
    """The scene room's HOA RIR from ``source_m`` to the receiver (the speech source of step 3
    and every point-noise source of step 5b), truncated at
    ``min(rir_length_s, distance / c + rt60 * rir_decay_db / 60)``."""
    a = acoustics
    if config.mic != "ideal":  # 3b. the same room recorded by the array
        return simulate_array_rir(
            config.mic_array(),
            tuple(a.room_m.tolist()),
            tuple(np.asarray(source_m).tolist()),
            tuple(a.receiver_m.tolist()),
            a.rt60_s,
            max_length_s=min(
                config.rir_length_s,
                distance_m / SPEED_OF_SOUND_M_S + a.rt60_s * config.rir_decay_db / 60.0,
            ),
            max_image_order=config.max_image_order,
            late_tail=config.late_tail,
            seed=seed,
        )
    return simulate_hoa_rir(
        tuple(a.room_m.tolist()),
        tuple(np.asarray(source_m).tolist()),
        tuple(a.receiver_m.tolist()),
        rt60_s=a.rt60_s,
        order=config.order,
        fs_hz=FS_HZ,
        max_length_s=min(
            config.rir_length_s,
            distance_m / SPEED_OF_SOUND_M_S + a.rt60_s * config.rir_decay_db / 60.0,
        ),
        max_image_order=config.max_image_order,
        late_tail=config.late_tail,
        seed=seed,
    )



def _direct_is_rank_one(direct: np.ndarray) -> np.ndarray | None:
    """SH gains g with ``direct[c] = g[c] * direct[0]`` if the direct RIR factorises."""
    w = direct[0]
    support = np.flatnonzero(w)
    if support.size == 0:
        return None
    lo, hi = int(support[0]), int(support[-1]) + 1
    if np.any(direct[:, :lo]) or np.any(direct[:, hi:]):
        return None
    p = lo + int(np.argmax(np.abs(w[lo:hi])))
    g = direct[:, p] / w[p]
    seg = direct[:, lo:hi]
    if np.allclose(seg, g[:, None] * w[None, lo:hi], rtol=1e-6, atol=1e-9 * abs(w[p])):
        return g
    return None


def _convolve_window(
    speech: np.ndarray, rirs: np.ndarray, start: int, n_out: int
) -> np.ndarray:
    """``fftconvolve(speech, rir)[start:start+n_out]`` for every row of ``rirs`` (float32).

    One forward FFT of the speech; the FFT size only has to avoid circular aliasing into the
    kept window (``len(speech) + len(rir) - 1 - start``), not the whole linear convolution.
    Single precision halves the cost; the error (~1e-7 of the peak) is far below the float32
    storage precision.
    """
    n_s, n_r = speech.shape[-1], rirs.shape[-1]
    n_fft = scipy.fft.next_fast_len(max(n_s + n_r - 1 - start, start + n_out), real=True)
    s_f = scipy.fft.rfft(speech.astype(np.float32), n_fft)
    r_f = scipy.fft.rfft(rirs.astype(np.float32), n_fft, axis=-1)
    r_f *= s_f[None, :]
    y = scipy.fft.irfft(r_f, n_fft, axis=-1, overwrite_x=True)
    return y[:, start : start + n_out]



def _convolve_sum_window(
    signals: list[np.ndarray], rirs: list[np.ndarray], start: int, n_out: int
) -> np.ndarray:
    """``sum_k fftconvolve(signals[k], rirs[k][c])[start:start+n_out]`` for every channel c.

    The sum is taken in the frequency domain (one inverse FFT for all sources); FFT size and
    float32 precision as in :func:`_convolve_window`.
    """
    n_s = max(x.shape[-1] for x in signals)
    n_r = max(r.shape[-1] for r in rirs)
    n_fft = scipy.fft.next_fast_len(max(n_s + n_r - 1 - start, start + n_out), real=True)
    acc: np.ndarray | None = None
    for x, r in zip(signals, rirs, strict=True):
        r_f = scipy.fft.rfft(r.astype(np.float32), n_fft, axis=-1)
        r_f *= scipy.fft.rfft(x.astype(np.float32), n_fft)[None, :]
        if acc is None:
            acc = r_f
        else:
            acc += r_f
    assert acc is not None
    y = scipy.fft.irfft(acc, n_fft, axis=-1, overwrite_x=True)
    return np.ascontiguousarray(y[:, start : start + n_out])



def _speech_image(
    speech: np.ndarray, full_rir: np.ndarray, direct_rir: np.ndarray, lead: int, n_sh: int
) -> tuple[np.ndarray, np.ndarray]:
    """Recipe step 4, the convolution: ``(direct, reverberant)`` float32 of the 1-s clip after
    the lead-in (the direct path costs one channel when it factorises)."""
    g = _direct_is_rank_one(direct_rir)
    if g is not None:  # direct path = SH gains x one filter: 1 convolution instead of n_sh
        reverb_rir = full_rir - direct_rir
        conv = _convolve_window(speech, np.vstack([reverb_rir, direct_rir[:1]]), lead,
                                CLIP_SAMPLES)
        return g.astype(np.float32)[:, None] * conv[-1:], conv[:-1]
    conv = _convolve_window(speech, np.vstack([full_rir - direct_rir, direct_rir]), lead,
                            CLIP_SAMPLES)
    return conv[n_sh:], conv[:n_sh]



def _drr_db(full_rir: np.ndarray, direct_rir: np.ndarray) -> float:
    """Direct-to-reverberant energy ratio of the RIR's W channel in dB."""
    rev_energy = float(np.sum((full_rir[0] - direct_rir[0]) ** 2))
    return 10 * math.log10(float(np.sum(direct_rir[0] ** 2)) / max(rev_energy, 1e-30))

