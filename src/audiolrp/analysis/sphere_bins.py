"""STFT bins on the sphere: the direction of every time-frequency bin (its active intensity)
and its weights, first-order image sources of a shoebox, direction grids and histograms, the
source / image / elsewhere regions and angle profiles. Conventions and the analysis built on
them: :mod:`audiolrp.analysis.directions`."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from audiolrp.analysis._arrays import as_numpy
from audiolrp.errors import AudioLRPError
from audiolrp.signal.ambisonics import doa_grid, ring_grid, unit_vector
from audiolrp.signal.feature_kinds import HOA, INTENSITY, feature_kind
from audiolrp.signal.features import stft

SOURCE_RADIUS_DEG: float = 15.0
"""Default angular radius of the source and image-source regions."""
REGIONS: tuple[str, ...] = ("source", "image", "elsewhere")
"""Region names, in the order of :func:`region_shares`."""
WALLS: tuple[str, ...] = ("x=0", "x=Lx", "y=0", "y=Ly", "floor z=0", "ceiling z=Lz")
"""The six walls of the shoebox, in the order of :func:`first_order_image_sources`
(that of :mod:`audiolrp.simulation.rooms`)."""
PROFILE_EDGES_DEG: np.ndarray = np.arange(0.0, 181.0, 5.0)
"""Default edges of the angle-from-source profile (5 deg bins)."""


# --------------------------------------------------------------------------------------------
# per-bin directions and weights
# --------------------------------------------------------------------------------------------
def _first_order_stft(audio_or_stft: Any) -> np.ndarray:
    """Complex128 STFT ``(..., 4, T, F)`` of ACN 0..3 (audio ``(..., K>=4, n)`` or STFT)."""
    a = as_numpy(audio_or_stft)
    if np.iscomplexobj(a):
        if a.ndim < 3 or a.shape[-3] < 4:
            raise AudioLRPError(
                f"STFT has shape {a.shape}: pass (..., K >= 4 ACN channels, frames, bins)"
            )
        return np.asarray(a[..., :4, :, :], dtype=np.complex128)
    if a.ndim < 2 or a.shape[-2] < 4:
        raise AudioLRPError(
            f"audio has shape {a.shape}: pass first-order (or higher) AmbiX audio "
            "(..., K >= 4 ACN channels, samples)"
        )
    if not np.all(np.isfinite(a)):
        raise AudioLRPError("audio contains NaN or inf: pass finite samples")
    return np.asarray(stft(np.asarray(a[..., :4, :], dtype=np.float64)))


def _intensity_of(spec: np.ndarray) -> np.ndarray:
    w = spec[..., 0, :, :]
    v = np.stack([spec[..., 3, :, :], spec[..., 1, :, :], spec[..., 2, :, :]], axis=-3)
    return np.real(np.conj(w)[..., None, :, :] * v)


def active_intensity(audio_or_stft: Any) -> np.ndarray:
    """Active intensity ``Re{conj(W) [X, Y, Z]}`` of every STFT bin, float64.

    Parameters
    ----------
    audio_or_stft
        ACN/SN3D audio ``(..., K >= 4, n_samples)`` or its complex STFT ``(..., K, T, F)``
        (:func:`audiolrp.signal.features.stft`).

    Returns
    -------
    numpy.ndarray
        ``(..., 3, T, F)`` [x, y, z] components (unnormalised: a plane wave of spectrum ``S``
        gives ``|S|^2`` times the unit vector to its source).
    """
    return _intensity_of(_first_order_stft(audio_or_stft))


def w_energy(audio_or_stft: Any) -> np.ndarray:
    """``|W|^2`` of every STFT bin, ``(..., T, F)`` float64 (W = ACN 0, the pressure)."""
    spec = _first_order_stft(audio_or_stft)
    return np.abs(spec[..., 0, :, :]) ** 2


def active_intensity_from_features(x: Any, feature: str, order: int = 1) -> np.ndarray:
    """Active intensity direction vectors of each bin from a model input, float64.

    Parameters
    ----------
    x
        Features ``(..., C, T, F)`` of :func:`audiolrp.signal.features.compute_features`
        (unnormalised: the model's ``InputNormalization`` applies the statistics).
    feature
        A registered feature kind's name (asked of the registry: a kind that gives no bin
        directions raises). ``"intensity"``: channels 0..2 are ``I_a / E`` (``E > 0`` the
        energy density), returned as they are (same direction as ``I_a``). ``"hoa"``:
        ``A_k = |A_k| exp(i arg A_k)`` of ACN 0..3 rebuilds the STFT, and
        ``Re{conj(W) [X, Y, Z]}`` is returned.
    order
        HOA order of ``x`` (>= 1; ignored for intensity features).

    Returns
    -------
    numpy.ndarray
        ``(..., 3, T, F)``.
    """
    a = np.asarray(as_numpy(x), dtype=np.float64)
    kind = feature_kind(feature)
    if kind is INTENSITY:
        if a.ndim < 3 or a.shape[-3] != 6:
            raise AudioLRPError(f"intensity features have shape {a.shape}: pass (..., 6, T, F)")
        return np.array(a[..., :3, :, :])
    if kind is HOA:
        k = (int(order) + 1) ** 2
        if order < 1 or a.ndim < 3 or a.shape[-3] != 2 * k:
            raise AudioLRPError(
                f"HOA features have shape {a.shape} for order {order}: need order >= 1 and "
                f"(..., {2 * k}, T, F) (magnitudes then phases)"
            )
        spec = a[..., :4, :, :] * np.exp(1j * a[..., k : k + 4, :, :])
        return _intensity_of(spec)
    raise AudioLRPError(
        f"{kind.name} features give no bin directions: pass the audio, or "
        f"{HOA.name}/{INTENSITY.name} features"
    )


def bin_directions(intensity: Any) -> np.ndarray:
    """Unit vectors ``(..., T, F, 3)`` of per-bin intensity ``(..., 3, T, F)``; NaN where the
    intensity is zero (no direction)."""
    i = np.moveaxis(np.asarray(as_numpy(intensity), dtype=np.float64), -3, -1)
    if i.shape[-1] != 3:
        raise AudioLRPError(f"intensity has shape {i.shape}: pass (..., 3, T, F)")
    norm = np.linalg.norm(i, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norm > 0, i / np.where(norm > 0, norm, 1.0), np.nan)


def bin_relevance(relevance: Any) -> np.ndarray:
    """Net relevance of each time-frequency bin, ``sum_c R[..., c, t, f]`` (float64)."""
    r = np.asarray(as_numpy(relevance), dtype=np.float64)
    if r.ndim < 3:
        raise AudioLRPError(f"relevance has shape {r.shape}: pass (..., channels, T, F)")
    return r.sum(axis=-3)


# --------------------------------------------------------------------------------------------
# geometry
# --------------------------------------------------------------------------------------------
def _vec3(v: Any, name: str) -> np.ndarray:
    a = np.asarray(v, dtype=np.float64).reshape(-1)
    if a.size != 3 or not np.all(np.isfinite(a)):
        raise AudioLRPError(f"{name} must be 3 finite coordinates (x, y, z) in metres, got {v!r}")
    return a


def first_order_image_sources(room_m: Any, source_m: Any) -> np.ndarray:
    """Positions ``(6, 3)`` of the first-order image sources of a shoebox ``[0, L]^3``.

    The source mirrored in each wall, in the order of :data:`WALLS`: wall ``x = 0`` gives
    ``(-x_s, y_s, z_s)``, wall ``x = L_x`` gives ``(2 L_x - x_s, y_s, z_s)``, and so on (the
    image-order-1 images of Allen & Berkley, :func:`audiolrp.simulation.rooms.image_sources`).
    """
    room, src = _vec3(room_m, "room_m"), _vec3(source_m, "source_m")
    if np.any(room <= 0):
        raise AudioLRPError(f"room_m {room.tolist()} has a non-positive side: pass L > 0")
    out = np.repeat(src[None], 6, axis=0)
    for ax in range(3):
        out[2 * ax, ax] = -src[ax]
        out[2 * ax + 1, ax] = 2.0 * room[ax] - src[ax]
    return out


def image_source_directions(room_m: Any, source_m: Any, receiver_m: Any) -> np.ndarray:
    """Unit vectors ``(6, 3)`` from the receiver to the six first-order image sources
    (order of :data:`WALLS`)."""
    rec = _vec3(receiver_m, "receiver_m")
    d = first_order_image_sources(room_m, source_m) - rec
    return d / np.linalg.norm(d, axis=1, keepdims=True)


# --------------------------------------------------------------------------------------------
# histograms on the sphere
# --------------------------------------------------------------------------------------------
def direction_grid(spacing_deg: float = 10.0) -> np.ndarray:
    """Directions ``(K, 2)`` [az_rad, el_rad] of Perotin et al.'s grid with spacing
    ``spacing_deg``: the 425-class DOA grid for 10 deg (:func:`doa_grid`, returned as is),
    finer for less (1658 directions for 5 deg). Rings ``phi_i = -90 + 180 i / I`` with
    ``I = floor(180 / spacing)``, ring i holding ``floor(360 cos(phi_i) / spacing) + 1``
    equally spaced azimuths from -180 deg."""
    s = float(spacing_deg)
    if not math.isfinite(s) or not 0.5 <= s <= 90.0:
        raise AudioLRPError(f"grid spacing {spacing_deg!r} deg: pass a value in 0.5..90")
    if s == 10.0:
        return np.asarray(doa_grid())
    return ring_grid(s)


def _grid_rad(grid_rad: Any | None) -> np.ndarray:
    g = np.asarray(doa_grid() if grid_rad is None else grid_rad, dtype=np.float64)
    if g.ndim != 2 or g.shape[1] != 2 or g.shape[0] < 1:
        raise AudioLRPError(f"grid has shape {g.shape}: pass (K, 2) [azimuth_rad, elevation_rad]")
    return g


def nearest_direction(directions: Any, grid_rad: Any | None = None) -> np.ndarray:
    """Index of the grid direction nearest (great-circle angle) to each unit vector
    ``(..., 3)``; -1 for NaN vectors. Default grid: the 425 DOA classes."""
    d = np.asarray(directions, dtype=np.float64)
    g = _grid_rad(grid_rad)
    flat = d.reshape(-1, 3)
    ok = np.all(np.isfinite(flat), axis=1)
    idx = np.full(flat.shape[0], -1, dtype=np.int64)
    if ok.any():
        # the chord length is monotonic in the angle: the Euclidean nearest neighbour of unit
        # vectors is the angular one
        tree = cKDTree(unit_vector(g[:, 0], g[:, 1]))
        idx[ok] = tree.query(flat[ok])[1]
    return idx.reshape(d.shape[:-1])


def direction_histogram(
    directions: Any, weights: Any, grid_rad: Any | None = None
) -> tuple[np.ndarray, float]:
    """Weights summed at the nearest grid direction of each bin.

    Parameters
    ----------
    directions
        ``(..., 3)`` unit vectors (NaN: no direction).
    weights
        ``(...)`` per-bin weights (e.g. positive relevance).
    grid_rad
        ``(K, 2)`` grid (default: the 425 DOA classes).

    Returns
    -------
    (histogram, undirected)
        ``(K,)`` float64 mass per grid direction and the weight of bins without a direction;
        ``histogram.sum() + undirected == weights.sum()`` (conservation).
    """
    w = np.asarray(weights, dtype=np.float64)
    idx = nearest_direction(directions, grid_rad)
    if idx.shape != w.shape:
        raise AudioLRPError(
            f"directions {np.shape(directions)} and weights {w.shape} do not match: pass "
            "(..., 3) and (...)"
        )
    k = _grid_rad(grid_rad).shape[0]
    ok = idx >= 0
    hist = np.bincount(idx[ok], weights=w[ok], minlength=k).astype(np.float64)
    return hist, float(w[~ok].sum())


# --------------------------------------------------------------------------------------------
# regions and shares
# --------------------------------------------------------------------------------------------
def region_of_bins(
    directions: Any,
    source_vec: Any,
    image_vecs: Any | None = None,
    radius_deg: float = SOURCE_RADIUS_DEG,
) -> np.ndarray:
    """Region of each bin: 0 source, 1 image, 2 elsewhere (:data:`REGIONS`), int8 ``(...)``.

    A bin is *source* if its direction is within ``radius_deg`` of ``source_vec``, *image* if
    not source and within ``radius_deg`` of any of ``image_vecs`` ``(n, 3)``; NaN directions
    are *elsewhere*.
    """
    d = np.asarray(directions, dtype=np.float64)
    cos_r = math.cos(math.radians(float(radius_deg)))
    src = np.asarray(source_vec, dtype=np.float64).reshape(3)
    src = src / np.linalg.norm(src)
    with np.errstate(invalid="ignore"):
        near_src = (d @ src) >= cos_r
        near_img = np.zeros(d.shape[:-1], dtype=bool)
        if image_vecs is not None:
            imgs = np.asarray(image_vecs, dtype=np.float64).reshape(-1, 3)
            imgs = imgs / np.linalg.norm(imgs, axis=1, keepdims=True)
            for v in imgs:
                near_img |= (d @ v) >= cos_r
    out = np.full(d.shape[:-1], 2, dtype=np.int8)
    out[near_img] = 1
    out[near_src] = 0
    return out


def region_shares(weights: Any, regions: Any) -> np.ndarray:
    """Share of the total weight in each region ``(3,)`` [source, image, elsewhere]; sums to 1
    (NaN if the total weight is 0)."""
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    r = np.asarray(regions).reshape(-1)
    mass = np.array([w[r == k].sum() for k in range(len(REGIONS))])
    total = mass.sum()
    return mass / total if total > 0 else np.full(len(REGIONS), np.nan)


def cap_fraction(radius_deg: float = SOURCE_RADIUS_DEG) -> float:
    """Fraction of the sphere within ``radius_deg`` of a direction, ``(1 - cos r) / 2``
    (1.70 % for 15 deg): the source share of uniformly spread weight."""
    return (1.0 - math.cos(math.radians(float(radius_deg)))) / 2.0


def angle_profile(
    directions: Any, weights: Any, reference_vec: Any, edges_deg: Any = PROFILE_EDGES_DEG
) -> np.ndarray:
    """Weight per bin of the angle between each bin's direction and ``reference_vec``
    (``len(edges_deg) - 1`` values; NaN directions left out)."""
    d = np.asarray(directions, dtype=np.float64).reshape(-1, 3)
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    ref = np.asarray(reference_vec, dtype=np.float64).reshape(3)
    ok = np.all(np.isfinite(d), axis=1)
    cross = np.linalg.norm(np.cross(d[ok], ref), axis=1)
    ang = np.degrees(np.arctan2(cross, d[ok] @ ref))
    edges = np.asarray(edges_deg, dtype=np.float64)
    hist, _ = np.histogram(ang, bins=edges, weights=w[ok])
    return hist.astype(np.float64)

