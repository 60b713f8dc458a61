"""Real Ambisonics microphones: a tetrahedral first-order array and a 32-capsule rigid sphere.

The scene simulator renders room responses directly in the spherical-harmonic (SH) domain
(ideal, frequency-independent ACN/SN3D encoding). Recordings come from arrays of capsules a few
centimetres apart, whose Ambisonics signals are *estimates*: exact at low frequencies, coloured,
noisy where the encoder must amplify, and spatially aliased above about ``c N / (2 pi r)``.
This module owns that array physics; :mod:`audiolrp.simulation.scenes` uses it when
``SceneConfig.mic`` is ``"tetra"`` or ``"sphere32"``.

Conventions
-----------
* Time-frequency: ``X(f) = sum_t x(t) exp(-i 2 pi f t)`` (NumPy's FFT), so a signal delayed by
  ``tau`` is multiplied by ``exp(-i omega tau)``. A plane wave *arriving from* the unit vector
  ``u`` (pointing from the array to the source) reaches the point ``x`` earlier by
  ``x . u / c``: its pressure there is ``S(f) exp(+i k x . u)``, ``k = 2 pi f / c``,
  ``c`` = :data:`audiolrp.constants.SPEED_OF_SOUND_M_S`. In this convention an outgoing
  spherical wave ``s(t - r/c) / r`` is ``exp(-i k r) / r``, i.e. the spherical Hankel function
  of the **second** kind ``h_n = h_n^(2) = j_n - i y_n``.
* Capsule ``q`` sits at ``r d_q`` (``d_q`` a unit vector, outward). Every capsule response to a
  unit plane wave from ``u`` depends only on ``cos gamma = d_q . u`` and ``kr`` and is written
  as a Legendre series (Jacobi-Anger expansion, e.g. Rafaely, *Fundamentals of Spherical Array
  Processing*, 2015, eqs. 2.38 and 4.12)::

      p_q(k, u) = sum_{n >= 0} G_n(kr) P_n(d_q . u),     G_n(kr) = (2n + 1) i^n beta_n(kr)

  - **open sphere, first-order capsules** (the tetrahedral array): a capsule of directivity
    ``a(gamma) = alpha + (1 - alpha) cos gamma`` (alpha = 0.5: cardioid) in the free field
    measures ``a(gamma) exp(i kr cos gamma)``; with ``exp(i x cos g) = sum (2n+1) i^n j_n(x)
    P_n(cos g)`` and ``cos g exp(i x cos g) = -i d/dx exp(i x cos g)``::

        beta_n(kr) = alpha j_n(kr) - i (1 - alpha) j_n'(kr)

  - **rigid sphere, pressure capsules** (the 32-capsule array), incident plus scattered
    field on the surface::

        beta_n(kr) = b_n(kr) = j_n(kr) - j_n'(kr) / h_n'(kr) * h_n(kr)
                   = -i / ((kr)^2 h_n'(kr))          (Wronskian j_n y_n' - j_n' y_n = x^-2)

    (Rafaely 2015 eq. 4.16 writes ``4 pi i^n`` times this bracket with orthonormal SH; the
    ``4 pi`` disappears with the SN3D addition theorem below.)

  The series is truncated at the order ``L`` (:func:`series_order`) where the remainder bound
  ``sum_{n > L} (2n + 1) |beta_n(k_max r)|`` at the Nyquist frequency falls below
  :data:`SERIES_BOUND` (1e-6 of a unit plane wave); ``L`` = 10 for the 1.47-cm tetrahedron,
  17 for the 4.2-cm sphere at 16 kHz.
* SN3D addition theorem: ``P_n(d . u) = sum_m Y_nm(d) Y_nm(u)`` with SN3D ``Y_nm``
  (:func:`audiolrp.signal.ambisonics.sh_matrix`); hence ``p_q = sum_nm G_n Y_nm(d_q)
  Y_nm(u)``: capsule signals are SH coefficients of the field weighted per order by ``G_n``
  and sampled at the capsule directions.

Encoders (capsules -> ACN/SN3D of order N)
------------------------------------------
``b(f) = diag(R_n(f)) S p(f)`` with a frequency-independent spatial matrix ``S`` and one radial
filter ``R_n`` per order n:

* **tetra** (A -> B): ``S = M^-1`` with ``M[q] = [alpha, (1 - alpha) (d_y, d_z, d_x)_q]``, the
  capsule model at low frequency (``alpha W + (1 - alpha) d . [X, Y, Z]`` in SN3D, ACN order
  W, Y, Z, X); exactly invertible for four capsules. Optional **A -> B equalisation**
  (``equalise=True``, default): ``R_n = G_n(0) / G_n(kr)`` for n = 0 (W) and 1 (X, Y, Z), with
  ``G_0(0) = alpha``, ``G_1(0) = 1 - alpha``, limited to ``max_gain_db``. This is the exact
  spherical-array form of Gerzon's (1975) correction of the W and X/Y/Z responses of a spaced
  tetrahedron (Gerzon's filters are a second-order expansion of it in ``kr``): it makes the
  responses to a plane wave, averaged over directions, flat; what remains is spatial
  aliasing. Off: raw A -> B (``R_n = 1``), which falls off above ~3 kHz.
* **sphere32**: ``S = pinv(Y_N(d))`` (least squares over the capsule directions, SN3D) and
  ``R_n = 1 / G_n(kr)`` regularised (:func:`limited_inverse`), by default Tikhonov
  (e.g. Rafaely 2015, ch. 5)::

      R_n = conj(G_n) / (|G_n|^2 + 1 / (4 g^2)),   g = 10^(max_gain_db / 20)

  whose peak is exactly ``g`` (at ``|G_n| = 1 / (2 g)``), or soft limiting (Bernschuetz et
  al., DAGA 2011) ``R_n = (2 g / pi) arctan(pi |F_n| / (2 g)) F_n / |F_n|``, ``F_n = 1 / G_n``.
  ``|R_n| <= g`` always. Since ``|G_n| ~ (kr)^n`` at low ``kr``, orders n >= 2 hit the limit
  below ~1-2 kHz (20 dB): they are attenuated there, and capsule noise is amplified by up to
  ``g``. Above ``kr ~ N`` orders > N alias into the estimate. The tetra's equalisation uses
  the same limit.

Radial filters are realised as zero-delay FIRs of :data:`RADIAL_FIR_TAPS` taps
(frequency-sampling design on a 4096-point grid, flat-top window, faded out above 0.9 fs/2 so
that the complex target need not jump to a real gain at Nyquist); they meet the target within
0.03 dB from 20 Hz to 7 kHz (default arrays) and never pass ``g``. The default limit is Tikhonov
(continuous at DC; the soft limit keeps odd orders at ``g`` with a 90-degree phase down to DC,
a step there that the FIR can only approximate).

Rendering
---------
:meth:`MicArray.render_waves` renders plane waves (delay, amplitude, direction; the image
sources of :mod:`audiolrp.simulation.rooms`) **per capsule**: wave ``i`` reaches capsule ``q``
through the band-limited kernel ``kappa(d_q . u_i, t - tau_i)``, the inverse Fourier transform
over ``|f| < fs/2`` of ``p_q``, windowed by a flat-top window (flat over ``+-(h+1)/2``,
cosine taper to 0 at ``+-(h+1)`` samples; ``h`` = 16 for the tetrahedron, as the room
simulator's fractional delays, 24 for the sphere, whose rear capsules ring longer). Each
capsule therefore gets its own delay (``-r d_q . u / c``), directivity gain and, on the
sphere, diffraction. Kernels come from per-order tables
``g_n(t)`` (oversampled 64 times, linear interpolation) combined with ``P_n(d_q . u_i)``.
:func:`simulate_array_rir` applies this to every image source of a room (the late diffuse tail
is coloured to the array's diffuse-field cross-spectra, see there) and encodes.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.fft
import scipy.signal
from numpy.typing import ArrayLike
from scipy import sparse
from scipy.special import spherical_jn, spherical_yn

from audiolrp.constants import FS_HZ, SPEED_OF_SOUND_M_S
from audiolrp.errors import AudioLRPError
from audiolrp.signal.ambisonics import _channel_orders, sh_matrix
from audiolrp.simulation import rooms

__all__ = [
    "ARRAY_MAX_ORDER",
    "DEFAULT_MAX_GAIN_DB",
    "DEFAULT_RADIUS_M",
    "EM32_COLATITUDE_AZIMUTH_DEG",
    "MIC_NAMES",
    "RADIAL_FIR_TAPS",
    "SERIES_BOUND",
    "ArrayRir",
    "MicArray",
    "aliasing_frequency_hz",
    "em32_directions",
    "limited_inverse",
    "make_array",
    "open_mode_strength",
    "rigid_sphere_mode_strength",
    "series_order",
    "simulate_array_rir",
    "tetra_directions",
]

MIC_NAMES: tuple[str, ...] = ("ideal", "tetra", "sphere32")
"""Microphones of ``SceneConfig.mic``: ideal SH encoding, tetrahedral array, rigid sphere."""

DEFAULT_RADIUS_M: dict[str, float] = {"tetra": 0.0147, "sphere32": 0.042}
"""Capsule radius of each array (Soundfield-class tetrahedra: 1-2 cm; em32: 4.2 cm)."""

ARRAY_MAX_ORDER: dict[str, int] = {"tetra": 1, "sphere32": 4}
"""Highest Ambisonics order each array encodes (32 capsules support (4+1)^2 = 25 channels)."""

DEFAULT_MAX_GAIN_DB: float = 20.0
"""Default limit of the radial (sphere) and equalisation (tetra) filters, dB."""

SERIES_BOUND: float = 1e-6
"""Largest neglected part of a capsule's unit plane-wave response (Legendre series remainder
bound at the Nyquist frequency, see :func:`series_order`)."""

RADIAL_FIR_TAPS: int = 1025
"""Length of the radial / equalisation FIRs (odd, centred: zero delay)."""

KERNEL_OVERSAMPLING: int = 64
"""Time oversampling of the capsule kernel tables (linear interpolation error ~3e-4)."""

_KERNEL_GRID: int = 4096
"""Frequency grid (points per fs) of the kernel tables: periodic kernels, period 4096 samples."""

_DESIGN_GRID: int = 4096
"""Frequency grid (points per fs) of the radial FIR and diffuse colouring designs."""

_DIFFUSE_FIR_TAPS: int = 63
"""Length of the diffuse-field colouring FIRs (odd, centred)."""

_BLOCK_FFT: int = 512
"""FFT size of the block (overlap-save) multichannel FIR filtering."""

ROOM_HIGHPASS_HZ: float = 10.0
"""High-pass of the image-source reflections, as in the room simulator's default."""

