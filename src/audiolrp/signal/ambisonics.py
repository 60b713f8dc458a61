"""Ambisonics: real spherical harmonics, normalisations, the 425-class DOA grid, t-designs.

The paper's models consume Higher Order Ambisonics (HOA) signals of order N = 1..4 (Kiyan et
al., section "Experimental Setup"; HOA after Zotter & Frank [14]) and classify the direction of
arrival into 425 classes (Table 1, N_bin = 425).  This module provides the building blocks:

* real spherical harmonics (no Condon-Shortley phase) in ACN channel order, SN3D (AmbiX, the
  default) or N3D normalisation, for any order (orders up to 4 are what the paper uses);
* plane-wave encoding and SN3D/N3D/FuMa conversions;
* the 425-direction DOA grid of Perotin et al. (reference [1] of the paper, grid with
  alpha = 10 deg), nearest-class lookup and great-circle errors;
* equal-weight spherical t-designs (package data ``tdesigns.json``, computed once
  numerically, read on first use) used to build isotropic (diffuse) noise fields.

Conventions: azimuth from +x towards +y, elevation from the horizontal plane, +z up, radians.
For order n and degree m (-n <= m <= n) the ACN index is ``n**2 + n + m`` and the SN3D function
is ``Y_nm(az, el) = sqrt((2 - delta_m0) (n-|m|)! / (n+|m|)!) P_n^|m|(sin el) * T_m(az)`` with
``T_m = cos(m az)`` for m >= 0 and ``sin(|m| az)`` for m < 0; N3D multiplies by ``sqrt(2n+1)``.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from math import lgamma

import numpy as np
from numpy.typing import ArrayLike

from audiolrp.errors import AudioLRPError

__all__ = [
    "MAX_SH_ORDER",
    "acn_index",
    "acn_order_degree",
    "angular_error_deg",
    "class_distance_deg",
    "class_neighbour_spacing_deg",
    "direction_from_vector",
    "doa_grid",
    "ring_grid",
    "encode_plane_wave",
    "fuma_to_ambix",
    "n3d_to_sn3d",
    "nearest_class",
    "sh_matrix",
    "sn3d_to_n3d",
    "spherical_t_design",
    "spherical_t_design_degrees",
    "unit_vector",
    "vector_angle_deg",
]

#: Highest supported spherical-harmonic order (the un-normalised Legendre recurrence stays
#: well inside float64 range up to here).
MAX_SH_ORDER: int = 40

_NORMALIZATIONS = ("sn3d", "n3d")


# --------------------------------------------------------------------------------------------
# Spherical harmonics
# --------------------------------------------------------------------------------------------


def acn_index(n: int, m: int) -> int:
    """ACN channel index of order ``n`` and degree ``m``: ``n**2 + n + m``."""
    if n < 0 or abs(m) > n:
        raise AudioLRPError(f"invalid SH order/degree (n={n}, m={m}): need n >= 0 and |m| <= n")
    return n * n + n + m


def acn_order_degree(acn: int) -> tuple[int, int]:
    """Inverse of :func:`acn_index`: ``(n, m)`` of ACN channel ``acn``."""
    if acn < 0:
        raise AudioLRPError(f"ACN index {acn} is negative: pass an index >= 0")
    n = int(np.floor(np.sqrt(acn)))
    return n, acn - n * n - n


def _channel_orders(order: int) -> np.ndarray:
    """Order n of every ACN channel up to ``order`` (length ``(order+1)**2``)."""
    return np.repeat(np.arange(order + 1), 2 * np.arange(order + 1) + 1)


def _check_order(order: int) -> int:
    if isinstance(order, bool) or not isinstance(order, int | np.integer):
        raise AudioLRPError(f"Ambisonics order must be an integer, got {order!r}: pass e.g. 4")
    if not 0 <= int(order) <= MAX_SH_ORDER:
        raise AudioLRPError(
            f"Ambisonics order {order} is out of range: pass an order in 0..{MAX_SH_ORDER}"
        )
    return int(order)


def _check_normalization(normalization: str) -> str:
    norm = str(normalization).lower()
    if norm not in _NORMALIZATIONS:
        raise AudioLRPError(
            f"unknown Ambisonics normalisation {normalization!r}: pass 'sn3d' (AmbiX) or 'n3d'"
        )
    return norm


def _as_angles(azimuth_rad: ArrayLike, elevation_rad: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    az = np.asarray(azimuth_rad, dtype=np.float64)
    el = np.asarray(elevation_rad, dtype=np.float64)
    try:
        az, el = np.broadcast_arrays(az, el)
    except ValueError as exc:
        raise AudioLRPError(
            f"azimuth shape {az.shape} and elevation shape {el.shape} do not broadcast: "
            "pass arrays of equal length"
        ) from exc
    az = az.reshape(-1)
    el = el.reshape(-1)
    if not (np.all(np.isfinite(az)) and np.all(np.isfinite(el))):
        raise AudioLRPError("direction angles contain NaN or inf: pass finite angles in radians")
    return az, el


def sh_matrix(
    order: int,
    azimuth_rad: ArrayLike,
    elevation_rad: ArrayLike,
    normalization: str = "sn3d",
) -> np.ndarray:
    """Real spherical harmonics (ACN order, no Condon-Shortley phase) for many directions.

    Parameters
    ----------
    order : int
        Ambisonics order N (0..``MAX_SH_ORDER``).
    azimuth_rad, elevation_rad : array_like
        Directions (scalars or broadcastable arrays, flattened), radians.
    normalization : {"sn3d", "n3d"}
        SN3D (AmbiX, default) or N3D (``sqrt(2n+1)`` times SN3D).

    Returns
    -------
    numpy.ndarray
        ``(n_dirs, (order+1)**2)`` float64 matrix ``Y[d, acn]``.  This is the plane-wave
        encoder used to build the HOA signals the paper's models consume ([14], section
        "Experimental Setup").
    """
    order = _check_order(order)
    norm = _check_normalization(normalization)
    az, el = _as_angles(azimuth_rad, elevation_rad)
    x = np.sin(el)
    s = np.cos(el)  # = sqrt(1 - x^2) >= 0 for el in [-pi/2, pi/2]; exact sign for any el
    s = np.abs(s)
    n_dirs = az.size
    out = np.empty((n_dirs, (order + 1) ** 2), dtype=np.float64)
    # cos(m az), sin(m az) for m = 0..N via angle multiples (vectorised over m)
    m_all = np.arange(order + 1, dtype=np.float64)
    cos_m = np.cos(np.outer(az, m_all))
    sin_m = np.sin(np.outer(az, m_all))
    pmm = np.ones(n_dirs)
    for m in range(order + 1):
        if m > 0:
            pmm = pmm * (2 * m - 1) * s
        p_prev2 = pmm  # first read at n = m + 2, after two updates
        p_prev = pmm
        for n in range(m, order + 1):
            if n == m:
                p = pmm
            elif n == m + 1:
                p = x * (2 * m + 1) * pmm
            else:
                p = ((2 * n - 1) * x * p_prev - (n + m - 1) * p_prev2) / (n - m)
            p_prev2, p_prev = p_prev, p
            nrm = np.sqrt((2.0 - (m == 0)) * np.exp(lgamma(n - m + 1) - lgamma(n + m + 1)))
            if norm == "n3d":
                nrm *= np.sqrt(2 * n + 1)
            out[:, n * n + n + m] = nrm * p * cos_m[:, m]
            if m > 0:
                out[:, n * n + n - m] = nrm * p * sin_m[:, m]
    return out


def encode_plane_wave(
    signal: ArrayLike,
    azimuth_rad: float,
    elevation_rad: float,
    order: int,
    normalization: str = "sn3d",
) -> np.ndarray:
    """Encode a mono plane wave into Ambisonics: ``B[acn, t] = Y_acn(az, el) * s[t]``.

    Parameters
    ----------
    signal : array_like
        Mono signal, shape ``(n_samples,)``.
    azimuth_rad, elevation_rad : float
        Direction of arrival.
    order : int
        Ambisonics order N.
    normalization : {"sn3d", "n3d"}

    Returns
    -------
    numpy.ndarray
        ``((order+1)**2, n_samples)``, dtype of ``signal`` if floating, else float64.
    """
    sig = np.asarray(signal)
    if sig.ndim != 1:
        raise AudioLRPError(f"signal must be mono (1-D), got shape {sig.shape}: pass one channel")
    if not np.issubdtype(sig.dtype, np.floating):
        sig = sig.astype(np.float64)
    if np.size(azimuth_rad) != 1 or np.size(elevation_rad) != 1:
        raise AudioLRPError("encode_plane_wave takes one direction: pass scalar angles")
    y = sh_matrix(order, azimuth_rad, elevation_rad, normalization)[0]
    return (y[:, None] * sig[None, :]).astype(sig.dtype, copy=False)


def _norm_factors(signals: np.ndarray, what: str) -> np.ndarray:
    k = signals.shape[0]
    order = int(round(np.sqrt(k))) - 1
    if (order + 1) ** 2 != k:
        raise AudioLRPError(
            f"{what}: {k} channels is not a full Ambisonics order ((N+1)^2): pass 1, 4, 9, 16, "
            "25, ... channels on axis 0"
        )
    return np.sqrt(2.0 * _channel_orders(order) + 1.0)


def sn3d_to_n3d(signals: ArrayLike) -> np.ndarray:
    """Convert ACN/SN3D signals (channels on axis 0) to N3D: multiply order n by sqrt(2n+1)."""
    sig = np.asarray(signals)
    f = _norm_factors(sig, "sn3d_to_n3d")
    return sig * f.reshape((-1,) + (1,) * (sig.ndim - 1)).astype(
        sig.dtype if np.issubdtype(sig.dtype, np.floating) else np.float64
    )


def n3d_to_sn3d(signals: ArrayLike) -> np.ndarray:
    """Convert ACN/N3D signals (channels on axis 0) to SN3D: divide order n by sqrt(2n+1)."""
    sig = np.asarray(signals)
    f = _norm_factors(sig, "n3d_to_sn3d")
    return sig / f.reshape((-1,) + (1,) * (sig.ndim - 1)).astype(
        sig.dtype if np.issubdtype(sig.dtype, np.floating) else np.float64
    )


# FuMa channel letters in FuMa order, their ACN index and the factor SN3D = factor * FuMa
# (maxN weights; W carries the -3 dB FuMa weight, hence sqrt(2)).
_FUMA_LETTERS = "WXYZRSTUVKLMNOPQ"
_FUMA_TO_ACN = (0, 3, 1, 2, 6, 7, 5, 8, 4, 12, 13, 11, 14, 10, 15, 9)
_FUMA_TO_SN3D = (
    np.sqrt(2.0),  # W
    1.0,  # X
    1.0,  # Y
    1.0,  # Z
    1.0,  # R
    np.sqrt(3.0) / 2.0,  # S
    np.sqrt(3.0) / 2.0,  # T
    np.sqrt(3.0) / 2.0,  # U
    np.sqrt(3.0) / 2.0,  # V
    1.0,  # K
    np.sqrt(32.0 / 45.0),  # L
    np.sqrt(32.0 / 45.0),  # M
    np.sqrt(5.0) / 3.0,  # N
    np.sqrt(5.0) / 3.0,  # O
    np.sqrt(5.0 / 8.0),  # P
    np.sqrt(5.0 / 8.0),  # Q
)


def fuma_to_ambix(signals: ArrayLike) -> np.ndarray:
    """Convert Furse-Malham (FuMa, channel order WXYZRSTUVKLMNOPQ, maxN) to AmbiX (ACN/SN3D).

    Parameters
    ----------
    signals : array_like
        FuMa signals with 4, 9 or 16 channels (orders 1..3) on axis 0.

    Returns
    -------
    numpy.ndarray
        AmbiX signals, same shape, ACN channel order, SN3D normalisation.
    """
    sig = np.asarray(signals)
    k = sig.shape[0] if sig.ndim >= 1 else 0
    if k not in (4, 9, 16):
        raise AudioLRPError(
            f"FuMa input has {k} channels on axis 0; only full orders 1..3 (4, 9 or 16 channels, "
            "WXYZRSTUVKLMNOPQ) are supported: pass a full-order FuMa signal"
        )
    dtype = sig.dtype if np.issubdtype(sig.dtype, np.floating) else np.float64
    out = np.empty(sig.shape, dtype=dtype)
    for i_fuma in range(k):
        out[_FUMA_TO_ACN[i_fuma]] = sig[i_fuma] * _FUMA_TO_SN3D[i_fuma]
    return out


# --------------------------------------------------------------------------------------------
# Directions and the 425-class DOA grid
# --------------------------------------------------------------------------------------------


def unit_vector(azimuth_rad: ArrayLike, elevation_rad: ArrayLike) -> np.ndarray:
    """Unit vectors ``(..., 3)`` for the given directions (broadcast shape of the inputs)."""
    az = np.asarray(azimuth_rad, dtype=np.float64)
    el = np.asarray(elevation_rad, dtype=np.float64)
    ce = np.cos(el)
    return np.stack(np.broadcast_arrays(ce * np.cos(az), ce * np.sin(az), np.sin(el)), axis=-1)


def direction_from_vector(xyz: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Azimuth and elevation (radians) of vectors ``(..., 3)`` (need not be unit length).

    Azimuth is in (-pi, pi], elevation in [-pi/2, pi/2].  Zero vectors raise.
    """
    v = np.asarray(xyz, dtype=np.float64)
    if v.shape[-1:] != (3,):
        raise AudioLRPError(f"vectors must have a last axis of length 3, got shape {v.shape}")
    horiz = np.hypot(v[..., 0], v[..., 1])
    if np.any((horiz == 0) & (v[..., 2] == 0)):
        raise AudioLRPError("a zero vector has no direction: pass non-zero vectors")
    return np.arctan2(v[..., 1], v[..., 0]), np.arctan2(v[..., 2], horiz)


