"""Relevance in space: where in the sound field a DOA network listened.

Every time-frequency bin of a first-order (or higher) Ambisonics input carries a direction,
that of its active intensity (the classic DOA cue; Perotin et al. 2019, reference [1] of the
paper, who feed it to the network as the intensity features)::

    I_a[t, f] = Re{ conj(W[t, f]) [X, Y, Z][t, f] }          (ACN/SN3D: W, Y, Z, X = ACN 0..3)

With the project's SN3D convention (``audiolrp.signal.ambisonics``: ``X = cos(el) cos(az) W``
for a plane wave) ``I_a`` of a single plane wave points *to* its source, so the direction of
``I_a`` is a direction of arrival. Summing each bin's LRP relevance (summed over the input
channels of the bin, as pixel flipping does; paper Eq. 1/2 give the per-channel values) at the
bin's direction gives a histogram on the sphere: a map of where the network listened.

Conventions of this module
--------------------------
* **Bin relevance**: ``R[t, f] = sum_c R[c, t, f]`` (net relevance of the bin); its positive
  part ``max(R, 0)`` and negative part ``max(-R, 0)`` are mapped separately.
* **Directions** come from the raw STFT of the audio (:func:`active_intensity`, float64) or,
  when only the model input is at hand, from the features (:func:`active_intensity_from_features`:
  the intensity model's channels 0..2 are ``I_a`` divided by the bin's energy density, the HOA
  model's ``|A| exp(i arg A)`` of ACN 0..3 are the STFT itself); all give the same directions.
  Bins with ``I_a = 0`` (silence) have no direction (NaN): their weight is *undirected*.
* **Histogram**: each bin goes to the nearest direction of a grid by great-circle angle, the
  425-class DOA grid by default (:func:`audiolrp.signal.ambisonics.doa_grid`) or a finer grid
  of the same construction (:func:`direction_grid`).
* **Regions**: a bin is *source* if its direction is within ``radius_deg`` (15 deg) of the true
  source, *image* if not source and within ``radius_deg`` of one of the six first-order image
  sources of the shoebox room (:func:`image_source_directions`), else *elsewhere* (diffuse
  noise, late reverberation, higher-order reflections, undirected bins).
* **Weights** compared in the regions: ``relevance_positive``, ``relevance_negative``,
  ``energy`` (``|W|^2``, the pressure energy of the bin), ``intensity`` (``|I_a|``) and
  ``bins`` (every bin counts 1).  ``relevance_positive`` above ``energy`` in the source region
  means that the network listens to the direct sound more than its energy would suggest.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from audiolrp.analysis._arrays import as_numpy
from audiolrp.analysis.statistics import bootstrap_indices
from audiolrp.errors import AudioLRPError
from audiolrp.signal.ambisonics import direction_from_vector, doa_grid, ring_grid, unit_vector
from audiolrp.signal.features import stft

SOURCE_RADIUS_DEG: float = 15.0
"""Default angular radius of the source and image-source regions."""
REGIONS: tuple[str, ...] = ("source", "image", "elsewhere")
"""Region names, in the order of :func:`region_shares`."""
WALLS: tuple[str, ...] = ("x=0", "x=Lx", "y=0", "y=Ly", "floor z=0", "ceiling z=Lz")
"""The six walls of the shoebox, in the order of :func:`first_order_image_sources`
(that of :mod:`audiolrp.simulation.rooms`)."""
WEIGHTS: tuple[str, ...] = (
    "relevance_positive", "relevance_negative", "energy", "intensity", "bins",
)
"""Per-bin weights mapped by :func:`analyse_directions`."""
PROFILE_EDGES_DEG: np.ndarray = np.arange(0.0, 181.0, 5.0)
"""Default edges of the angle-from-source profile (5 deg bins)."""

__all__ = [
    "PROFILE_EDGES_DEG",
    "REGIONS",
    "SOURCE_RADIUS_DEG",
    "WALLS",
    "WEIGHTS",
    "DirectionAnalysis",
    "active_intensity",
    "active_intensity_from_features",
    "analyse_directions",
    "angle_profile",
    "bin_directions",
    "bin_relevance",
    "bootstrap_mean_ci",
    "cap_fraction",
    "direction_grid",
    "direction_histogram",
    "first_order_image_sources",
    "format_ci",
    "image_source_directions",
    "nearest_direction",
    "region_of_bins",
    "region_shares",
    "summarize_directions",
    "w_energy",
]


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
        ``"intensity"``: channels 0..2 are ``I_a / E`` (``E > 0`` the energy density), returned
        as they are (same direction as ``I_a``). ``"hoa"``: ``A_k = |A_k| exp(i arg A_k)`` of
        ACN 0..3 rebuilds the STFT, and ``Re{conj(W) [X, Y, Z]}`` is returned.
    order
        HOA order of ``x`` (>= 1; ignored for intensity features).

    Returns
    -------
    numpy.ndarray
        ``(..., 3, T, F)``.
    """
    a = np.asarray(as_numpy(x), dtype=np.float64)
    if feature == "intensity":
        if a.ndim < 3 or a.shape[-3] != 6:
            raise AudioLRPError(f"intensity features have shape {a.shape}: pass (..., 6, T, F)")
        return np.array(a[..., :3, :, :])
    if feature == "hoa":
        k = (int(order) + 1) ** 2
        if order < 1 or a.ndim < 3 or a.shape[-3] != 2 * k:
            raise AudioLRPError(
                f"HOA features have shape {a.shape} for order {order}: need order >= 1 and "
                f"(..., {2 * k}, T, F) (magnitudes then phases)"
            )
        spec = a[..., :4, :, :] * np.exp(1j * a[..., k : k + 4, :, :])
        return _intensity_of(spec)
    raise AudioLRPError(f"unknown feature {feature!r}: pass 'hoa' or 'intensity'")


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


