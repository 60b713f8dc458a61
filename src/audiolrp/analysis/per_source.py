"""Whose relevance is it? Each detected source's explanation, split between the talkers of a
multi-source scene.

For a scene with talkers ``s = 1..S`` (directions ``d_s``, per-talker images from the simulator,
:class:`audiolrp.simulation.multisource.MultiSourceScene`) and a multi-source model's detected
sources ``k`` (each explained separately: relevance starting at the detected class's score at
every frame, :func:`audiolrp.lrp.explain_batches`), this module measures where explanation
``k``'s positive bin relevance ``R_k[t, f] = max(sum_c R_k[c, t, f], 0)`` sits:

(a) **in space** (:func:`direction_shares`): each STFT bin of the mixture has the direction of
    its active intensity (:mod:`audiolrp.analysis.directions`); the bin belongs to talker
    ``s`` when that direction is within ``radius_deg`` (15 deg) of ``d_s`` (the nearest talker
    when several are that close), else to *elsewhere* (noise, reverberation, undirected bins).
    Shares ``(S + 1,)`` sum to 1.
(b) **in time-frequency** (:func:`dominance_shares`): the bin belongs to the part with the
    largest W energy ``|W_part[t, f]|^2`` among the talkers' images (direct + reverberant) and
    the noise, i.e. the part that dominates it. Shares ``(S + 1,)`` (talkers, noise) sum to 1.

The same shares of the mixture's W energy ``|W|^2`` are the reference: a relevance share of the
explained talker above its energy share means the explanation prefers that talker's bins beyond
their loudness. ``own`` is the share of the talker the detection is matched to (Hungarian
matching of detected and true directions, :func:`audiolrp.evaluation.multisource.match_directions`
is the owner; callers pass the matched talker), ``others`` the sum over the other talkers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from audiolrp.analysis.directions import (
    SOURCE_RADIUS_DEG,
    active_intensity,
    bin_directions,
    bin_relevance,
    direction_histogram,
    w_energy,
)
from audiolrp.errors import AudioLRPError
from audiolrp.signal.ambisonics import doa_grid, unit_vector


def bin_owner_by_direction(
    bin_dirs: np.ndarray, sources_rad: np.ndarray, radius_deg: float = SOURCE_RADIUS_DEG
) -> np.ndarray:
    """``(T, F)`` int: talker index whose direction is nearest to the bin's direction if within
    ``radius_deg``, else ``S`` (elsewhere; also bins without a direction)."""
    src = np.asarray(sources_rad, np.float64).reshape(-1, 2)
    vec = unit_vector(src[:, 0], src[:, 1])  # (S, 3)
    d = np.asarray(bin_dirs, np.float64)
    cos = np.einsum("tfi,si->tfs", np.nan_to_num(d, nan=0.0), vec)
    ang = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
    ang[~np.isfinite(d).all(axis=-1)] = np.inf
    near = np.argmin(ang, axis=-1)
    close = np.take_along_axis(ang, near[..., None], -1)[..., 0] <= radius_deg
    return np.where(close, near, len(src)).astype(np.int64)


def bin_owner_by_dominance(part_audio: np.ndarray) -> np.ndarray:
    """``(T, F)`` int: index of the part with the largest W energy per STFT bin.

    Parameters
    ----------
    part_audio
        ``(P, K, samples)`` audio of the parts (the talkers' images, then the noise).
    """
    parts = np.asarray(part_audio, np.float64)
    energy = np.stack([w_energy(p) for p in parts])  # (P, T, F)
    return np.argmax(energy, axis=0).astype(np.int64)


def _shares(weight: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    w = np.asarray(weight, np.float64)
    tot = w.sum()
    out = np.bincount(owner.reshape(-1), weights=w.reshape(-1), minlength=n)[:n]
    return out / tot if tot > 0 else np.full(n, np.nan)


def direction_shares(
    relevance: np.ndarray, audio: np.ndarray, sources_rad: np.ndarray,
    radius_deg: float = SOURCE_RADIUS_DEG,
) -> tuple[np.ndarray, np.ndarray]:
    """(a) Shares ``(S + 1,)`` of positive bin relevance and of W energy near each talker's
    direction (last entry: elsewhere). ``relevance`` is ``(C, T, F)`` or ``(T, F)``."""
    owner = bin_owner_by_direction(bin_directions(active_intensity(audio)), sources_rad,
                                   radius_deg)
    n = len(np.asarray(sources_rad).reshape(-1, 2)) + 1
    r = np.maximum(bin_relevance(relevance), 0.0)
    return _shares(r, owner, n), _shares(w_energy(audio), owner, n)


def dominance_shares(
    relevance: np.ndarray, audio: np.ndarray, source_images: np.ndarray, noise: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(b) Shares ``(S + 1,)`` of positive bin relevance and of W energy in the bins each
    talker dominates (last entry: bins the noise dominates)."""
    parts = np.concatenate([np.asarray(source_images), np.asarray(noise)[None]], axis=0)
    owner = bin_owner_by_dominance(parts)
    r = np.maximum(bin_relevance(relevance), 0.0)
    return _shares(r, owner, len(parts)), _shares(w_energy(audio), owner, len(parts))


@dataclass
class SourceRelevance:
    """Where one detected source's explanation sits (:func:`analyse_source`)."""

    detected_class: int
    detected_rad: np.ndarray
    matched_source: int | None
    direction_shares: np.ndarray
    energy_direction_shares: np.ndarray
    dominance_shares: np.ndarray
    energy_dominance_shares: np.ndarray
    histogram: np.ndarray

    def own_other(self, kind: str = "direction") -> dict[str, float]:
        """``own``/``others`` relevance shares and the energy shares of the same bins (NaN for
        a detection matched to no talker)."""
        rel = self.direction_shares if kind == "direction" else self.dominance_shares
        en = self.energy_direction_shares if kind == "direction" else self.energy_dominance_shares
        s = self.matched_source
        n_src = len(rel) - 1
        if s is None:
            nan = float("nan")
            return {"own": nan, "others": nan, "energy_own": nan, "energy_others": nan}
        others = [i for i in range(n_src) if i != s]
        return {
            "own": float(rel[s]), "others": float(np.sum(rel[others])),
            "energy_own": float(en[s]), "energy_others": float(np.sum(en[others])),
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (degrees)."""
        return {
            "detected_class": int(self.detected_class),
            "detected_deg": np.degrees(self.detected_rad).round(3).tolist(),
            "matched_source": self.matched_source,
            "direction_shares": self.direction_shares.round(5).tolist(),
            "energy_direction_shares": self.energy_direction_shares.round(5).tolist(),
            "dominance_shares": self.dominance_shares.round(5).tolist(),
            "energy_dominance_shares": self.energy_dominance_shares.round(5).tolist(),
            "direction": self.own_other("direction"),
            "dominance": self.own_other("dominance"),
        }


def analyse_source(
    relevance: np.ndarray,
    audio: np.ndarray,
    sources_rad: np.ndarray,
    source_images: np.ndarray,
    noise: np.ndarray,
    *,
    detected_class: int,
    detected_rad: np.ndarray,
    matched_source: int | None,
    radius_deg: float = SOURCE_RADIUS_DEG,
    grid_rad: np.ndarray | None = None,
) -> SourceRelevance:
    """Both measures (a) and (b) of one explanation, and its histogram on the sphere.

    Parameters
    ----------
    relevance
        ``(C, T, F)`` input relevance of the explained detection.
    audio
        ``(K, samples)`` mixture the model heard (first order or higher).
    sources_rad
        ``(S, 2)`` true talker directions.
    source_images, noise
        ``(S, K, samples)`` talker images (direct + reverberant) and ``(K, samples)`` noise,
        from the simulator, at the level of ``audio``.
    detected_class, detected_rad, matched_source
        The detection and the talker it is matched to (None: a false alarm).
    """
    src = np.asarray(sources_rad, np.float64).reshape(-1, 2)
    imgs = np.asarray(source_images)
    if imgs.shape[0] != src.shape[0]:
        raise AudioLRPError(
            f"{imgs.shape[0]} talker images for {src.shape[0]} talker directions; pass one each"
        )
    d_rel, d_en = direction_shares(relevance, audio, src, radius_deg)
    t_rel, t_en = dominance_shares(relevance, audio, imgs, noise)
    grid = doa_grid() if grid_rad is None else np.asarray(grid_rad)
    r_pos = np.maximum(bin_relevance(relevance), 0.0)
    hist, _ = direction_histogram(bin_directions(active_intensity(audio)), r_pos, grid)
    return SourceRelevance(
        detected_class=int(detected_class),
        detected_rad=np.asarray(detected_rad, np.float64).reshape(2),
        matched_source=matched_source,
        direction_shares=d_rel, energy_direction_shares=d_en,
        dominance_shares=t_rel, energy_dominance_shares=t_en,
        histogram=np.asarray(hist, np.float64),
    )


def summarize_sources(analyses: list[SourceRelevance]) -> dict[str, Any]:
    """Means over matched detections of ``own``/``others`` relevance and energy shares, for
    (a) and (b); ``n_detections``, ``n_matched``."""
    matched = [a for a in analyses if a.matched_source is not None]
    out: dict[str, Any] = {"n_detections": len(analyses), "n_matched": len(matched)}
    for kind in ("direction", "dominance"):
        rows = [a.own_other(kind) for a in matched]
        out[kind] = {
            k: (float(np.nanmean([r[k] for r in rows])) if rows else float("nan"))
            for k in ("own", "others", "energy_own", "energy_others")
        }
        if rows:
            own = np.array([r["own"] for r in rows])
            oth = np.array([r["others"] for r in rows])
            out[kind]["own_above_others"] = float(np.nanmean(own > oth))
    return out


__all__ = [
    "SourceRelevance",
    "analyse_source",
    "bin_owner_by_direction",
    "bin_owner_by_dominance",
    "direction_shares",
    "dominance_shares",
    "summarize_sources",
]
