"""Tests of audiolrp.simulation.microphones (tetrahedral and rigid-sphere arrays) and of scenes
recorded by them (``SceneConfig.mic``).

Physics tolerances (documented in docs/data.md):

* below aliasing, a plane wave's array output equals its ideal ACN/SN3D encoding ``Y_N(u)``:
  tetra (A -> B equalised) within 5 % (relative vector error over the 4 channels) for
  ``f <= f_alias / 12`` (the order-2 term the tetrahedron folds into X, Y, Z grows as about
  ``1.3 f / f_alias``, in quadrature); sphere32 with unlimited radial filters within 0.5 % for
  ``f <= f_alias / 4``; sphere32 with the default 20-dB limit within 3 % on orders 0-1 from
  300 Hz to ``f_alias / 4``;
* the error's crossing of 25 % lies between 0.5 and 1.5 times ``c N / (2 pi r)``, and at a
  quarter of that frequency the error is below 12.5 %, for any radius;
* ``b_n(kr)`` against an explicit float64 loop to 1e-10 relative.
"""

from __future__ import annotations

import hashlib
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import spherical_jn, spherical_yn

from audiolrp.constants import SPEED_OF_SOUND_M_S
from audiolrp.errors import AudioLRPError
from audiolrp.signal.ambisonics import angular_error_deg, sh_matrix
from audiolrp.signal.features import intensity_vector_direction
from audiolrp.simulation import microphones as mics
from audiolrp.simulation.scenes import NoiseCorpus, SceneConfig, simulate_scene

CORPUS = NoiseCorpus()
FS = 16000

unit_vectors = st.tuples(
    st.floats(-1, 1), st.floats(-1, 1), st.floats(-1, 1)
).filter(lambda v: 0.1 < math.sqrt(v[0] ** 2 + v[1] ** 2 + v[2] ** 2))


def _unit(v: tuple[float, float, float]) -> np.ndarray:
    u = np.asarray(v, np.float64)
    return u / np.linalg.norm(u)


def _ideal(order: int, u: np.ndarray) -> np.ndarray:
    """``Y_N(u)`` (SN3D, ACN) of unit vectors ``(n, 3)``: ``(n, n_sh)``."""
    az = np.arctan2(u[:, 1], u[:, 0])
    el = np.arctan2(u[:, 2], np.hypot(u[:, 0], u[:, 1]))
    return sh_matrix(order, az, el)


def _relative_error(array: mics.MicArray, f_hz: float, u: np.ndarray) -> np.ndarray:
    """``|H(f, u) - Y(u)| / |Y(u)|`` per direction (vector norm over the channels)."""
    y = _ideal(array.order, u)
    h = array.transfer([f_hz], u)[0].T
    return np.asarray(np.linalg.norm(h - y, axis=1) / np.linalg.norm(y, axis=1))


# --------------------------------------------------------------------------------------------
# (1) plane waves below aliasing give the ideal SH
# --------------------------------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(v=unit_vectors, frac=st.floats(0.005, 1.0 / 12))
def test_tetra_plane_wave_below_aliasing_is_ideal_sh(
    v: tuple[float, float, float], frac: float
) -> None:
    tetra = mics.make_array("tetra", 1)
    u = _unit(v)[None]
    assert _relative_error(tetra, frac * tetra.aliasing_hz, u)[0] <= 0.05


@settings(max_examples=30, deadline=None)
@given(v=unit_vectors, frac=st.floats(0.005, 0.25))
def test_sphere_plane_wave_below_aliasing_is_ideal_sh(
    v: tuple[float, float, float], frac: float
) -> None:
    u = _unit(v)[None]
    unlimited = mics.make_array("sphere32", 4, max_gain_db=None)
    assert _relative_error(unlimited, frac * unlimited.aliasing_hz, u)[0] <= 0.005
    first = mics.make_array("sphere32", 1)  # default 20 dB limit: orders 0-1 from 300 Hz
    f_hz = max(300.0, frac * first.aliasing_hz)
    assert _relative_error(first, f_hz, u)[0] <= 0.03


