"""Relevance in space (audiolrp.analysis.directions, audiolrp.plots.sphere): physics of the
per-bin active-intensity direction, image-source geometry, histogram conservation and binning
against explicit loops, region shares, set summaries."""

from __future__ import annotations

import math

import numpy as np
import pytest
from matplotlib.figure import Figure

from audiolrp.analysis import directions as D
from audiolrp.errors import AudioLRPError
from audiolrp.signal.ambisonics import (
    angular_error_deg,
    doa_grid,
    encode_plane_wave,
    unit_vector,
    vector_angle_deg,
)
from audiolrp.signal.features import compute_features

#: (azimuth, elevation) in degrees: front, left, back-left-up, low right, near the zenith.
PLANE_WAVES_DEG = [(0.0, 0.0), (90.0, 0.0), (-135.0, 30.0), (40.0, -60.0), (10.0, 85.0)]


def _noise(n: int = 16000, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(n)


@pytest.mark.parametrize(("az_deg", "el_deg"), PLANE_WAVES_DEG)
def test_plane_wave_gives_its_direction_in_every_bin(az_deg: float, el_deg: float) -> None:
    az, el = math.radians(az_deg), math.radians(el_deg)
    b = encode_plane_wave(_noise(), az, el, order=2)  # SN3D, float64
    inten = D.active_intensity(b)
    assert inten.shape == (3, 50, 512)
    dirs = D.bin_directions(inten)
    ok = np.all(np.isfinite(dirs), axis=-1)
    assert ok.mean() > 0.99  # white noise: every bin carries energy
    err = vector_angle_deg(dirs[ok], unit_vector(az, el))
    assert err.max() < 1e-6  # points TO the source (SN3D sign convention), in every bin
    # magnitude: |I_a| = |W|^2 for a plane wave (SN3D first-order gains are the unit vector)
    np.testing.assert_allclose(np.linalg.norm(inten, axis=0), D.w_energy(b), rtol=1e-9)
    # the model inputs give the same directions (HOA: magnitude/phase of ACN 0..3; intensity:
    # the normalised active intensity channels)
    for feature, order in (("hoa", 2), ("hoa", 1), ("intensity", 1)):
        x = compute_features(b, feature, order)  # float64 features of float64 audio
        d_f = D.bin_directions(D.active_intensity_from_features(x, feature, order))
        assert vector_angle_deg(d_f[ok], unit_vector(az, el)).max() < 1e-6


def test_feature_directions_match_raw_stft_for_a_mixture() -> None:
    # two plane waves and noise: directions vary per bin; float32 features agree with the
    # float64 raw STFT
    rng = np.random.default_rng(3)
    b = (encode_plane_wave(_noise(seed=1), 0.3, 0.2, order=2)
         + 0.7 * encode_plane_wave(_noise(seed=2), -2.0, -0.4, order=2)
         + 0.05 * rng.standard_normal((9, 16000))).astype(np.float32)
    raw = D.bin_directions(D.active_intensity(b))
    strong = np.linalg.norm(D.active_intensity(b), axis=0) > 1e-3 * D.w_energy(b).max()
    for feature, order in (("hoa", 2), ("intensity", 1)):
        x = compute_features(b, feature, order)
        assert x.dtype == np.float32
        d_f = D.bin_directions(D.active_intensity_from_features(x, feature, order))
        assert np.nanmax(vector_angle_deg(d_f[strong], raw[strong])) < 0.5
    assert np.nanmax(vector_angle_deg(raw, unit_vector(0.3, 0.2))) > 90  # directions do vary


def test_silent_bins_have_no_direction() -> None:
    b = np.zeros((4, 16000))
    b[:, 4000:8000] = encode_plane_wave(_noise(4000), 1.0, 0.0, order=1)
    dirs = D.bin_directions(D.active_intensity(b))
    assert np.isnan(dirs[40:]).all() and np.isfinite(dirs[15:20]).all()


def _explicit_images(room, src, rec):
    out = []
    for wall in range(6):
        axis, far = divmod(wall, 2)
        plane = room[axis] if far else 0.0
        p = [float(v) for v in src]
        p[axis] = 2.0 * plane - p[axis]  # mirror in the plane x_axis = plane
        d = [p[i] - rec[i] for i in range(3)]
        n = math.sqrt(sum(c * c for c in d))
        out.append([c / n for c in d])
    return np.array(out)


def test_image_source_directions_vs_explicit_float64_and_room_simulator() -> None:
    from audiolrp.simulation.rooms import image_sources

    rng = np.random.default_rng(5)
    for _ in range(5):
        room = rng.uniform([3, 3, 2.5], [10, 8, 4])
        src, rec = rng.uniform(0.3, room - 0.3), rng.uniform(0.5, room - 0.5)
        got = D.image_source_directions(room, src, rec)
        np.testing.assert_allclose(got, _explicit_images(room, src, rec), atol=1e-14)
        # the room simulator's image-order-1 images are the same six points
        im = image_sources(room, src, rec, 0.3, max_distance_m=100.0, max_image_order=1)
        first = im["offset_m"][im["image_order"] == 1]
        first = first / np.linalg.norm(first, axis=1, keepdims=True)
        assert first.shape == (6, 3)
        assert np.abs(first[:, None, :] - got[None]).sum(-1).min(axis=1).max() < 1e-12
    # the floor image of a source level with the receiver is below the horizon
    d = D.image_source_directions([5, 4, 3], [3, 2, 1.5], [1, 2, 1.5])
    assert d[4, 2] < 0 < d[5, 2] and abs(d[0, 0] + 1) < 1e-12


def test_direction_grid() -> None:
    np.testing.assert_array_equal(D.direction_grid(10.0), doa_grid())
    g5 = D.direction_grid(5.0)
    assert g5.shape[0] > 4 * 425 * 0.9
    for g in (doa_grid(), g5):  # every grid direction is its own nearest neighbour
        np.testing.assert_array_equal(
            D.nearest_direction(unit_vector(g[:, 0], g[:, 1]), g), np.arange(len(g)))
    with pytest.raises(AudioLRPError):
        D.direction_grid(0.0)


@pytest.mark.parametrize("spacing_deg", [10.0, 7.5])
def test_nearest_direction_vs_explicit_loop(spacing_deg: float) -> None:
    rng = np.random.default_rng(1)
    v = rng.standard_normal((300, 3))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    grid = D.direction_grid(spacing_deg)
    az, el = np.arctan2(v[:, 1], v[:, 0]), np.arcsin(v[:, 2])
    expected = [int(np.argmin(angular_error_deg(az[i], el[i], grid[:, 0], grid[:, 1])))
                for i in range(len(v))]
    np.testing.assert_array_equal(D.nearest_direction(v, grid), expected)


def test_histogram_conserves_mass_and_matches_loop() -> None:
    rng = np.random.default_rng(2)
    v = rng.standard_normal((50, 40, 3))
    v /= np.linalg.norm(v, axis=-1, keepdims=True)
    v[3, :5] = np.nan  # bins without a direction
    r = rng.standard_normal((50, 40))
    pos = np.maximum(r, 0)
    hist, undirected = D.direction_histogram(v, pos)
    assert hist.shape == (425,) and np.all(hist >= 0)
    assert math.isclose(hist.sum() + undirected, pos.sum(), rel_tol=1e-12)
    assert math.isclose(undirected, pos[3, :5].sum(), rel_tol=1e-12, abs_tol=1e-15)
    grid = doa_grid()
    loop = np.zeros(425)
    for i in range(50):
        for j in range(40):
            if np.isnan(v[i, j, 0]):
                continue
            az, el = math.atan2(v[i, j, 1], v[i, j, 0]), math.asin(v[i, j, 2])
            loop[int(np.argmin(angular_error_deg(az, el, grid[:, 0], grid[:, 1])))] += pos[i, j]
    np.testing.assert_allclose(hist, loop, rtol=1e-12, atol=1e-12)


def test_regions_vs_explicit_loop_and_shares_sum_to_one() -> None:
    rng = np.random.default_rng(4)
    v = rng.standard_normal((2000, 3))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    v[:10] = np.nan
    src = unit_vector(0.4, 0.1)
    images = D.image_source_directions([6, 5, 3], [4, 3.5, 1.6], [2, 2, 1.5])
    images[0] = unit_vector(0.5, 0.1)  # an image 5.7 deg from the source: source wins
    regions = D.region_of_bins(v, src, images, 15.0)
    for i in range(len(v)):
        if np.isnan(v[i, 0]):
            assert regions[i] == 2
            continue
        if vector_angle_deg(v[i], src) <= 15.0:
            want = 0
        elif min(vector_angle_deg(v[i], im) for im in images) <= 15.0:
            want = 1
        else:
            want = 2
        assert regions[i] == want
    w = rng.uniform(size=len(v))
    s = D.region_shares(w, regions)
    assert math.isclose(s.sum(), 1.0, rel_tol=1e-12)
    assert math.isclose(s[0], w[regions == 0].sum() / w.sum(), rel_tol=1e-12)
    assert np.isnan(D.region_shares(np.zeros(5), np.zeros(5))).all()
    # uniform directions: the source share of uniform weights approaches the cap fraction
    u = rng.standard_normal((200_000, 3))
    frac = (D.region_of_bins(u / np.linalg.norm(u, axis=1, keepdims=True), src) == 0).mean()
    assert abs(frac - D.cap_fraction(15.0)) < 0.002
    assert math.isclose(D.cap_fraction(15.0), 0.0170371, rel_tol=1e-5)


def _synthetic_stft(rng: np.random.Generator, dirs: np.ndarray) -> np.ndarray:
    """First-order STFT (4, T, F) whose every bin is a plane wave from ``dirs[t, f]``."""
    w = rng.standard_normal(dirs.shape[:-1]) + 1j * rng.standard_normal(dirs.shape[:-1])
    spec = np.empty((4, *dirs.shape[:-1]), dtype=np.complex128)
    spec[0], spec[1], spec[2], spec[3] = w, w * dirs[..., 1], w * dirs[..., 2], w * dirs[..., 0]
    return spec


def test_analyse_directions_shares_histograms_and_conservation() -> None:
    rng = np.random.default_rng(7)
    room, src_m, rec_m = [6.0, 5.0, 3.0], [4.0, 3.5, 1.6], [2.0, 2.0, 1.5]
    src = np.asarray(src_m) - rec_m
    src /= np.linalg.norm(src)
    images = D.image_source_directions(room, src_m, rec_m)
    other = unit_vector(-2.5, -1.2)  # far from the source and every image
    assert min(vector_angle_deg(other, x) for x in [src, *images]) > 30
    dirs = np.empty((50, 512, 3))
    dirs[:, :100], dirs[:, 100:150], dirs[:, 150:] = src, images[2], other
    spec = _synthetic_stft(rng, dirs)
    rel = rng.standard_normal((6, 50, 512))
    a = D.analyse_directions(rel, spec, room_m=room, source_m=src_m, receiver_m=rec_m,
                             predicted_rad=doa_grid()[17])
    r_bin = rel.sum(0)
    pos, neg = np.maximum(r_bin, 0), np.maximum(-r_bin, 0)
    np.testing.assert_allclose(
        a.shares["relevance_positive"],
        [pos[:, :100].sum(), pos[:, 100:150].sum(), pos[:, 150:].sum()] / pos.sum(), rtol=1e-12)
    np.testing.assert_allclose(
        a.shares["relevance_negative"],
        [neg[:, :100].sum(), neg[:, 100:150].sum(), neg[:, 150:].sum()] / neg.sum(), rtol=1e-12)
    np.testing.assert_allclose(a.shares["bins"], [100 / 512, 50 / 512, 362 / 512], rtol=1e-12)
    for name, h in a.histograms.items():  # conservation, every weight
        assert math.isclose(h.sum() + a.undirected[name], a.totals[name], rel_tol=1e-12)
        assert math.isclose(sum(a.shares[name]), 1.0, rel_tol=1e-12)
    assert math.isclose(a.totals["relevance_positive"], pos.sum(), rel_tol=1e-12)
    src_class = int(D.nearest_direction(src))
    assert math.isclose(a.histograms["relevance_positive"][src_class], pos[:, :100].sum(),
                        rel_tol=1e-12)
    np.testing.assert_allclose(unit_vector(*a.source_rad), src, atol=1e-12)
    assert a.images_rad.shape == (6, 2)
    assert math.isclose(a.profiles["bins"].sum(), 1.0, rel_tol=1e-12)
    assert a.profiles["bins"][0] == pytest.approx(100 / 512)  # the source bins are at 0 deg
    d = a.to_dict(histograms=True)
    assert set(d["shares"]["energy"]) == set(D.REGIONS) and len(d["histograms"]["energy"]) == 425
    # without geometry: maps only; a finer grid conserves too
    b = D.analyse_directions(rel, spec, grid_rad=D.direction_grid(5.0))
    assert b.shares is None and b.histograms["energy"].shape == (len(D.direction_grid(5.0)),)
    assert math.isclose(b.histograms["energy"].sum(), a.totals["energy"], rel_tol=1e-12)


def test_bootstrap_and_summary() -> None:
    rng = np.random.default_rng(0)
    v = rng.normal(0.3, 0.1, size=40)
    c1, c2 = D.bootstrap_mean_ci(v, seed=3), D.bootstrap_mean_ci(v, seed=3)
    assert c1 == c2 and c1["ci_low"] < c1["mean"] < c1["ci_high"]
    assert c1["mean"] == pytest.approx(v.mean())
    assert math.isnan(D.bootstrap_mean_ci([1.0])["ci_low"])
    # a set of synthetic examples
    analyses, snr, rt60 = [], [], []
    for i in range(9):
        dirs = np.empty((50, 512, 3))
        dirs[:, : 20 + 10 * i], dirs[:, 20 + 10 * i:] = unit_vector(0, 0), unit_vector(2, -1)
        spec = _synthetic_stft(rng, dirs)
        analyses.append(D.analyse_directions(rng.standard_normal((4, 50, 512)), spec,
                                             source_rad=[0, 0]))
        snr.append(float(i))
        rt60.append(0.2 + 0.05 * i)
    s = D.summarize_directions(analyses, snr, rt60, n_boot=200)
    sh = np.array([a.shares["relevance_positive"][0] for a in analyses])
    en = np.array([a.shares["energy"][0] for a in analyses])
    assert s["shares"]["relevance_positive"]["source"]["mean"] == pytest.approx(sh.mean())
    assert s["difference"]["source"]["mean"] == pytest.approx((sh - en).mean())
    assert s["ratio"]["source"]["mean"] == pytest.approx(sh.mean() / en.mean())
    assert sum(g["n"] for g in s["by_snr_db"]) == 9 and len(s["by_rt60_s"]) == 3
    assert s["mean_histograms"]["bins"].sum() == pytest.approx(1.0)
    for w in s["shares"]:
        total = sum(s["shares"][w][r]["mean"] for r in D.REGIONS)
        assert total == pytest.approx(1.0)
    assert D.format_ci(s["shares"]["bins"]["source"]).count("[") == 1
    # shares are fractions; shown to a reader in percent
    c = s["shares"]["bins"]["source"]
    assert D.percent_ci(c).startswith(f"{100 * c['mean']:.1f} % [{100 * c['ci_low']:.1f}, ")
    assert D.percent_ci({"mean": 0.0753, "ci_low": 0.05, "ci_high": 0.0912}) == (
        "7.5 % [5.0, 9.1]")
    assert D.percent_ci({"mean": 0.5}) == "50.0 %" and D.percent_ci(None) == "n/a"


def test_figures() -> None:
    from audiolrp.plots.sphere import (
        plot_angle_profile,
        plot_direction_analysis,
        plot_direction_map,
    )

    rng = np.random.default_rng(0)
    dirs = np.broadcast_to(unit_vector(0.5, 0.2), (50, 512, 3))
    a = D.analyse_directions(rng.standard_normal((6, 50, 512)), _synthetic_stft(rng, dirs),
                             room_m=[6, 5, 3], source_m=[4, 3.5, 1.6], receiver_m=[2, 2, 1.5],
                             predicted_rad=[0.4, 0.1])
    fig = plot_direction_analysis(a)
    assert isinstance(fig, Figure)
    maps = [ax for ax in fig.axes if ax.name == "hammer"]
    assert len(maps) == 2
    # markers: 6 image sources, the source and the prediction on each map
    assert sorted(len(c.get_offsets()) for c in maps[0].collections[1:]) == [1, 1, 6]
    fig = plot_direction_map({"p": a.histograms["bins"]}, a.grid_rad)
    assert len([ax for ax in fig.axes if ax.name == "hammer"]) == 1
    fig = plot_angle_profile(a.profile_edges_deg, a.profiles, radius_deg=15)
    assert len(fig.axes[0].lines) >= len(a.profiles)


def test_report_sections_render() -> None:
    from audiolrp.report.directions import directions_section, directions_summary_section
    from audiolrp.report.html import Image, Table, render_html

    rng = np.random.default_rng(0)
    dirs = np.broadcast_to(unit_vector(0.5, 0.2), (50, 512, 3))
    spec = _synthetic_stft(rng, dirs)
    rel = rng.standard_normal((6, 50, 512))
    a = D.analyse_directions(rel, spec, room_m=[6, 5, 3], source_m=[4, 3.5, 1.6],
                             receiver_m=[2, 2, 1.5], predicted_rad=[0.4, 0.1])
    sec = directions_section(a)
    kinds = [type(b) for b in sec.blocks]
    assert Image in kinds and Table in kinds and sec.anchor == "directions"
    table = next(b for b in sec.blocks if isinstance(b, Table))
    assert table.rows[0][1] == f"{100 * a.shares['relevance_positive'][0]:.1f} %"
    no_src = directions_section(D.analyse_directions(rel, spec, predicted_rad=[0.4, 0.1]))
    assert Table not in [type(b) for b in no_src.blocks]
    summ = directions_summary_section(D.summarize_directions([a, a], n_boot=20))
    page = render_html("t", [sec, no_src, summ])
    assert page.count("<img") == 3 and "Where the network listened" in page