# --------------------------------------------------------------------------------------------
# one example
# --------------------------------------------------------------------------------------------
@dataclass
class DirectionAnalysis:
    """Relevance in space of one example (:func:`analyse_directions`).

    Attributes
    ----------
    grid_rad
        ``(K, 2)`` histogram directions [az, el] (the 425 DOA classes by default).
    histograms
        Weight name (:data:`WEIGHTS`) -> ``(K,)`` mass per grid direction.
    undirected
        Weight name -> mass of bins without a direction (zero intensity).
    totals
        Weight name -> total mass (``histogram.sum() + undirected``).
    source_rad, predicted_rad
        ``(2,)`` [az, el] of the true source and of the prediction (None if unknown).
    images_rad
        ``(6, 2)`` first-order image-source directions (order of :data:`WALLS`) or None.
    radius_deg
        Angular radius of the regions.
    shares
        Weight name -> ``(3,)`` shares in :data:`REGIONS` (None without a true source).
    profile_edges_deg, profiles
        Angle-from-source bin edges and weight name -> share per angle bin (None without a
        true source).
    """

    grid_rad: np.ndarray
    histograms: dict[str, np.ndarray]
    undirected: dict[str, float]
    totals: dict[str, float]
    source_rad: np.ndarray | None = None
    images_rad: np.ndarray | None = None
    predicted_rad: np.ndarray | None = None
    radius_deg: float = SOURCE_RADIUS_DEG
    shares: dict[str, np.ndarray] | None = None
    profile_edges_deg: np.ndarray | None = None
    profiles: dict[str, np.ndarray] | None = field(default=None)

    def normalized_histogram(self, weight: str = "relevance_positive") -> np.ndarray:
        """``histograms[weight]`` divided by its total (zeros if the total is 0)."""
        h = self.histograms[weight]
        t = self.totals[weight]
        return h / t if t > 0 else np.zeros_like(h)

    def to_dict(self, histograms: bool = False) -> dict[str, Any]:
        """JSON-ready summary (degrees); ``histograms`` adds the ``(K,)`` arrays."""

        def deg(v: np.ndarray | None) -> list[float] | list[list[float]] | None:
            return None if v is None else np.degrees(v).round(4).tolist()

        out: dict[str, Any] = {
            "source_deg": deg(self.source_rad),
            "predicted_deg": deg(self.predicted_rad),
            "images_deg": deg(self.images_rad),
            "radius_deg": self.radius_deg,
            "totals": dict(self.totals),
            "undirected": dict(self.undirected),
            "peak_deg": {
                k: np.degrees(self.grid_rad[int(np.argmax(h))]).round(4).tolist()
                for k, h in self.histograms.items() if self.totals.get(k, 0.0) > 0
            },
            "shares": None if self.shares is None else {
                w: dict(zip(REGIONS, s.tolist(), strict=True)) for w, s in self.shares.items()
            },
        }
        if histograms:
            out["histograms"] = {k: v.tolist() for k, v in self.histograms.items()}
        return out