def angular_error_deg(
    az1_rad: ArrayLike, el1_rad: ArrayLike, az2_rad: ArrayLike, el2_rad: ArrayLike
) -> np.ndarray:
    """Great-circle angle in degrees between two (arrays of) directions.

    Uses ``atan2(|u x v|, u . v)``, accurate for tiny and near-180-degree angles alike.
    """
    return vector_angle_deg(unit_vector(az1_rad, el1_rad), unit_vector(az2_rad, el2_rad))


def vector_angle_deg(u: ArrayLike, v: ArrayLike) -> np.ndarray:
    """Angle in degrees between (broadcast) vectors ``(..., 3)``: ``atan2(|u x v|, u . v)``.

    Accurate for tiny and near-180-degree angles alike; the vectors need not be unit length.
    """
    u, v = np.broadcast_arrays(np.asarray(u, np.float64), np.asarray(v, np.float64))
    cross = np.linalg.norm(np.cross(u, v), axis=-1)
    return np.degrees(np.arctan2(cross, np.sum(u * v, axis=-1)))


def ring_grid(alpha_deg: float) -> np.ndarray:
    """Directions ``(K, 2)`` [az_rad, el_rad] of Perotin et al.'s ring grid at spacing
    ``alpha_deg``: ``I = floor(180 / alpha)`` elevation rings ``phi_i = -90 + 180 i / I``
    (i = 0..I), ring i holding ``J_i + 1`` azimuths ``theta_j = -180 + 360 j / (J_i + 1)`` with
    ``J_i = floor((360 / alpha) cos(phi_i))``. ``alpha_deg = 10`` gives the 425 DOA classes
    (:func:`doa_grid`); finer spacings give finer maps."""
    n_rings = int(np.floor(180.0 / alpha_deg))
    rows = []
    for i in range(n_rings + 1):
        phi_deg = -90.0 + 180.0 * i / n_rings
        # float64 cos: cos(+-90 deg) ~ 6e-17 -> J = 0 (a single pole direction)
        j_max = int(np.floor((360.0 / alpha_deg) * np.cos(np.radians(phi_deg))))
        theta_deg = -180.0 + 360.0 * np.arange(j_max + 1) / (j_max + 1)
        rows.append(np.stack([np.radians(theta_deg), np.full(j_max + 1, np.radians(phi_deg))], 1))
    return np.concatenate(rows, axis=0)


