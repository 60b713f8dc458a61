"""Channel relevance (Fig. 3) and heatmap panels (Fig. 2)."""

from __future__ import annotations

import numpy as np
import pytest

from audiolrp.analysis.channel_relevance import (
    axis_direction_classes,
    axis_groups,
    channel_relevance,
    channel_relevance_stats,
    directions_to_xyz,
    relevance_direction_correlation,
    relevance_shares,
)
from audiolrp.analysis.heatmaps import (
    audio_channel_heatmaps,
    hoa_channel_relevance_map,
    spectrogram_dbp,
)
from audiolrp.errors import AudioLRPError
from audiolrp.plots import (
    fig2_panels,
    plot_channel_relevance,
    plot_direction_correlation,
    relevance_map_label,
    save_figure,
)
from audiolrp.signal.layout import InputLayout


def test_channel_relevance_modes_against_loops() -> None:
    r = np.random.default_rng(0).standard_normal((3, 4, 5, 6))
    signed, abs_sum, sum_abs = np.zeros((3, 4)), np.zeros((3, 4)), np.zeros((3, 4))
    for i in range(3):
        for c in range(4):
            tot = 0.0
            tot_abs = 0.0
            for t in range(5):
                for f in range(6):
                    tot += r[i, c, t, f]
                    tot_abs += abs(r[i, c, t, f])
            signed[i, c], abs_sum[i, c], sum_abs[i, c] = tot, abs(tot), tot_abs
    np.testing.assert_allclose(channel_relevance(r), abs_sum)
    np.testing.assert_allclose(channel_relevance(r, per_bin=True), sum_abs)
    np.testing.assert_allclose(channel_relevance(r, absolute=False), signed)
    np.testing.assert_allclose(channel_relevance(r[0]), abs_sum[0])
    shares = relevance_shares(channel_relevance(r))
    np.testing.assert_allclose(shares.sum(1), 1.0)
    np.testing.assert_allclose(relevance_shares(np.zeros((1, 3))), 0.0)
    with pytest.raises(AudioLRPError):
        channel_relevance(r[0, 0])


