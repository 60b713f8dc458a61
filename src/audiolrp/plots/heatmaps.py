"""The panels of the paper's Fig. 2: input spectrogram, relevance heatmap, direct sound and
relevance-filtered signal of one Ambisonics channel (arrays from
:mod:`audiolrp.analysis.heatmaps` and :mod:`audiolrp.analysis.auralization`).

Spectrograms are drawn in dB re their own peak (dBp, :func:`audiolrp.analysis.heatmaps.
spectrogram_dbp`); the relevance panel uses a diverging colormap centred at 0.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure

from audiolrp.analysis._arrays import as_numpy
from audiolrp.analysis.heatmaps import spectrogram_dbp
from audiolrp.errors import AudioLRPError
from audiolrp.signal.features import bin_frequencies_hz, frame_times_s
from audiolrp.signal.layout import FEATURE_KINDS, InputLayout


def relevance_map_label(feature: str) -> str:
    """What a heatmap of :func:`audiolrp.analysis.heatmaps.audio_channel_heatmaps` sums, for
    figure titles (:attr:`audiolrp.signal.layout.InputLayout.heatmap_label`)."""
    if feature not in FEATURE_KINDS:
        raise AudioLRPError(
            f"feature={feature!r} is unknown: pass one of {', '.join(FEATURE_KINDS)}"
        )
    return InputLayout(feature).heatmap_label


def _plot_tf(ax: Axes, fig: Figure, values: np.ndarray, label: str, **kw: Any) -> None:
    t_s = frame_times_s(values.shape[0])
    f_hz = bin_frequencies_hz()[: values.shape[1]]
    mesh = ax.pcolormesh(t_s, f_hz, values.T, shading="nearest", rasterized=True, **kw)
    ax.set_xlabel("time / s")
    ax.set_ylabel("frequency / Hz")
    fig.colorbar(mesh, ax=ax, label=label)


def fig2_panels(
    mixture_channel: np.ndarray,
    relevance_map: np.ndarray,
    direct_channel: np.ndarray | None = None,
    filtered_channel: np.ndarray | None = None,
    *,
    dynamic_range_db: float = 60.0,
    channel_label: str = "Ambisonics channel 0",
    relevance_label: str = "magnitude + phase",
    cmap_relevance: str = "RdBu_r",
    relevance_percentile: float | None = 99.5,
) -> Figure:
    """The four panels of Fig. 2 for one example and one Ambisonics channel.

    Parameters
    ----------
    mixture_channel
        Noisy, reverberant input signal of the channel, ``(16000,)``.
    relevance_map
        ``(50, 512)`` heatmap, e.g. :func:`hoa_channel_relevance_map`.
    direct_channel
        Noise-free direct sound of the same channel (panel c); omitted when ``None``.
    filtered_channel
        Relevance-filtered signal (Eq. 3; panel d); omitted when ``None``.
    dynamic_range_db
        Colour range of the dBp spectrograms.
    channel_label
        Text for the titles.
    relevance_label
        What the heatmap sums (panel b's title): :func:`relevance_map_label` of the feature.
    cmap_relevance
        Diverging colormap of the relevance panel, centred at 0 with symmetric limits.
    relevance_percentile
        The relevance panel's limits are +-(this percentile of |R|), so that a few outlier bins
        (common with LRP) do not wash out the rest; bins beyond it saturate. ``None`` uses
        +-max|R|.

    Returns
    -------
    matplotlib.figure.Figure
    """
    relevance_map = as_numpy(relevance_map).astype(np.float64)
    if relevance_map.ndim != 2:
        raise AudioLRPError(
            f"relevance_map has shape {relevance_map.shape}: pass one (frames, bins) heatmap"
        )
    panels: list[tuple[str, np.ndarray, str]] = [
        ("(a) input magnitude spectrogram", spectrogram_dbp(mixture_channel), "spec"),
        (f"(b) relevance ({relevance_label})", relevance_map, "rel"),
    ]
    if direct_channel is not None:
        panels.append(("(c) direct sound (noise-free)", spectrogram_dbp(direct_channel), "spec"))
    if filtered_channel is not None:
        panels.append(("(d) relevance-filtered signal", spectrogram_dbp(filtered_channel), "spec"))
    fig = Figure(figsize=(7.0, 2.6 * len(panels)))
    axes = fig.subplots(len(panels), 1, squeeze=False)
    for ax, (title, values, kind) in zip(axes[:, 0], panels, strict=True):
        if kind == "spec":
            _plot_tf(ax, fig, values, "magnitude / dBp", cmap="magma",
                     vmin=-dynamic_range_db, vmax=0.0)
        else:
            mag = np.abs(values)
            lim = float(
                np.max(mag) if relevance_percentile is None
                else np.percentile(mag, relevance_percentile)
            )
            lim = lim if lim > 0 else float(np.max(mag)) or 1.0
            norm = TwoSlopeNorm(vcenter=0.0, vmin=-lim, vmax=lim)
            _plot_tf(ax, fig, values, "relevance", cmap=cmap_relevance, norm=norm)
        ax.set_title(f"{title}, {channel_label}", fontsize=9)
    fig.tight_layout()
    return fig


__all__ = ["fig2_panels", "relevance_map_label"]