@functools.cache
def _doa_grid_cached() -> np.ndarray:
    grid = ring_grid(10.0)
    grid.setflags(write=False)
    return grid


def doa_grid() -> np.ndarray:
    """The 425 DOA classes of the paper (Table 1, N_bin = 425) as ``(425, 2)`` [az_rad, el_rad].

    Grid of Perotin et al. (reference [1]; WASPAA 2019) with alpha = 10 deg: I = 18 elevation
    rings ``phi_i = -90 + 180 i / I`` (i = 0..I), ring i holding ``J_i + 1`` azimuths
    ``theta_j = -180 + 360 j / (J_i + 1)`` with ``J_i = floor(36 cos(phi_i))``.  Ring sizes
    1, 7, 13, 19, 24, 28, 32, 34, 36, 37, 36, ..., 7, 1.  Class index = row index (rings from
    the south pole upwards, azimuth increasing within a ring).  The returned array is read-only
    and cached.
    """
    return _doa_grid_cached()


@functools.cache
def _grid_vectors() -> np.ndarray:
    g = doa_grid()
    v = unit_vector(g[:, 0], g[:, 1])
    v.setflags(write=False)
    return v


def nearest_class(azimuth_rad: ArrayLike, elevation_rad: ArrayLike) -> np.ndarray:
    """Index of the DOA class (row of :func:`doa_grid`) nearest to each direction.

    Vectorised: maximises the dot product between unit vectors.  Returns an int64 array with
    the broadcast shape of the inputs (0-d for scalars).
    """
    az = np.asarray(azimuth_rad, dtype=np.float64)
    el = np.asarray(elevation_rad, dtype=np.float64)
    shape = np.broadcast_shapes(az.shape, el.shape)
    a, e = _as_angles(az, el)
    dots = unit_vector(a, e) @ _grid_vectors().T
    return np.argmax(dots, axis=1).astype(np.int64).reshape(shape)


