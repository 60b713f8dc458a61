"""Auralization of relevance: frame-wise filtering of the input with relevance-derived FIRs.

Implements the paper's Eq. 3 and Eq. 4::

    a_rel(m) = sum_n ( a(m) * w(m - n M_hop) ) * g_n(m)                                  (3)
    g_n(m)   = sum_b ( sum_k |Gamma_b(k)| H(n, k) ) * gamma_b(m)                          (4)

``w`` is the STFT window (periodic Hann 640, frame n starting at sample ``n*320 - 160``),
``gamma_b`` the B-band perfect-reconstruction FIR bank of :mod:`audiolrp.analysis.filterbank`
and ``Gamma_b(k)`` its DFT sampled at the heatmap's ``K_H = 512`` bin frequencies
``k * 16000 / 1024`` Hz.

Conventions of this implementation (not fixed by the paper):

* **Band-weight normalisation.** The band weight ``sum_k |Gamma_b(k)| H(n,k)`` is divided by
  ``sum_k |Gamma_b(k)|`` (``normalize_bands=True``, default), i.e. it is the
  ``|Gamma_b|``-weighted *average* of the heatmap over the band. A heatmap of all ones then gives
  weight 1 for every band, ``g_n`` is the bank's sum (a pure delay) and Eq. 3 returns the input.
* **Delay compensation.** The bank's group delay ``(taps-1)/2`` is removed, so the output is
  time-aligned with the input and has the same length.
* **Edges.** Hann-640 at hop 320 overlap-adds to exactly 1 for samples 160..L-161 (all samples
  covered by two frames). The first and last 160 samples are covered by one frame only, so an
  all-ones heatmap returns the input times the window there (gain 0.5..1). With
  ``edge_correction=True`` the output is divided by the window's overlap-add sum, which makes the
  all-ones case exact everywhere.
* **Heatmap preparation** (:func:`prepare_heatmap`): relevance can be negative. ``"clip"`` keeps
  positive relevance (default), ``"abs"`` uses ``|R|``, ``"signed"`` keeps the sign (negative
  band weights invert phase). The result is divided by its maximum absolute value per heatmap
  (``normalize="max"``, default) or left unscaled (``normalize=None``).

Listenable mixes (:func:`mono_mix`, :func:`stereo_mix`): the mono mix is the omnidirectional W
channel (ACN 0); the stereo mix decodes two virtual cardioids pointing left (+y) and right (-y)
from the first order, ``L = 0.5 (W + Y)``, ``R = 0.5 (W - Y)`` with ``Y`` = ACN 1 (SN3D, so a
plane wave from azimuth phi gives ``0.5 (1 +- sin phi)``). This is a simple stereo rendition,
not an HRTF-based binaural decoder.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import numpy as np

from audiolrp.analysis._arrays import as_numpy
from audiolrp.analysis.filterbank import (
    PAPER_N_BANDS,
    PAPER_N_TAPS,
    band_magnitude_responses,
    design_filterbank,
    filterbank_delay_samples,
)
from audiolrp.audio_io import write_wav
from audiolrp.constants import FS_HZ, HOP_SAMPLES, N_FFT
from audiolrp.errors import AudioLRPError
from audiolrp.signal.features import (
    FRAME_OFFSET_SAMPLES,
    WINDOW_SAMPLES,
    frame_start_samples,
    stft,
    stft_window,
)

Negative = Literal["clip", "abs", "signed"]

FIRST_FRAME_START: int = -FRAME_OFFSET_SAMPLES
"""First sample of frame 0 (-160); frame n starts at ``n * 320 - 160``."""


def prepare_heatmap(
    relevance: np.ndarray,
    negative: Negative = "clip",
    normalize: Literal["max"] | None = "max",
) -> np.ndarray:
    """Turn a relevance map ``(..., T, K)`` into a filter heatmap ``H(n, k)`` for Eq. 4.

    Parameters
    ----------
    relevance
        Relevance heatmap(s); the last two axes are frames and bins.
    negative
        ``"clip"``: ``max(R, 0)``; ``"abs"``: ``|R|``; ``"signed"``: ``R``.
    normalize
        ``"max"``: divide each heatmap (last two axes) by its maximum absolute value (a heatmap
        that is all zero stays zero); ``None``: no scaling.

    Returns
    -------
    np.ndarray
        Float64 heatmap of the same shape.
    """
    r = as_numpy(relevance).astype(np.float64)
    if r.ndim < 2:
        raise AudioLRPError(f"relevance has shape {r.shape}: pass (..., frames, bins)")
    if negative == "clip":
        h = np.maximum(r, 0.0)
    elif negative == "abs":
        h = np.abs(r)
    elif negative == "signed":
        h = r
    else:
        raise AudioLRPError(f"negative={negative!r} is unknown: pass 'clip', 'abs' or 'signed'")
    if normalize is None:
        return h
    if normalize != "max":
        raise AudioLRPError(f"normalize={normalize!r} is unknown: pass 'max' or None")
    peak = np.max(np.abs(h), axis=(-2, -1), keepdims=True)
    return np.divide(h, peak, out=np.zeros_like(h), where=peak > 0)


def band_weights(
    heatmap: np.ndarray, bank: np.ndarray, normalize_bands: bool = True
) -> np.ndarray:
    """Band weights ``sum_k |Gamma_b(k)| H(n, k)`` of Eq. 4, shape ``(..., T, B)``.

    With ``normalize_bands`` they are divided by ``sum_k |Gamma_b(k)|`` (all-ones heatmap ->
    all-ones weights).
    """
    heatmap = as_numpy(heatmap).astype(np.float64)
    mags = band_magnitude_responses(bank, n_bins=heatmap.shape[-1], n_fft=2 * heatmap.shape[-1])
    weights = heatmap @ mags.T
    if normalize_bands:
        weights = weights / mags.sum(axis=-1)
    return weights


def frame_filters(
    heatmap: np.ndarray, bank: np.ndarray, normalize_bands: bool = True
) -> np.ndarray:
    """Per-frame impulse responses ``g_n(m)`` of Eq. 4, shape ``(..., T, taps)``."""
    return band_weights(heatmap, bank, normalize_bands) @ np.asarray(bank, dtype=np.float64)


def _frame_segments(audio: np.ndarray, n_frames: int) -> np.ndarray:
    """Unwindowed STFT frames ``(..., n_frames, 640)`` of ``audio (..., L)``, zeros outside."""
    length = audio.shape[-1]
    starts = frame_start_samples(n_frames)
    pad_left = -FIRST_FRAME_START
    pad_right = max(0, int(starts[-1]) + WINDOW_SAMPLES - length)
    padded = np.pad(audio, [(0, 0)] * (audio.ndim - 1) + [(pad_left, pad_right)])
    idx = (starts + pad_left)[:, None] + np.arange(WINDOW_SAMPLES)[None, :]
    return padded[..., idx]


def overlap_add_gain(length: int, n_frames: int) -> np.ndarray:
    """``sum_n w(m - n*320 + 160)`` for ``m = 0..length-1`` (1 where two frames overlap)."""
    gain = np.zeros(length + WINDOW_SAMPLES + HOP_SAMPLES)
    w = stft_window()
    for s in frame_start_samples(n_frames) - FIRST_FRAME_START:  # 50 frames, vectorised inside
        gain[s : s + WINDOW_SAMPLES] += w
    return gain[-FIRST_FRAME_START : -FIRST_FRAME_START + length]


def relevance_filter(
    audio: np.ndarray,
    heatmap: np.ndarray,
    bank: np.ndarray | None = None,
    *,
    normalize_bands: bool = True,
    edge_correction: bool = False,
) -> np.ndarray:
    """Filter ``audio`` frame by frame with the heatmap-derived FIRs (Eq. 3 with Eq. 4).

    Parameters
    ----------
    audio
        Signal(s) ``(..., L)`` (e.g. one Ambisonics channel, or ``(K, L)`` all channels).
    heatmap
        Prepared heatmap(s) ``(..., T, K_H)`` (see :func:`prepare_heatmap`), broadcast against
        ``audio``'s leading axes; ``T`` frames start at ``n*320 - 160``.
    bank
        Filter bank ``(B, taps)``; default the paper's 20 bands x 129 taps.
    normalize_bands
        Normalise band weights by ``sum_k |Gamma_b(k)|`` (see module docstring).
    edge_correction
        Divide by the window overlap-add gain (exact reconstruction at the clip edges too).

    Returns
    -------
    np.ndarray
        ``(..., L)`` float64 relevance-filtered signal, aligned with ``audio``.
    """
    audio = as_numpy(audio).astype(np.float64)
    heatmap = as_numpy(heatmap).astype(np.float64)
    if heatmap.ndim < 2:
        raise AudioLRPError(f"heatmap has shape {heatmap.shape}: pass (..., frames, bins)")
    if audio.ndim < 1 or audio.shape[-1] < WINDOW_SAMPLES:
        raise AudioLRPError(
            f"audio has shape {audio.shape}: pass (..., samples) with >= {WINDOW_SAMPLES} samples"
        )
    bank = design_filterbank() if bank is None else np.asarray(bank, dtype=np.float64)
    n_frames = heatmap.shape[-2]
    length = audio.shape[-1]
    taps = bank.shape[-1]
    delay = filterbank_delay_samples(bank)

    g = frame_filters(heatmap, bank, normalize_bands)  # (..., T, taps)
    segs = _frame_segments(audio, n_frames) * stft_window()  # (..., T, 640)
    conv_len = WINDOW_SAMPLES + taps - 1
    n_fft = 1 << int(np.ceil(np.log2(conv_len)))
    y = np.fft.irfft(
        np.fft.rfft(segs, n=n_fft, axis=-1) * np.fft.rfft(g, n=n_fft, axis=-1), n=n_fft, axis=-1
    )[..., :conv_len]  # (..., T, conv_len): frame-wise linear convolution
    n_chunks = -(-conv_len // HOP_SAMPLES)
    y = np.pad(y, [(0, 0)] * (y.ndim - 1) + [(0, n_chunks * HOP_SAMPLES - conv_len)])
    y = y.reshape(*y.shape[:-1], n_chunks, HOP_SAMPLES)  # (..., T, chunks, hop)
    buf = np.zeros((*y.shape[:-3], n_frames + n_chunks - 1, HOP_SAMPLES))
    for c in range(n_chunks):  # overlap-add in hop-sized blocks (n_chunks = 3 for 129 taps)
        buf[..., c : c + n_frames, :] += y[..., :, c, :]
    flat = buf.reshape(*buf.shape[:-2], -1)
    # frame n's conv output sample j is absolute sample n*hop + FIRST_FRAME_START + j - delay
    offset = -FIRST_FRAME_START + delay
    need = offset + length - flat.shape[-1]
    if need > 0:
        flat = np.pad(flat, [(0, 0)] * (flat.ndim - 1) + [(0, need)])
    out = flat[..., offset : offset + length]
    if edge_correction:
        gain = overlap_add_gain(length, n_frames)
        out = np.divide(out, gain, out=np.zeros_like(out), where=gain > 1e-3)
    return out


def auralize(
    audio: np.ndarray,
    relevance: np.ndarray,
    *,
    negative: Negative = "clip",
    normalize: Literal["max"] | None = "max",
    n_bands: int = PAPER_N_BANDS,
    n_taps: int = PAPER_N_TAPS,
    bank: np.ndarray | None = None,
    normalize_bands: bool = True,
    edge_correction: bool = False,
) -> np.ndarray:
    """Relevance-filtered audio ``a_rel`` from raw relevance heatmaps (Eq. 3, Eq. 4).

    Parameters
    ----------
    audio
        ``(..., L)`` input signal(s) ``a_i(m)``.
    relevance
        ``(..., T, K_H)`` relevance heatmap(s) ``H_i`` (e.g. from
        :func:`audiolrp.analysis.heatmaps.audio_channel_heatmaps`).
    negative, normalize
        Heatmap preparation, see :func:`prepare_heatmap`.
    n_bands, n_taps, bank
        Filter bank (paper: 20 bands, 129 taps); ``bank`` overrides the design.
    normalize_bands, edge_correction
        See :func:`relevance_filter`.

    Returns
    -------
    np.ndarray
        ``(..., L)`` float64.
    """
    h = prepare_heatmap(relevance, negative=negative, normalize=normalize)
    if bank is None:
        bank = design_filterbank(n_bands, n_taps)
    return relevance_filter(
        audio, h, bank, normalize_bands=normalize_bands, edge_correction=edge_correction
    )


def mono_mix(ambix: np.ndarray) -> np.ndarray:
    """Mono rendition: the omnidirectional W channel (ACN 0) of ``(K, L)`` AmbiX audio."""
    ambix = as_numpy(ambix)
    if ambix.ndim != 2:
        raise AudioLRPError(f"ambix has shape {ambix.shape}: pass (channels, samples)")
    return ambix[0]


def stereo_mix(ambix: np.ndarray) -> np.ndarray:
    """Stereo rendition ``(2, L)``: virtual cardioids left/right, ``0.5 (W +- Y)`` (SN3D)."""
    ambix = as_numpy(ambix)
    if ambix.ndim != 2 or ambix.shape[0] < 4:
        raise AudioLRPError(
            f"ambix has shape {ambix.shape}: the stereo mix needs >= 4 channels (first order)"
        )
    w, y = ambix[0], ambix[1]
    return np.stack([0.5 * (w + y), 0.5 * (w - y)])


def write_auralization(
    out_dir: str | os.PathLike,
    filtered: np.ndarray,
    *,
    stem: str = "relevant",
    per_channel: bool = False,
    mono: bool = True,
    stereo: bool = True,
    fs_hz: int = FS_HZ,
) -> dict[str, Path]:
    """Write relevance-filtered AmbiX audio ``(K, L)`` and listenable mixes as WAV files.

    Files: ``{stem}_ambix.wav`` (all K channels, ACN/SN3D), optionally
    ``{stem}_acn{i}.wav`` per channel, ``{stem}_mono.wav`` (W) and ``{stem}_stereo.wav``
    (cardioids, see :func:`stereo_mix`; only for K >= 4).

    Returns
    -------
    dict[str, Path]
        Written files by kind (``"ambix"``, ``"acn0"``..., ``"mono"``, ``"stereo"``).
    """
    filtered = as_numpy(filtered)
    if filtered.ndim == 1:
        filtered = filtered[None]
    out_dir = Path(out_dir)
    paths = {"ambix": write_wav(out_dir / f"{stem}_ambix.wav", filtered, fs_hz)}
    if per_channel:
        for i, ch in enumerate(filtered):
            paths[f"acn{i}"] = write_wav(out_dir / f"{stem}_acn{i}.wav", ch, fs_hz)
    if mono:
        paths["mono"] = write_wav(out_dir / f"{stem}_mono.wav", mono_mix(filtered), fs_hz)
    if stereo and filtered.shape[0] >= 4:
        paths["stereo"] = write_wav(out_dir / f"{stem}_stereo.wav", stereo_mix(filtered), fs_hz)
    return paths


# ---------------------------------------------------------------- similarity metrics


def _log_spectrogram(audio: np.ndarray, floor_db: float) -> np.ndarray:
    mag = np.abs(stft(np.asarray(audio, dtype=np.float64)))
    peak = np.max(mag, axis=(-2, -1), keepdims=True)
    db = 20.0 * np.log10(np.maximum(mag, 1e-20))
    return np.maximum(db, 20.0 * np.log10(np.maximum(peak, 1e-20)) + floor_db)


def spectral_similarity(a: np.ndarray, b: np.ndarray, floor_db: float = -80.0) -> np.ndarray:
    """Pearson correlation of the dB magnitude spectrograms of ``a`` and ``b`` (last axis time).

    Each spectrogram is floored at ``floor_db`` below its own peak, so silence does not dominate.
    Invariant to the scale of either signal. Returns one value per leading index.
    """
    sa = _log_spectrogram(as_numpy(a), floor_db)
    sb = _log_spectrogram(as_numpy(b), floor_db)
    sa = sa.reshape(*sa.shape[:-2], -1)
    sb = sb.reshape(*sb.shape[:-2], -1)
    sa = sa - sa.mean(axis=-1, keepdims=True)
    sb = sb - sb.mean(axis=-1, keepdims=True)
    den = np.sqrt((sa**2).sum(-1) * (sb**2).sum(-1))
    return np.divide((sa * sb).sum(-1), den, out=np.zeros_like(den), where=den > 0)


def sdr_db(reference: np.ndarray, estimate: np.ndarray) -> np.ndarray:
    """Signal-to-distortion ratio ``10 log10(|s|^2 / |s - s_hat|^2)`` along the last axis."""
    s = as_numpy(reference).astype(np.float64)
    e = as_numpy(estimate).astype(np.float64)
    return 10.0 * np.log10((s**2).sum(-1) / np.maximum(((s - e) ** 2).sum(-1), 1e-30))


def si_sdr_db(reference: np.ndarray, estimate: np.ndarray) -> np.ndarray:
    """Scale-invariant SDR (Le Roux et al. 2019) along the last axis.

    The reference is scaled optimally, ``alpha = <e, s> / <s, s>``, before comparing, which
    suits relevance-filtered audio whose level depends on the heatmap normalisation.
    """
    s = as_numpy(reference).astype(np.float64)
    e = as_numpy(estimate).astype(np.float64)
    alpha = (e * s).sum(-1, keepdims=True) / np.maximum((s**2).sum(-1, keepdims=True), 1e-30)
    target = alpha * s
    return 10.0 * np.log10(
        np.maximum((target**2).sum(-1), 1e-30) / np.maximum(((e - target) ** 2).sum(-1), 1e-30)
    )


__all__ = [
    "N_FFT",
    "auralize",
    "band_weights",
    "frame_filters",
    "mono_mix",
    "overlap_add_gain",
    "prepare_heatmap",
    "relevance_filter",
    "sdr_db",
    "si_sdr_db",
    "spectral_similarity",
    "stereo_mix",
    "write_auralization",
    "write_wav",
]