def _rendered_wave(array: mics.MicArray, u: np.ndarray, delay: float, n: int) -> np.ndarray:
    """Spectrum ``(n_sh, n // 2 + 1)`` of one unit wave rendered per capsule and encoded."""
    return np.fft.rfft(array.encode(array.render_waves([delay], [1.0], u, n)), axis=-1)


@pytest.mark.parametrize(("name", "order", "kw", "band_hz", "tol"), [
    ("tetra", 1, {}, (150.0, 300.0), 0.05),
    ("sphere32", 2, {"max_gain_db": 60.0}, (150.0, 1000.0), 0.03),  # orders 2 unlimited here
])
def test_rendered_plane_wave_is_the_ideal_encoding_at_low_frequencies(
    name: str, order: int, kw: dict[str, float], band_hz: tuple[float, float], tol: float
) -> None:
    """End to end in the time domain: one wave rendered per capsule (fractional delay),
    encoded with the realised FIRs, against ``Y(u)`` times the same delay, bin by bin."""
    array = mics.make_array(name, order, **kw)  # type: ignore[arg-type]
    u = _unit((0.3, -0.5, 0.8))[None]
    n, delay = 8192, 3000.37
    spec = _rendered_wave(array, u, delay, n)
    f = np.fft.rfftfreq(n, 1 / FS)
    ideal = _ideal(order, u)[0][:, None] * np.exp(-2j * np.pi * f * delay / FS)[None]
    band = (f >= band_hz[0]) & (f <= band_hz[1])
    err = np.linalg.norm(spec[:, band] - ideal[:, band], axis=0) / np.linalg.norm(
        ideal[:, band], axis=0
    )
    assert err.max() <= tol


@pytest.mark.parametrize(("name", "order"), [("tetra", 1), ("sphere32", 4)])
def test_rendered_plane_wave_matches_the_arrays_transfer(name: str, order: int) -> None:
    """The rendering (kernel tables, interpolation, sparse sum, FIRs) agrees with the analytic
    transfer times the realised radial FIRs from 50 Hz to 6 kHz."""
    array = mics.make_array(name, order)
    u = _unit((-0.7, 0.2, -0.4))[None]
    n, delay = 8192, 2000.81
    spec = _rendered_wave(array, u, delay, n)
    f = np.fft.rfftfreq(n, 1 / FS)
    band = (f >= 50) & (f <= 6000)
    r = array.radial_fir_response(f[band]) / array.radial_response(f[band])
    model = array.transfer(f[band], u)[:, :, 0] * r[:, mics._channel_orders(order)]
    model *= np.exp(-2j * np.pi * f[band] * delay / FS)[:, None]
    assert np.abs(spec[:, band].T - model).max() <= 0.02


@pytest.mark.parametrize(("name", "order"), [("tetra", 1), ("sphere32", 3)])
def test_plane_wave_signals_equal_rendered_impulse_trains(name: str, order: int) -> None:
    """The babble path (per-capsule FIRs, block multichannel filtering) equals rendering every
    sample of each signal as a wave (integer delays) and encoding."""
    array = mics.make_array(name, order)
    rng = np.random.default_rng(3)
    n = 1500
    x = rng.standard_normal((2, n))
    u = np.array([_unit((1.0, 2.0, -0.5)), _unit((-0.3, 0.1, 0.9))])
    got = array.plane_wave_signals(x, u)
    delays = np.tile(np.arange(n, dtype=np.float64), 2)
    caps = array.render_waves(delays, x.reshape(-1), np.repeat(u, n, axis=0), n)
    assert np.abs(got - array.encode(caps)).max() <= 1e-5 * np.abs(got).max()


def test_tetra_capsule_series_equals_its_closed_form() -> None:
    """``sum_n G_n P_n(cos g)`` (truncated at L) equals ``(a + (1 - a) cos g) exp(i kr cos
    g)`` within the documented series bound."""
    tetra = mics.make_array("tetra", 1, directivity=0.3)
    rng = np.random.default_rng(0)
    u = rng.standard_normal((50, 3))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    f = np.array([100.0, 2000.0, 7999.0])
    cos_g = tetra.directions @ u.T
    kr = 2 * np.pi * f * tetra.radius_m / SPEED_OF_SOUND_M_S
    closed = (0.3 + 0.7 * cos_g)[None] * np.exp(1j * kr[:, None, None] * cos_g[None])
    assert np.abs(tetra.capsule_transfer(f, u) - closed).max() <= mics.SERIES_BOUND


