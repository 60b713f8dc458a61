"""How many sources a clip holds, learned from its clip activity map (:class:`SourceCounter`).

A single threshold on peak heights counts poorly when the maps of clips differ in overall level
(the multi-source CRNN's mean frame sigmoid is small and varies from clip to clip). The counter
looks at the shape of the map instead.

Features (:func:`count_features`) of a map over the 425 classes: the heights of its ``top_k``
strongest peaks, strongest first (greedy non-maximum suppression,
:func:`audiolrp.models.multisource.grid_peaks` with threshold 0 and the detector's minimum
separation; padded with 0 when fewer peaks exist), the same heights divided by the strongest
one (``top_k - 1`` ratios, 0 when the maximum is 0), and the map's mean. They are standardised
with the mean and standard deviation over the fitting clips (stored with the weights).

Model: multinomial logistic regression on the standardised features predicting the count
``1..max_sources``; fitted (:func:`fit_softmax_regression`) by minimising the mean softmax
cross-entropy plus ``l2 / 2`` times the squared weights (biases not penalised) with
:func:`scipy.optimize.minimize` (BFGS, exact gradient, float64, zero start: deterministic).
:func:`choose_source_counter` picks ``l2`` by cross-validation on the fitting clips (stratified
folds) and refits on all of them. The counter is stored in a multi-source model's JSON
description under ``"multisource"``/``"counter"`` (:meth:`SourceCounter.to_dict`) and used by
:class:`audiolrp.models.multisource.SourceDetector`: the strongest ``count`` peaks are the
sources.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import minimize
from scipy.special import log_softmax, softmax

from audiolrp.errors import AudioLRPError
from audiolrp.models.multisource import grid_peaks

#: Feature definition stored with a counter (``features`` in its description).
FEATURE_DEFINITION: str = (
    "top_k peak heights of greedy non-maximum suppression (threshold 0, min_separation_deg), "
    "strongest first, padded with 0; peaks 2..top_k divided by the strongest (0 if it is 0); "
    "mean of the map; each standardised by the stored mean and scale"
)
#: L2 strengths tried by :func:`choose_source_counter`.
L2_GRID: tuple[float, ...] = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)


def count_features(
    values: np.ndarray, min_separation_deg: float = 25.0, top_k: int = 5
) -> np.ndarray:
    """Raw (unstandardised) count features of one map or a batch (module docstring).

    Parameters
    ----------
    values
        ``(n_classes,)`` or ``(B, n_classes)`` map(s) over the DOA grid.
    min_separation_deg
        Non-maximum suppression radius (the detector's minimum separation).
    top_k
        Number of peaks described.

    Returns
    -------
    ndarray
        ``(2 * top_k,)`` or ``(B, 2 * top_k)`` float64 features.
    """
    v = np.asarray(values, np.float64)
    if v.ndim == 1:
        return count_features(v[None], min_separation_deg, top_k)[0]
    if top_k < 1:
        raise AudioLRPError(f"top_k must be >= 1, got {top_k}")
    out = np.zeros((len(v), 2 * top_k))
    for b, m in enumerate(v):
        peaks = m[grid_peaks(m, 0.0, min_separation_deg, top_k)]
        out[b, : len(peaks)] = peaks
        if len(peaks) and peaks[0] > 0:
            out[b, top_k : top_k + len(peaks) - 1] = peaks[1:] / peaks[0]
        out[b, -1] = m.mean()
    return out


def softmax_objective(
    params: np.ndarray, x: np.ndarray, y: np.ndarray, n_classes: int, l2: float
) -> tuple[float, np.ndarray]:
    """L2-regularised mean softmax cross-entropy and its gradient.

    Parameters
    ----------
    params
        Flat ``(n_features + 1) * n_classes`` parameters: row ``j < n_features`` holds the
        weights of feature ``j``, the last row the biases.
    x
        ``(n, n_features)`` features.
    y
        ``(n,)`` class indices ``0..n_classes-1``.
    n_classes
        Number of classes.
    l2
        Penalty ``l2 / 2 * sum(weights ** 2)`` (biases excluded).

    Returns
    -------
    tuple
        Objective value and its gradient (same shape as ``params``).
    """
    w = params.reshape(x.shape[1] + 1, n_classes)
    logits = x @ w[:-1] + w[-1]
    logp = log_softmax(logits, axis=1)
    n = len(x)
    loss = -float(logp[np.arange(n), y].mean()) + 0.5 * l2 * float(np.sum(w[:-1] ** 2))
    resid = np.exp(logp)
    resid[np.arange(n), y] -= 1.0
    resid /= n
    grad = np.empty_like(w)
    grad[:-1] = x.T @ resid + l2 * w[:-1]
    grad[-1] = resid.sum(0)
    return loss, grad.reshape(-1)


def fit_softmax_regression(
    x: np.ndarray, y: np.ndarray, n_classes: int, l2: float
) -> np.ndarray:
    """Minimiser of :func:`softmax_objective` (BFGS from zero; ``(n_features + 1,
    n_classes)`` float64, last row the biases)."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.int64)
    if x.ndim != 2 or len(x) != len(y) or len(x) == 0:
        raise AudioLRPError(f"need (n, f) features and n labels, got {x.shape} and {y.shape}")
    if y.min() < 0 or y.max() >= n_classes:
        raise AudioLRPError(f"labels must lie in 0..{n_classes - 1}")
    x0 = np.zeros((x.shape[1] + 1) * n_classes)
    res = minimize(softmax_objective, x0, args=(x, y, n_classes, float(l2)), jac=True,
                   method="BFGS", options={"maxiter": 5000, "gtol": 1e-9})
    return np.asarray(res.x, np.float64).reshape(x.shape[1] + 1, n_classes)


@dataclass(frozen=True)
class SourceCounter:
    """A fitted source counter (module docstring): feature settings, standardisation, weights.

    ``weights`` has ``2 * top_k + 1`` rows (features, then biases) and ``max_sources`` columns
    (counts ``1..max_sources``); tuples keep the counter hashable and JSON-ready.
    """

    top_k: int
    min_separation_deg: float
    max_sources: int
    feature_mean: tuple[float, ...]
    feature_scale: tuple[float, ...]
    weights: tuple[tuple[float, ...], ...]
    l2: float = 0.0
    validation: tuple[tuple[str, float], ...] = ()

    def __post_init__(self) -> None:
        n_f = 2 * self.top_k
        if (len(self.feature_mean), len(self.feature_scale)) != (n_f, n_f) or len(
            self.weights
        ) != n_f + 1 or any(len(r) != self.max_sources for r in self.weights):
            raise AudioLRPError(
                f"counter with top_k {self.top_k} needs {n_f} feature means/scales and "
                f"{n_f + 1} x {self.max_sources} weights"
            )

    def probabilities(self, values: np.ndarray) -> np.ndarray:
        """``(max_sources,)`` (or ``(B, max_sources)``) probabilities of counts 1..max."""
        f = count_features(values, self.min_separation_deg, self.top_k)
        z = (f - np.asarray(self.feature_mean)) / np.asarray(self.feature_scale)
        w = np.asarray(self.weights, np.float64)
        return np.asarray(softmax(z @ w[:-1] + w[-1], axis=-1))

    def count(self, values: np.ndarray) -> int:
        """The most probable number of sources of one map (ties: fewer)."""
        return int(np.argmax(self.probabilities(np.asarray(values).reshape(-1)))) + 1

    def counts(self, maps: np.ndarray) -> np.ndarray:
        """``(B,)`` counts of ``(B, n_classes)`` maps."""
        return np.argmax(self.probabilities(np.asarray(maps).reshape(len(maps), -1)), 1) + 1

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description (weights as lists, the feature definition, validation)."""
        return {
            "kind": "multinomial logistic regression on clip-map peak features",
            "features": FEATURE_DEFINITION,
            "top_k": int(self.top_k),
            "min_separation_deg": float(self.min_separation_deg),
            "max_sources": int(self.max_sources),
            "feature_mean": [float(v) for v in self.feature_mean],
            "feature_scale": [float(v) for v in self.feature_scale],
            "weights": [[float(v) for v in r] for r in self.weights],
            "l2": float(self.l2),
            "validation": dict(self.validation),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SourceCounter:
        """Inverse of :meth:`to_dict`."""
        try:
            return cls(
                top_k=int(d["top_k"]),
                min_separation_deg=float(d["min_separation_deg"]),
                max_sources=int(d["max_sources"]),
                feature_mean=tuple(float(v) for v in d["feature_mean"]),
                feature_scale=tuple(float(v) for v in d["feature_scale"]),
                weights=tuple(tuple(float(v) for v in r) for r in d["weights"]),
                l2=float(d.get("l2", 0.0)),
                validation=tuple((str(k), float(v))
                                 for k, v in dict(d.get("validation") or {}).items()),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise AudioLRPError(f"malformed source counter in the model description: {e}") from e


def fit_source_counter(
    maps: np.ndarray, counts: Sequence[int] | np.ndarray, *, min_separation_deg: float = 25.0,
    max_sources: int = 3, top_k: int = 5, l2: float = 1e-2,
    validation: dict[str, float] | None = None,
) -> SourceCounter:
    """Fit a :class:`SourceCounter` on ``(B, n_classes)`` maps and their true counts (counts
    above ``max_sources`` count as ``max_sources``, below 1 as 1)."""
    feats = count_features(maps, min_separation_deg, top_k)
    y = np.clip(np.asarray(counts, np.int64), 1, max_sources) - 1
    mean = feats.mean(0)
    scale = feats.std(0)
    scale = np.where(scale > 1e-12, scale, 1.0)
    w = fit_softmax_regression((feats - mean) / scale, y, max_sources, l2)
    return SourceCounter(
        top_k=top_k, min_separation_deg=float(min_separation_deg), max_sources=max_sources,
        feature_mean=tuple(mean.tolist()), feature_scale=tuple(scale.tolist()),
        weights=tuple(tuple(r) for r in w.tolist()), l2=float(l2),
        validation=tuple((validation or {}).items()),
    )


def choose_source_counter(
    maps: np.ndarray, counts: Sequence[int] | np.ndarray, *, min_separation_deg: float = 25.0,
    max_sources: int = 3, top_k: int = 5, l2_grid: Sequence[float] = L2_GRID, n_folds: int = 5,
) -> SourceCounter:
    """The counter whose ``l2`` has the best cross-validated count accuracy on these clips
    (stratified folds: the ``j``-th clip of each count in fold ``j % n_folds``; ties: stronger
    ``l2``), refitted on
    all clips. Its ``validation`` records ``cv_count_accuracy`` (over the clips of the folds
    that could be tested; 0 when none could, e.g. a single clip) and ``count_accuracy`` (on the
    fitting clips themselves) and ``n_clips``."""
    maps = np.asarray(maps, np.float64)
    y = np.clip(np.asarray(counts, np.int64), 1, max_sources)
    if len(maps) != len(y) or len(y) == 0:
        raise AudioLRPError(f"need as many maps as counts (> 0), got {len(maps)} and {len(y)}")
    n_folds = min(n_folds, len(y))
    fold = np.zeros(len(y), np.int64)
    for c in np.unique(y):  # stratified: the clips of each count go round the folds in order
        fold[y == c] = np.arange(int(np.sum(y == c))) % n_folds
    kw: dict[str, Any] = {"min_separation_deg": min_separation_deg,
                          "max_sources": max_sources, "top_k": top_k}
    best: tuple[float, float] | None = None
    for l2 in l2_grid:
        right = tested = 0
        for k in range(n_folds) if n_folds >= 2 else ():
            if np.all(fold == k) or not np.any(fold == k):  # nothing to fit on or to test
                continue
            c = fit_source_counter(maps[fold != k], y[fold != k], l2=l2, **kw)
            right += int(np.sum(c.counts(maps[fold == k]) == y[fold == k]))
            tested += int(np.sum(fold == k))
        key = (right / max(tested, 1), float(l2))
        if best is None or key > best:
            best = key
    assert best is not None
    cv_acc, l2 = best
    c = fit_source_counter(maps, y, l2=l2, **kw)
    acc = float(np.mean(c.counts(maps) == y))
    return dataclasses.replace(c, validation=(
        ("cv_count_accuracy", cv_acc), ("count_accuracy", acc), ("n_clips", float(len(y))),
        ("n_folds", float(n_folds))))


__all__ = [
    "FEATURE_DEFINITION",
    "L2_GRID",
    "SourceCounter",
    "choose_source_counter",
    "count_features",
    "fit_softmax_regression",
    "fit_source_counter",
    "softmax_objective",
]