def _direction_rad(v: np.ndarray) -> np.ndarray:
    az, el = direction_from_vector(v)
    return np.stack([np.asarray(az), np.asarray(el)], axis=-1)


def analyse_directions(
    relevance: Any,
    audio: Any | None = None,
    *,
    features: Any | None = None,
    feature: str | None = None,
    order: int = 1,
    source_rad: Any | None = None,
    room_m: Any | None = None,
    source_m: Any | None = None,
    receiver_m: Any | None = None,
    predicted_rad: Any | None = None,
    grid_rad: Any | None = None,
    radius_deg: float = SOURCE_RADIUS_DEG,
    profile_edges_deg: Any = PROFILE_EDGES_DEG,
) -> DirectionAnalysis:
    """Relevance in space of one example: histograms, region shares, angle profiles.

    Parameters
    ----------
    relevance
        ``(C, T, F)`` input relevance of the example (any attribution method).
    audio
        ``(K >= 4, n_samples)`` AmbiX audio the features were computed from (or its STFT);
        gives the bin directions and the ``energy`` (``|W|^2``) weights. Without it the
        directions come from ``features`` (``energy`` then needs HOA features:
        ``|A_0|^2``; with intensity features it is left out).
    features, feature, order
        The model input ``(C, T, F)`` and its kind/order, used when ``audio`` is None.
    source_rad
        True source direction [az, el]; default the direction from ``receiver_m`` to
        ``source_m`` when both are given. Without a source, no shares or profiles.
    room_m, source_m, receiver_m
        Shoebox size and positions (metres) for the first-order image sources.
    predicted_rad
        Predicted direction [az, el] (drawn on the maps).
    grid_rad
        Histogram grid (default the 425 DOA classes; :func:`direction_grid` for finer).
    radius_deg
        Radius of the source / image regions.
    profile_edges_deg
        Edges of the angle-from-source profile.

    Returns
    -------
    DirectionAnalysis
    """
    r_bin = bin_relevance(relevance)
    if audio is not None:
        spec = _first_order_stft(audio)
        inten = _intensity_of(spec)
        energy: np.ndarray | None = np.abs(spec[..., 0, :, :]) ** 2
    elif features is not None and feature is not None:
        inten = active_intensity_from_features(features, feature, order)
        energy = None
        if feature == "hoa":
            energy = np.asarray(as_numpy(features), dtype=np.float64)[..., 0, :, :] ** 2
    else:
        raise AudioLRPError(
            "no bin directions: pass the audio, or the features with feature='hoa'/'intensity'"
        )
    dirs = bin_directions(inten)
    if dirs.shape[:-1] != r_bin.shape:
        raise AudioLRPError(
            f"relevance bins {r_bin.shape} and audio bins {dirs.shape[:-1]} differ: pass the "
            "audio of the explained clip"
        )
    weights: dict[str, np.ndarray] = {
        "relevance_positive": np.maximum(r_bin, 0.0),
        "relevance_negative": np.maximum(-r_bin, 0.0),
    }
    if energy is not None:
        weights["energy"] = energy
    weights["intensity"] = np.linalg.norm(inten, axis=-3)
    weights["bins"] = np.ones_like(r_bin)
    grid = _grid_rad(grid_rad)
    idx = nearest_direction(dirs, grid)
    ok = idx >= 0
    hists, undirected, totals = {}, {}, {}
    for name, w in weights.items():
        hists[name] = np.bincount(idx[ok], weights=w[ok], minlength=grid.shape[0]).astype(
            np.float64)
        undirected[name] = float(w[~ok].sum())
        totals[name] = float(w.sum())
    src_vec = None
    if source_rad is not None:
        s = np.asarray(source_rad, dtype=np.float64).reshape(2)
        src_vec = unit_vector(s[0], s[1])
    elif source_m is not None and receiver_m is not None:
        src_vec = _vec3(source_m, "source_m") - _vec3(receiver_m, "receiver_m")
        src_vec = src_vec / np.linalg.norm(src_vec)
    images = None
    if room_m is not None and source_m is not None and receiver_m is not None:
        images = image_source_directions(room_m, source_m, receiver_m)
    res = DirectionAnalysis(
        grid_rad=grid, histograms=hists, undirected=undirected, totals=totals,
        source_rad=None if src_vec is None else _direction_rad(src_vec),
        images_rad=None if images is None else _direction_rad(images),
        predicted_rad=None if predicted_rad is None
        else np.asarray(predicted_rad, dtype=np.float64).reshape(2),
        radius_deg=float(radius_deg),
    )
    if src_vec is not None:
        regions = region_of_bins(dirs, src_vec, images, radius_deg)
        res.shares = {name: region_shares(w, regions) for name, w in weights.items()}
        edges = np.asarray(profile_edges_deg, dtype=np.float64)
        res.profile_edges_deg = edges
        res.profiles = {}
        for name, w in weights.items():
            prof = angle_profile(dirs, w, src_vec, edges)
            res.profiles[name] = prof / prof.sum() if prof.sum() > 0 else prof * np.nan
    return res


