"""The learned source counter (audiolrp.models.source_count, docs/multisource.md): the logistic
regression against an independent float64 formulation, counting separable synthetic maps, the
JSON round trip, and old model descriptions (no counter) still detecting by threshold."""

from __future__ import annotations

import json

import numpy as np
import pytest

from audiolrp.evaluation.multisource import choose_detector, detections, multisource_metrics
from audiolrp.models.multisource import SourceDetector, detector_of, grid_peaks
from audiolrp.models.source_count import (
    SourceCounter,
    choose_source_counter,
    count_features,
    fit_softmax_regression,
    fit_source_counter,
    softmax_objective,
)
from audiolrp.signal.ambisonics import angular_error_deg, doa_grid


def _reference_objective(params: np.ndarray, x: np.ndarray, y: np.ndarray, n_cls: int,
                         l2: float) -> float:
    """Plain per-sample loop, log-sum-exp by hand (independent of the implementation)."""
    w = params.reshape(x.shape[1] + 1, n_cls)
    total = 0.0
    for xi, yi in zip(x, y, strict=True):
        z = [sum(xi[j] * w[j, c] for j in range(x.shape[1])) + w[-1, c] for c in range(n_cls)]
        zmax = max(z)
        lse = zmax + np.log(sum(np.exp(zc - zmax) for zc in z))
        total += lse - z[yi]
    return total / len(x) + 0.5 * l2 * float(sum(v * v for v in w[:-1].ravel()))


def _problem(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(40, 4))
    y = (x[:, 0] + 0.5 * rng.normal(size=40) > 0).astype(int) + (x[:, 1] > 0.8)
    return x, y


def test_objective_matches_reference_and_gradient_matches_finite_differences() -> None:
    x, y = _problem()
    rng = np.random.default_rng(1)
    p = rng.normal(size=(x.shape[1] + 1) * 3)
    f, g = softmax_objective(p, x, y, 3, 0.3)
    assert f == pytest.approx(_reference_objective(p, x, y, 3, 0.3), rel=1e-12)
    h = 1e-6
    fd = np.array([(_reference_objective(p + h * e, x, y, 3, 0.3)
                    - _reference_objective(p - h * e, x, y, 3, 0.3)) / (2 * h)
                   for e in np.eye(len(p))])
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-8)


def test_fitted_weights_satisfy_the_optimality_condition() -> None:
    """At the minimum: X^T (P - Y) / n + l2 W = 0 and the bias gradient sum(P - Y) / n = 0,
    written out independently; and no nearby point is lower."""
    x, y = _problem(2)
    l2 = 0.05
    w = fit_softmax_regression(x, y, 3, l2)
    z = x @ w[:-1] + w[-1]
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    onehot = np.eye(3)[y]
    np.testing.assert_allclose(x.T @ (p - onehot) / len(x) + l2 * w[:-1], 0.0, atol=1e-6)
    np.testing.assert_allclose((p - onehot).sum(0) / len(x), 0.0, atol=1e-6)
    f0 = _reference_objective(w.ravel(), x, y, 3, l2)
    for d in np.random.default_rng(3).normal(size=(5, w.size)):
        assert _reference_objective(w.ravel() + 1e-3 * d, x, y, 3, l2) > f0
    np.testing.assert_array_equal(w, fit_softmax_regression(x, y, 3, l2))  # deterministic


def _map_with_peaks(directions: np.ndarray, heights: np.ndarray, floor: float) -> np.ndarray:
    grid = doa_grid()
    m = np.full(len(grid), floor)
    for (az, el), h in zip(directions, heights, strict=True):
        d = angular_error_deg(az, el, grid[:, 0], grid[:, 1])
        m = np.maximum(m, h * np.exp(-0.5 * (d / 8.0) ** 2))
    return m


