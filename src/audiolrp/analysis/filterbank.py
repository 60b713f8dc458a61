"""Perfect-reconstruction FIR filter bank for the relevance auralization (paper, Eq. 4).

The paper uses "a perfect reconstruction B-band filter bank composed of linear phase FIR
filters gamma_b(m)" with B = 20 bands, 129 taps and equidistant cut-off frequencies designed with
the window method. Here the bands are differences of window-method lowpasses that share the
window and length::

    gamma_1 = h_1,   gamma_b = h_b - h_{b-1} (1 < b < B),   gamma_B = delta_D - h_{B-1}

where ``h_b = firwin(taps, f_b)`` is the lowpass with cut-off ``f_b = b * (fs/2) / B`` and
``delta_D`` is a unit impulse at the centre tap ``D = (taps - 1) / 2``. The sum over the bands
telescopes to ``delta_D``: the bank reconstructs its input up to a pure delay of D samples
(exactly, up to floating-point rounding). All filters are symmetric (type I linear phase), which
requires an odd number of taps.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

from audiolrp.constants import FS_HZ, N_BINS, N_FFT
from audiolrp.errors import AudioLRPError

PAPER_N_BANDS: int = 20
PAPER_N_TAPS: int = 129


def band_edges_hz(n_bands: int = PAPER_N_BANDS, fs_hz: float = FS_HZ) -> np.ndarray:
    """Equidistant band edges ``[0, f_1, ..., f_{B-1}, fs/2]`` in Hz, shape ``(B + 1,)``."""
    if n_bands < 1:
        raise AudioLRPError(f"n_bands={n_bands} is invalid: pass at least 1 band")
    return np.linspace(0.0, fs_hz / 2.0, n_bands + 1)


def design_filterbank(
    n_bands: int = PAPER_N_BANDS,
    n_taps: int = PAPER_N_TAPS,
    fs_hz: float = FS_HZ,
    window: str | tuple = "hamming",
) -> np.ndarray:
    """Design the B-band perfect-reconstruction linear-phase FIR bank (paper, Eq. 4).

    Parameters
    ----------
    n_bands
        Number of bands B (paper: 20).
    n_taps
        Filter length (odd; paper: 129). The bank's group delay is ``(n_taps - 1) / 2``.
    fs_hz
        Sampling rate.
    window
        Window of the window-method design (:func:`scipy.signal.firwin`), default Hamming.

    Returns
    -------
    np.ndarray
        Impulse responses ``gamma_b(m)``, shape ``(n_bands, n_taps)``, float64; ``bank.sum(0)``
        is a unit impulse at tap ``(n_taps - 1) / 2``.
    """
    if n_taps < 3 or n_taps % 2 == 0:
        raise AudioLRPError(
            f"n_taps={n_taps} is invalid: pass an odd length >= 3 (linear-phase type I filters)"
        )
    edges = band_edges_hz(n_bands, fs_hz)
    delta = np.zeros(n_taps)
    delta[(n_taps - 1) // 2] = 1.0
    lowpasses = [np.zeros(n_taps)]
    for f_c in edges[1:-1]:
        lowpasses.append(signal.firwin(n_taps, f_c, window=window, fs=fs_hz))
    lowpasses.append(delta)
    return np.stack([lowpasses[b + 1] - lowpasses[b] for b in range(n_bands)])


def filterbank_delay_samples(bank: np.ndarray) -> int:
    """Group delay ``(taps - 1) / 2`` of a linear-phase bank of shape ``(B, taps)``."""
    return (np.asarray(bank).shape[-1] - 1) // 2


def band_magnitude_responses(
    bank: np.ndarray, n_bins: int = N_BINS, n_fft: int = N_FFT
) -> np.ndarray:
    """``|Gamma_b(k)|`` sampled at the heatmap's bins ``k * fs / n_fft``, ``k = 0..n_bins-1``.

    Parameters
    ----------
    bank
        Filters ``(B, taps)`` with ``taps <= n_fft``.
    n_bins, n_fft
        Heatmap bins ``K_H`` (512) and the DFT length whose bin spacing they use (1024).

    Returns
    -------
    np.ndarray
        ``(B, n_bins)`` magnitudes (float64).
    """
    bank = np.asarray(bank, dtype=np.float64)
    if bank.shape[-1] > n_fft:
        raise AudioLRPError(f"filters have {bank.shape[-1]} taps > n_fft={n_fft}: pass shorter")
    return np.abs(np.fft.rfft(bank, n=n_fft, axis=-1)[..., :n_bins])


__all__ = [
    "PAPER_N_BANDS",
    "PAPER_N_TAPS",
    "band_edges_hz",
    "band_magnitude_responses",
    "design_filterbank",
    "filterbank_delay_samples",
]
