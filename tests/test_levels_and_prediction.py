"""Input levels (signal.levels), direction refinement and the Prediction (models.prediction),
checked against explicit float64 loops, physics of levels and invariants."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audiolrp.errors import AudioLRPError
from audiolrp.models import DirectionRefinement, Prediction, choose_refinement, refine_directions
from audiolrp.signal.ambisonics import doa_grid, unit_vector, vector_angle_deg
from audiolrp.signal.levels import (
    SILENCE_FLOOR_DBFS,
    level_gains,
    quiet_windows,
    rms_to_dbfs,
    w_rms,
)

GRID = np.asarray(doa_grid(), np.float64)
VEC = unit_vector(GRID[:, 0], GRID[:, 1])


# ------------------------------------------------------------------------------- levels
def test_w_rms_and_dbfs_match_explicit_loops() -> None:
    rng = np.random.default_rng(0)
    scale = np.array([1e-3, 0.1, 1.0])[:, None, None]
    x = rng.standard_normal((3, 4, 1000)).astype(np.float32) * scale
    got = w_rms(x)
    for b in range(3):
        acc = 0.0
        for n in range(1000):
            acc += float(x[b, 0, n]) ** 2
        assert got[b] == pytest.approx(math.sqrt(acc / 1000), rel=1e-12)
        assert rms_to_dbfs(got[b]) == pytest.approx(20 * math.log10(math.sqrt(acc / 1000)))


def test_full_scale_square_is_0_dbfs_and_sine_minus_3() -> None:
    n = np.arange(16000)
    square = np.sign(np.sin(2 * np.pi * 100 * n / 16000 + 0.1))[None]
    sine = np.sin(2 * np.pi * 1000 * n / 16000)[None]
    assert rms_to_dbfs(w_rms(square)) == pytest.approx(0.0, abs=1e-9)
    assert rms_to_dbfs(w_rms(sine)) == pytest.approx(-3.0103, abs=1e-3)


@settings(max_examples=40, deadline=None)
@given(gain_db=st.floats(-90, 40), target=st.floats(1e-3, 0.5))
def test_level_gain_brings_w_to_the_target(gain_db: float, target: float) -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 4, 16000)) * 0.05 * 10 ** (gain_db / 20)
    gain, level, silent = level_gains(x, target)
    assert not silent.any()
    np.testing.assert_allclose(w_rms(x * gain[:, None, None]), target, rtol=1e-10)
    np.testing.assert_allclose(level, rms_to_dbfs(w_rms(x)))


def test_digital_silence_is_flagged_and_never_amplified() -> None:
    x = np.zeros((3, 4, 16000))
    x[1, 0, 100] = 1e-9  # -204 dBFS: below the floor
    x[2] = 1e-4  # -80 dBFS: a real (quiet) clip
    gain, level, silent = level_gains(x, 0.05)
    assert silent.tolist() == [True, True, False]
    assert gain[0] == 1.0 and gain[1] == 1.0 and gain[2] == pytest.approx(500.0)
    assert level[0] == -np.inf and level[1] < SILENCE_FLOOR_DBFS


def test_nan_audio_is_a_one_line_error() -> None:
    x = np.zeros((4, 100))
    x[0, 3] = np.nan
    with pytest.raises(AudioLRPError, match="NaN or infinite"):
        w_rms(x)


def test_quiet_windows_relative_to_the_loud_ones() -> None:
    levels = np.array([-30.0, -31.0, -29.0, -65.0, -np.inf, -55.0, -30.5] * 3)
    q = quiet_windows(levels, below_db=30.0)
    ref = np.percentile(levels[np.isfinite(levels)], 95)
    np.testing.assert_array_equal(q, ~(levels >= ref - 30.0))
    assert q[3] and q[4] and not q[5] and not q[0]
    assert quiet_windows(np.full(3, -np.inf)).all()


# ---------------------------------------------------------------------------- refinement
def _refine_loop(p: np.ndarray, radius_deg: float, power: float) -> np.ndarray:
    """Explicit float64 loop of the refined direction (module docstring formula)."""
    out = np.zeros((p.shape[0], 3))
    for b in range(p.shape[0]):
        c_star = int(np.argmax(p[b]))
        s = np.zeros(3)
        for c in range(p.shape[1]):
            cosang = float(np.clip(np.dot(VEC[c], VEC[c_star]), -1.0, 1.0))
            if math.degrees(math.acos(cosang)) <= radius_deg + 1e-6:
                s += float(p[b, c]) ** power * VEC[c]
        out[b] = s / np.linalg.norm(s)
    return out


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), radius=st.sampled_from([10.0, 15.0, 25.0, 40.0]),
       power=st.sampled_from([0.5, 1.0, 2.0]))
def test_refinement_matches_the_explicit_loop(seed: int, radius: float, power: float) -> None:
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.full(425, 0.05), size=3)
    got = refine_directions(p, DirectionRefinement(radius, power))
    np.testing.assert_allclose(got, _refine_loop(p, radius, power), atol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-12)


def test_radius_zero_and_a_single_class_give_the_class_direction() -> None:
    p = np.zeros((2, 425))
    p[0, 17] = 1.0
    p[1] = 1 / 425
    p[1, 300] = 0.5
    for r in (DirectionRefinement(), DirectionRefinement(25.0, 1.0)):
        got = refine_directions(p[:1], r)
        np.testing.assert_allclose(got[0], VEC[17], atol=1e-12)
    np.testing.assert_allclose(refine_directions(p, DirectionRefinement())[1], VEC[300])


def test_refinement_moves_towards_an_off_grid_source() -> None:
    """Probabilities that fall off with the angle from an off-grid source (a von Mises-Fisher
    bump): the refined direction is closer to the source than the nearest class."""
    rng = np.random.default_rng(3)
    truths = unit_vector(rng.uniform(-np.pi, np.pi, 50), np.arcsin(rng.uniform(-0.9, 0.9, 50)))
    p = np.exp(20.0 * truths @ VEC.T)
    p /= p.sum(axis=1, keepdims=True)
    best, rows = choose_refinement(p, truths)
    assert best.radius_deg > 0
    assert rows[0]["radius_deg"] == 0.0
    won = min(r["median_error_deg"] for r in rows)
    assert won < 0.5 * rows[0]["median_error_deg"]
    err = vector_angle_deg(refine_directions(p, best), truths)
    assert float(np.median(err)) == pytest.approx(won)


def test_refinement_validation_and_json() -> None:
    with pytest.raises(AudioLRPError, match="radius"):
        DirectionRefinement(-1.0)
    with pytest.raises(AudioLRPError, match="power"):
        DirectionRefinement(10.0, 0.0)
    r = DirectionRefinement(20.0, 2.0)
    assert DirectionRefinement.from_config(r.to_dict()) == r
    assert DirectionRefinement.from_config(None) == DirectionRefinement()
    with pytest.raises(AudioLRPError, match="direction_refinement"):
        DirectionRefinement.from_config({"power": 1})


# ----------------------------------------------------------------------------- prediction
def test_prediction_fields_and_silent_rows() -> None:
    p = np.full((3, 425), 0.1 / 424)
    p[:, [5, 212, 400]] = 0.0
    for i, c in enumerate((5, 212, 400)):
        p[i, c] = 0.9
    pred = Prediction.from_probabilities(p, DirectionRefinement(),
                                         np.array([-20.0, -30.0, -np.inf]),
                                         np.array([False, False, True]))
    assert pred.class_index.tolist() == [5, 212, -1]
    np.testing.assert_allclose(pred.confidence, [0.9, 0.9, 0.0])
    assert np.all(np.isnan(pred.direction[2])) and np.isnan(pred.azimuth_deg[2])
    assert pred.probabilities[2].sum() == 0.0
    for i, c in enumerate((5, 212)):
        az = (math.degrees(GRID[c, 0]) + 180) % 360 - 180
        assert pred.azimuth_deg[i] == pytest.approx(az, abs=1e-9)
        assert pred.elevation_deg[i] == pytest.approx(math.degrees(GRID[c, 1]), abs=1e-9)
        assert -180.0 <= pred.azimuth_deg[i] < 180.0
    rows = pred.rows()
    assert rows[2] == {"silent": True, "level_dbfs": None, "azimuth_deg": None,
                       "elevation_deg": None, "class": None, "class_azimuth_deg": None,
                       "class_elevation_deg": None, "confidence": 0.0}
    assert rows[0]["class"] == 5 and rows[0]["level_dbfs"] == -20.0