def class_distance_deg(grid_rad: ArrayLike | None = None) -> np.ndarray:
    """``(K, K)`` great-circle angles in degrees between the classes of a DOA grid
    (default: the 425 classes of :func:`doa_grid`), by :func:`angular_error_deg`."""
    g = np.asarray(doa_grid() if grid_rad is None else grid_rad, np.float64)
    return angular_error_deg(g[:, None, 0], g[:, None, 1], g[None, :, 0], g[None, :, 1])


def class_neighbour_spacing_deg(grid_rad: ArrayLike | None = None) -> np.ndarray:
    """Angle (degrees) from each class of a DOA grid (default: the 425 classes) to its nearest
    other class (:func:`class_distance_deg`).

    Measured: minimum 8.64 deg, maximum 10.0 deg.  Quantisation of uniformly random
    directions to the nearest class: mean error 3.76 deg, maximum 6.94 deg (see
    ``docs/rooms.md``).
    """
    d = class_distance_deg(grid_rad)
    np.fill_diagonal(d, np.inf)
    return np.min(d, axis=1)


# --------------------------------------------------------------------------------------------
# Spherical t-designs
# --------------------------------------------------------------------------------------------

#: Package data file of the embedded designs (``audiolrp/signal/tdesigns.json``).
TDESIGNS_FILE: str = "tdesigns.json"