def test_stats_against_hand_values(tmp_path) -> None:
    v = np.array([[1.0, 10], [2, 20], [3, 30], [4, 40], [5, 50], [7, 0]])
    groups = ["+x"] * 5 + ["-y"]
    s = channel_relevance_stats(v, groups, channel_names=["a", "b"], group_order=["+x", "-y"])
    np.testing.assert_allclose(s.mean[0], [3, 30])
    np.testing.assert_allclose(s.median[0], [3, 30])
    np.testing.assert_allclose(s.p5[0], [1.2, 12])  # position 0.05 * 4 = 0.2
    np.testing.assert_allclose(s.p95[0], [4.8, 48])
    np.testing.assert_allclose(s.mean[1], [7, 0])
    assert list(s.count) == [5, 1]
    assert len(s.as_rows()) == 4
    with pytest.raises(AudioLRPError):
        channel_relevance_stats(v, groups, group_order=["+y"])
    v6 = np.random.default_rng(1).random((8, 6))
    s6 = channel_relevance_stats(v6, ["+x", "-x"] * 4)
    assert s6.channel_names == InputLayout("intensity").names and s6.groups == ("+x", "-x")
    fig = plot_channel_relevance(s6)
    out = save_figure(fig, tmp_path / "fig3.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["fig3.png"]


def test_axis_direction_classes_on_a_synthetic_grid() -> None:
    grid = np.array([
        [0.3, 0.2], [0.02, 0.01], [np.pi / 2 - 0.05, 0.0], [np.pi, 0.1],
        [-np.pi / 2, -0.03], [0.0, np.pi / 2], [3 * np.pi / 4, 0.0],
    ])
    classes = axis_direction_classes(grid)
    assert classes == {"+x": 1, "-x": 3, "+y": 2, "-y": 4}
    groups = axis_groups(np.array([1, 3, 5, 4]), classes)
    assert list(groups) == ["+x", "-x", "", "-y"]
    np.testing.assert_allclose(directions_to_xyz(np.array([[np.pi / 2, 0.0]])), [[0, 1, 0]],
                               atol=1e-15)


def test_axis_direction_classes_on_the_doa_grid() -> None:
    from audiolrp.signal import ambisonics as amb
    grid = np.asarray(amb.doa_grid())
    classes = axis_direction_classes()
    xyz = directions_to_xyz(grid)
    for name, vec in {"+x": [1, 0, 0], "-x": [-1, 0, 0], "+y": [0, 1, 0], "-y": [0, -1, 0]}.items():
        assert xyz[classes[name]] @ np.array(vec) >= np.max(xyz @ np.array(vec)) - 1e-12
    assert len(set(classes.values())) == 4


def test_direction_correlation(tmp_path) -> None:
    rng = np.random.default_rng(2)
    d = rng.standard_normal((200, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    shares = np.abs(d[:, [0, 1, 2, 0, 1, 2]]) + 0.05 * rng.standard_normal((200, 6))
    shares[:, 5] = rng.random(200)  # unrelated channel
    corr = relevance_direction_correlation(shares, d)
    ref = np.corrcoef(shares[:, 0], np.abs(d[:, 0]))[0, 1]
    assert corr.pearson_r[0] == pytest.approx(ref)
    assert np.all(corr.pearson_r[:5] > 0.9) and np.all(corr.spearman_rho[:5] > 0.9)
    assert abs(corr.pearson_r[5]) < 0.3
    skip = relevance_direction_correlation(shares[:, :4], d, channel_axes=[None, 1, 2, 0])
    assert np.isnan(skip.pearson_r[0]) and skip.pearson_r[3] > 0.9
    save_figure(plot_direction_correlation(corr), tmp_path / "corr.png")
    with pytest.raises(AudioLRPError):
        relevance_direction_correlation(shares, d[:10])


def test_hoa_maps_and_fig2(tmp_path) -> None:
    rng = np.random.default_rng(3)
    order = 2
    r = rng.standard_normal((18, 50, 512))
    np.testing.assert_array_equal(hoa_channel_relevance_map(r, 4, order), r[4] + r[13])
    maps = audio_channel_heatmaps(r, "hoa", order)
    assert maps.shape == (9, 50, 512)
    np.testing.assert_array_equal(maps[8], r[8] + r[17])
    assert len(InputLayout("hoa", order).names) == 18
    inten = audio_channel_heatmaps(r[:6], "intensity")
    np.testing.assert_allclose(inten[3], r[:6].sum(0))
    with pytest.raises(AudioLRPError):
        hoa_channel_relevance_map(r[:17], 0, order)
    with pytest.raises(AudioLRPError):
        hoa_channel_relevance_map(r, 9, order)
    with pytest.raises(AudioLRPError):
        audio_channel_heatmaps(r, "stereo")
    a = rng.standard_normal(16000)
    spec = spectrogram_dbp(a)
    assert spec.shape == (50, 512) and spec.max() == pytest.approx(0.0) and spec.min() >= -80
    fig = fig2_panels(a, r[0] + r[9], 0.5 * a, 0.2 * a)
    images = [ax for ax in fig.axes if ax.get_title()]
    assert len(images) == 4
    mesh = images[1].collections[0]
    assert mesh.norm.vmin == pytest.approx(-mesh.norm.vmax) and mesh.norm.vcenter == 0
    assert images[0].get_xlabel() == "time / s" and images[0].get_ylabel() == "frequency / Hz"
    save_figure(fig, tmp_path / "fig2.png")
    assert len(fig2_panels(a, r[0]).axes) == 4  # two panels + two colorbars
    assert "magnitude + phase" in images[1].get_title()
    label = relevance_map_label("intensity")
    titled = fig2_panels(a, r[0], relevance_label=label)
    assert "6 intensity channels" in [ax for ax in titled.axes if ax.get_title()][1].get_title()
    with pytest.raises(AudioLRPError, match="unknown"):
        relevance_map_label("stereo")


def test_fig2_relevance_limits_ignore_outliers_by_percentile() -> None:
    import matplotlib.pyplot as plt
    from matplotlib.colors import TwoSlopeNorm

    from audiolrp.plots import fig2_panels

    rng = np.random.default_rng(0)
    rel = rng.uniform(-1.0, 1.0, size=(50, 512))
    rel[3, 7] = 1000.0
    audio = rng.standard_normal(16000)
    def relevance_vmax(fig) -> float:
        (vmax,) = {c.norm.vmax for ax in fig.axes for c in ax.collections
                   if isinstance(c.norm, TwoSlopeNorm)}
        plt.close(fig)
        return float(vmax)

    vmax_default = relevance_vmax(fig2_panels(audio, rel))
    vmax_full = relevance_vmax(fig2_panels(audio, rel, relevance_percentile=None))
    assert vmax_full == 1000.0
    assert 0.9 < vmax_default < 1.0  # 99.5th percentile of |U(-1, 1)|
