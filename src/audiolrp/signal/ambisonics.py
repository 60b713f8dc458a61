"""Ambisonics: real spherical harmonics, normalisations, the 425-class DOA grid, t-designs.

The paper's models consume Higher Order Ambisonics (HOA) signals of order N = 1..4 (Kiyan et
al., section "Experimental Setup"; HOA after Zotter & Frank [14]) and classify the direction of
arrival into 425 classes (Table 1, N_bin = 425).  This module provides the building blocks:

* real spherical harmonics (no Condon-Shortley phase) in ACN channel order, SN3D (AmbiX, the
  default) or N3D normalisation, for any order (orders up to 4 are what the paper uses);
* plane-wave encoding and SN3D/N3D/FuMa conversions;
* the 425-direction DOA grid of Perotin et al. (reference [1] of the paper, grid with
  alpha = 10 deg), nearest-class lookup and great-circle errors;
* equal-weight spherical t-designs (embedded constants, computed once numerically) used to
  build isotropic (diffuse) noise fields.

Conventions: azimuth from +x towards +y, elevation from the horizontal plane, +z up, radians.
For order n and degree m (-n <= m <= n) the ACN index is ``n**2 + n + m`` and the SN3D function
is ``Y_nm(az, el) = sqrt((2 - delta_m0) (n-|m|)! / (n+|m|)!) P_n^|m|(sin el) * T_m(az)`` with
``T_m = cos(m az)`` for m >= 0 and ``sin(|m| az)`` for m < 0; N3D multiplies by ``sqrt(2n+1)``.
"""

from __future__ import annotations

import functools
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

