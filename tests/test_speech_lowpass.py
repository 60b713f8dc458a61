"""Tests of the talker's band limit (recipe step 5d of audiolrp.simulation.scenes).

The filter is checked against the windowed-sinc formula written out as an explicit float64 loop
and against its magnitude by an explicit DFT sum, against physics (filtered white noise keeps
its power below the cut-off and loses it above), and in a scene against an independent
formulation: filtering commutes with the room, so the band-limited scene's direct sound equals
the plain scene's direct sound filtered afterwards (away from the clip's edges).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.signal
from hypothesis import given, settings
from hypothesis import strategies as st

from audiolrp.constants import FS_HZ
from audiolrp.errors import AudioLRPError
from audiolrp.simulation.scenes import (
    LOWPASS_RANGE_HZ,
    LOWPASS_TAPS,
    NoiseCorpus,
    SceneConfig,
    apply_lowpass,
    lowpass_filter,
    simulate_scene,
)
from talker_filter_checks import gain_db_loop, small_config

CORPUS = NoiseCorpus()
HALF = LOWPASS_TAPS // 2




def _windowed_sinc_loop(cutoff_hz: float, n_taps: int) -> list[float]:
    """h[n] = w[n] 2 f_c/f_s sinc(2 f_c/f_s (n - M)), Hamming w, scaled to sum 1; plain loops."""
    m = (n_taps - 1) / 2
    nu = 2.0 * cutoff_hz / FS_HZ
    h = []
    for n in range(n_taps):
        x = n - m
        sinc = 1.0 if x == 0 else math.sin(math.pi * nu * x) / (math.pi * nu * x)
        w = 0.54 - 0.46 * math.cos(2 * math.pi * n / (n_taps - 1))
        h.append(w * nu * sinc)
    total = sum(h)
    return [v / total for v in h]




@settings(max_examples=12, deadline=None)
@given(cutoff_hz=st.floats(*LOWPASS_RANGE_HZ))
def test_lowpass_taps_are_the_windowed_sinc(cutoff_hz: float) -> None:
    taps = lowpass_filter(cutoff_hz)
    assert taps.shape == (LOWPASS_TAPS,) and taps.dtype == np.float64
    np.testing.assert_allclose(taps, _windowed_sinc_loop(cutoff_hz, LOWPASS_TAPS), atol=1e-12)


@pytest.mark.parametrize("cutoff_hz", [500.0, 3000.0, 4000.0, 7500.0])
def test_lowpass_magnitude_meets_its_documented_bounds(cutoff_hz: float) -> None:
    taps = lowpass_filter(cutoff_hz)
    assert abs(gain_db_loop(taps, cutoff_hz) + 6.02) < 0.1  # -6 dB at the cut-off
    for f_hz in np.linspace(0.0, cutoff_hz - 250.0, 9):
        assert abs(gain_db_loop(taps, float(f_hz))) < 0.1, f_hz
    for f_hz in np.linspace(cutoff_hz + 250.0, FS_HZ / 2, 9):
        assert gain_db_loop(taps, float(f_hz)) < -50.0, f_hz


@pytest.mark.parametrize("cutoff_hz", [3000.0, 4000.0, 6000.0])
def test_white_noise_loses_its_power_above_the_cutoff(cutoff_hz: float) -> None:
    """Physics: filtered white noise keeps its power density below f_c and loses it above."""
    x = np.random.default_rng(0).standard_normal(10 * FS_HZ)
    y = apply_lowpass(x, cutoff_hz)
    f, px = scipy.signal.welch(x, FS_HZ, nperseg=2048)
    _, py = scipy.signal.welch(y, FS_HZ, nperseg=2048)
    below, above = f < cutoff_hz - 300, f > cutoff_hz + 300
    assert abs(10 * np.log10(py[below].sum() / px[below].sum())) < 0.1
    assert 10 * np.log10(py[above].sum() / px[above].sum()) < -45.0
    # the total power falls to the kept share of the band
    assert abs(np.mean(y**2) / np.mean(x**2) - cutoff_hz / (FS_HZ / 2)) < 0.02


def test_lowpass_adds_no_delay_and_rejects_bad_designs() -> None:
    impulse = np.zeros(2001)
    impulse[1000] = 1.0
    y = apply_lowpass(impulse, 4000.0)
    assert int(np.argmax(np.abs(y))) == 1000
    np.testing.assert_allclose(y[1000 - HALF : 1000 + HALF + 1], lowpass_filter(4000.0),
                               atol=1e-15)
    with pytest.raises(AudioLRPError, match="odd"):
        lowpass_filter(3000.0, n_taps=256)
    for bad in (0.0, 8000.0, -5.0):
        with pytest.raises(AudioLRPError, match="cut-off"):
            lowpass_filter(bad)


@pytest.mark.parametrize("seed", [3, 8])
def test_band_limited_scene_is_the_plain_scene_filtered(seed: int) -> None:
    off = simulate_scene(small_config(), seed, CORPUS)
    on = simulate_scene(small_config(speech_lowpass_hz=(3000.0, 7000.0)), seed, CORPUS)
    cutoff = on.params["speech_lowpass_hz"]
    assert 3000.0 <= cutoff <= 7000.0
    assert (on.label, on.azimuth_rad, on.elevation_rad) == (
        off.label, off.azimuth_rad, off.elevation_rad
    )
    for key, value in off.params.items():
        if key != "gain":
            assert on.params[key] == value, key
    want = np.stack([apply_lowpass(ch.astype(np.float64), cutoff) for ch in off.direct])
    inner = slice(2 * HALF, -2 * HALF)
    scale = np.abs(want[:, inner]).max()
    np.testing.assert_allclose(on.direct[:, inner], want[:, inner], rtol=0, atol=2e-4 * scale)
    ratio = on.noise[0] @ off.noise[0] / (off.noise[0] @ off.noise[0])
    np.testing.assert_allclose(on.noise, ratio * off.noise, rtol=0,
                               atol=1e-5 * np.abs(on.noise).max())
    speech_w = (on.direct[0] + on.reverberant[0]).astype(np.float64)
    snr = 10 * math.log10(np.mean(speech_w**2) / np.mean(on.noise[0].astype(np.float64) ** 2))
    assert abs(snr - on.params["snr_db"]) < 1e-3


def test_band_limit_follows_the_tilt_draw() -> None:
    """With both options on, the tilt is drawn first and is the tilt-only scene's tilt."""
    tilt_only = simulate_scene(small_config(speech_tilt_db_per_octave=(-8.0, 2.0)), 4, CORPUS)
    both = simulate_scene(
        small_config(speech_tilt_db_per_octave=(-8.0, 2.0), speech_lowpass_hz=(3000.0, 7000.0)),
        4, CORPUS,
    )
    assert (both.params["speech_tilt_db_per_octave"]
            == tilt_only.params["speech_tilt_db_per_octave"])
    assert 3000.0 <= both.params["speech_lowpass_hz"] <= 7000.0