# --------------------------------------------------------------------------------------------
# (2) the aliasing frequency
# --------------------------------------------------------------------------------------------
_ALIAS_DIRS = np.random.default_rng(7).standard_normal((60, 3))
_ALIAS_DIRS /= np.linalg.norm(_ALIAS_DIRS, axis=1, keepdims=True)


@settings(max_examples=12, deadline=None)
@given(data=st.data())
@pytest.mark.parametrize(("name", "order", "radii_m"),
                         [("tetra", 1, (0.011, 0.03)), ("sphere32", 4, (0.042, 0.08))])
def test_aliasing_sets_in_near_c_n_over_2_pi_r(
    name: str, order: int, radii_m: tuple[float, float], data: st.DataObject
) -> None:
    """RMS error over directions (unlimited filters, so only aliasing remains): it passes
    25 % between 0.5 and 1.5 times ``c N / (2 pi r)`` and is below 12.5 % at a quarter of it."""
    r = data.draw(st.floats(*radii_m))
    array = mics.make_array(name, order, radius_m=r, max_gain_db=None)
    f_alias = SPEED_OF_SOUND_M_S * order / (2 * np.pi * r)
    assert math.isclose(array.aliasing_hz, f_alias)
    f = np.linspace(50.0, 7950.0, 160)
    y = _ideal(order, _ALIAS_DIRS)
    h = array.transfer(f, _ALIAS_DIRS)  # (n_f, n_sh, n_dirs)
    err = np.sqrt(np.mean(np.sum(np.abs(h - y.T[None]) ** 2, axis=1), axis=1)
                  / np.mean(np.sum(y**2, axis=1)))
    above = np.flatnonzero(err > 0.25)
    assert above.size and np.all(np.diff(above) == 1)  # grows past it once
    assert 0.5 * f_alias <= f[above[0]] <= 1.5 * f_alias
    assert np.interp(0.25 * f_alias, f, err) < 0.125


# --------------------------------------------------------------------------------------------
# (3) rigid-sphere mode strength, independently
# --------------------------------------------------------------------------------------------
def _b_n_loop(n: int, x: float) -> complex:
    """``j_n - j_n' / h_n' h_n``, ``h = j - i y``, derivatives by the recurrence
    ``f_n' = f_{n-1} - (n + 1) / x f_n`` (``f_0' = -f_1``), one float64 term at a time."""
    j = [float(spherical_jn(k, x)) for k in range(n + 2)]
    y = [float(spherical_yn(k, x)) for k in range(n + 2)]
    if n == 0:
        dj, dy = -j[1], -y[1]
    else:
        dj = j[n - 1] - (n + 1) / x * j[n]
        dy = y[n - 1] - (n + 1) / x * y[n]
    h = complex(j[n], -y[n])
    dh = complex(dj, -dy)
    return j[n] - dj / dh * h


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 12), x=st.floats(0.05, 30.0))
def test_rigid_sphere_mode_strength_matches_an_explicit_loop(n: int, x: float) -> None:
    got = complex(mics.rigid_sphere_mode_strength(n, x))
    want = _b_n_loop(n, x)
    assert abs(got - want) <= 1e-10 * abs(want)