# Equal-weight spherical t-designs (point counts as in Hardin & Sloane's table), computed once
# by minimising sum_{n=1..t} sum_m |sum_j Y_nm(x_j)|^2 (N3D) with scipy's Levenberg-Marquardt
# from seeded random starts (residual max |sum_j Y_nm| < 2e-14), embedded here as constants.
# Key: degree t -> (n_points, 3) unit vectors.
_DESIGNS_XYZ: dict[int, tuple[tuple[float, float, float], ...]] = {
    2: (  # 4 points
        (0.07808261987427742, 0.4139268012381796, 0.9069551850506716),
        (0.4784225636330853, -0.8780936278606649, -0.007964378019820273),
        (0.40858773859186837, 0.6083971758765815, -0.6803741149233877),
        (-0.9650929220992309, -0.14423034925409564, -0.21861669210746362),
    ),
    3: (  # 6 points
        (0.2277024735879565, 0.3693824813214872, 0.9009484813321499),
        (0.9465558139296694, -0.3010326006561793, -0.11580787735779727),
        (0.22843746329765477, 0.8791677631913937, -0.4181870030586487),
        (-0.2284374632976548, -0.8791677631913938, 0.4181870030586486),
        (-0.9465558139296694, 0.3010326006561794, 0.11580787735779723),
        (-0.22770247358795662, -0.3693824813214874, -0.9009484813321499),
    ),
    5: (  # 12 points
        (-0.08141192964938873, -0.35716446874112295, -0.9304867758220073),
        (-0.09883520657948251, 0.9890466354000393, 0.109628257964144),
        (0.8326293711435443, 0.5119541067161884, 0.21126126697891362),
        (0.08141192964938859, 0.35716446874112284, 0.9304867758220073),
        (0.6637437975906813, -0.4519018155135311, 0.5960108390754949),
        (0.8433975484817443, -0.3200501116755743, -0.4315651761106731),
        (-0.6637437975906811, 0.4519018155135311, -0.5960108390754949),
        (-0.37209780479753524, -0.5705050070255215, 0.7321661427733905),
        (0.09883520657948251, -0.9890466354000393, -0.10962825796414397),
        (-0.8433975484817442, 0.32005011167557434, 0.4315651761106731),
        (-0.8326293711435443, -0.5119541067161881, -0.21126126697891365),
        (0.37209780479753535, 0.5705050070255216, -0.7321661427733905),
    ),
    7: (  # 24 points
        (0.3412135398178156, 0.03353098268331104, 0.9393875629607237),
        (0.3961819042030309, -0.7077499555472351, 0.5849187116214931),
        (0.4381525318795362, 0.7778131751859725, -0.45058742028009136),
        (-0.8324671466662009, -0.41728152731321577, -0.3645196519868085),
        (0.0063617048180302374, 0.37076480221163893, -0.9287050070677839),
        (-0.32751162736222594, -0.25168012608654466, -0.9107102986546312),
        (0.9217935322668912, 0.35427837867713585, -0.15742780654264338),
        (0.8853064854035676, -0.4032908967321859, -0.23149272022103015),
        (0.28384243484053057, -0.5754498392559751, -0.767001274238884),
        (-0.22326678994042143, -0.3889794029310386, 0.8937823921990813),
        (-0.960796596254968, 0.26669223594895874, 0.07579678033671994),
        (0.6910521723952098, 0.5356655873770435, 0.48529297700241697),
        (-0.8326015089599008, -0.43582886129714266, 0.3418010107330467),
        (0.8714702106542778, -0.20368908731287905, 0.44615067819273263),
        (0.6177157670207866, 0.046995089042208414, -0.7849959826520364),
        (-0.631417679476376, 0.17115405436102532, 0.7563187183459442),
        (0.20741117200785478, 0.9592003838858801, 0.19213336326496872),
        (-0.3206917933516302, 0.844348616330462, -0.4292227717371828),
        (-0.5377312407677218, 0.8075866816271359, 0.24217527611396994),
        (0.4100181789523206, -0.9073517649665417, -0.09272468679226964),
        (-0.29673755760854514, -0.8961972352498003, 0.32981409526448296),
        (-0.7437571488388767, 0.30345417065228514, -0.595601267514433),
        (-0.06693734971813907, 0.5936644399753748, 0.8019238891075862),
        (-0.29660319531484486, -0.8776499012658734, -0.37650656745537225),
    ),
    8: (  # 36 points
        (0.11725518143460166, -0.7753127623066369, -0.6205975693081556),
        (-0.914702804195552, 0.2295235670316231, 0.3326224769522855),
        (0.4803787381394753, 0.8293755629046576, 0.28525855570010156),
        (-0.6668176207215939, 0.03935852441985092, -0.7441808699843638),
        (-0.5444001477710602, -0.8151490424427971, 0.1978901657774811),
        (-0.0361185389054891, 0.9017401186343313, -0.43076700151320174),
        (0.1760451109503198, -0.8658560301453663, 0.46829633136657844),
        (0.9119434368998112, 0.3778551397359942, -0.15995205928793935),
        (-0.48470972809145707, 0.47627569132142517, 0.7336333862017217),
        (-0.8735394783878726, -0.36160265130596164, -0.32584091558050615),
        (0.8005712438737524, 0.39327863543953173, 0.4521256444720348),
        (0.9812270716505336, -0.13260420790321845, 0.14003413121978084),
        (-0.6199778949059189, 0.7014578900064153, -0.3515454997233975),
        (0.37526967700586034, 0.3321969150599766, 0.865342636846557),
        (-0.48788164129031514, -0.7653089804192522, -0.4198495785177269),
        (0.686995614183497, -0.1815649159787377, 0.7036129670339183),
        (-0.6089643651717799, 0.7607071746438075, 0.22469311604133954),
        (-0.629468032936946, -0.14399797165725492, 0.7635670105950678),
        (-0.11381396207103717, 0.048718520785898625, 0.9923068516190577),
        (0.05664571630350688, 0.019298842180638858, -0.9982078027720228),
        (0.5417835837894817, -0.8153793627384641, -0.20402706476456012),
        (0.31677843035350806, 0.5160283166369763, -0.7958430765493761),
        (-0.3417521183744652, -0.6274101199202009, 0.6996870950705643),
        (0.7349128586228618, 0.15963720832150552, -0.6591047351901592),
        (-0.9417654062515154, 0.24270751726377016, -0.23274660180457027),
        (0.20479809599915438, -0.41535323361036974, 0.8863066236943797),
        (0.5322376849326724, 0.7974295222012958, -0.284304772839505),
        (0.015219274732434793, 0.7358970499380356, 0.676922377802001),
        (-0.3195410675266418, 0.4806019869639491, -0.816648783927484),
        (0.4468002499900048, -0.3599023407475182, -0.8190481315120172),
        (0.6871586762882179, -0.6467857019117582, 0.3308794484466186),
        (-0.8997809740614234, -0.36013561949449263, 0.2463666663499636),
        (-0.3181014312383288, -0.4002142780265142, -0.8594416856935919),
        (-0.03040572854949249, -0.9986594777627358, -0.041889606658865285),
        (-0.0924007236058327, 0.987717731540301, 0.12599916300515923),
        (0.8581210189070281, -0.3645692186587044, -0.36154889256716843),
    ),
    9: (  # 48 points
        (0.1466281667594514, -0.6602935016059983, -0.7365545957019426),
        (-0.8625327432439611, -0.02431434695933302, 0.5054167383100686),
        (-0.17701330201175933, 0.7412178349339706, 0.6475047583506169),
        (0.30437743729545713, 0.9347717108474368, -0.18318358077296698),
        (-0.07889127989821638, 0.2932965355669871, -0.9527608872012034),
        (0.7301351897987693, 0.6807936720482992, 0.05850282656853418),
        (-0.6405919522143454, 0.7306058369155505, 0.2363409863378378),
        (0.790015278731441, -0.017192995139783163, -0.612846033102122),
        (0.2944384895287215, -0.9103980324961944, -0.29065683943630694),
        (-0.20924433736477435, -0.9255509948318235, -0.31555057161507155),
        (0.5408842833933156, 0.6523362176508378, -0.5309441129903394),
        (-0.04507480925298884, -0.28868074083907297, 0.9563637861396733),
        (-0.36417947952593377, -0.6155714735428928, -0.6988884515088597),
        (-0.6305683791513984, 0.04620049580612615, -0.7747574029343938),
        (0.5559888042047557, -0.7500698588955693, 0.3581503265045929),
        (0.26185920506585, 0.12704937009806413, 0.9567069636414102),
        (-0.8165765125560387, -0.49409075430991106, 0.2984579126900155),
        (0.6190738122986726, -0.4940744417291707, -0.6104408742507306),
        (0.13707636140623902, -0.970897834923166, 0.19638601092016472),
        (0.7131094167268699, -0.6890984948164302, -0.12891169154577867),
        (-0.9768786413999799, -0.19902458747868856, -0.07808542473129935),
        (-0.7701286891926636, -0.3696100615577221, -0.5198944166633132),
        (0.3258454103065544, 0.8857713654727069, 0.330505456370647),
        (0.3058831067527705, 0.587750782096619, 0.7489890140369792),
        (0.732888653611489, 0.4423216076387045, 0.5169388908018536),
        (0.425074581283326, -0.45596189558140343, 0.7819273304627601),
        (-0.6720287116916794, -0.7231060054582992, -0.1596718996322266),
        (-0.6324571091688308, 0.43017668175404195, 0.6441630442185329),
        (-0.182794875935779, 0.9636775484928746, 0.1947090543924104),
        (-0.22461916948467506, -0.19976091617904787, -0.9537514377799502),
        (0.9738473666801161, 0.13380202929921356, 0.18362549759120073),
        (0.44338258428704413, 0.2804830647125972, -0.8513172935870452),
        (0.8620736825575289, -0.3491049037247491, 0.36736185435757285),
        (-0.2229273750902199, 0.2960074405920982, 0.9288072892422302),
        (-0.9416221885973942, 0.3094551105302088, 0.13260915695301667),
        (0.9550054854675646, -0.24555735055507227, -0.16633132692080216),
        (-0.46836681888079595, -0.6108288755517196, 0.638373407782393),
        (-0.8975481583493321, 0.23048403171469395, -0.3758781911314653),
        (0.29181826085419915, -0.19308834373053857, -0.9367811879769086),
        (0.887895051683488, 0.35484058541868263, -0.29279777344731117),
        (-0.20959382591876333, 0.9293904928240458, -0.3038153057122246),
        (0.6888647519245622, -0.018379804359853754, 0.7246568404062748),
        (-0.3650998745958045, -0.9062393203915963, 0.2131487174399737),
        (-0.5147011234144939, -0.1412328958213676, 0.8456571543443412),
        (-0.4758160431809942, 0.5334380636226017, -0.699316041093118),
        (0.018170939003263383, -0.750152379648475, 0.66101529807068),
        (0.04255149829707145, 0.7216199891926278, -0.6909804347377038),
        (-0.667632417797698, 0.6967903428988893, -0.26220254146069705),
    ),
    10: (  # 60 points
        (0.07310765367044623, 0.8743852839353071, -0.4796932834761965),
        (-0.3032149909126513, 0.6804719366529278, -0.6670971538791443),
        (0.5716942858018388, -0.5709491234172291, -0.5892221500000006),
        (0.18398241167773668, 0.11582167501597944, 0.9760818673603853),
        (-0.8747609083079071, 0.37006327530986527, 0.3128042927506917),
        (-0.8582044557687616, -0.471597138919385, 0.2026851022194135),
        (0.9884167289928417, 0.08232057801161921, -0.12749781285545347),
        (-0.05658992116602019, 0.695823995201511, 0.715979433031586),
        (-0.7041764085612395, -0.6735614786138071, -0.2246119323486095),
        (-0.6893363635486446, 0.0957759465302743, 0.7180824088889528),
        (0.34016007078819094, -0.24902398374331136, -0.9067955567612713),
        (-0.19424763508933596, -0.5574478431472538, 0.8071677387214351),
        (-0.230913388031793, -0.07757482219879705, 0.9698768757881093),
        (-0.5681015107911362, 0.5725259364195817, 0.59116387369638),
        (-0.3225663282576487, -0.7060482431453221, -0.6304338523792827),
        (0.7010937661280571, 0.2626982554256824, 0.662915649002707),
        (-0.45078879096233276, -0.892609376389954, -0.006161746786101534),
        (0.7477619787103502, -0.15426740892006185, -0.645796864145586),
        (-0.5849601790362841, -0.332437285787591, 0.7398020275452198),
        (-0.6429632771243, -0.43648246395668283, -0.6293498891140634),
        (-0.9883435321956017, 0.13071032003066793, -0.07805046191152314),
        (0.5800896807922492, 0.23082285941183037, -0.781163727915789),
        (-0.9393842767240976, -0.25798523572323373, -0.2258335643618359),
        (0.20768394439277565, -0.3568695192256806, 0.9107752332431367),
        (0.13903556669952674, 0.13672791776221466, -0.9808030320594194),
        (0.5241636395036328, 0.6780660268252595, -0.5152464869241831),
        (0.34380680359837623, 0.9356908761882512, -0.07924308182756833),
        (-0.5774008421296377, -0.6832846332642363, 0.44691204666348316),
        (-0.2789952171905871, 0.30742573937925666, -0.9097533091733685),
        (0.5998905348728095, -0.12302731735768038, 0.7905666482680553),
        (0.4944449658791141, -0.8282202321740282, 0.2637715351102176),
        (0.5763995311926121, 0.6760887086703018, 0.4589854447032726),
        (-0.6218256671360811, 0.7660365895270865, 0.16285202853043565),
        (0.9339094122521726, -0.013237633248094089, 0.3572645725128516),
        (-0.6886556186690431, 0.39252496943061094, -0.6096536617203703),
        (0.29889266013571725, 0.48265946576587193, 0.8232271969654538),
        (0.25750185216209415, 0.8964322946778567, 0.3606964612963142),
        (-0.4820708372160964, 0.8279754909460055, -0.28646866198328425),
        (0.6148190171253184, -0.5149649320348084, 0.5973346590944164),
        (0.19308655865945148, -0.7575567895534953, 0.6235585709991097),
        (0.14291332441149973, -0.6912597829094468, -0.7083330390696441),
        (-0.3018373663735908, 0.34997677694543594, 0.8867978686597863),
        (-0.22696885683581672, 0.9045410562866825, 0.36095791377723746),
        (-0.4291049333597981, -0.09338290485810341, -0.8984144863294145),
        (0.7110193255804405, 0.6983652404723354, -0.0820823339772492),
        (-0.12601171488238247, 0.9899198484707197, -0.06465091891155667),
        (-0.12815064296923157, -0.9399562232700837, -0.3163221633752739),
        (0.8429405047876423, 0.3348788008762028, -0.4210789642241363),
        (-0.10583160970910431, -0.3494576808184395, -0.9309559601309707),
        (-0.8304751777544629, 0.5192302791166399, -0.2017694138915741),
        (-0.9210913067562732, -0.1012427950737435, 0.37595305699472287),
        (0.8819425574692806, -0.39634788771851226, 0.25511894721015616),
        (0.3556314548061826, -0.8828650839088998, -0.30671731605334823),
        (0.7187835565515678, -0.6886912435513621, -0.0951555037123856),
        (0.9129859804862442, -0.31996510131652967, -0.25313817052170196),
        (0.1906548600786339, 0.5558710301449002, -0.809109462417814),
        (-0.18859970880310112, -0.8963217493882472, 0.40129474381429153),
        (-0.8061325348835464, 0.010710403191602116, -0.5916380848675153),
        (0.8812537877203397, 0.43176944425423763, 0.19226780447319136),
        (0.1136375862193639, -0.9896751072426971, 0.0873480457846235),
    ),
}


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
    avail = sorted(_DESIGNS_XYZ)
    if degree < 0 or degree > avail[-1]:
        raise AudioLRPError(
            f"no spherical t-design of degree {degree} is embedded: pass a degree in "
            f"0..{avail[-1]} (Ambisonics order <= {avail[-1] // 2} for diffuse noise)"
        )
    t = min(k for k in avail if k >= max(int(degree), 1))
    pts = np.array(_DESIGNS_XYZ[t], dtype=np.float64)
    return pts / np.linalg.norm(pts, axis=1, keepdims=True)


def spherical_t_design_degrees() -> tuple[int, ...]:
    """Degrees t of the embedded spherical designs."""
    return tuple(sorted(_DESIGNS_XYZ))
