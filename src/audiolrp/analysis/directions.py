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

The bins on the sphere (directions, grids, histograms, image sources, regions, profiles) are
owned by :mod:`audiolrp.analysis.sphere_bins` and re-exported here; this module holds the
analysis of one example (:func:`analyse_directions`) and of a set (:func:`summarize_directions`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from audiolrp.analysis._arrays import as_numpy
from audiolrp.analysis.sphere_bins import (
    PROFILE_EDGES_DEG,
    REGIONS,
    SOURCE_RADIUS_DEG,
    WALLS,
    _first_order_stft,
    _grid_rad,
    _intensity_of,
    _vec3,
    active_intensity,
    active_intensity_from_features,
    angle_profile,
    bin_directions,
    bin_relevance,
    cap_fraction,
    direction_grid,
    direction_histogram,
    first_order_image_sources,
    image_source_directions,
    nearest_direction,
    region_of_bins,
    region_shares,
    w_energy,
)
from audiolrp.analysis.statistics import bootstrap_indices
from audiolrp.errors import AudioLRPError
from audiolrp.signal.ambisonics import direction_from_vector, unit_vector
from audiolrp.signal.feature_kinds import HOA, feature_kind

WEIGHTS: tuple[str, ...] = (
    "relevance_positive", "relevance_negative", "energy", "intensity", "bins",
)
"""Per-bin weights mapped by :func:`analyse_directions`."""

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
    "percent_ci",
    "region_of_bins",
    "region_shares",
    "summarize_directions",
    "w_energy",
]



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
    dirs, weights = _bin_weights(relevance, audio, features, feature, order)
    grid = _grid_rad(grid_rad)
    hists, undirected, totals = _histograms(weights, nearest_direction(dirs, grid), grid)
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


def _bin_weights(
    relevance: Any, audio: Any | None, features: Any | None, feature: str | None, order: int
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``(bin directions (T, F, 3), weights)`` of :func:`analyse_directions`: directions from
    the audio, else from the features; the weights of :data:`WEIGHTS` (``energy`` only when
    the audio or HOA features give it)."""
    r_bin = bin_relevance(relevance)
    if audio is not None:
        spec = _first_order_stft(audio)
        inten = _intensity_of(spec)
        energy: np.ndarray | None = np.abs(spec[..., 0, :, :]) ** 2
    elif features is not None and feature is not None:
        inten = active_intensity_from_features(features, feature, order)
        energy = None
        if feature_kind(feature) is HOA:  # |A_0|^2: the magnitude of W
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
    return dirs, weights


def _histograms(
    weights: dict[str, np.ndarray], idx: np.ndarray, grid: np.ndarray
) -> tuple[dict[str, np.ndarray], dict[str, float], dict[str, float]]:
    """Per weight: mass per grid direction (bins with ``idx >= 0``), undirected mass, total."""
    ok = idx >= 0
    hists, undirected, totals = {}, {}, {}
    for name, w in weights.items():
        hists[name] = np.bincount(idx[ok], weights=w[ok], minlength=grid.shape[0]).astype(
            np.float64)
        undirected[name] = float(w[~ok].sum())
        totals[name] = float(w.sum())
    return hists, undirected, totals


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


def percent_ci(c: Mapping[str, float] | None) -> str:
    """A share's ``mean [ci_low, ci_high]`` (fractions, as :func:`summarize_directions` and
    ``directions.json`` hold them) in percent, as every share shown to a reader is (the
    ``analyze directions`` table, the report pages): ``"7.5 % [5.0, 9.1]"``."""
    if not c:
        return format_ci(c)
    scaled = {k: (100 * float(v) if v is not None else None) for k, v in c.items()
              if k in ("mean", "ci_low", "ci_high")}
    text = format_ci(scaled, 1)
    if text == "n/a":
        return text
    mean, _, rest = text.partition(" ")
    return f"{mean} %{' ' + rest if rest else ''}"