def test_rigid_sphere_limits_and_causality() -> None:
    """``b_0 -> 1``, ``b_n -> 0`` at ``kr = 0``; in this module's time convention the
    scattered wave is outgoing: the rear capsule hears (almost) nothing before the wave
    touches the sphere's front (``t < -r/c``), which the other Hankel kind would reverse."""
    assert mics.rigid_sphere_mode_strength([0, 1, 3], 0.0).tolist() == [1, 0, 0]
    assert abs(mics.rigid_sphere_mode_strength(0, 1e-4) - 1) < 1e-3
    sphere = mics.make_array("sphere32", 4)
    n_fft = 4096
    f = np.arange(n_fft // 2 + 1) * FS / n_fft
    rear = sphere.capsule_transfer(f[1:], -sphere.directions[:1])[:, 0, 0]
    ir = np.roll(np.fft.irfft(np.concatenate([[1.0], rear]), n_fft), n_fft // 2)
    t = np.arange(n_fft) - n_fft // 2
    early = t < -sphere.radius_m / SPEED_OF_SOUND_M_S * FS - 3
    late = t > sphere.radius_m / SPEED_OF_SOUND_M_S * FS + 3
    assert np.sum(ir[early] ** 2) < 0.02 * np.sum(ir**2) < np.sum(ir[late] ** 2)


# --------------------------------------------------------------------------------------------
# (4) regularised radial filters
# --------------------------------------------------------------------------------------------
@settings(max_examples=80, deadline=None)
@given(re=st.floats(-3, 3), im=st.floats(-3, 3), scale=st.sampled_from([1e-12, 1e-4, 1.0]),
       max_gain_db=st.floats(1.0, 60.0), method=st.sampled_from(["soft", "tikhonov"]))
def test_limited_inverse_never_exceeds_the_max_gain(
    re: float, im: float, scale: float, max_gain_db: float, method: str
) -> None:
    g = 10 ** (max_gain_db / 20)
    gain = complex(re, im) * scale
    r = complex(mics.limited_inverse(gain, max_gain_db, method))
    assert abs(r) <= g * (1 + 1e-12)
    if abs(gain) > 0 and abs(1 / gain) < g / 30:  # far below the limit: the plain inverse
        assert abs(r * gain - 1) < 0.01


@pytest.mark.parametrize(("name", "order", "max_gain_db"),
                         [("sphere32", 4, 20.0), ("sphere32", 3, 10.0), ("tetra", 1, 3.0)])
def test_realised_radial_firs_stay_below_the_max_gain(
    name: str, order: int, max_gain_db: float
) -> None:
    array = mics.make_array(name, order, max_gain_db=max_gain_db)
    g = 10 ** (max_gain_db / 20)
    firs = array.radial_firs
    assert firs is not None
    realised = np.abs(np.fft.rfft(firs, 2**17, axis=-1)).T  # (f, N + 1), 0.06-Hz grid
    f = np.fft.rfftfreq(2**17, 1 / FS)
    assert realised.max() <= g
    assert np.abs(array.radial_response(f[::64])).max() <= g * (1 + 1e-12)
    if name == "sphere32":  # orders >= 2 need the limit below aliasing: noise gain ~g there
        low = (f > 100) & (f < array.aliasing_hz / 2)
        assert np.all(realised[low, 2:].max(axis=0) >= 0.9 * g)
        w_band = (f > 100) & (f < 200)  # W is not amplified: ~1 / |b_0| ~ 1
        target_w = np.abs(array.radial_response(f[w_band])[:, 0])
        assert np.allclose(realised[w_band, 0], target_w, rtol=1e-3)
        assert np.all(np.abs(target_w - 1) < 0.03)


# --------------------------------------------------------------------------------------------
# (5) self-noise
# --------------------------------------------------------------------------------------------
@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**63 - 1), db=st.floats(-90, 0))
def test_self_noise_level_and_seed(seed: int, db: float) -> None:
    array = mics.make_array("sphere32", 2)
    rms = 10 ** (db / 20)
    a = array.self_noise(16000, rms, seed)
    assert a.shape == (32, 16000)
    assert np.allclose(np.sqrt(np.mean(a**2, axis=1)), rms, rtol=0.03)
    assert np.array_equal(a, array.self_noise(16000, rms, seed))
    assert not np.array_equal(a, array.self_noise(16000, rms, seed + 1))
    corr = np.corrcoef(a)
    assert np.abs(corr - np.eye(32)).max() < 0.05  # independent capsules


