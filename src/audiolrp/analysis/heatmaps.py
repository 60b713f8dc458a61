"""Relevance heatmaps and the arrays of the paper's Fig. 2 (drawn by
:func:`audiolrp.plots.heatmaps.fig2_panels`).

Fig. 2 shows, for one example and one Ambisonics channel: (a) the magnitude spectrogram of the
noisy, reverberant input in dB re its peak (dBp), (b) the relevance heatmap (sum of magnitude and
phase relevance of that ACN channel), (c) the spectrogram of the noise-free direct sound and
(d) the spectrogram of the relevance-filtered signal (Eq. 3 and Eq. 4). Spectrograms are only
*displayed* in dB; the model input is linear magnitude.
"""

from __future__ import annotations

import numpy as np

from audiolrp.analysis._arrays import as_numpy
from audiolrp.errors import AudioLRPError
from audiolrp.signal.features import stft
from audiolrp.signal.layout import FEATURE_KINDS, InputLayout


def hoa_channel_relevance_map(relevance: np.ndarray, acn: int, order: int) -> np.ndarray:
    """Relevance heatmap of one Ambisonics channel: magnitude + phase relevance (Fig. 2(b)).

    Parameters
    ----------
    relevance
        Relevance of one HOA example, ``(2 (N+1)^2, T, F)``: all magnitude channels (ACN order)
        then all phase channels.
    acn
        Ambisonics channel number, ``0 <= acn < (N+1)^2``.
    order
        Ambisonics order N of the model.

    Returns
    -------
    np.ndarray
        ``(T, F)`` heatmap ``R[acn] + R[K + acn]`` with ``K = (N+1)^2``.
    """
    relevance = as_numpy(relevance)
    k = InputLayout("hoa", order).n_audio_channels
    if relevance.ndim != 3 or relevance.shape[0] != 2 * k:
        raise AudioLRPError(
            f"relevance has shape {relevance.shape}; an order-{order} HOA model needs "
            f"({2 * k}, frames, bins): pass one example's relevance and the model's order"
        )
    if not 0 <= acn < k:
        raise AudioLRPError(f"acn={acn} is out of range for order {order}: pass 0..{k - 1}")
    return relevance[acn] + relevance[k + acn]


def audio_channel_heatmaps(relevance: np.ndarray, feature: str, order: int = 1) -> np.ndarray:
    """Heatmaps ``H_i(n, k)`` for each Ambisonics audio channel ``i`` of one example.

    For HOA features, ``H_i`` is the magnitude + phase relevance of ACN channel ``i``. The
    intensity features mix all first-order channels, so every one of the 4 FOA channels gets the
    same heatmap: the relevance summed over the six intensity channels.

    Parameters
    ----------
    relevance
        ``(C, T, F)`` relevance of one example.
    feature
        ``"hoa"`` or ``"intensity"``.
    order
        Ambisonics order of an HOA model (ignored for intensity).

    Returns
    -------
    np.ndarray
        ``((N+1)^2, T, F)`` heatmaps (``(4, T, F)`` for intensity).
    """
    relevance = as_numpy(relevance)
    if feature not in FEATURE_KINDS:
        raise AudioLRPError(
            f"feature={feature!r} is unknown: pass one of {', '.join(FEATURE_KINDS)}"
        )
    layout = InputLayout(feature, order)
    if relevance.ndim != 3 or relevance.shape[0] != layout.n_channels:
        raise AudioLRPError(
            f"relevance has shape {relevance.shape}; an order-{layout.order} {feature} model "
            f"needs ({layout.n_channels}, frames, bins): pass one example's relevance and the "
            "model's order"
        )
    return layout.per_audio_channel(relevance)


def spectrogram_dbp(audio: np.ndarray, floor_db: float = -80.0) -> np.ndarray:
    """Magnitude spectrogram ``(T, F)`` in dB re its peak (dBp), floored at ``floor_db``."""
    mag = np.abs(stft(as_numpy(audio).astype(np.float64)))
    peak = float(mag.max())
    if peak <= 0.0:
        return np.full(mag.shape, floor_db)
    return np.maximum(20.0 * np.log10(np.maximum(mag / peak, 1e-12)), floor_db)


__all__ = [
    "audio_channel_heatmaps",
    "hoa_channel_relevance_map",
    "spectrogram_dbp",
]