@functools.cache
def _designs_xyz() -> dict[int, np.ndarray]:
    """The embedded equal-weight spherical t-designs, read once from :data:`TDESIGNS_FILE`.

    Point counts as in Hardin & Sloane's table, computed once by minimising
    ``sum_{n=1..t} sum_m |sum_j Y_nm(x_j)|^2`` (N3D) with scipy's Levenberg-Marquardt from
    seeded random starts (residual ``max |sum_j Y_nm| < 2e-14``). Key: degree t -> read-only
    ``(n_points, 3)`` float64 unit vectors (the JSON's decimal numbers round-trip exactly).
    """
    text = resources.files("audiolrp.signal").joinpath(TDESIGNS_FILE).read_text(encoding="utf-8")
    out: dict[int, np.ndarray] = {}
    for key, points in json.loads(text)["designs"].items():
        pts = np.array(points, dtype=np.float64)
        pts.setflags(write=False)
        out[int(key)] = pts
    return out


def spherical_t_design(degree: int) -> np.ndarray:
    """Unit vectors ``(n_points, 3)`` of an equal-weight spherical t-design of degree >= degree.

    The smallest embedded design whose degree is at least ``degree`` is returned: 4 points
    (t=2, tetrahedron), 6 (t=3, octahedron), 12 (t=5, icosahedron), 24 (t=7), 36 (t=8), 48
    (t=9) and 60 (t=10).  Averages of any polynomial of degree <= t over the points equal its
    mean over the sphere; hence equal-power, mutually independent plane waves from these
    directions form a diffuse field up to Ambisonics order t // 2 (SN3D covariance
    ``diag(1/(2n+1))``).
    """
    if isinstance(degree, bool) or not isinstance(degree, int | np.integer):
        raise AudioLRPError(f"design degree must be an integer, got {degree!r}: pass e.g. 8")
    designs = _designs_xyz()
    avail = sorted(designs)
    if degree < 0 or degree > avail[-1]:
        raise AudioLRPError(
            f"no spherical t-design of degree {degree} is embedded: pass a degree in "
            f"0..{avail[-1]} (Ambisonics order <= {avail[-1] // 2} for diffuse noise)"
        )
    t = min(k for k in avail if k >= max(int(degree), 1))
    pts = np.array(designs[t], dtype=np.float64)
    return pts / np.linalg.norm(pts, axis=1, keepdims=True)


def spherical_t_design_degrees() -> tuple[int, ...]:
    """Degrees t of the embedded spherical designs."""
    return tuple(sorted(_designs_xyz()))
