"""Tests of audiolrp.signal.features against explicit float64 loop implementations and physics."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from audiolrp.errors import AudioLRPError
from audiolrp.signal import features as F


# ----------------------------------------------------------------------------- references
def ref_stft(x: np.ndarray) -> np.ndarray:
    """Explicit float64 DFT per frame and bin (conventions file, written independently)."""
    n = len(x)
    n_frames = -(-n // 320)
    m = np.arange(640)
    w = np.array([0.5 - 0.5 * math.cos(2 * math.pi * i / 640) for i in range(640)])
    out = np.zeros((n_frames, 512), complex)
    for fr in range(n_frames):
        seg = np.zeros(640)
        for i in range(640):
            t = fr * 320 - 160 + i
            if 0 <= t < n:
                seg[i] = x[t]
        for k in range(512):
            out[fr, k] = np.sum(w * seg * np.exp(-2j * math.pi * k * m / 1024))
    return out


def ref_intensity(spec: np.ndarray) -> np.ndarray:
    """Loop over bins: I = conj(W) [X, Y, Z] / E with E = (|W|^2+|X|^2+|Y|^2+|Z|^2)/2."""
    _, nf, nb = spec.shape
    out = np.zeros((6, nf, nb))
    for a in range(nf):
        for b in range(nb):
            w, y, z, x = spec[0, a, b], spec[1, a, b], spec[2, a, b], spec[3, a, b]
            e = 0.5 * (abs(w) ** 2 + abs(x) ** 2 + abs(y) ** 2 + abs(z) ** 2) + F.INTENSITY_EPS
            for c, v in enumerate((x, y, z)):
                p = np.conj(w) * v
                out[c, a, b] = p.real / e
                out[3 + c, a, b] = p.imag / e
    return out


def foa_plane_wave(s: np.ndarray, az: float, el: float) -> np.ndarray:
    """First-order SN3D (ACN W, Y, Z, X) encoding of a plane wave, written independently."""
    u = (math.cos(az) * math.cos(el), math.sin(az) * math.cos(el), math.sin(el))
    return np.stack([s, u[1] * s, u[2] * s, u[0] * s])


# ----------------------------------------------------------------------------- STFT
def test_stft_matches_loop_reference() -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal(1000)  # 4 frames incl. both edges
    got = F.stft(x)
    ref = ref_stft(x)
    assert got.shape == ref.shape == (4, 512)
    np.testing.assert_allclose(got, ref, atol=1e-9)


def test_stft_clip_shape_dtype_and_axes() -> None:
    x = np.random.default_rng(2).standard_normal((2, 3, 16000)).astype(np.float32)
    X = F.stft(x)
    assert X.shape == (2, 3, 50, 512) and X.dtype == np.complex64
    # pure tone at bin 64 (1000 Hz) peaks there in interior frames
    t = np.arange(16000) / 16000
    tone = np.cos(2 * np.pi * 1000 * t)
    mag = np.abs(F.stft(tone))
    assert np.all(mag[1:-1].argmax(axis=1) == 64)
    assert F.bin_frequencies_hz()[64] == 1000.0


def test_frame_helpers() -> None:
    starts = F.frame_start_samples()
    assert starts[0] == -160 and starts[-1] == 49 * 320 - 160 and len(starts) == 50
    assert np.allclose(F.frame_times_s()[[0, 49]], [0.01, 0.99])
    w = F.stft_window()
    assert w.shape == (640,) and w[0] == 0.0 and w[320] == 1.0
    # COLA: shifted windows sum to exactly 1
    assert np.allclose(w[:320] + w[320:], 1.0, atol=1e-15)


@settings(max_examples=15, deadline=None)
@given(n=st.integers(300, 3000), seed=st.integers(0, 10_000))
def test_istft_perfect_reconstruction(n: int, seed: int) -> None:
    x = np.random.default_rng(seed).standard_normal((2, n))
    y = F.istft(F.stft(x), n_samples=n)
    np.testing.assert_allclose(y, x, atol=1e-10)


def test_istft_clip_float32_and_torch_roundtrip() -> None:
    x = torch.randn(4, 16000, generator=torch.Generator().manual_seed(0))
    X = F.stft(x)
    assert isinstance(X, torch.Tensor) and X.dtype == torch.complex64
    y = F.istft(X)
    assert isinstance(y, torch.Tensor) and y.shape == (4, 16000)
    assert float((y - x).abs().max()) < 1e-5


def test_istft_of_band_limited_modification_is_filtering() -> None:
    """Zeroing high bins of every frame in the interior low-passes the signal."""
    t = np.arange(16000) / 16000
    lo, hi = np.sin(2 * np.pi * 500 * t), np.sin(2 * np.pi * 5000 * t)
    X = F.stft(lo + hi)
    X[..., 160:] = 0  # > 2500 Hz
    y = F.istft(X)
    err = y[1000:-1000] - lo[1000:-1000]
    assert np.sqrt(np.mean(err**2)) < 0.01


def test_stft_bad_input() -> None:
    with pytest.raises(AudioLRPError):
        F.stft(np.zeros(10, complex))
    with pytest.raises(AudioLRPError):
        F.istft(np.zeros((50, 513), complex))
    with pytest.raises(AudioLRPError):
        F.stft(np.array(["a", "b"]))


# ----------------------------------------------------------------------------- HOA features
def test_hoa_features_match_loop_and_order_selection() -> None:
    rng = np.random.default_rng(3)
    audio = rng.standard_normal((9, 700))  # order 2
    feats = F.hoa_features(audio, 2)
    assert feats.shape == (18, 3, 512)
    for c in range(9):
        ref = ref_stft(audio[c])
        np.testing.assert_allclose(feats[c], np.abs(ref), atol=1e-9)
        for a in range(3):
            for b in range(0, 512, 37):
                assert math.isclose(
                    feats[9 + c, a, b], math.atan2(ref[a, b].imag, ref[a, b].real), abs_tol=1e-7
                )
    low = F.hoa_features(audio, 1)
    np.testing.assert_array_equal(low[:4], feats[:4])
    np.testing.assert_array_equal(low[4:], feats[9:13])
    # STFT input gives the same features
    np.testing.assert_allclose(F.hoa_features(F.stft(audio), 2), feats)


def test_hoa_features_bad_input() -> None:
    with pytest.raises(AudioLRPError, match="channels"):
        F.hoa_features(np.zeros((5, 16000)), 1)  # 5 is not (N+1)^2
    with pytest.raises(AudioLRPError, match="order 2 needs 9"):
        F.hoa_features(np.zeros((4, 16000)), 2)
    bad = np.zeros((4, 16000))
    bad[1, 7] = np.nan
    with pytest.raises(AudioLRPError, match="NaN"):
        F.hoa_features(bad, 1)
    with pytest.raises(AudioLRPError):
        F.compute_features(np.zeros((4, 16000)), "mfcc", 1)


def test_hoa_normalization_stats_match_direct_computation() -> None:
    rng = np.random.default_rng(4)
    audio = rng.standard_normal((3, 9, 1200))
    feats = F.hoa_features(audio, 2)
    for order in (0, 1, 2):
        k = (order + 1) ** 2
        st_ = F.hoa_normalization_stats(audio, order)
        mags, phs = feats[:, :k], feats[:, 9 : 9 + k]
        assert math.isclose(st_.magnitude_mean, mags.mean(), rel_tol=1e-9)
        assert math.isclose(st_.magnitude_std, mags.std(), rel_tol=1e-9)
        assert math.isclose(st_.phase_mean, phs.mean(), abs_tol=1e-9)
        assert math.isclose(st_.phase_std, phs.std(), rel_tol=1e-9)
        mean, std = st_.vectors()
        assert mean.shape == std.shape == (2 * k,)
        assert np.all(mean[:k] == np.float32(st_.magnitude_mean))
        assert np.all(std[k:] == np.float32(st_.phase_std))
    # accumulator over parts == one pass; lower order from the same accumulator
    acc = F.HoaStatsAccumulator(2)
    acc.update(audio[:1])
    other = F.HoaStatsAccumulator.from_arrays(F.HoaStatsAccumulator(2).to_arrays())
    other.update(audio[1:])
    acc.merge(other)
    s1 = acc.stats(1)
    s1_ref = F.hoa_normalization_stats(audio, 1)
    assert math.isclose(s1.magnitude_std, s1_ref.magnitude_std, rel_tol=1e-9)
    assert F.HoaStats.from_dict(s1.to_dict()) == s1
    with pytest.raises(AudioLRPError):
        acc.stats(3)


# ----------------------------------------------------------------------------- intensity
def test_intensity_matches_loop_reference() -> None:
    rng = np.random.default_rng(5)
    audio = rng.standard_normal((4, 700))
    got = F.intensity_features(audio)
    spec = np.stack([ref_stft(a) for a in audio])
    np.testing.assert_allclose(got, ref_intensity(spec), atol=1e-8)


@pytest.mark.parametrize("az_deg, el_deg", [(0, 0), (90, 0), (-135, 30), (40, -60), (10, 85)])
def test_intensity_plane_wave_direction_and_norm(az_deg: float, el_deg: float) -> None:
    rng = np.random.default_rng(6)
    s = rng.standard_normal(16000)
    az, el = math.radians(az_deg), math.radians(el_deg)
    audio = foa_plane_wave(s, az, el)
    feats = F.intensity_features(audio)
    ia, ir = feats[:3], feats[3:]
    e = np.abs(F.stft(s)) ** 2
    mask = e > 1e-6 * e.max()
    norm = np.linalg.norm(ia, axis=0)
    np.testing.assert_allclose(norm[mask], 1.0, atol=1e-6)
    assert np.abs(ir[:, mask]).max() < 1e-6
    d = ia[:, mask].mean(axis=1)
    u = np.array([math.cos(az) * math.cos(el), math.sin(az) * math.cos(el), math.sin(el)])
    assert np.degrees(np.arccos(np.clip(d @ u / np.linalg.norm(d), -1, 1))) < 0.01
    # Perotin normalisation: same direction, |I_a| = sqrt(3)/2
    pf = F.intensity_features(audio, normalization="perotin")
    np.testing.assert_allclose(
        np.linalg.norm(pf[:3], axis=0)[mask], math.sqrt(3) / 2, atol=1e-6
    )
    np.testing.assert_allclose(pf[:, mask], feats[:, mask] * math.sqrt(3) / 2, atol=1e-6)


def test_intensity_diffuse_field_vanishes() -> None:
    """Many independent plane waves from random antipodal direction pairs: I_a -> 0, I_r -> 0."""
    rng = np.random.default_rng(7)
    n_waves = 400
    v = rng.standard_normal((n_waves, 3))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    v[n_waves // 2 :] = -v[: n_waves // 2]  # antipodal pairs: isotropic in expectation
    sig = rng.standard_normal((n_waves, 16000))
    audio = np.stack([sig.sum(0), v[:, 1] @ sig, v[:, 2] @ sig, v[:, 0] @ sig])
    feats = F.intensity_features(audio)
    # a single realisation per bin fluctuates (|I_a|/E ~ 0.58 for Gaussian fields, 1 for a
    # plane wave); the expectation vanishes: averaged over frames the vector is small...
    ia_time_avg = np.linalg.norm(feats[:3].mean(axis=1), axis=0)
    assert np.median(ia_time_avg) < 0.15
    assert np.linalg.norm(feats[:3], axis=0).mean() < 0.7
    # ... and the time-frequency average of every component is ~0
    assert np.abs(feats.mean(axis=(1, 2))).max() < 0.02


def test_intensity_silence_and_torch_batch() -> None:
    z = torch.zeros(2, 9, 16000)
    out = F.compute_features(z, "intensity")
    assert isinstance(out, torch.Tensor) and out.shape == (2, 6, 50, 512)
    assert bool(torch.all(out == 0))
    with pytest.raises(AudioLRPError):
        F.intensity_features(np.zeros((1, 16000)))
    with pytest.raises(AudioLRPError):
        F.intensity_features(np.zeros((4, 16000)), normalization="n3d")


def test_feature_channel_counts_and_normalization_vectors() -> None:
    assert F.feature_channels("hoa", 4) == 50 and F.feature_channels("intensity", 4) == 6
    m, s = F.normalization_vectors("intensity", 1, None)
    assert np.all(m == 0) and np.all(s == 1)
    st_ = F.HoaStats(1, 1.0, 2.0, 0.0, 1.8)
    m, s = F.normalization_vectors("hoa", 1, st_.to_dict())
    assert m.tolist() == [1.0] * 4 + [0.0] * 4
