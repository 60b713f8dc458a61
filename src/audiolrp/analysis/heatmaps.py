"""Relevance heatmaps and the four panels of the paper's Fig. 2.

Fig. 2 shows, for one example and one Ambisonics channel: (a) the magnitude spectrogram of the
noisy, reverberant input in dB re its peak (dBp), (b) the relevance heatmap (sum of magnitude and
phase relevance of that ACN channel), (c) the spectrogram of the noise-free direct sound and
(d) the spectrogram of the relevance-filtered signal (Eq. 3 and Eq. 4). Spectrograms are only
*displayed* in dB; the model input is linear magnitude.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure

from audiolrp.analysis._arrays import as_numpy
from audiolrp.constants import INTENSITY_CHANNEL_NAMES, n_sh_channels
from audiolrp.errors import AudioLRPError
from audiolrp.io import atomic_path
from audiolrp.signal.features import bin_frequencies_hz, frame_times_s, stft


def hoa_channel_relevance_map(relevance: np.ndarray, acn: int, order: int) -> np.ndarray:
    """Relevance heatmap of one Ambisonics channel: magnitude + phase relevance (Fig. 2(b)).

    Parameters
    ----------
    relevance
        Relevance of one HOA example, ``(2 (N+1)^2, T, F)``: all magnitude channels (ACN order)
        then all phase channels.
    acn
        Ambisonics channel number, ``0 <= acn < (N+1)^2``.
    order
        Ambisonics order N of the model.

    Returns
    -------
    np.ndarray
        ``(T, F)`` heatmap ``R[acn] + R[K + acn]`` with ``K = (N+1)^2``.
    """
    relevance = as_numpy(relevance)
    k = n_sh_channels(order)
    if relevance.ndim != 3 or relevance.shape[0] != 2 * k:
        raise AudioLRPError(
            f"relevance has shape {relevance.shape}; an order-{order} HOA model needs "
            f"({2 * k}, frames, bins): pass one example's relevance and the model's order"
        )
    if not 0 <= acn < k:
        raise AudioLRPError(f"acn={acn} is out of range for order {order}: pass 0..{k - 1}")
    return relevance[acn] + relevance[k + acn]


def audio_channel_heatmaps(relevance: np.ndarray, feature: str, order: int = 1) -> np.ndarray:
    """Heatmaps ``H_i(n, k)`` for each Ambisonics audio channel ``i`` of one example.

    For HOA features, ``H_i`` is the magnitude + phase relevance of ACN channel ``i``. The
    intensity features mix all first-order channels, so every one of the 4 FOA channels gets the
    same heatmap: the relevance summed over the six intensity channels.

    Parameters
    ----------
    relevance
        ``(C, T, F)`` relevance of one example.
    feature
        ``"hoa"`` or ``"intensity"``.
    order
        Ambisonics order of an HOA model (ignored for intensity).

    Returns
    -------
    np.ndarray
        ``((N+1)^2, T, F)`` heatmaps (``(4, T, F)`` for intensity).
    """
    relevance = as_numpy(relevance)
    if feature == "hoa":
        k = n_sh_channels(order)
        hoa_channel_relevance_map(relevance, 0, order)  # validates the shape
        return relevance[:k] + relevance[k:]
    if feature == "intensity":
        if relevance.ndim != 3 or relevance.shape[0] != len(INTENSITY_CHANNEL_NAMES):
            raise AudioLRPError(
                f"relevance has shape {relevance.shape}; the intensity model needs (6, frames, "
                "bins): pass one example's relevance"
            )
        return np.repeat(relevance.sum(axis=0, keepdims=True), 4, axis=0)
    raise AudioLRPError(f"feature={feature!r} is unknown: pass 'hoa' or 'intensity'")


def relevance_map_label(feature: str) -> str:
    """What a heatmap of :func:`audio_channel_heatmaps` sums, for figure titles."""
    if feature == "intensity":
        return "sum over the 6 intensity channels"
    if feature == "hoa":
        return "magnitude + phase"
    raise AudioLRPError(f"feature={feature!r} is unknown: pass 'hoa' or 'intensity'")


def spectrogram_dbp(audio: np.ndarray, floor_db: float = -80.0) -> np.ndarray:
    """Magnitude spectrogram ``(T, F)`` in dB re its peak (dBp), floored at ``floor_db``."""
    mag = np.abs(stft(as_numpy(audio).astype(np.float64)))
    peak = float(mag.max())
    if peak <= 0.0:
        return np.full(mag.shape, floor_db)
    return np.maximum(20.0 * np.log10(np.maximum(mag / peak, 1e-12)), floor_db)


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


def save_figure(fig: Figure, path: str | os.PathLike, dpi: int = 150) -> Path:
    """Save ``fig`` (format from the suffix, e.g. PNG) atomically: temp file + rename."""
    path = Path(path)
    fmt = path.suffix.lstrip(".") or "png"
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt, dpi=dpi)
    return path


__all__ = [
    "audio_channel_heatmaps",
    "fig2_panels",
    "hoa_channel_relevance_map",
    "relevance_map_label",
    "save_figure",
    "spectrogram_dbp",
]