def _synthetic(n: int, seed: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """Maps whose level varies per clip (so no single threshold counts them) but whose
    ``count`` peaks are all near the clip's maximum and the others at 5 % of it."""
    rng = np.random.default_rng(seed)
    grid = doa_grid()
    maps, dirs = [], []
    for i in range(n):
        count = 1 + i % 3
        idx = [int(rng.integers(len(grid)))]
        while len(idx) < 5:
            c = int(rng.integers(len(grid)))
            if all(angular_error_deg(*grid[c], *grid[j]) > 60 for j in idx):
                idx.append(c)
        level = float(np.exp(rng.uniform(np.log(0.01), np.log(0.5))))
        h = np.r_[rng.uniform(0.8, 1.0, count), rng.uniform(0.03, 0.06, 5 - count)] * level
        maps.append(_map_with_peaks(grid[idx], h, 0.005 * level))
        dirs.append(grid[idx[:count]])
    return np.stack(maps), dirs


def test_counter_recovers_separable_counts_where_a_threshold_cannot() -> None:
    maps, dirs = _synthetic(60, 0)
    counts = [len(d) for d in dirs]
    counter = choose_source_counter(maps, counts, l2_grid=(1e-3, 1e-2), n_folds=3)
    assert dict(counter.validation)["cv_count_accuracy"] == 1.0
    test_maps, test_dirs = _synthetic(30, 1)
    assert counter.counts(test_maps).tolist() == [len(d) for d in test_dirs]
    det = SourceDetector(counter=counter)
    m = multisource_metrics(test_dirs, detections(test_maps, det))
    assert m["count_accuracy"] == 1.0 and m["matched_error_deg"]["p90"] < 5.0
    # the best absolute threshold alone does worse on the same clips (levels vary per clip)
    thresholds = tuple(np.geomspace(0.001, 0.6, 16))
    thr, thr_m = choose_detector(maps, dirs, SourceDetector(), thresholds, relatives=(0.0,))
    assert thr_m["count_accuracy"] < 0.9
    # choose_detector keeps the counter because it counts better under cross-validation
    both, both_m = choose_detector(maps, dirs, SourceDetector(), thresholds, relatives=(0.0,),
                                   fit_counter=True)
    assert both.counter is not None and both_m["count_accuracy"] == 1.0


def test_features_are_sorted_peaks_ratios_and_mean() -> None:
    grid = doa_grid()
    m = _map_with_peaks(grid[[0, 200]], np.array([0.5, 0.2]), 0.0)
    f = count_features(m, 25.0, top_k=3)
    peaks = grid_peaks(m, 0.0, 25.0, 3)
    assert f[:3].tolist() == pytest.approx(m[peaks].tolist())
    assert f[0] == pytest.approx(0.5) and f[1] == pytest.approx(0.2)
    assert f[3] == pytest.approx(0.4) and f[-1] == pytest.approx(m.mean())
    assert count_features(np.zeros(len(grid)), 25.0, 3).tolist() == [0.0] * 6


def test_json_round_trip_through_the_model_description(tmp_path) -> None:
    maps, dirs = _synthetic(30, 2)
    counter = fit_source_counter(maps, [len(d) for d in dirs], l2=0.01,
                                 validation={"count_accuracy": 1.0})
    det = SourceDetector(threshold=0.3, relative=0.2, counter=counter)
    config = json.loads(json.dumps({"multisource": det.to_dict()}))
    back = detector_of(config)
    assert back == det and back.counter == counter
    assert config["multisource"]["counter"]["validation"] == {"count_accuracy": 1.0}
    assert isinstance(config["multisource"]["counter"]["weights"][0], list)
    np.testing.assert_array_equal(back.counter.probabilities(maps), counter.probabilities(maps))
    with pytest.raises(Exception, match="malformed source counter"):
        SourceCounter.from_dict({"top_k": 5})


def test_old_description_without_counter_detects_by_threshold() -> None:
    old = {"multisource": {"threshold": 0.3, "min_separation_deg": 25.0, "max_sources": 3,
                           "refine_radius_deg": 15.0, "relative": 0.0, "chosen_on": "val"}}
    det = detector_of(old)
    assert det.counter is None and det.threshold == 0.3
    grid = doa_grid()
    m = _map_with_peaks(grid[[0, 200, 400]], np.array([0.9, 0.5, 0.1]), 0.0)
    assert det.detect(m)[0].tolist() == grid_peaks(m, 0.3, 25.0, 3).tolist()
    assert len(det.detect(m)[0]) == 2  # the 0.1 peak is below the threshold
    # the same map with a counter that says 3 returns all three peaks
    maps, dirs = _synthetic(30, 3)
    counter = fit_source_counter(maps, [len(d) for d in dirs], l2=0.01)
    assert len(SourceDetector(threshold=0.3, counter=counter).detect(maps[2])[0]) == 3


def test_tiny_validation_sets_fit_without_error() -> None:
    """Training validates on a few clips: one clip, or counts that leave a fold empty."""
    maps, dirs = _synthetic(3, 4)
    one = choose_source_counter(maps[:1], [1])
    assert dict(one.validation)["cv_count_accuracy"] == 0.0 and one.count(maps[0]) == 1
    two = choose_source_counter(maps[:2], [1, 2])
    assert dict(two.validation)["n_clips"] == 2.0
    det, m = choose_detector(maps[:2], dirs[:2], SourceDetector(), (0.01, 0.1),
                             relatives=(0.0,), fit_counter=True)
    assert "counter_cv_count_accuracy" in m and m["n_clips"] == 2