# --------------------------------------------------------------------------------------------
# a set of examples
# --------------------------------------------------------------------------------------------
def bootstrap_mean_ci(
    values: Any, n_boot: int = 2000, seed: int = 0, level: float = 0.95
) -> dict[str, float]:
    """Mean of ``values`` (NaN left out) with a percentile bootstrap CI (resampling examples;
    seeded). ``ci_low``/``ci_high`` are NaN with fewer than 2 values."""
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return {"mean": math.nan, "ci_low": math.nan, "ci_high": math.nan, "n": 0}
    if v.size < 2:
        return {"mean": float(v[0]), "ci_low": math.nan, "ci_high": math.nan, "n": 1}
    means = v[bootstrap_indices(v.size, int(n_boot), seed)].mean(axis=1)
    a = (1.0 - level) / 2.0
    lo, hi = np.quantile(means, [a, 1.0 - a])
    return {"mean": float(v.mean()), "ci_low": float(lo), "ci_high": float(hi), "n": int(v.size)}


def _group_edges(values: np.ndarray, n_groups: int) -> np.ndarray:
    v = values[np.isfinite(values)]
    if v.size == 0:
        return np.array([])
    return np.linspace(float(v.min()), float(v.max()), n_groups + 1)


def summarize_directions(
    analyses: Sequence[DirectionAnalysis],
    snr_db: Sequence[float] | None = None,
    rt60_s: Sequence[float] | None = None,
    *,
    n_boot: int = 2000,
    seed: int = 0,
    level: float = 0.95,
    n_groups: int = 3,
    compare: tuple[str, str] = ("relevance_positive", "energy"),
) -> dict[str, Any]:
    """Set-level numbers: mean region shares with bootstrap CIs, the paired difference and ratio
    ``compare[0]`` vs ``compare[1]`` per region, the same split into ``n_groups`` equal-width SNR
    and RT60 groups, and the mean normalised histograms and angle profiles.

    Returns
    -------
    dict
        ``n_examples``, ``radius_deg``, ``cap_fraction`` (chance source share),
        ``shares`` (weight -> region -> mean/CI), ``difference`` and ``ratio``
        (region -> mean/CI of ``compare[0] - compare[1]`` and of the ratio of the means),
        ``by_snr_db`` / ``by_rt60_s`` (lists of groups), ``mean_histograms`` (weight -> (K,)),
        ``profile_edges_deg`` and ``mean_profiles`` (weight -> per-angle-bin share).
    """
    with_src = [a for a in analyses if a.shares is not None]
    weights = [w for w in WEIGHTS if all(w in a.histograms for a in analyses)] if analyses else []
    out: dict[str, Any] = {
        "n_examples": len(analyses),
        "n_with_source": len(with_src),
        "radius_deg": with_src[0].radius_deg if with_src else SOURCE_RADIUS_DEG,
        "compare": list(compare),
        "level": level,
    }
    out["cap_fraction"] = cap_fraction(out["radius_deg"])
    out["mean_histograms"] = {
        w: np.mean([a.normalized_histogram(w) for a in analyses], axis=0) for w in weights
    }
    if not with_src:
        return out
    share = {w: np.stack([a.shares[w] for a in with_src if a.shares is not None])
             for w in weights}
    out["shares"] = {
        w: {r: bootstrap_mean_ci(share[w][:, k], n_boot, seed, level)
            for k, r in enumerate(REGIONS)} for w in weights
    }
    a_name, b_name = compare

    def compare_block(rows: np.ndarray) -> dict[str, Any]:
        res: dict[str, Any] = {"difference": {}, "ratio": {}}
        if a_name not in share or b_name not in share:
            return res
        for k, r in enumerate(REGIONS):
            a, b = share[a_name][rows, k], share[b_name][rows, k]
            ok = np.isfinite(a) & np.isfinite(b)
            res["difference"][r] = bootstrap_mean_ci(a[ok] - b[ok], n_boot, seed, level)
            res["ratio"][r] = _ratio_ci(a[ok], b[ok], n_boot, seed, level)
        return res

    allrows = np.arange(len(with_src))
    out.update(compare_block(allrows))
    for key, vals in (("by_snr_db", snr_db), ("by_rt60_s", rt60_s)):
        if vals is None:
            continue
        v = np.asarray([x for x, a in zip(vals, analyses, strict=True) if a.shares is not None],
                       dtype=np.float64)
        edges = _group_edges(v, n_groups)
        groups = []
        for g in range(len(edges) - 1):
            last = g == len(edges) - 2
            rows = np.flatnonzero((v >= edges[g]) & ((v <= edges[g + 1]) if last
                                                     else (v < edges[g + 1])))
            if rows.size == 0:
                continue
            block = compare_block(rows)
            groups.append({
                "low": float(edges[g]), "high": float(edges[g + 1]), "n": int(rows.size),
                "source_share": {
                    w: bootstrap_mean_ci(share[w][rows, 0], n_boot, seed, level)
                    for w in (a_name, b_name) if w in share
                },
                "source_difference": block["difference"].get("source"),
            })
        out[key] = groups
    edges_deg = with_src[0].profile_edges_deg
    out["profile_edges_deg"] = edges_deg
    out["mean_profiles"] = {
        w: np.nanmean(np.stack([a.profiles[w] for a in with_src if a.profiles is not None]),
                      axis=0) for w in weights
    }
    return out


