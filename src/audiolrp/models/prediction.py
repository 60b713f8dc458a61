"""What a model says about clips: the :class:`Prediction` of :meth:`LoadedModel.predict
<audiolrp.models.LoadedModel.predict>` and the direction refinement below the class grid.

Clip prediction (paper, section "Experimental Setup"): the frame-wise softmax over the 425
DOA classes is averaged over the 50 frames of a 1-s clip; the class is its argmax. The grid's
classes are about 10 deg apart, so the argmax alone cannot give a median error below about
4 deg on off-grid sources. The network's probabilities around the peak carry more, and
:func:`refine_directions` reads them:

    d = normalise( sum_{c : angle(c, c*) <= r} p_c^q  u_c )                (refined direction)

with ``c*`` the argmax class, ``u_c`` the unit vector of class ``c``, ``r`` the neighbourhood
radius and ``q`` a power on the probabilities. ``r`` and ``q`` are chosen per model by
measurement on validation scenes with off-grid sources (:func:`choose_refinement`) and stored
in the model file (``direction_refinement``); ``r = 0`` is the plain class direction.

Views (test-time sound-field transforms). Rotating a whole sound field about the vertical axis,
or mirroring it, is exact in the Ambisonics domain (Eq. A1 of
:mod:`audiolrp.signal.augmentation`: ``y(R d) = T(R) y(d)``) and is how the models were
trained. The clip is therefore also presented as ``T(R_k) x`` for ``k = 1..V-1``; each view's
refined direction ``d_k`` is mapped back and the unit vectors are averaged:

    d = normalise( sum_k R_k^T d_k )                                          (view fusion)

``R_k = R_z(k * 137.5 deg) diag(1, (-1)^floor(k/2), (-1)^k)``: golden-angle rotations put
each view's source at another place relative to the ~10-deg class grid, so the grid's
quantisation and part of the network's own error average out. View 0 is the clip as given:
the class, probabilities and confidence are always view 0's. The number of views is chosen
with ``r`` and ``q`` on the validation scenes; it multiplies the cost of a prediction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from audiolrp.errors import AudioLRPError
from audiolrp.signal.ambisonics import (
    class_distance_deg,
    direction_from_vector,
    doa_grid,
    unit_vector,
    vector_angle_deg,
)
from audiolrp.signal.augmentation import FieldTransform

#: Rotation between consecutive views (the golden angle, 180 (3 - sqrt 5) deg).
VIEW_ROTATION_DEG: float = 180.0 * (3.0 - 5.0**0.5)
#: Most views a refinement may use.
MAX_VIEWS: int = 16


def view_transforms(views: int) -> list[FieldTransform]:
    """The ``views`` sound-field transforms of the view fusion (module docstring); the first
    is the identity, and the first ``k`` of ``view_transforms(n)`` are ``view_transforms(k)``."""
    if isinstance(views, bool) or not isinstance(views, int | np.integer) or not (
        1 <= views <= MAX_VIEWS
    ):
        raise AudioLRPError(f"views={views!r} is invalid: pass an integer 1..{MAX_VIEWS}")
    return [
        FieldTransform(float(np.radians(k * VIEW_ROTATION_DEG)), bool((k // 2) % 2), bool(k % 2))
        for k in range(int(views))
    ]


def class_vectors() -> np.ndarray:
    """``(425, 3)`` float64 unit vectors (x front, y left, z up) of the DOA classes."""
    grid = np.asarray(doa_grid(), dtype=np.float64)
    return np.asarray(unit_vector(grid[:, 0], grid[:, 1]), dtype=np.float64)


@dataclass(frozen=True)
class DirectionRefinement:
    """How a direction finer than the grid is read from the class probabilities.

    Attributes
    ----------
    radius_deg
        Neighbourhood radius around the argmax class (0: the class direction itself).
    power
        Exponent ``q`` on the probabilities used as weights.
    views
        Number of sound-field views fused (1: the clip as given; module docstring).
    """

    radius_deg: float = 0.0
    power: float = 1.0
    views: int = 1

    def __post_init__(self) -> None:
        if not (np.isfinite(self.radius_deg) and 0.0 <= self.radius_deg <= 180.0):
            raise AudioLRPError(
                f"refinement radius {self.radius_deg} deg is invalid: pass 0..180"
            )
        if not (np.isfinite(self.power) and self.power > 0):
            raise AudioLRPError(f"refinement power {self.power} is invalid: pass a positive number")
        view_transforms(self.views)  # validates

    @classmethod
    def from_config(cls, entry: dict[str, Any] | None) -> DirectionRefinement:
        """The refinement stored in a model file (``None`` or absent: the class direction)."""
        if not entry:
            return cls()
        try:
            return cls(float(entry["radius_deg"]), float(entry.get("power", 1.0)),
                       int(entry.get("views", 1)))
        except (KeyError, TypeError, ValueError, AudioLRPError) as err:
            raise AudioLRPError(
                f"the model's direction_refinement entry is invalid ({err}): re-save the model"
            ) from None

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``method``, ``radius_deg``, ``power``, ``views``)."""
        method = ("probability-weighted mean of class directions within radius_deg of the "
                  "argmax class, weights p**power")
        if self.views > 1:
            method += (f"; mean of that direction over {self.views} rotated/mirrored views of "
                       "the sound field, each mapped back (audiolrp.models.prediction)")
        return {"method": method, "radius_deg": float(self.radius_deg),
                "power": float(self.power), "views": int(self.views)}

    def single_view(self) -> DirectionRefinement:
        """The same neighbourhood and power for one view."""
        return DirectionRefinement(self.radius_deg, self.power, 1)