def test_cutoffs_are_log_uniform_and_deterministic() -> None:
    cfg = small_config(speech_lowpass_hz=(500.0, 7500.0))
    a, b = simulate_scene(cfg, 5, CORPUS), simulate_scene(cfg, 5, CORPUS)
    assert a.mixture.tobytes() == b.mixture.tobytes()
    plain = simulate_scene(small_config(), 5, CORPUS)
    assert "speech_lowpass_hz" not in plain.params
    assert not SceneConfig().speech_lowpass
    cut = np.array([simulate_scene(cfg, s, CORPUS).params["speech_lowpass_hz"]
                    for s in range(40)])
    assert len(set(cut.tolist())) == 40 and cut.min() >= 500.0 and cut.max() <= 7500.0
    # log-uniform: half the draws fall below the geometric mid-point 1936 Hz (a uniform draw
    # would put 21 % there: 8 of 40, outside the bounds)
    assert 12 <= int(np.sum(cut < math.sqrt(500.0 * 7500.0))) <= 28


def test_lowpass_config_roundtrip_and_validation() -> None:
    assert "speech_lowpass_hz" not in SceneConfig().to_dict()
    on = SceneConfig(speech_lowpass_hz=[3500, 7000])  # type: ignore[arg-type]
    d = on.to_dict()
    assert d["speech_lowpass_hz"] == [3500.0, 7000.0]
    assert SceneConfig.from_dict(d) == on and on.speech_lowpass
    for bad in ([7000, 3500], [100, 4000], [3000, 8000], [0], "dull", [float("nan"), 4000.0],
                [True, 4000]):
        with pytest.raises(AudioLRPError, match="speech_lowpass_hz"):
            SceneConfig(speech_lowpass_hz=bad)  # type: ignore[arg-type]