def test_scene_self_noise_is_encoded_capsule_noise_at_its_level() -> None:
    """Raw A -> B of cardioids: W = sum of the capsules / (4 alpha) = mean of 4 independent
    noises x 2, so W's self-noise RMS equals the capsule RMS; only the noise part changes."""
    base = dict(order=1, mic="tetra", mic_equalise=False, speech_lead_in_s=0.2, rir_decay_db=20.0)
    off = simulate_scene(SceneConfig(**base), 4, CORPUS)  # type: ignore[arg-type]
    cfg = SceneConfig(self_noise_db=-20.0, **base)  # type: ignore[arg-type]
    on = simulate_scene(cfg, 4, CORPUS)
    assert np.array_equal(on.direct, off.direct) and np.array_equal(on.reverberant, off.reverberant)
    w_rms = float(np.sqrt(np.mean(off.mixture[0].astype(np.float64) ** 2)))
    assert math.isclose(on.params["self_noise_rms"], 0.1 * w_rms, rel_tol=1e-9)
    added = on.noise.astype(np.float64) - off.noise
    assert math.isclose(float(np.sqrt(np.mean(added[0] ** 2))), 0.1 * w_rms, rel_tol=0.03)
    again = simulate_scene(cfg, 4, CORPUS)
    assert np.array_equal(again.noise, on.noise)
    fs_cfg = SceneConfig(self_noise_db=-60.0, self_noise_ref="fs", **base)  # type: ignore[arg-type]
    assert simulate_scene(fs_cfg, 4, CORPUS).params["self_noise_rms"] == pytest.approx(1e-3)


# --------------------------------------------------------------------------------------------
# (6) scenes recorded by the arrays
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("mic", "order", "extra", "max_err_deg"), [
    ("tetra", 1, {"speech_lowpass_hz": (3000.0, 3000.0)}, 6.0),  # below its aliasing
    ("sphere32", 2, {}, 2.0),  # full band
])
def test_array_scene_is_deterministic_and_points_to_the_source(
    mic: str, order: int, extra: dict[str, object], max_err_deg: float
) -> None:
    cfg = SceneConfig(order=order, mic=mic, max_image_order=0, late_tail=False,  # type: ignore[arg-type]
                      snr_db=(40.0, 40.0), speech_lead_in_s=0.2, **extra)
    for seed in (1, 2, 3):
        s = simulate_scene(cfg, seed, CORPUS)
        assert s.mixture.shape == ((order + 1) ** 2, 16000) and s.mixture.dtype == np.float32
        az, el = intensity_vector_direction(s.mixture)
        assert float(angular_error_deg(az, el, s.azimuth_rad, s.elevation_rad)) < max_err_deg
        assert s.params["mic"] == mic and s.params["mic_n_capsules"] in (4, 32)
    again = simulate_scene(cfg, 3, CORPUS)
    assert all(np.array_equal(getattr(again, k), getattr(s, k))
               for k in ("mixture", "direct", "reverberant", "noise"))


@pytest.mark.parametrize(("mic", "order"), [("tetra", 1), ("sphere32", 2)])
def test_reverberant_array_scene_keeps_the_ideal_scenes_draws(mic: str, order: int) -> None:
    """Direction, room, RT60, SNR (on W) and speaker are the ideal scene's; the parts sum to
    the mixture; W's level is the target."""
    base = dict(order=order, speech_lead_in_s=0.2, rir_decay_db=30.0)
    ideal = simulate_scene(SceneConfig(**base), 8, CORPUS)  # type: ignore[arg-type]
    arr = simulate_scene(SceneConfig(mic=mic, **base), 8, CORPUS)  # type: ignore[arg-type]
    for key in ("label", "room_m", "source_m", "receiver_m", "rt60_s", "snr_db", "rir_seed"):
        assert arr.params[key] == ideal.params[key]
    parts = arr.direct.astype(np.float64) + arr.reverberant + arr.noise
    assert np.allclose(parts, arr.mixture, atol=1e-6)
    speech_w = arr.direct[0].astype(np.float64) + arr.reverberant[0]
    snr = 10 * np.log10(np.mean(speech_w**2) / np.mean(arr.noise[0].astype(np.float64) ** 2))
    assert snr == pytest.approx(arr.params["snr_db"], abs=0.01)
    assert np.sqrt(np.mean(arr.mixture[0].astype(np.float64) ** 2)) == pytest.approx(0.05, 1e-4)