def refine_directions(
    probabilities: np.ndarray,
    refinement: DirectionRefinement,
    class_index: np.ndarray | None = None,
) -> np.ndarray:
    """Refined unit direction vectors ``(B, 3)`` from clip probabilities ``(B, 425)``.

    Parameters
    ----------
    probabilities
        Clip probabilities (mean frame softmax).
    refinement
        Neighbourhood radius and probability power (module docstring).
    class_index
        The argmax classes (computed when ``None``); rows with ``-1`` (silent clips) get NaN.
    """
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim != 2:
        raise AudioLRPError(f"probabilities have shape {p.shape}: pass (B, n_classes)")
    idx = p.argmax(axis=1) if class_index is None else np.asarray(class_index, np.int64)
    vec = class_vectors()
    out = np.full((p.shape[0], 3), np.nan)
    valid = idx >= 0
    if not valid.any():
        return out
    if refinement.radius_deg <= 0:
        out[valid] = vec[idx[valid]]
        return out
    near = class_distance_deg()[idx[valid]] <= refinement.radius_deg + 1e-9  # (b, 425)
    w = np.where(near, p[valid] ** refinement.power, 0.0)
    s = w @ vec
    norm = np.linalg.norm(s, axis=1, keepdims=True)
    # a neighbourhood whose weights cancel (impossible within 90 deg) falls back to the class
    ok = norm[:, 0] > 1e-12
    s[ok] /= norm[ok]
    s[~ok] = vec[idx[valid][~ok]]
    out[valid] = s
    return out


def fuse_views(
    view_probabilities: np.ndarray,
    refinement: DirectionRefinement,
    silent: np.ndarray | None = None,
) -> np.ndarray:
    """Fused unit directions ``(B, 3)`` from the clip probabilities of the views.

    Parameters
    ----------
    view_probabilities
        ``(V, B, 425)``: the probabilities of view ``k`` (:func:`view_transforms`) of each clip;
        ``V >= refinement.views`` (the first ``refinement.views`` are used).
    refinement
        Neighbourhood, power and number of views.
    silent
        ``(B,)`` rows that get NaN (no direction).

    Returns
    -------
    ndarray
        ``normalise(sum_k R_k^T d_k)`` with ``d_k`` view ``k``'s refined direction (module
        docstring, view fusion); for one view the refined direction itself.
    """
    vp = np.asarray(view_probabilities, dtype=np.float64)
    if vp.ndim != 3 or vp.shape[0] < refinement.views:
        raise AudioLRPError(
            f"view probabilities have shape {vp.shape}: pass (>= {refinement.views} views, B, "
            "n_classes)"
        )
    b = vp.shape[1]
    sil = np.zeros(b, bool) if silent is None else np.asarray(silent, bool).reshape(b)
    single = refinement.single_view()
    total = np.zeros((b, 3))
    for k, tr in enumerate(view_transforms(refinement.views)):
        idx = np.where(sil, -1, vp[k].argmax(axis=1))
        d = refine_directions(vp[k], single, idx)
        total += np.nan_to_num(d) @ tr.matrix3()  # rows: R_k^T d_k
    norm = np.linalg.norm(total, axis=1, keepdims=True)
    out = np.full((b, 3), np.nan)
    ok = (~sil) & (norm[:, 0] > 1e-12)
    out[ok] = total[ok] / norm[ok]
    # views that cancel exactly (never seen in practice) fall back to view 0's direction
    back = (~sil) & ~ok
    if back.any():
        out[back] = refine_directions(vp[0][back], single)
    return out


