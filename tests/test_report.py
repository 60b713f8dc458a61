"""Self-contained HTML report (audiolrp.report)."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import pytest
import soundfile as sf

from audiolrp.plots import channel_relevance_figure, doa_map_figure, timeline_figure
from audiolrp.report import (
    Audio,
    Image,
    JsonBlock,
    Section,
    Table,
    Text,
    figure_png,
    render_html,
    wav_bytes,
    write_report,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _grid() -> np.ndarray:
    from audiolrp.signal.ambisonics import doa_grid

    return np.asarray(doa_grid())


def _data_uris(html: str, mime: str) -> list[bytes]:
    pattern = rf'src="data:{re.escape(mime)};base64,([A-Za-z0-9+/=]+)"'
    return [base64.b64decode(m) for m in re.findall(pattern, html)]


@pytest.fixture(scope="module")
def small_png() -> bytes:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 1))
    ax.plot([0, 1], [0, 1])
    return figure_png(fig, dpi=40)


def test_wav_bytes_roundtrip_and_normalisation() -> None:
    t = np.arange(1600) / 16000
    x = 0.01 * np.sin(2 * np.pi * 300 * t)
    data, fs = sf.read(io.BytesIO(wav_bytes(x)))
    assert fs == 16000 and data.shape == (1600,)
    # peak normalised to -1 dBFS (16-bit quantisation: 1 LSB tolerance)
    assert abs(np.max(np.abs(data)) - 10 ** (-1 / 20)) < 2 / 32768
    np.testing.assert_allclose(data / np.max(np.abs(data)), x / np.max(np.abs(x)), atol=1e-3)
    raw, _ = sf.read(io.BytesIO(wav_bytes(np.full(10, 3.0), normalize=False)))
    assert np.all(raw <= 1.0)
    silent, _ = sf.read(io.BytesIO(wav_bytes(np.zeros(10))))
    assert np.all(silent == 0)


def test_render_escapes_all_text(small_png: bytes) -> None:
    evil = '<script>alert("x")</script> & "quotes"'
    html = render_html(
        evil,
        [
            Section(evil, [
                Table([(evil, evil)], header=(evil, "v"), caption=evil),
                Text(evil),
                Image(small_png, caption=evil, alt=evil),
                JsonBlock({"k": evil}, summary=evil),
            ], anchor='a"b'),
        ],
        subtitle=evil,
        footer=evil,
    )
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert 'id="a&quot;b"' in html


def test_report_is_self_contained(tmp_path, small_png: bytes) -> None:
    wav = wav_bytes(np.sin(np.arange(8000) / 5.0))
    path = write_report(
        tmp_path / "out" / "report.html",
        "Test report",
        [
            Section("Figures", [Image(small_png, "a figure")]),
            Section("Audio", [Audio(wav, "a sound")]),
            Section("JSON", [JsonBlock({"x": np.float32(1.5), "a": np.arange(3)})]),
        ],
    )
    html = path.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    # nothing fetched from elsewhere: every src/href is a data URI or an in-page anchor
    for attr in re.findall(r'(?:src|href)="([^"]*)"', html):
        assert attr.startswith(("data:", "#")), attr
    assert "<link" not in html and "@import" not in html and "url(" not in html
    pngs = _data_uris(html, "image/png")
    assert pngs == [small_png] and pngs[0].startswith(PNG_MAGIC)
    wavs = _data_uris(html, "audio/wav")
    assert len(wavs) == 1
    data, fs = sf.read(io.BytesIO(wavs[0]))
    assert fs == 16000 and data.shape == (8000,)
    assert "1.5" in html and "[\n" in html  # NumPy values serialised in the JSON block
    # atomic write: no temporary files left behind
    assert sorted(p.name for p in path.parent.iterdir()) == ["report.html"]


def test_write_report_replaces_existing(tmp_path) -> None:
    p = tmp_path / "report.html"
    p.write_text("old")
    write_report(p, "new", [Section("s", [Text("hello")])])
    assert "hello" in p.read_text() and "old" not in p.read_text()


def test_doa_map_figure_marks_and_colours() -> None:
    grid = _grid()
    p = np.full(len(grid), 1e-4)
    p[17] = 1.0
    p /= p.sum()
    fig = doa_map_figure(p, grid, true_rad=(0.5, 0.2), predicted_rad=tuple(grid[17]))
    ax = fig.axes[0]
    # the probability scatter carries the probabilities as colour values
    colour_arrays = [c.get_array() for c in ax.collections if c.get_array() is not None]
    assert any(np.isclose(np.max(a), p.max()) for a in colour_arrays)
    offsets = np.vstack([c.get_offsets() for c in ax.collections])
    # the predicted marker is drawn at the class direction (degrees, wrapped)
    az_deg = (np.degrees(grid[17, 0]) + 180) % 360 - 180
    assert np.any(np.all(np.isclose(offsets, [az_deg, np.degrees(grid[17, 1])]), axis=1))
    assert np.any(np.all(np.isclose(offsets, [np.degrees(0.5), np.degrees(0.2)]), axis=1))
    png = figure_png(fig, dpi=40)
    assert png.startswith(PNG_MAGIC)


def test_doa_map_rejects_mismatched_grid() -> None:
    with pytest.raises(ValueError, match="grid"):
        doa_map_figure(np.ones(10) / 10, np.zeros((9, 2)))


def test_timeline_and_channel_figures() -> None:
    t = np.arange(5) * 0.5 + 0.5
    fig = timeline_figure(t, np.linspace(-3, 3, 5), np.zeros(5), np.linspace(0.1, 0.9, 5), [2])
    assert len(fig.axes) >= 3
    assert figure_png(fig, dpi=40).startswith(PNG_MAGIC)
    fig = channel_relevance_figure(np.array([1.0, -0.5, 0.2]), ["a", "b", "c"])
    heights = [r.get_height() for r in fig.axes[0].patches]
    np.testing.assert_allclose(heights, [1.0, -0.5, 0.2])
    assert figure_png(fig, dpi=40).startswith(PNG_MAGIC)


# ------------------------------------------------------------ what a new user hit (issue 22)
def test_every_azimuth_axis_runs_from_minus_180_on_the_left() -> None:
    """The DOA map and the windows' map draw azimuth as the sphere maps do: -180 deg on the
    left, 180 deg on the right (they ran 180 -> -180)."""
    from audiolrp.plots.doa import directions_map_figure

    grid = _grid()
    fig = doa_map_figure(np.full(len(grid), 1 / len(grid)), grid)
    lo, hi = fig.axes[0].get_xlim()
    assert lo < -180 < 180 < hi
    fig = directions_map_figure(np.zeros(3), np.zeros(3), np.arange(3.0), np.ones(3))
    lo, hi = fig.axes[0].get_xlim()
    assert lo < -180 < 180 < hi


def test_timeline_draws_seam_points_and_the_last_bar_whole() -> None:
    """Points at azimuth -180 deg or elevation 90 deg lie inside the axes, not on the border;
    the last confidence bar lies inside the x range, and the legend sits above the bars."""
    t = np.arange(9) * 0.5 + 0.5
    az = np.radians([-180, -180, 170, 180, -90, 0, 90, -180, -179])
    el = np.radians([0, 10, -20, 30, 40, -80, 90, 0, 5])
    c = np.array([0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.05, 0.02, 0.4])
    fig = timeline_figure(t, az, el, c, [8])
    ax_az, ax_el, ax_c = fig.axes[:3]
    lo, hi = ax_az.get_ylim()
    assert lo < -190 and hi > 190
    lo, hi = ax_el.get_ylim()
    assert lo < -95 and hi > 95
    x0, x1 = ax_c.get_xlim()
    for bar in ax_c.patches:
        assert x0 < bar.get_x() and bar.get_x() + bar.get_width() < x1
        assert bar.get_height() < ax_c.get_ylim()[1]
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    legend = ax_c.get_legend().get_window_extent(canvas.get_renderer())
    assert legend.y0 >= ax_c.get_window_extent(canvas.get_renderer()).y1 - 1


def test_demo_scene_table_names_parameters_in_words_with_units() -> None:
    """The scene table shows words and units, not ``room_m``, ``drr_db``, ``rir_seed`` or
    ``speech_pool_offset_s``; a gain says it is a linear factor."""
    from audiolrp.report.pages import scene_row

    assert scene_row("room_m", [4.89, 3.2, 2.52]) == (
        "room size (length, width, height)", "(4.89, 3.2, 2.52) m")
    assert scene_row("drr_db", -7.348) == ("direct-to-reverberant ratio", "-7.348 dB")
    assert scene_row("rir_seed", 1367864806)[0] == "room impulse response seed"
    assert scene_row("speech_pool_offset_s", 105.5) == ("start in the speaker's speech",
                                                         "105.5 s")
    assert "linear" in scene_row("gain", 0.27)[0]
    # a parameter without words of its own: spaces for underscores, the unit from its suffix
    assert scene_row("speech_tilt_db_per_octave", -3.0) == ("speech tilt", "-3 dB per octave")
    assert scene_row("point_noise_sources", 2) == ("point noise sources", "2")


def _stub_clip(filtered: bool) -> object:
    from types import SimpleNamespace

    p = np.full(425, 1 / 425)
    return SimpleNamespace(
        probabilities=p, predicted_class=3, azimuth_rad=0.1, elevation_rad=0.0,
        class_azimuth_rad=0.1, class_elevation_rad=0.0, confidence=0.1, level_dbfs=-20.0,
        silent=False, filtered_audio=np.zeros((4, 16000)) if filtered else None,
        channel_relevance=np.ones(6), pixel_flipping=None,
    )


def test_recording_blocks_promise_no_true_direction_and_no_direct_sound_panel(
    small_png: bytes,
) -> None:
    """A recording has no true direction and no direct sound: its DOA caption mentions no
    star, its heatmap text no panel (c); a simulated scene's text names both."""
    from audiolrp.report.blocks import ClipFigures, clip_blocks
    from audiolrp.signal.layout import InputLayout

    layout = InputLayout.of("intensity")
    figs = ClipFigures(small_png, small_png, small_png, None)
    audio = np.zeros((4, 16000))

    def text(blocks: dict) -> str:
        return " ".join(getattr(b, "text", "") + " " + getattr(b, "caption", "")
                        for group in blocks.values() for b in group)

    recording = text(clip_blocks(layout, _stub_clip(True), figs, audio))  # type: ignore[arg-type]
    assert "Star" not in recording and "true direction" not in recording
    assert "Panels (c) and (d)" not in recording and "no panel (c)" in recording
    scene = text(clip_blocks(layout, _stub_clip(True), figs, audio, audio,  # type: ignore[arg-type]
                             has_truth=True))
    assert "Star: true direction" in scene and "Panels (c) and (d)" in scene


def test_summary_shares_are_percent_like_the_clip_table() -> None:
    """Direction shares are percentages on every page (the set summary showed fractions)."""
    from audiolrp.report.directions import percent_ci

    assert percent_ci({"mean": 0.0753, "ci_low": 0.05, "ci_high": 0.0912}) == "7.5 % [5.0, 9.1]"
    assert percent_ci({"mean": 0.5}) == "50.0 %"
    assert percent_ci(None) == "n/a"