def test_room_waves_are_the_room_simulators_images() -> None:
    """The array sees the ideal response's own image sources: same count, and the ideal
    response minus their SH rendering is exactly zero before the tail's cross-fade."""
    w = mics._room_waves(2, (6.0, 5.0, 3.0), (4.0, 3.5, 1.6), (2.0, 2.0, 1.5), 0.5, FS, 0.4,
                         None, True, 3)
    assert w.delays_samples.size == w.hoa.n_images and int(w.is_direct.sum()) == 1
    assert w.tail is not None
    t0 = int((w.hoa.mixing_time_s - 0.01) * FS)
    assert np.all(w.tail[:, :t0] == 0) and np.any(w.tail[:, t0:] != 0)


def test_diffuse_colouring_reproduces_the_arrays_diffuse_cross_spectra() -> None:
    """Tetra: the capsules' diffuse coherence against a direct average of the closed-form
    capsule responses over 4000 quasi-uniform plane waves, and the colouring FIRs'
    ``H H^T`` against ``S Gamma S^T``."""
    tetra = mics.make_array("tetra", 1)
    k = np.arange(4000) + 0.5
    z = 1 - 2 * k / 4000
    phi = np.pi * (1 + 5**0.5) * k
    u = np.stack([np.sqrt(1 - z**2) * np.cos(phi), np.sqrt(1 - z**2) * np.sin(phi), z], 1)
    for f_hz in (500.0, 3000.0, 7000.0):
        kr = 2 * np.pi * f_hz * tetra.radius_m / SPEED_OF_SOUND_M_S
        c = tetra.directions @ u.T
        p = (0.5 + 0.5 * c) * np.exp(1j * kr * c)
        gamma = (p @ p.conj().T).real / u.shape[0]
        assert np.abs(tetra.diffuse_coherence([f_hz])[0] - gamma).max() < 2e-3
        firs = tetra.diffuse_firs
        t = np.arange(firs.shape[-1]) - firs.shape[-1] // 2
        h = firs @ np.exp(-2j * np.pi * f_hz * t / FS)
        s = tetra.spatial_encoder
        assert np.abs(h @ h.conj().T - s @ gamma @ s.T).max() < 2e-3


# --------------------------------------------------------------------------------------------
# (7) mic="ideal" is bit-identical to the scenes before the option
# --------------------------------------------------------------------------------------------
def _digest(*arrays: np.ndarray, extra: object = None) -> str:
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str(a.dtype).encode())
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    if extra is not None:
        h.update(json.dumps(extra, sort_keys=True).encode())
    return h.hexdigest()[:16]


#: recorded with the code before the microphone option (commit 0d69e1e; numpy 2.4,
#: scipy 1.17, x86-64): parts, label, direction and params of the scene.
RECORDED = [
    (dict(order=1, speech_lead_in_s=0.25), 5, "0516aa30dad1b3cf"),
    (dict(order=4, speech_lead_in_s=0.25, n_point_noise=(1, 2)), 9, "7df803061f49fd32"),
]


@pytest.mark.parametrize(("kw", "seed", "digest"), RECORDED)
def test_ideal_mic_scenes_are_bit_identical_to_before(
    kw: dict[str, object], seed: int, digest: str
) -> None:
    default = simulate_scene(SceneConfig(**kw), seed, CORPUS)  # type: ignore[arg-type]
    ideal = simulate_scene(SceneConfig(mic="ideal", **kw), seed, CORPUS)  # type: ignore[arg-type]
    for s in (default, ideal):
        extra = [s.label, s.azimuth_rad, s.elevation_rad, s.params]
        assert _digest(s.mixture, s.direct, s.reverberant, s.noise, extra=extra) == digest
    assert hashlib.sha256(SceneConfig().to_json().encode()).hexdigest()[:16] == "bc2d452fd151b38d"
    assert "mic" not in SceneConfig(mic="ideal").to_dict()


# --------------------------------------------------------------------------------------------
# configuration
# --------------------------------------------------------------------------------------------
def test_mic_config_json_roundtrip() -> None:
    cfg = SceneConfig(order=1, mic="tetra", mic_radius_m=0.02, mic_directivity=0.4,
                      mic_equalise=False, mic_max_gain_db=12, self_noise_db=-70,
                      self_noise_ref="fs")
    d = json.loads(json.dumps(cfg.to_dict()))
    assert d["mic"] == "tetra" and d["mic_radius_m"] == 0.02 and d["self_noise_ref"] == "fs"
    back = SceneConfig.from_dict(d)
    assert back == cfg and back.mic_array() is cfg.mic_array()
    sphere = SceneConfig.from_dict({"order": 4, "mic": "sphere32"})
    assert sphere.mic_array().n_capsules == 32 and sphere.mic_array().radius_m == 0.042


