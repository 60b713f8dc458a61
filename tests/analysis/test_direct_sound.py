"""Finding 3 as stated (`audiolrp.analysis.direct_sound`): every measure against an explicit
float64 loop, plus the properties a reader relies on (separation gives AUC 1, concentrating
relevance on direct bins raises its weighted mean, the control shifts examples)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from audiolrp.analysis import direct_sound as ds
from audiolrp.errors import AudioLRPError


# ------------------------------------------------------------------------------ oracles
def _stft_loop(x: np.ndarray) -> np.ndarray:
    """The project's STFT written out: periodic Hann of 640, frame n starts at n*320 - 160
    (zeros outside), 1024-point DFT as an explicit sum, bins 0..511."""
    n_frames = math.ceil(x.size / 320)
    win = [0.5 - 0.5 * math.cos(2 * math.pi * m / 640) for m in range(640)]
    k = np.arange(512)[:, None]
    out = np.zeros((n_frames, 512), dtype=np.complex128)
    for n in range(n_frames):
        seg = np.zeros(640)
        for m in range(640):
            s = n * 320 - 160 + m
            if 0 <= s < x.size:
                seg[m] = x[s] * win[m]
        out[n] = (seg[None, :] * np.exp(-2j * np.pi * k * np.arange(640)[None, :] / 1024)).sum(1)
    return out


def _auc_loop(scores: np.ndarray, positive: np.ndarray) -> float:
    pos = [float(s) for s, p in zip(scores.ravel(), positive.ravel(), strict=True) if p]
    neg = [float(s) for s, p in zip(scores.ravel(), positive.ravel(), strict=True) if not p]
    if not pos or not neg:
        return math.nan
    total = 0.0
    for a in pos:
        for b in neg:
            total += 1.0 if a > b else 0.5 if a == b else 0.0
    return total / (len(pos) * len(neg))


def _wmean_loop(values: np.ndarray, weights: np.ndarray) -> float:
    num = den = 0.0
    for v, w in zip(values.ravel(), weights.ravel(), strict=True):
        num += float(w) * float(v)
        den += float(w)
    return num / den if den > 0 else math.nan


# ------------------------------------------------------------------------------ ratio
def test_direct_to_residual_matches_explicit_dft() -> None:
    rng = np.random.default_rng(0)
    n = 1280  # 4 frames keep the explicit DFT quick
    d, r, z = (rng.standard_normal(n) * s for s in (1.0, 0.3, 0.2))
    got = ds.direct_to_residual_db(d, r, z)
    sd, sres = _stft_loop(d), _stft_loop(r + z)
    want = np.empty(sd.shape)
    for i in range(sd.shape[0]):
        for k in range(sd.shape[1]):
            ratio = 10 * math.log10((abs(sd[i, k]) ** 2 + 1e-30) / (abs(sres[i, k]) ** 2 + 1e-30))
            want[i, k] = min(max(ratio, -ds.CLIP_DB), ds.CLIP_DB)
    assert got.shape == (4, 512)
    np.testing.assert_allclose(got, want, atol=1e-6)
    np.testing.assert_allclose(ds.power_spectrogram(d), np.abs(sd) ** 2, rtol=1e-9, atol=1e-9)


def test_ratio_physics_and_clipping() -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal(16000)
    # direct 10x the residual in amplitude everywhere -> +20 dB in every bin
    np.testing.assert_allclose(ds.direct_to_residual_db(10 * x, 0.5 * x, 0.5 * x), 20.0,
                               atol=1e-9)
    # no direct sound: clipped at the floor, never -inf
    got = ds.direct_to_residual_db(np.zeros(16000), x, x, clip_db=30.0)
    assert got.shape == (50, 512) and np.all(got == -30.0)
    # batched == one by one
    parts = rng.standard_normal((3, 3, 16000))
    batch = ds.direct_to_residual_db(parts[:, 0], parts[:, 1], parts[:, 2])
    for i in range(3):
        np.testing.assert_allclose(batch[i], ds.direct_to_residual_db(*parts[i]))
    with pytest.raises(AudioLRPError):
        ds.direct_to_residual_db(x, x[:100], x)
    with pytest.raises(AudioLRPError):
        ds.direct_to_residual_db(x, x, x, clip_db=0.0)


# ------------------------------------------------------------------------------ means, AUC
def test_weighted_mean_matches_loop() -> None:
    rng = np.random.default_rng(2)
    v = rng.normal(0, 10, (3, 5, 7))
    w = np.maximum(rng.standard_normal((3, 5, 7)), 0)
    w[2] = 0.0  # no weight: NaN
    got = ds.weighted_mean(v, w)
    for i in range(2):
        assert got[i] == pytest.approx(_wmean_loop(v[i], w[i]), rel=1e-12)
    assert math.isnan(got[2])
    assert float(ds.weighted_mean(v[0], w[0])) == pytest.approx(got[0])
    with pytest.raises(AudioLRPError):
        ds.weighted_mean(v, -np.abs(w) - 1)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_auc_matches_pairwise_loop_with_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 4, (2, 6, 5)).astype(float)  # many ties
    scores[1] = np.maximum(rng.standard_normal((6, 5)), 0)  # zeros tie, as clipped relevance
    pos = rng.random((2, 6, 5)) < 0.4
    got = ds.binary_auc(scores, pos)
    for i in range(2):
        assert got[i] == pytest.approx(_auc_loop(scores[i], pos[i]), abs=1e-12)


def test_auc_properties() -> None:
    rng = np.random.default_rng(3)
    lr = rng.normal(0, 10, (40, 30))
    pos = lr > 0
    assert float(ds.binary_auc(lr, pos)) == 1.0  # perfect separation
    assert float(ds.binary_auc(-lr, pos)) == 0.0
    assert float(ds.binary_auc(np.ones_like(lr), pos)) == 0.5  # constant score: chance
    # invariant to a strictly increasing transform of the score
    s = rng.standard_normal(lr.shape)
    assert float(ds.binary_auc(np.exp(3 * s), pos)) == pytest.approx(float(ds.binary_auc(s, pos)))
    assert math.isnan(float(ds.binary_auc(s, np.zeros_like(pos))))


# ------------------------------------------------------------------------------ profile
def test_ratio_profile_matches_loop() -> None:
    rng = np.random.default_rng(4)
    lr = rng.uniform(-50, 50, (2, 8, 9))
    lr[0, 0, 0] = 40.0  # the last edge belongs to the last band
    w = rng.random((2, 8, 9))
    edges = np.array([-40.0, -10.0, 0.0, 15.0, 40.0])
    got = ds.ratio_profile(lr, w, edges)
    for i in range(2):
        want = [0.0] * 4
        total = 0.0
        for v, wt in zip(lr[i].ravel(), w[i].ravel(), strict=True):
            total += wt
            for b in range(4):
                last = b == 3 and v == edges[-1]
                if edges[b] <= v < edges[b + 1] or last:
                    want[b] += wt
        np.testing.assert_allclose(got[i], np.array(want) / total, rtol=1e-12)
    inside = ds.ratio_profile(np.clip(lr, -40, 40), w, edges)
    np.testing.assert_allclose(inside.sum(1), 1.0)
    with pytest.raises(AudioLRPError):
        ds.ratio_profile(lr, w, np.array([1.0, 0.0]))


# ------------------------------------------------------------------------------ measures
def test_measures_reward_relevance_on_direct_bins_only() -> None:
    rng = np.random.default_rng(5)
    n = 6
    lr = rng.uniform(-30, 30, (n, 10, 12))
    energy = rng.random((n, 10, 12)) + 1.0  # loudness unrelated to the ratio
    on_direct = np.where(lr > 0, rng.random(lr.shape), -rng.random(lr.shape))
    m = ds.direct_sound_measures(lr, on_direct, energy)
    assert np.all(m["relevance_weighted"] > m["uniform"])
    assert np.all(m["relevance_weighted"] > m["energy_weighted"])
    assert np.all(m["auc_relevance"] == 1.0)
    assert np.all(m["relevance_share_direct"] == 1.0)
    # the default control is the previous example's heatmap, on this example's bins
    for i in range(n):
        assert m["control_weighted"][i] == pytest.approx(
            _wmean_loop(lr[i], np.maximum(on_direct[i - 1], 0)))
        assert m["uniform"][i] == pytest.approx(_wmean_loop(lr[i], np.ones((10, 12))))
        assert m["energy_weighted"][i] == pytest.approx(_wmean_loop(lr[i], energy[i]))
        assert m["direct_share"][i] == pytest.approx(np.mean(lr[i] > 0))
    assert np.all(m["relevance_weighted"] > m["control_weighted"])
    # relevance on residual-dominated bins: everything reverses
    m2 = ds.direct_sound_measures(lr, -on_direct, energy)
    assert np.all(m2["relevance_weighted"] < m2["uniform"])
    assert np.all(m2["auc_relevance"] == 0.0)
    with pytest.raises(AudioLRPError):
        ds.direct_sound_measures(lr, on_direct[:, :5], energy)


def test_rank_matched_places_the_values_by_the_reference_order() -> None:
    rng = np.random.default_rng(6)
    vals = rng.standard_normal((2, 4, 5))
    ref = rng.random((2, 4, 5))
    got = ds.rank_matched(vals, ref)
    for i in range(2):
        flat_v = sorted(float(v) for v in vals[i].ravel())
        ref_flat = [float(r) for r in ref[i].ravel()]
        order = sorted(range(len(ref_flat)), key=lambda j: ref_flat[j])
        want = [0.0] * len(ref_flat)
        for rank, j in enumerate(order):
            want[j] = flat_v[rank]
        np.testing.assert_array_equal(got[i].ravel(), want)
    # same values (histogram), and the largest value sits on the largest reference
    np.testing.assert_array_equal(np.sort(got.ravel()), np.sort(vals.ravel()))
    assert got[0].ravel()[np.argmax(ref[0])] == vals[0].max()
    # a map that already follows the reference is returned unchanged
    np.testing.assert_allclose(ds.rank_matched(ref[0] ** 2, ref[0]), ref[0] ** 2)
    with pytest.raises(AudioLRPError):
        ds.rank_matched(vals, ref[:, :3])