EM32_COLATITUDE_AZIMUTH_DEG: tuple[tuple[int, int], ...] = (
    (69, 0), (90, 32), (111, 0), (90, 328), (32, 0), (55, 45), (90, 69), (125, 45),
    (148, 0), (125, 315), (90, 291), (55, 315), (21, 91), (58, 90), (121, 90), (159, 89),
    (69, 180), (90, 212), (111, 180), (90, 148), (32, 180), (55, 225), (90, 249), (125, 225),
    (148, 180), (125, 135), (90, 111), (55, 135), (21, 269), (58, 270), (122, 270), (159, 271),
)
"""Capsule directions of the mh acoustics em32 Eigenmike (colatitude, azimuth in degrees,
capsules 1-32), from the appendix of the "em32 Eigenmike microphone array release notes
(v17.0)", 2013: a slightly irregular pentakis dodecahedron (the 12 icosahedron and 20
dodecahedron vertices), well conditioned for least-squares encoding up to order 4."""


# --------------------------------------------------------------------------------------------
# geometry
# --------------------------------------------------------------------------------------------
def tetra_directions() -> np.ndarray:
    """Unit vectors ``(4, 3)`` of the tetrahedral capsules FLU, FRD, BLD, BRU.

    ``(+1, +1, +1)/sqrt 3`` (azimuth 45 deg, elevation 35.26 deg), ``(+1, -1, -1)``,
    ``(-1, +1, -1)``, ``(-1, -1, +1)``: an even number of minus signs, capsules pointing out.
    """
    d = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=np.float64)
    return d / math.sqrt(3.0)


