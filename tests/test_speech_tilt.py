"""Tests of the talker's spectral tilt (recipe step 5c of audiolrp.simulation.scenes).

The filter is checked against its defining magnitude by an explicit float64 DFT sum, against
physics (the slope of filtered white noise's spectrum), and in a scene against an independent
formulation: filtering commutes with the room, so the tilted scene's direct sound equals the
untilted scene's direct sound filtered afterwards (away from the clip's edges).
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
    TILT_MAX_GAIN_DB,
    TILT_PIVOT_HZ,
    TILT_TAPS,
    NoiseCorpus,
    SceneConfig,
    apply_tilt,
    simulate_scene,
    tilt_filter,
)
from talker_filter_checks import gain_db_loop, small_config

CORPUS = NoiseCorpus()
HALF = TILT_TAPS // 2






@settings(max_examples=15, deadline=None)
@given(slope=st.floats(-12.0, 6.0))
def test_tilt_magnitude_follows_its_definition(slope: float) -> None:
    taps = tilt_filter(slope)
    assert taps.shape == (TILT_TAPS,) and taps.dtype == np.float64
    np.testing.assert_allclose(taps, taps[::-1], atol=1e-12)  # linear phase, delay HALF
    for f_hz in (250.0, 400.0, 700.0, 1000.0, 1500.0, 3000.0, 5000.0, 7000.0):
        want = float(np.clip(slope * math.log2(f_hz / TILT_PIVOT_HZ),
                             -TILT_MAX_GAIN_DB, TILT_MAX_GAIN_DB))
        if abs(want) > TILT_MAX_GAIN_DB - 3.0:  # the design rounds the knee of the limit
            continue
        assert abs(gain_db_loop(taps, f_hz) - want) < 0.5, (f_hz, want)


@pytest.mark.parametrize("slope", [-8.0, -3.0, 3.0])
def test_white_noise_spectrum_gets_the_slope(slope: float) -> None:
    """Physics: the power spectrum of filtered white noise falls by `slope` dB per octave."""
    x = np.random.default_rng(0).standard_normal(20 * FS_HZ)
    y = apply_tilt(x, slope)
    f, p = scipy.signal.welch(y, FS_HZ, nperseg=2048)
    band = (f >= 250) & (f <= 4000)
    fitted = np.polyfit(np.log2(f[band]), 10 * np.log10(p[band]), 1)[0]
    assert abs(fitted - slope) < 0.3, fitted


def test_zero_slope_is_identity_and_filter_adds_no_delay() -> None:
    x = np.random.default_rng(1).standard_normal(4000)
    assert apply_tilt(x, 0.0) is x
    impulse = np.zeros(2001)
    impulse[1000] = 1.0
    y = apply_tilt(impulse, -6.0)
    assert int(np.argmax(np.abs(y))) == 1000
    np.testing.assert_allclose(y[1000 - HALF : 1000 + HALF + 1], tilt_filter(-6.0), atol=1e-15)


@pytest.mark.parametrize("seed", [3, 8])
def test_tilted_scene_is_the_plain_scene_filtered(seed: int) -> None:
    off = simulate_scene(small_config(), seed, CORPUS)
    on = simulate_scene(small_config(speech_tilt_db_per_octave=(-10.0, 4.0)), seed, CORPUS)
    slope = on.params["speech_tilt_db_per_octave"]
    assert -10.0 <= slope <= 4.0
    assert (on.label, on.azimuth_rad, on.elevation_rad) == (
        off.label, off.azimuth_rad, off.elevation_rad
    )
    for key, value in off.params.items():
        if key not in ("snr_db", "gain"):
            assert on.params[key] == value, key
    assert on.params["snr_db"] == off.params["snr_db"]
    # direct sound: filtering commutes with the (linear, time-invariant) room
    want = np.stack([apply_tilt(ch.astype(np.float64), slope) for ch in off.direct])
    inner = slice(2 * HALF, -2 * HALF)
    scale = np.abs(want[:, inner]).max()
    np.testing.assert_allclose(on.direct[:, inner], want[:, inner], rtol=0, atol=2e-4 * scale)
    # the babble is the same signal (only rescaled to the drawn SNR)
    ratio = on.noise[0] @ off.noise[0] / (off.noise[0] @ off.noise[0])
    np.testing.assert_allclose(on.noise, ratio * off.noise, rtol=0,
                               atol=1e-5 * np.abs(on.noise).max())
    # the SNR on W is measured after the tilt
    speech_w = (on.direct[0] + on.reverberant[0]).astype(np.float64)
    snr = 10 * math.log10(np.mean(speech_w**2) / np.mean(on.noise[0].astype(np.float64) ** 2))
    assert abs(snr - on.params["snr_db"]) < 1e-3


def test_tilt_is_deterministic_and_off_by_default() -> None:
    cfg = small_config(speech_tilt_db_per_octave=(-6.0, 2.0))
    a, b = simulate_scene(cfg, 5, CORPUS), simulate_scene(cfg, 5, CORPUS)
    assert a.mixture.tobytes() == b.mixture.tobytes()
    c = simulate_scene(cfg, 6, CORPUS)
    assert c.params["speech_tilt_db_per_octave"] != a.params["speech_tilt_db_per_octave"]
    plain = simulate_scene(small_config(), 5, CORPUS)
    assert "speech_tilt_db_per_octave" not in plain.params
    assert not SceneConfig().speech_tilt


def test_tilt_config_roundtrip_and_validation() -> None:
    assert "speech_tilt_db_per_octave" not in SceneConfig().to_dict()
    on = SceneConfig(speech_tilt_db_per_octave=[-8, 4])  # type: ignore[arg-type]
    d = on.to_dict()
    assert d["speech_tilt_db_per_octave"] == [-8.0, 4.0]
    assert SceneConfig.from_dict(d) == on and on.speech_tilt
    for bad in ([4, -8], [-30, 0], [0], "steep", [float("nan"), 1.0], [True, 2]):
        with pytest.raises(AudioLRPError, match="speech_tilt_db_per_octave"):
            SceneConfig(speech_tilt_db_per_octave=bad)  # type: ignore[arg-type]
    with pytest.raises(AudioLRPError, match="odd"):
        tilt_filter(-3.0, n_taps=256)