def choose_refinement(
    probabilities: np.ndarray,
    true_vectors: np.ndarray,
    radii_deg: Sequence[float] = (0.0, 10.0, 15.0, 20.0, 25.0, 30.0, 40.0),
    powers: Sequence[float] = (0.5, 1.0, 2.0),
    views: Sequence[int] = (1, 2, 4, 8),
) -> tuple[DirectionRefinement, list[dict[str, float]]]:
    """The refinement with the smallest median angular error on labelled clips.

    Ties on the median go to the smaller mean. Every candidate's mean and median error is
    returned, so the choice can be reported.

    Parameters
    ----------
    probabilities
        ``(B, 425)`` clip probabilities of validation clips, or ``(V, B, 425)`` those of their
        ``V`` views (:func:`view_transforms`; then view counts up to ``V`` are candidates).
    true_vectors
        ``(B, 3)`` true source directions (unit vectors; off-grid sources make the test fair).
    views
        Candidate numbers of views (those above the views given are skipped).
    """
    p = np.asarray(probabilities, dtype=np.float64)
    vp = p[None] if p.ndim == 2 else p
    t = np.asarray(true_vectors, dtype=np.float64)
    if vp.ndim != 3 or vp.shape[1] != t.shape[0] or vp.shape[1] == 0:
        raise AudioLRPError("choose_refinement needs as many true directions as clips (>= 1)")
    rows: list[dict[str, float]] = []
    best: tuple[float, float, DirectionRefinement] | None = None
    for v in sorted({int(k) for k in views if int(k) <= vp.shape[0]} | {1}):
        for r in radii_deg:
            for q in powers if r > 0 else (1.0,):
                cand = DirectionRefinement(float(r), float(q), v)
                err = vector_angle_deg(fuse_views(vp, cand), t)
                row = {"radius_deg": float(r), "power": float(q), "views": float(v),
                       "median_error_deg": float(np.median(err)),
                       "mean_error_deg": float(np.mean(err))}
                rows.append(row)
                key = (row["median_error_deg"], row["mean_error_deg"])
                if best is None or key < best[:2]:
                    best = (key[0], key[1], cand)
    assert best is not None
    return best[2], rows