def em32_directions() -> np.ndarray:
    """Unit vectors ``(32, 3)`` of :data:`EM32_COLATITUDE_AZIMUTH_DEG` (+z up, azimuth from
    +x towards +y)."""
    ang = np.radians(np.array(EM32_COLATITUDE_AZIMUTH_DEG, dtype=np.float64))
    col, az = ang[:, 0], ang[:, 1]
    return np.stack([np.sin(col) * np.cos(az), np.sin(col) * np.sin(az), np.cos(col)], axis=1)


def _angles(xyz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Azimuth and elevation (radians) of unit vectors ``(n, 3)``."""
    az = np.arctan2(xyz[:, 1], xyz[:, 0])
    el = np.arctan2(xyz[:, 2], np.hypot(xyz[:, 0], xyz[:, 1]))
    return az, el


def aliasing_frequency_hz(order: int, radius_m: float) -> float:
    """``f = c N / (2 pi r)``: where ``kr`` reaches the order N and spatial aliasing sets in
    (3.7 kHz for N = 1 at 1.47 cm, 5.2 kHz for N = 4 at 4.2 cm)."""
    return SPEED_OF_SOUND_M_S * order / (2.0 * math.pi * radius_m)


# --------------------------------------------------------------------------------------------
# modal strengths
# --------------------------------------------------------------------------------------------
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


# --------------------------------------------------------------------------------------------
# the array
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class MicArray:
    """A spherical microphone array and its encoder to ACN/SN3D of order ``order``.

    Build with :func:`make_array` (cached). Filters and kernel tables are computed on first use
    and kept on the instance.

    Attributes
    ----------
    name
        ``"tetra"`` or ``"sphere32"``.
    directions
        Capsule unit vectors ``(Q, 3)``.
    radius_m
        Capsule radius.
    rigid
        Rigid sphere with pressure capsules (True) or open first-order capsules (False).
    directivity
        ``alpha`` of open capsules ``alpha + (1 - alpha) cos gamma`` (1 for pressure capsules).
    order
        Output Ambisonics order N.
    equalise
        Tetra: A -> B equalisation on (radial filters of orders 0, 1). Sphere: always True.
    max_gain_db
        Limit of the radial / equalisation filters (``None``: unlimited inverse).
    limit
        ``"tikhonov"`` (default) or ``"soft"`` (:func:`limited_inverse`).
    fs_hz
        Sampling rate.
    """

    name: str
    directions: np.ndarray
    radius_m: float
    rigid: bool
    directivity: float
    order: int
    equalise: bool
    max_gain_db: float | None
    limit: str = "tikhonov"
    fs_hz: int = FS_HZ
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    # ---- sizes ---------------------------------------------------------------------------
    @property
    def n_capsules(self) -> int:
        """Number of capsules Q."""
        return int(self.directions.shape[0])

    @property
    def n_sh(self) -> int:
        """Output channels ``(N+1)^2``."""
        return (self.order + 1) ** 2

    @property
    def series_order(self) -> int:
        """Truncation order L of the capsule series (:func:`series_order`)."""
        key = "series_order"
        if key not in self._cache:
            self._cache[key] = series_order(
                self.radius_m, self.rigid, self.directivity, self.fs_hz
            )
        return int(self._cache[key])

    @property
    def kernel_half_taps(self) -> int:
        """Half length ``h`` of the capsule kernels (``2h + 1`` taps)."""
        return 24 if self.rigid else 16

    @property
    def aliasing_hz(self) -> float:
        """:func:`aliasing_frequency_hz` of the highest order the capsule layout resolves
        (:data:`ARRAY_MAX_ORDER`: 1 for the tetrahedron, 4 for the 32 capsules, whatever the
        output order; lower output orders are not aliased by orders the layout resolves)."""
        return aliasing_frequency_hz(ARRAY_MAX_ORDER[self.name], self.radius_m)

    # ---- frequency responses -------------------------------------------------------------
    def _kr(self, f_hz: ArrayLike) -> np.ndarray:
        return 2.0 * np.pi * np.asarray(f_hz, np.float64) * self.radius_m / SPEED_OF_SOUND_M_S

    def modal_gains(self, f_hz: ArrayLike, max_n: int | None = None) -> np.ndarray:
        """``G_n(kr) = (2n + 1) i^n beta_n(kr)``, ``(n_f, max_n + 1)`` complex (default
        ``max_n`` = :attr:`series_order`). At ``f = 0`` the limits (``G_0 = 1`` on the rigid
        sphere; ``alpha`` and ``1 - alpha`` for n = 0, 1 of open capsules; else 0)."""
        kr = self._kr(f_hz).reshape(-1)
        n = np.arange((self.series_order if max_n is None else max_n) + 1)
        kr_safe = np.where(kr > 0, kr, 1.0)
        g = (2 * n + 1) * (1j ** n) * _beta(n[None, :], kr_safe[:, None], self.rigid,
                                             self.directivity)
        zero = kr <= 0
        if np.any(zero):
            g0 = np.zeros(n.size, np.complex128)
            g0[0] = 1.0 if self.rigid else self.directivity
            if not self.rigid and n.size > 1:
                g0[1] = 1.0 - self.directivity
            g[zero] = g0
        return np.asarray(g, np.complex128)

    def capsule_transfer(self, f_hz: ArrayLike, directions: ArrayLike) -> np.ndarray:
        """Capsule responses to unit plane waves, ``(n_f, Q, n_dirs)`` complex:
        ``p_q = sum_{n <= L} G_n(kr) P_n(d_q . u)``."""
        u = np.asarray(directions, np.float64).reshape(-1, 3)
        leg = _legendre(self.series_order, self.directions @ u.T)  # (L+1, Q, n_dirs)
        g = self.modal_gains(f_hz)  # (n_f, L+1)
        return np.einsum("fn,nqd->fqd", g, leg)

    @property
    def spatial_encoder(self) -> np.ndarray:
        """``S`` ``(n_sh, Q)``: ``M^-1`` (tetra, first rows) or ``pinv(Y_N(d))`` (sphere)."""
        key = "spatial"
        if key not in self._cache:
            az, el = _angles(self.directions)
            if self.rigid:
                s = np.linalg.pinv(sh_matrix(self.order, az, el))
            else:
                y1 = sh_matrix(1, az, el)
                m = y1 * np.array([self.directivity] + [1.0 - self.directivity] * 3)
                s = np.linalg.inv(m)[: self.n_sh]
            self._cache[key] = np.ascontiguousarray(s)
        return np.asarray(self._cache[key])

    def radial_response(self, f_hz: ArrayLike) -> np.ndarray:
        """Target radial / equalisation filters ``R_n(f)``, ``(n_f, N + 1)`` complex (module
        docstring); all ones for the tetra without equalisation."""
        f = np.asarray(f_hz, np.float64).reshape(-1)
        if not self.rigid and not self.equalise:
            return np.ones((f.size, self.order + 1), np.complex128)
        if self.rigid:  # G_n(0) = 0 for n > 0: evaluate DC as its limit f -> 0+
            f = np.where(f > 0, f, 1e-3)
        g = self.modal_gains(f, max_n=max(self.order, 1))[:, : self.order + 1]
        if not self.rigid:  # normalise to the low-frequency capsule model of M
            g = g / np.array([self.directivity, 1.0 - self.directivity])[: self.order + 1]
        return np.asarray(limited_inverse(g, self.max_gain_db, self.limit), np.complex128)

    def transfer(self, f_hz: ArrayLike, directions: ArrayLike) -> np.ndarray:
        """The array's response to unit plane waves, ACN/SN3D: ``(n_f, n_sh, n_dirs)``
        complex, ``diag(R_n) S p(f, u)`` with the target radial filters. The ideal encoder
        gives ``Y_N(u)`` at every frequency."""
        r = self.radial_response(f_hz)[:, _channel_orders(self.order)]
        return r[:, :, None] * np.einsum(
            "cq,fqd->fcd", self.spatial_encoder, self.capsule_transfer(f_hz, directions)
        )

    def diffuse_coherence(self, f_hz: ArrayLike) -> np.ndarray:
        """Capsule cross-spectra of a diffuse field of unit pressure power, ``(n_f, Q, Q)``:
        ``Gamma_qq' = sum_n |G_n|^2 / (2n + 1) P_n(d_q . d_q')`` (uncorrelated SN3D
        coefficients of power ``1 / (2n + 1)``; real and symmetric)."""
        q = self.n_capsules
        leg = _legendre(self.series_order, np.clip(self.directions @ self.directions.T, -1, 1))
        g = self.modal_gains(f_hz)
        w = np.abs(g) ** 2 / (2 * np.arange(g.shape[1]) + 1)
        return (w @ leg.reshape(-1, q * q)).reshape(-1, q, q)

    # ---- filters -------------------------------------------------------------------------
    @property
    def radial_firs(self) -> np.ndarray | None:
        """Zero-delay FIRs ``(N + 1, RADIAL_FIR_TAPS)`` of :meth:`radial_response` (None for
        the raw tetra): frequency sampling on a 4096-point grid, faded out over the top 10 %
        of the band (raised cosine from 0.9 fs/2 to fs/2), centred, flat-top window; an order
        whose realised peak would pass the limit (window ripple) is scaled to 0.999 of it."""
        key = "radial_firs"
        if key not in self._cache:
            if not self.rigid and not self.equalise:
                self._cache[key] = None
            else:
                f = np.arange(_DESIGN_GRID // 2 + 1) * (self.fs_hz / _DESIGN_GRID)
                # fade out over the top 10 % of the band: a real filter's gain at Nyquist is
                # real, and a jump there from the complex target would ring over all taps
                edge = (f - 0.9 * self.fs_hz / 2) / (0.1 * self.fs_hz / 2)
                fade = np.where(edge <= 0, 1.0, 0.5 * (1 + np.cos(np.pi * np.clip(edge, 0, 1))))
                r = self.radial_response(f) * fade[:, None]
                r[0] = r[0].real  # and a real gain at DC (odd orders tend to 0 there)
                h = scipy.fft.irfft(r, _DESIGN_GRID, axis=0)  # (grid, N+1)
                half = RADIAL_FIR_TAPS // 2
                h = np.roll(h, half, axis=0)[:RADIAL_FIR_TAPS].T
                t = np.arange(RADIAL_FIR_TAPS) - half
                h = h * _taper(t, half + 1.0)[None, :]
                if self.max_gain_db is not None:  # windowing ripple must not pass the limit
                    peak = np.abs(scipy.fft.rfft(h, 8 * _DESIGN_GRID, axis=-1)).max(axis=-1)
                    g = 10.0 ** (self.max_gain_db / 20.0)
                    h = h * np.minimum(1.0, (1.0 - 1e-3) * g / peak)[:, None]
                self._cache[key] = np.ascontiguousarray(h)
        return self._cache[key]

    def radial_fir_response(self, f_hz: ArrayLike) -> np.ndarray:
        """Frequency response ``(n_f, N + 1)`` of the realised radial FIRs (ones for the raw
        tetra): ``sum_t h_n[t] exp(-i 2 pi f t / fs)``, t centred on 0."""
        f = np.asarray(f_hz, np.float64).reshape(-1)
        firs = self.radial_firs
        if firs is None:
            return np.ones((f.size, self.order + 1), np.complex128)
        t = np.arange(RADIAL_FIR_TAPS) - RADIAL_FIR_TAPS // 2
        return np.exp(-2j * np.pi * np.outer(f, t) / self.fs_hz) @ firs.T.astype(np.complex128)

    def radial_filter(self, pre: np.ndarray) -> np.ndarray:
        """Apply the radial FIRs to spatially encoded signals ``(n_sh, n)`` (same shape;
        zero delay, linear convolution, the ends zero-padded)."""
        firs = self.radial_firs
        if firs is None:
            return np.asarray(pre, np.float64)
        half = RADIAL_FIR_TAPS // 2
        n = pre.shape[-1]
        n_fft = scipy.fft.next_fast_len(n + RADIAL_FIR_TAPS - 1, real=True)
        spec = scipy.fft.rfft(pre, n_fft, axis=-1)
        spec *= scipy.fft.rfft(firs, n_fft, axis=-1)[_channel_orders(self.order)]
        return np.asarray(scipy.fft.irfft(spec, n_fft, axis=-1)[:, half : half + n])

    def encode(self, capsules: np.ndarray) -> np.ndarray:
        """Capsule signals ``(Q, n)`` -> ACN/SN3D ``(n_sh, n)`` float64 (``S``, then the
        radial filters)."""
        x = np.asarray(capsules, np.float64)
        if x.ndim != 2 or x.shape[0] != self.n_capsules:
            raise AudioLRPError(
                f"capsule signals have shape {x.shape}; the {self.name} array needs "
                f"({self.n_capsules}, n_samples)"
            )
        return self.radial_filter(self.spatial_encoder @ x)

    # ---- capsule kernels -----------------------------------------------------------------
    @property
    def kernel_tables(self) -> np.ndarray:
        """``g_n(t)`` ``(L + 1, n_t)``: band-limited impulse responses of ``G_n`` (spectrum
        on a 4096-point grid, Nyquist bin halved), oversampled by
        :data:`KERNEL_OVERSAMPLING` at ``t = -(h+1) .. h+1`` samples, Hann-windowed over
        ``+-(h+1)``. ``kappa(c, t) = sum_n P_n(c) g_n(t)``."""
        key = "kernels"
        if key not in self._cache:
            over, grid, h1 = KERNEL_OVERSAMPLING, _KERNEL_GRID, self.kernel_half_taps + 1
            f = np.arange(grid // 2 + 1) * (self.fs_hz / grid)
            g = self.modal_gains(f)
            g[-1] *= 0.5
            full = scipy.fft.irfft(g, grid * over, axis=0) * over  # (grid * over, L+1)
            j = np.arange(-h1 * over, h1 * over + 1)
            tab = full[j % (grid * over)].T
            self._cache[key] = np.ascontiguousarray(tab * _taper(j / over, float(h1))[None, :])
        return np.asarray(self._cache[key])

    def _kernel_values(self, frac: np.ndarray) -> np.ndarray:
        """``g_n(j - frac_i)`` for taps ``j = -h..h``: ``(n_w, 2h + 1, L + 1)`` float32 (linear
        interpolation in the oversampled tables; single precision, like the scene's audio).

        Table position of tap j: ``(j + h) O + q_i`` with ``q_i = (1 - frac_i) O``, so all
        taps of a wave share one phase ``floor(q_i)`` and one weight; the tables are kept
        regrouped by phase (``[p, j] -> g(p + j O)``) and each wave reads two blocks.
        """
        h, over = self.kernel_half_taps, KERNEL_OVERSAMPLING
        n_taps = 2 * h + 1
        key = "kernels_by_phase"
        if key not in self._cache:
            tab = self.kernel_tables.T  # (n_t, L+1)
            idx = np.arange(2 * over)[:, None] + over * np.arange(n_taps)[None, :]
            self._cache[key] = np.ascontiguousarray(tab[idx], dtype=np.float32)  # (2O, T, L+1)
        by_phase = self._cache[key]
        q = (1.0 - np.asarray(frac, np.float64)) * over  # in [O/2, 3 O/2]
        p = np.clip(np.floor(q).astype(np.int64), 0, 2 * over - 2)
        w = (q - p).astype(np.float32)[:, None, None]
        lo = by_phase[p]
        return np.asarray(lo + w * (by_phase[p + 1] - lo))

    def render_waves(
        self,
        delays_samples: ArrayLike,
        amplitudes: ArrayLike,
        directions: ArrayLike,
        n_samples: int,
    ) -> np.ndarray:
        """Capsule signals ``(Q, n_samples)`` float64 of plane-wave impulses.

        Wave ``i`` (arrival at the array centre ``delays_samples[i]``, amplitude, unit
        direction of arrival) adds ``A_i kappa(d_q . u_i, t - tau_i)`` to capsule ``q`` at
        the ``2h + 1`` samples around ``round(tau_i)``. Waves whose kernels fall outside
        ``[0, n_samples)`` are cut there.
        """
        d = np.asarray(delays_samples, np.float64).reshape(-1)
        a = np.asarray(amplitudes, np.float64).reshape(-1)
        u = np.asarray(directions, np.float64).reshape(-1, 3)
        h = self.kernel_half_taps
        keep = d < n_samples + h
        d, a, u = d[keep], a[keep], u[keep]
        n_taps = 2 * h + 1
        if d.size == 0:
            return np.zeros((self.n_capsules, n_samples))
        m0 = np.rint(d).astype(np.int64)
        g = self._kernel_values(d - m0)  # (n_w, T, L+1)
        leg = (_legendre(self.series_order, u @ self.directions.T) * a[None, :, None]).astype(
            np.float32
        )
        k = np.matmul(g, leg.transpose(1, 0, 2)).reshape(d.size * n_taps, self.n_capsules)
        rows = (m0[:, None] + np.arange(n_taps)[None, :] - h).reshape(-1)  # output samples
        ok = (rows >= 0) & (rows < n_samples)
        mat = sparse.csr_array(
            (np.ones(int(ok.sum()), np.float32), (rows[ok], np.flatnonzero(ok))),
            shape=(n_samples, rows.size),
        )
        return np.ascontiguousarray((mat @ k).T, dtype=np.float64)

    def wave_firs(self, directions: ArrayLike) -> np.ndarray:
        """Capsule FIRs ``(n_dirs, Q, 2h + 1)`` of plane waves arriving at the array centre at
        sample 0 (kernel taps ``kappa(d_q . u, j)``, ``j = -h..h``)."""
        u = np.asarray(directions, np.float64).reshape(-1, 3)
        g = self._kernel_values(np.zeros(1))[0].astype(np.float64)  # (T, L+1)
        leg = _legendre(self.series_order, u @ self.directions.T)  # (L+1, n_dirs, Q)
        return np.asarray(np.einsum("tn,ndq->dqt", g, leg))

    # ---- signals -------------------------------------------------------------------------
    def plane_wave_signals(self, signals: ArrayLike, directions: ArrayLike) -> np.ndarray:
        """Encoded ``(n_sh, n)`` float64 of plane waves ``signals[p]`` (time origin at the
        array centre) from ``directions[p]``: per capsule FIRs, ``S``, radial filters."""
        x = np.asarray(signals, np.float64)
        taps = np.einsum("cq,pqt->cpt", self.spatial_encoder, self.wave_firs(directions))
        return self.radial_filter(_mimo_fir(x, taps, self.kernel_half_taps))

    @property
    def diffuse_firs(self) -> np.ndarray:
        """Colouring FIRs ``(n_sh, n_sh, T)`` (centred) with ``H(f) H(f)^T = S Gamma(f) S^T``
        (principal square root per frequency): independent unit-power channels in, the
        spatially encoded diffuse field of the capsules out (before the radial filters)."""
        key = "diffuse"
        if key not in self._cache:
            f = np.arange(_DESIGN_GRID // 2 + 1) * (self.fs_hz / _DESIGN_GRID)
            s = self.spatial_encoder
            k = s @ self.diffuse_coherence(f) @ s.T
            lam, vec = np.linalg.eigh(0.5 * (k + k.transpose(0, 2, 1)))
            root = np.einsum("fci,fi,fdi->fcd", vec, np.sqrt(np.maximum(lam, 0.0)), vec)
            h = scipy.fft.irfft(root, _DESIGN_GRID, axis=0)
            half = _DIFFUSE_FIR_TAPS // 2
            h = np.roll(h, half, axis=0)[:_DIFFUSE_FIR_TAPS]  # (T, c, d)
            h *= _taper(np.arange(_DIFFUSE_FIR_TAPS) - half, half + 1.0)[:, None, None]
            self._cache[key] = np.ascontiguousarray(h.transpose(1, 2, 0))
        return np.asarray(self._cache[key])

    def diffuse_pre(self, white: np.ndarray) -> np.ndarray:
        """Spatially encoded diffuse field ``(n_sh, n)`` from ``n_sh`` independent
        unit-power signals (:attr:`diffuse_firs`; pass through :meth:`radial_filter`)."""
        return _mimo_fir(np.asarray(white, np.float64), self.diffuse_firs,
                         _DIFFUSE_FIR_TAPS // 2)

    def self_noise(self, n_samples: int, rms: float, seed: int) -> np.ndarray:
        """Capsule self-noise ``(Q, n_samples)`` float32: independent white Gaussian noise of
        RMS ``rms`` per capsule from ``np.random.default_rng(seed)`` (float32 draws; same
        seed, same noise)."""
        rng = np.random.default_rng(seed)
        noise = rng.standard_normal((self.n_capsules, int(n_samples)), dtype=np.float32)
        return noise * np.float32(rms)


def _mimo_fir(x: np.ndarray, taps: np.ndarray, centre: int) -> np.ndarray:
    """``y[c, t] = sum_p sum_j taps[c, p, j] x[p, t + centre - j]`` (``(C, n)`` float64):
    centred multichannel FIR filtering, overlap-save with :data:`_BLOCK_FFT`-point FFTs."""
    n_out, (n_c, n_p, n_t) = x.shape[-1], taps.shape
    m = _BLOCK_FFT
    step = m - n_t + 1
    n_blocks = -(-(n_out + centre) // step)
    xp = np.zeros((n_p, n_blocks * step + n_t - 1))
    xp[:, n_t - 1 : n_t - 1 + n_out] = x
    frames = np.lib.stride_tricks.sliding_window_view(xp, m, axis=-1)[:, ::step][:, :n_blocks]
    spec_x = scipy.fft.rfft(frames, axis=-1).transpose(2, 0, 1)  # (F, P, B)
    spec_h = scipy.fft.rfft(taps, m, axis=-1).transpose(2, 0, 1)  # (F, C, P)
    y = scipy.fft.irfft(np.matmul(spec_h, spec_x).transpose(1, 2, 0), m, axis=-1)
    z = y[:, :, n_t - 1 :].reshape(n_c, n_blocks * step)
    return np.ascontiguousarray(z[:, centre : centre + n_out])


@functools.lru_cache(maxsize=32)
def make_array(
    name: str,
    order: int,
    *,
    radius_m: float | None = None,
    directivity: float = 0.5,
    equalise: bool = True,
    max_gain_db: float | None = DEFAULT_MAX_GAIN_DB,
    limit: str = "tikhonov",
    fs_hz: int = FS_HZ,
) -> MicArray:
    """The array ``name`` (``"tetra"`` or ``"sphere32"``) encoding to order ``order``.

    Cached per argument set (so its filters and kernel tables are built once per process).

    Raises
    ------
    AudioLRPError
        Unknown name, order above the array's (:data:`ARRAY_MAX_ORDER`), bad radius or
        directivity.
    """
    if name not in ARRAY_MAX_ORDER:
        raise AudioLRPError(f"unknown microphone array {name!r}: use 'tetra' or 'sphere32'")
    if not 0 <= int(order) <= ARRAY_MAX_ORDER[name]:
        raise AudioLRPError(
            f"the {name} array encodes orders 0..{ARRAY_MAX_ORDER[name]}, not {order}: pass a "
            "lower order"
        )
    r = DEFAULT_RADIUS_M[name] if radius_m is None else float(radius_m)
    if not (math.isfinite(r) and 0.001 <= r <= 0.5):
        raise AudioLRPError(f"array radius {radius_m!r} m must lie in [0.001, 0.5] m")
    rigid = name == "sphere32"
    a = 1.0 if rigid else float(directivity)
    if not rigid and not 0.0 < a < 1.0:
        raise AudioLRPError(
            f"capsule directivity {directivity!r} must lie in (0, 1) (0.5 cardioid): a "
            "tetrahedron of omni (1) or figure-8 (0) capsules cannot give W, X, Y, Z"
        )
    dirs = em32_directions() if rigid else tetra_directions()
    return MicArray(name, dirs, r, rigid, a, int(order), bool(equalise or rigid),
                    max_gain_db, limit, int(fs_hz))


# --------------------------------------------------------------------------------------------
# rooms through the array
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class ArrayRir:
    """A room impulse response recorded by an array and encoded to ACN/SN3D.

    ``direct`` and ``reverberant`` are ``(n_sh, n_samples)`` float64 (the direct path is no
    longer rank one: each capsule sees it with its own delay and gain). Directions are those
    of the source seen from the array centre.
    """

    direct: np.ndarray
    reverberant: np.ndarray
    source_azimuth_rad: float
    source_elevation_rad: float
    distance_m: float
    n_images: int

    @property
    def full(self) -> np.ndarray:
        """``direct + reverberant``."""
        return self.direct + self.reverberant


@dataclass(frozen=True, eq=False)
class _RoomWaves:
    """A room's image sources as plane waves at the receiver, and the ideal late tail.

    ``delays_samples``, ``amplitudes`` (the direct path's, the reflections' cross-faded) and
    unit ``directions`` of every image; ``is_direct`` marks the direct path; ``tail`` is the
    ideal response minus its image part (``(n_sh, n)``, zero before the cross-fade; None
    without a late tail); ``hoa`` the ideal response they come from.
    """

    hoa: rooms.HoaRir
    delays_samples: np.ndarray
    amplitudes: np.ndarray
    directions: np.ndarray
    is_direct: np.ndarray
    tail: np.ndarray | None


def _room_waves(
    order: int,
    room_m: ArrayLike,
    source_m: ArrayLike,
    receiver_m: ArrayLike,
    rt60_s: float,
    fs_hz: int,
    max_length_s: float | None,
    max_image_order: int | None,
    late_tail: bool,
    seed: int | None,
) -> _RoomWaves:
    """Steps 1 and 3 of :func:`simulate_array_rir`: the ideal response and the same image
    sources, through the room module's own steps (walls, mixing time, response length, image
    radius, images, arrivals), so both see identical waves."""
    fs, c = fs_hz, SPEED_OF_SOUND_M_S
    hoa = rooms.simulate_hoa_rir(
        room_m, source_m, receiver_m, rt60_s=rt60_s, order=order, fs_hz=fs,
        max_length_s=max_length_s, max_image_order=max_image_order, late_tail=late_tail,
        highpass_hz=ROOM_HIGHPASS_HZ, seed=seed,
    )
    room = np.asarray(room_m, np.float64).reshape(3)
    t_direct = hoa.distance_m / c
    t_mix, t_fade = rooms._mixing_time(
        t_direct, hoa.rt60_s, late_tail, hoa.mixing_time_s if late_tail else None
    )
    length_s = rooms._response_length_s(max_length_s, hoa.rt60_s, t_direct, max_image_order)
    r_max = rooms._image_radius_m(late_tail, t_mix, length_s, fs, room, hoa.distance_m,
                                  max_image_order)
    imgs = rooms.image_sources(room, np.asarray(source_m, np.float64),
                               np.asarray(receiver_m, np.float64), np.asarray(hoa.absorption),
                               r_max, max_image_order)
    t_arr, amp, amp_faded, y = rooms._image_arrivals(imgs, order, late_tail, t_mix, t_fade)
    delays = t_arr * fs
    is_direct = np.all(imgs["index"] == 0, axis=1)
    tail = None
    if late_tail:
        hp = rooms._check_highpass_hz(ROOM_HIGHPASS_HZ, fs)
        images = rooms._render_reflections(y, amp_faded, delays, ~is_direct, hoa.n_samples, fs,
                                           hp)
        tail = hoa.reverberant - images
    return _RoomWaves(
        hoa=hoa,
        delays_samples=delays,
        amplitudes=np.where(is_direct, amp, amp_faded),
        directions=imgs["offset_m"] / imgs["distance_m"][:, None],
        is_direct=is_direct,
        tail=tail,
    )


def simulate_array_rir(
    array: MicArray,
    room_m: ArrayLike,
    source_m: ArrayLike,
    receiver_m: ArrayLike,
    rt60_s: float,
    *,
    max_length_s: float | None = None,
    max_image_order: int | None = None,
    late_tail: bool = True,
    seed: int | None = 0,
) -> ArrayRir:
    """The room of :func:`audiolrp.simulation.rooms.simulate_hoa_rir` recorded by ``array``.

    1. :func:`~audiolrp.simulation.rooms.simulate_hoa_rir` at the array's order with the same
       arguments (its image sources, cross-fade and late tail; high-pass
       :data:`ROOM_HIGHPASS_HZ`), and the same image sources as plane waves (the room
       module's own steps: walls, mixing time, images, arrivals).
    2. Every image rendered per capsule (:meth:`MicArray.render_waves`): the direct path with
       its amplitude, the reflections with their cross-faded amplitudes, then high-passed
       like the ideal reflections.
    3. The late tail: the ideal response minus its image part is ``n_sh`` independent
       Gaussian channels of power ``env(t)^2 / (2n + 1)`` (SN3D diffuse field). Whitened
       (times ``sqrt(2n + 1)``) they drive :meth:`MicArray.diffuse_pre`, which gives them the
       cross-spectra the array's encoder sees in a diffuse field (capsule spacing, directivity,
       scattering and aliasing included); exact for a Gaussian diffuse field.
    4. Encoding: ``S`` and the radial filters (:meth:`MicArray.encode`).

    Returns
    -------
    ArrayRir
        Same length as the ideal response.
    """
    w = _room_waves(array.order, room_m, source_m, receiver_m, rt60_s, array.fs_hz,
                    max_length_s, max_image_order, late_tail, seed)
    n, s, d = w.hoa.n_samples, array.spatial_encoder, w.is_direct
    pre_direct = s @ array.render_waves(w.delays_samples[d], w.amplitudes[d], w.directions[d], n)
    r = ~d
    pre_refl = s @ array.render_waves(w.delays_samples[r], w.amplitudes[r], w.directions[r], n)
    hp = rooms._check_highpass_hz(ROOM_HIGHPASS_HZ, array.fs_hz)
    if hp is not None:
        sos = scipy.signal.butter(2, hp, btype="highpass", fs=array.fs_hz, output="sos")
        pre_refl = scipy.signal.sosfilt(sos, pre_refl, axis=-1)
    if w.tail is not None:
        white = w.tail * np.sqrt(2.0 * _channel_orders(array.order) + 1.0)[:, None]
        pre_refl = pre_refl + array.diffuse_pre(white)
    return ArrayRir(
        direct=array.radial_filter(pre_direct),
        reverberant=array.radial_filter(pre_refl),
        source_azimuth_rad=w.hoa.source_azimuth_rad,
        source_elevation_rad=w.hoa.source_elevation_rad,
        distance_m=w.hoa.distance_m,
        n_images=w.hoa.n_images,
    )