@pytest.mark.parametrize(("kw", "fix"), [
    ({"mic": "em64"}, "use one of ideal, tetra, sphere32"),
    ({"mic": "tetra", "order": 2}, "pass order <= 1 or mic='sphere32'"),
    ({"mic": "sphere32", "order": 5}, "pass order <= 4"),
    ({"mic": "tetra", "order": 1, "mic_radius_m": 2.0}, "radius in metres"),
    ({"mic": "tetra", "order": 1, "mic_radius_m": "big"}, "not a number"),
    ({"mic": "tetra", "order": 1, "mic_directivity": 1.0}, "pass e.g. 0.5"),
    ({"mic": "sphere32", "mic_directivity": 0.3}, "mic='tetra' only"),
    ({"mic": "sphere32", "mic_equalise": False}, "mic='tetra' only"),
    ({"mic": "tetra", "order": 1, "mic_equalise": "yes"}, "true or false"),
    ({"mic": "sphere32", "mic_max_gain_db": 0}, "pass e.g. 20"),
    ({"mic": "sphere32", "mic_max_gain_db": True}, "not a number"),
    ({"self_noise_db": -60.0}, "set mic to 'tetra' or 'sphere32'"),
    ({"mic_radius_m": 0.02}, "set mic to 'tetra' or 'sphere32'"),
    ({"mic": "sphere32", "self_noise_db": math.nan}, "level in dB"),
    ({"mic": "sphere32", "self_noise_ref": "dbfs"}, "use one of signal, fs"),
])
def test_mic_config_validation_names_the_fix(kw: dict[str, object], fix: str) -> None:
    with pytest.raises(AudioLRPError) as err:
        SceneConfig(**kw)  # type: ignore[arg-type]
    msg = str(err.value)
    assert "\n" not in msg and fix in msg and "SceneConfig." in msg


def test_make_array_validation() -> None:
    with pytest.raises(AudioLRPError, match="'tetra' or 'sphere32'"):
        mics.make_array("ideal", 1)
    with pytest.raises(AudioLRPError, match="orders 0..1"):
        mics.make_array("tetra", 2)
    with pytest.raises(AudioLRPError, match=r"\(0, 1\)"):
        mics.make_array("tetra", 1, directivity=0.0)
    with pytest.raises(AudioLRPError, match="needs \\(4, n_samples\\)"):
        mics.make_array("tetra", 1).encode(np.zeros((32, 10)))
    assert mics.make_array("tetra", 1) is mics.make_array("tetra", 1)


# --------------------------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------------------------
def test_cli_simulate_and_evaluate_take_mic(tmp_path: object) -> None:
    from pathlib import Path

    from typer.testing import CliRunner

    from audiolrp.cli import app
    from audiolrp.data.datasets import SPEC_NAME, FeatureDataset

    out = Path(str(tmp_path)) / "ds"
    args = ["simulate", str(out), "--n-train", "1", "--n-val", "0", "--n-test", "0",
            "--corpus", "noise", "--no-progress"]
    r = CliRunner().invoke(app, [*args, "--order", "1", "--mic", "tetra"])
    assert r.exit_code == 0, r.output
    assert json.loads((out / SPEC_NAME).read_text())["config"]["mic"] == "tetra"
    meta = FeatureDataset(out, "train", feature="intensity").meta(0)
    assert meta["mic"] == "tetra" and meta["mic_n_capsules"] == 4
    for extra, fix in [(["--order", "2", "--mic", "tetra"], "pass --order 1 or lower"),
                       (["--mic", "em64"], "use ideal, tetra, sphere32")]:
        r = CliRunner().invoke(app, [*args[:1], str(out) + "-bad", *args[2:], *extra])
        assert r.exit_code == 2 and fix in r.output and r.output.count("\n") == 1
    r = CliRunner().invoke(app, ["evaluate", "--model", "intensity", "--mic", "em64"])
    assert r.exit_code == 2 and "--mic 'em64' is unknown" in r.output