@dataclass
class Prediction:
    """The direction of arrival a model predicts for each of ``B`` clips.

    Silent clips (W below :data:`audiolrp.signal.levels.SILENCE_FLOOR_DBFS`) are not run
    through the model: their ``class_index`` is -1, their directions and angles NaN, their
    probabilities all zero and their confidence 0.

    Attributes
    ----------
    direction
        ``(B, 3)`` refined unit vectors (x front, y left, z up), finer than the class grid.
    azimuth_deg, elevation_deg
        ``(B,)`` the refined direction in degrees (azimuth from +x towards +y in [-180, 180),
        elevation from the horizontal plane).
    class_index
        ``(B,)`` the argmax class of the clip probabilities.
    class_direction
        ``(B, 3)`` unit vectors of those classes.
    probabilities
        ``(B, 425)`` clip probabilities (mean over frames of the frame softmax).
    confidence
        ``(B,)`` probability of the argmax class.
    level_dbfs
        ``(B,)`` W level of each clip as given (before the level gain).
    silent
        ``(B,)`` bool: digital silence, no direction.
    refinement
        The refinement that made ``direction`` (its ``views``: how many views were fused).
    """

    direction: np.ndarray
    class_index: np.ndarray
    probabilities: np.ndarray
    level_dbfs: np.ndarray
    silent: np.ndarray
    refinement: DirectionRefinement

    @classmethod
    def from_probabilities(
        cls,
        probabilities: np.ndarray,
        refinement: DirectionRefinement,
        level_dbfs: np.ndarray | None = None,
        silent: np.ndarray | None = None,
        view_probabilities: np.ndarray | None = None,
    ) -> Prediction:
        """A prediction from clip probabilities; ``silent`` rows become "no direction".

        ``view_probabilities`` ``(V, B, 425)`` (view 0 = ``probabilities``) gives the fused
        direction of ``refinement.views`` views (:func:`fuse_views`); without them the
        direction is that of the one view given (the refinement's ``views`` is then 1).
        """
        p = np.asarray(probabilities, dtype=np.float64).copy()
        b = p.shape[0]
        sil = np.zeros(b, bool) if silent is None else np.asarray(silent, bool).reshape(b)
        p[sil] = 0.0
        idx = np.where(sil, -1, p.argmax(axis=1)).astype(np.int64)
        lv = np.full(b, np.nan) if level_dbfs is None else np.asarray(level_dbfs, np.float64)
        if view_probabilities is not None and refinement.views > 1:
            direction = fuse_views(view_probabilities, refinement, sil)
        else:
            refinement = refinement.single_view()
            direction = refine_directions(p, refinement, idx)
        return cls(direction, idx, p, lv.reshape(b), sil, refinement)

    @classmethod
    def concatenate(cls, parts: Sequence[Prediction]) -> Prediction:
        """One prediction of consecutive batches' predictions (same refinement)."""
        return cls(
            direction=np.concatenate([p.direction for p in parts]),
            class_index=np.concatenate([p.class_index for p in parts]),
            probabilities=np.concatenate([p.probabilities for p in parts]),
            level_dbfs=np.concatenate([p.level_dbfs for p in parts]),
            silent=np.concatenate([p.silent for p in parts]),
            refinement=parts[0].refinement,
        )

    def __len__(self) -> int:
        return int(self.class_index.shape[0])

    @property
    def azimuth_deg(self) -> np.ndarray:
        """``(B,)`` azimuth of the refined direction in [-180, 180) degrees (NaN if silent)."""
        return _azimuth_deg(self.direction)

    @property
    def elevation_deg(self) -> np.ndarray:
        """``(B,)`` elevation of the refined direction in degrees (NaN if silent)."""
        return _elevation_deg(self.direction)

    @property
    def class_direction(self) -> np.ndarray:
        """``(B, 3)`` unit vectors of the argmax classes (NaN if silent)."""
        out = np.full((len(self), 3), np.nan)
        ok = self.class_index >= 0
        out[ok] = class_vectors()[self.class_index[ok]]
        return out

    @property
    def class_azimuth_deg(self) -> np.ndarray:
        """``(B,)`` azimuth of the argmax class in [-180, 180) degrees."""
        return _azimuth_deg(self.class_direction)

    @property
    def class_elevation_deg(self) -> np.ndarray:
        """``(B,)`` elevation of the argmax class in degrees."""
        return _elevation_deg(self.class_direction)

    @property
    def confidence(self) -> np.ndarray:
        """``(B,)`` probability of the argmax class (0 for silent clips)."""
        idx = np.maximum(self.class_index, 0)
        conf = self.probabilities[np.arange(len(self)), idx]
        return np.where(self.silent, 0.0, conf)

    def rows(self) -> list[dict[str, Any]]:
        """One JSON-ready dict per clip (NaN -> ``None``)."""
        az, el = self.azimuth_deg, self.elevation_deg
        caz, cel = self.class_azimuth_deg, self.class_elevation_deg
        conf = self.confidence
        out = []
        for i in range(len(self)):
            out.append({
                "silent": bool(self.silent[i]),
                "level_dbfs": _num(self.level_dbfs[i], 2),
                "azimuth_deg": _num(az[i], 2),
                "elevation_deg": _num(el[i], 2),
                "class": int(self.class_index[i]) if self.class_index[i] >= 0 else None,
                "class_azimuth_deg": _num(caz[i], 2),
                "class_elevation_deg": _num(cel[i], 2),
                "confidence": round(float(conf[i]), 6),
            })
        return out


def _num(v: float, digits: int) -> float | None:
    return round(float(v), digits) if np.isfinite(v) else None


def _filled(vec: np.ndarray) -> np.ndarray:
    """``vec`` with NaN rows (silent clips) replaced by +x, so angles can be taken."""
    return np.where(np.isnan(vec[:, :1]), np.array([[1.0, 0.0, 0.0]]), vec)


def _azimuth_deg(vec: np.ndarray) -> np.ndarray:
    az, _ = direction_from_vector(_filled(vec))
    out = (np.degrees(np.asarray(az, np.float64)) + 180.0) % 360.0 - 180.0
    return np.where(np.isnan(vec[:, 0]), np.nan, out)


def _elevation_deg(vec: np.ndarray) -> np.ndarray:
    _, el = direction_from_vector(_filled(vec))
    out = np.degrees(np.asarray(el, np.float64))
    return np.where(np.isnan(vec[:, 0]), np.nan, out)


__all__ = [
    "DirectionRefinement",
    "Prediction",
    "MAX_VIEWS",
    "VIEW_ROTATION_DEG",
    "choose_refinement",
    "class_vectors",
    "fuse_views",
    "refine_directions",
    "view_transforms",
]
