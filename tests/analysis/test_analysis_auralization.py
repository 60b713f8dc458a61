"""Filter bank (PR) and auralization (Eq. 3, Eq. 4) against explicit float64 formulations."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st

from audiolrp.analysis.auralization import (
    auralize,
    frame_filters,
    overlap_add_gain,
    prepare_heatmap,
    relevance_filter,
    sdr_db,
    si_sdr_db,
    spectral_similarity,
    stereo_mix,
    write_auralization,
    write_wav,
)
from audiolrp.analysis.filterbank import (
    band_edges_hz,
    band_magnitude_responses,
    design_filterbank,
)
from audiolrp.errors import AudioLRPError
from audiolrp.signal.features import bin_frequencies_hz, stft, stft_window

FS = 16000


# ----------------------------------------------------------------------------- filter bank


@settings(max_examples=15, deadline=None)
@given(n_bands=st.integers(1, 24), half=st.integers(8, 100))
def test_filterbank_sum_is_pure_delay(n_bands: int, half: int) -> None:
    taps = 2 * half + 1
    bank = design_filterbank(n_bands, taps)
    assert bank.shape == (n_bands, taps)
    delta = np.zeros(taps)
    delta[half] = 1.0
    np.testing.assert_allclose(bank.sum(axis=0), delta, atol=1e-12, rtol=0)
    # every band is symmetric (type-I linear phase)
    np.testing.assert_allclose(bank, bank[:, ::-1], atol=1e-15)


def test_paper_bank_bands_pass_their_band() -> None:
    bank = design_filterbank()  # 20 bands x 129 taps
    edges = band_edges_hz()
    freqs = np.fft.rfftfreq(8192, 1 / FS)
    h = np.abs(np.fft.rfft(bank, 8192, axis=-1))
    for b in range(20):
        centre = 0.5 * (edges[b] + edges[b + 1])
        assert h[b, np.argmin(np.abs(freqs - centre))] == pytest.approx(1.0, abs=0.02)
        # two band widths away from the band, well attenuated (Hamming: > 40 dB)
        far = (freqs < edges[b] - 400) | (freqs > edges[b + 1] + 400)
        assert h[b, far].max() < 0.01


def test_band_magnitude_responses_against_explicit_dft() -> None:
    bank = design_filterbank(4, 17)
    got = band_magnitude_responses(bank)
    m = np.arange(17)
    for b in range(4):
        for k in (0, 1, 100, 511):
            ref = abs(np.sum(bank[b] * np.exp(-2j * np.pi * k * m / 1024)))
            assert got[b, k] == pytest.approx(ref, abs=1e-12)


def test_bad_taps_raise() -> None:
    with pytest.raises(AudioLRPError):
        design_filterbank(20, 128)


# ----------------------------------------------------------------------------- Eq. 3 / Eq. 4


def _reference_filter(a: np.ndarray, heat: np.ndarray, bank: np.ndarray) -> np.ndarray:
    """Eq. 3 and Eq. 4 written out with loops (float64), delay-compensated."""
    n_frames, n_bins = heat.shape
    n_bands, taps = bank.shape
    delay = (taps - 1) // 2
    k = np.arange(n_bins)
    gamma_mag = np.array([
        [abs(np.sum(bank[b] * np.exp(-2j * np.pi * kk * np.arange(taps) / 1024))) for kk in k]
        for b in range(n_bands)
    ])
    w = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(640) / 640)
    out = np.zeros(a.size + 2000)
    for n in range(n_frames):
        g = np.zeros(taps)
        for b in range(n_bands):
            weight = np.sum(gamma_mag[b] * heat[n]) / np.sum(gamma_mag[b])
            g += weight * bank[b]
        start = n * 320 - 160
        windowed = np.zeros(640)
        for j in range(640):
            if 0 <= start + j < a.size:
                windowed[j] = a[start + j] * w[j]
        y = np.convolve(windowed, g)
        for j, v in enumerate(y):
            m = start + j - delay
            if 0 <= m < a.size:
                out[m] += v
    return out[: a.size]


def test_relevance_filter_matches_explicit_equations() -> None:
    rng = np.random.default_rng(2)
    a = rng.standard_normal(FS)
    heat = rng.random((50, 512))
    bank = design_filterbank(5, 33)
    got = relevance_filter(a, heat, bank)
    ref = _reference_filter(a, heat, bank)
    np.testing.assert_allclose(got, ref, atol=1e-10)


def test_all_ones_heatmap_reproduces_input() -> None:
    a = np.random.default_rng(3).standard_normal((2, FS))
    out = relevance_filter(a, np.ones((50, 512)))
    np.testing.assert_allclose(out[:, 160:-160], a[:, 160:-160], atol=1e-6)
    # edges: only one frame covers the first/last 160 samples -> gain = window
    gain = overlap_add_gain(FS, 50)
    np.testing.assert_allclose(gain[160:-160], 1.0, atol=1e-12)
    np.testing.assert_allclose(out, a * gain, atol=1e-6)
    exact = relevance_filter(a, np.ones((50, 512)), edge_correction=True)
    np.testing.assert_allclose(exact, a, atol=1e-6)


def test_zero_frame_is_silenced() -> None:
    a = np.random.default_rng(4).standard_normal(FS)
    n0 = 20
    heat = np.ones((50, 512))
    heat[n0] = 0.0
    out = relevance_filter(a, heat)
    start = n0 * 320 - 160
    w = stft_window()
    expected = a.copy()
    expected[start : start + 640] *= 1.0 - w
    np.testing.assert_allclose(out[160:-160], expected[160:-160], atol=1e-6)
    # only frame n0 kept: output confined to that frame plus the filter delay
    only = np.zeros((50, 512))
    only[n0] = 1.0
    out_only = relevance_filter(a, only)
    outside = np.ones(FS, bool)
    outside[start - 64 : start + 640 + 64] = False
    assert np.abs(out_only[outside]).max() == 0.0
    np.testing.assert_allclose(out_only[start : start + 640], a[start : start + 640] * w,
                               atol=1e-6)


def test_band_selective_heatmap_attenuates_tone_outside() -> None:
    t = np.arange(FS) / FS
    low, high = np.sin(2 * np.pi * 1000 * t), np.sin(2 * np.pi * 5000 * t)
    freqs = bin_frequencies_hz()
    heat = np.zeros((50, 512))
    heat[:, (freqs > 3000) & (freqs < 7000)] = 1.0
    out = relevance_filter(low + high, heat)
    seg = slice(1600, 14400)  # interior, whole number of periods of both tones

    def amp(x: np.ndarray, f: float) -> float:
        tt = t[seg]
        return 2 * abs(np.mean(x[seg] * np.exp(-2j * np.pi * f * tt)))

    assert amp(out, 5000) == pytest.approx(1.0, abs=0.01)
    assert 20 * np.log10(amp(out, 1000)) < -40.0


def test_prepare_heatmap_options() -> None:
    r = np.array([[[-2.0, 1.0], [0.5, 0.0]], [[0.0, 0.0], [0.0, 0.0]]])
    np.testing.assert_allclose(prepare_heatmap(r)[0], [[0, 1], [0.5, 0]])
    np.testing.assert_allclose(prepare_heatmap(r, "abs")[0], [[1, 0.5], [0.25, 0]])
    np.testing.assert_allclose(prepare_heatmap(r, "signed")[0], [[-1, 0.5], [0.25, 0]])
    np.testing.assert_allclose(prepare_heatmap(r, "abs", None)[0], np.abs(r[0]))
    assert np.all(prepare_heatmap(r)[1] == 0)  # all-zero heatmap stays zero (no nan)
    with pytest.raises(AudioLRPError):
        prepare_heatmap(r, "bogus")  # type: ignore[arg-type]


def test_auralize_shapes_and_scale_invariance() -> None:
    rng = np.random.default_rng(5)
    a = rng.standard_normal((4, FS))
    r = rng.standard_normal((4, 50, 512))
    out = auralize(a, r)
    assert out.shape == (4, FS)
    np.testing.assert_allclose(auralize(a, 7.0 * r), out, atol=1e-12)  # max-normalised
    # one signal, several heatmaps broadcast
    assert auralize(a[0], r[:3]).shape == (3, FS)
    assert frame_filters(np.ones((50, 512)), design_filterbank()).shape == (50, 129)
    with pytest.raises(AudioLRPError):
        relevance_filter(a[0, :100], r[0])


# ----------------------------------------------------------------------------- files, mixes


def test_stereo_mix_plane_wave_from_left() -> None:
    s = np.random.default_rng(6).standard_normal(100)
    az = np.pi / 2  # +y = left
    ambix = np.stack([s, np.sin(az) * s, 0 * s, np.cos(az) * s])  # ACN W, Y, Z, X (SN3D)
    left, right = stereo_mix(ambix)
    np.testing.assert_allclose(left, s, atol=1e-12)
    np.testing.assert_allclose(right, 0.0, atol=1e-12)


def test_write_wav_roundtrip_and_auralization_files(tmp_path) -> None:
    a = np.random.default_rng(7).uniform(-0.5, 0.5, (4, 1000))
    p = write_wav(tmp_path / "x.wav", a)
    data, fs = sf.read(p, dtype="float64")
    assert fs == FS and data.shape == (1000, 4)
    np.testing.assert_allclose(data.T, a.astype(np.float32), atol=0)
    paths = write_auralization(tmp_path / "out", a, stem="ex0", per_channel=True)
    assert set(paths) == {"ambix", "acn0", "acn1", "acn2", "acn3", "mono", "stereo"}
    assert sf.info(paths["stereo"]).channels == 2
    assert sorted(q.name for q in (tmp_path / "out").iterdir()) == sorted(
        q.name for q in paths.values()
    )  # no temp files left
    with pytest.raises(AudioLRPError):
        write_wav(tmp_path / "bad.wav", np.array([np.nan, 0.0]))


def test_similarity_metrics() -> None:
    rng = np.random.default_rng(8)
    s = rng.standard_normal(FS)
    noise = rng.standard_normal(FS)
    assert spectral_similarity(s, 3.0 * s) == pytest.approx(1.0, abs=1e-9)
    t = np.arange(FS) / FS
    tone = np.sin(2 * np.pi * 440 * t)
    assert spectral_similarity(tone, tone + 0.5 * noise) > spectral_similarity(tone, noise)
    assert sdr_db(s, s + 0.1 * noise) == pytest.approx(
        10 * np.log10(np.sum(s**2) / np.sum((0.1 * noise) ** 2))
    )
    assert si_sdr_db(s, 0.3 * s) > 100
    assert si_sdr_db(s, s + noise) < si_sdr_db(s, s + 0.1 * noise)


def test_oracle_heatmap_brings_mixture_closer_to_direct_sound() -> None:
    """Filtering with a mask where the direct sound dominates moves the mixture towards it."""
    rng = np.random.default_rng(9)
    t = np.arange(FS) / FS
    gate = (np.sin(2 * np.pi * 3 * t) > 0).astype(float)  # on/off "syllables"
    direct = gate * (np.sin(2 * np.pi * 700 * t) + 0.5 * np.sin(2 * np.pi * 1400 * t))
    noise = 0.3 * rng.standard_normal(FS)
    mixture = direct + noise
    mask = (np.abs(stft(direct)) > np.abs(stft(noise))).astype(float)
    filtered = relevance_filter(mixture, mask)
    # (SI-SDR need not improve: band weights differ between the 700 Hz and 1400 Hz bands)
    assert spectral_similarity(filtered, direct) > spectral_similarity(mixture, direct) + 0.2