def _ratio_ci(a: np.ndarray, b: np.ndarray, n_boot: int, seed: int,
              level: float) -> dict[str, float]:
    """Ratio of means ``mean(a) / mean(b)`` with a paired percentile bootstrap CI."""
    if a.size == 0 or b.mean() <= 0:
        return {"mean": math.nan, "ci_low": math.nan, "ci_high": math.nan, "n": int(a.size)}
    ratio = float(a.mean() / b.mean())
    if a.size < 2:
        return {"mean": ratio, "ci_low": math.nan, "ci_high": math.nan, "n": 1}
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, a.size, size=(int(n_boot), a.size))
    with np.errstate(divide="ignore", invalid="ignore"):
        boots = a[idx].mean(axis=1) / b[idx].mean(axis=1)
    boots = boots[np.isfinite(boots)]
    al = (1.0 - level) / 2.0
    lo, hi = np.quantile(boots, [al, 1.0 - al]) if boots.size else (math.nan, math.nan)
    return {"mean": ratio, "ci_low": float(lo), "ci_high": float(hi), "n": int(a.size)}


def format_ci(c: Mapping[str, float] | None, digits: int = 3) -> str:
    """'mean [ci_low, ci_high]' of a :func:`bootstrap_mean_ci` result ('n/a' if empty)."""
    if not c or c.get("mean") is None or not math.isfinite(float(c["mean"])):
        return "n/a"
    lo, hi = c.get("ci_low"), c.get("ci_high")
    if lo is None or hi is None or not (math.isfinite(float(lo)) and math.isfinite(float(hi))):
        return f"{c['mean']:.{digits}f}"
    return f"{c['mean']:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"
