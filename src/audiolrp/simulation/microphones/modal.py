"""Capsule physics in the SH domain: modal strengths of open first-order and rigid-sphere
pressure capsules, the series truncation order, the regularised (radial-filter) inverse, and
the Legendre and taper helpers of the kernels (conventions:
:mod:`audiolrp.simulation.microphones`)."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import spherical_jn, spherical_yn

from audiolrp.constants import FS_HZ, SPEED_OF_SOUND_M_S
from audiolrp.errors import AudioLRPError

SERIES_BOUND: float = 1e-6
"""Largest neglected part of a capsule's unit plane-wave response (Legendre series remainder
bound at the Nyquist frequency, see :func:`series_order`)."""


def rigid_sphere_mode_strength(n: ArrayLike, kr: ArrayLike) -> np.ndarray:
    """``b_n(kr) = j_n(kr) - j_n'(kr) / h_n'(kr) h_n(kr)`` (rigid sphere, pressure capsules).

    ``h_n = j_n - i y_n`` (second kind: outgoing in this module's time convention). Evaluated
    as ``-i / ((kr)^2 h_n'(kr))`` (Wronskian), exact for ``kr > 0``; ``kr = 0`` gives the limit
    ``b_0 = 1``, ``b_n = 0`` (n > 0). ``n`` and ``kr`` broadcast; complex128.
    """
    n_a, x = np.broadcast_arrays(np.asarray(n, dtype=np.int64), np.asarray(kr, np.float64))
    out = np.where(n_a == 0, 1.0 + 0.0j, 0.0j).astype(np.complex128)
    pos = x > 0
    if np.any(pos):
        nn, xx = n_a[pos], x[pos]
        dh = spherical_jn(nn, xx, derivative=True) - 1j * spherical_yn(nn, xx, derivative=True)
        out[pos] = -1j / (xx * xx * dh)
    return out


def open_mode_strength(n: ArrayLike, kr: ArrayLike, directivity: float) -> np.ndarray:
    """``beta_n(kr) = alpha j_n(kr) - i (1 - alpha) j_n'(kr)``: first-order capsules
    ``alpha + (1 - alpha) cos gamma`` on an open sphere (no scattering body). complex128."""
    n_a, x = np.broadcast_arrays(np.asarray(n, dtype=np.int64), np.asarray(kr, np.float64))
    a = float(directivity)
    return a * spherical_jn(n_a, x) - 1j * (1.0 - a) * spherical_jn(n_a, x, derivative=True)


def _beta(n: np.ndarray, kr: np.ndarray, rigid: bool, directivity: float) -> np.ndarray:
    return rigid_sphere_mode_strength(n, kr) if rigid else open_mode_strength(n, kr, directivity)


def series_order(radius_m: float, rigid: bool, directivity: float, fs_hz: int = FS_HZ) -> int:
    """Truncation order ``L`` of the capsule series: the smallest ``L`` with
    ``sum_{n > L} (2n + 1) |beta_n(k r)| <= SERIES_BOUND`` at ``f = fs / 2`` (bound on the
    neglected response for any direction, as ``|P_n| <= 1``; the terms grow with ``kr`` for
    ``n > kr``, so the Nyquist frequency is the worst case)."""
    kr = math.pi * fs_hz * radius_m / SPEED_OF_SOUND_M_S
    n = np.arange(0, int(3 * kr) + 60)
    terms = (2 * n + 1) * np.abs(_beta(n, np.full(n.shape, kr), rigid, directivity))
    rem = np.cumsum(terms[::-1])[::-1]  # rem[m] = sum_{n >= m}
    return int(np.flatnonzero(rem <= SERIES_BOUND)[0]) - 1


def limited_inverse(
    gain: ArrayLike, max_gain_db: float | None, method: str = "soft"
) -> np.ndarray:
    """Regularised inverse of a complex gain ``G`` (radial filter), ``|result| < g``.

    ``"soft"``: ``(2 g / pi) arctan(pi |F| / (2 g)) F / |F|`` with ``F = 1 / G`` (Bernschuetz
    et al. 2011), ``F`` itself where ``|F| << g``; ``G = 0`` gives ``g`` with phase 0.
    ``"tikhonov"``: ``conj(G) / (|G|^2 + 1 / (4 g^2))``, peak ``g`` at ``|G| = 1 / (2 g)``.
    ``g = 10^(max_gain_db / 20)``; ``max_gain_db=None``: the plain inverse ``1 / G``.
    """
    gg = np.asarray(gain, dtype=np.complex128)
    if max_gain_db is None:
        return 1.0 / gg
    g = 10.0 ** (float(max_gain_db) / 20.0)
    if method == "tikhonov":
        return np.conj(gg) / (np.abs(gg) ** 2 + 1.0 / (4.0 * g * g))
    if method != "soft":
        raise AudioLRPError(f"unknown radial-filter limit {method!r}: use 'soft' or 'tikhonov'")
    with np.errstate(divide="ignore", over="ignore"):
        inv_mag = 1.0 / np.abs(gg)  # inf for G = 0 (and subnormal G)
    phase = np.exp(-1j * np.angle(gg))  # angle(0) = 0
    return (2.0 * g / np.pi) * np.arctan(np.pi * inv_mag / (2.0 * g)) * phase


def _legendre(order: int, x: np.ndarray) -> np.ndarray:
    """``P_n(x)`` for n = 0..order, stacked on a new first axis (Bonnet recurrence
    ``(n + 1) P_{n+1} = (2n + 1) x P_n - n P_{n-1}``)."""
    out = np.empty((order + 1,) + x.shape, dtype=np.float64)
    out[0] = 1.0
    if order >= 1:
        out[1] = x
    for n in range(1, order):
        out[n + 1] = ((2 * n + 1) / (n + 1)) * x * out[n] - (n / (n + 1)) * out[n - 1]
    return out


def _taper(t: np.ndarray, half_width: float) -> np.ndarray:
    """Flat-top (Tukey) window: 1 for ``|t| <= w / 2``, ``0.5 (1 + cos(pi (|t| - w / 2) /
    (w / 2)))`` up to ``|t| = w`` (``w`` = ``half_width``), 0 beyond. Its flat centre leaves
    the kernels' main responses untouched (all even moments of its spectrum vanish, so
    polynomial spectra such as ``G_n ~ (kr)^n`` near DC are not smeared)."""
    a = np.abs(np.asarray(t, np.float64)) / half_width
    return np.where(a <= 0.5, 1.0, np.where(a < 1.0, 0.5 * (1.0 + np.cos(np.pi * (2 * a - 1))),
                                            0.0))

