"""Whose relevance is it: one sphere map per detected source, side by side
(:mod:`audiolrp.analysis.per_source`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.colors import PowerNorm
from matplotlib.figure import Figure

from audiolrp.analysis.directions import nearest_direction
from audiolrp.signal.ambisonics import unit_vector

#: Marker colours of the talkers (talker s gets colour s).
SOURCE_COLOURS: tuple[str, ...] = ("#1f77b4", "#2ca02c", "#d62728")


def _wrap(az: np.ndarray) -> np.ndarray:
    return (np.asarray(az, np.float64) + np.pi) % (2 * np.pi) - np.pi


def plot_source_maps(
    histograms: Sequence[np.ndarray],
    grid_rad: np.ndarray,
    sources_rad: np.ndarray,
    detected_rad: np.ndarray,
    titles: Sequence[str],
    *,
    title: str = "",
    step_deg: float = 2.0,
    cmap: str = "magma",
) -> Figure:
    """Hammer maps of each detection's positive relevance on the sphere, side by side.

    Parameters
    ----------
    histograms
        One ``(K,)`` non-negative histogram per detected source (shown in % of its total,
        square-root colour scale, each grid direction's Voronoi cell filled).
    grid_rad
        ``(K, 2)`` [az, el] of the histograms' directions.
    sources_rad
        ``(S, 2)`` true talker directions (stars, one colour each, on every panel).
    detected_rad
        ``(D, 2)`` detected directions (panel ``k`` marks its own with a cyan cross).
    titles
        Panel titles.
    title
        Figure title.
    step_deg
        Raster resolution (degrees).
    cmap
        Matplotlib colormap name.
    """
    n = max(1, len(histograms))
    fig = Figure(figsize=(5.0 * n, 3.4), layout="constrained")
    grid = np.asarray(grid_rad, np.float64)
    n_lon, n_lat = int(round(360 / step_deg)), int(round(180 / step_deg))
    lon_e = np.linspace(-np.pi, np.pi, n_lon + 1)
    lat_e = np.linspace(-np.pi / 2, np.pi / 2, n_lat + 1)
    lo, la = np.meshgrid((lon_e[:-1] + lon_e[1:]) / 2, (lat_e[:-1] + lat_e[1:]) / 2)
    cell = nearest_direction(unit_vector(lo, la), grid)
    src = np.asarray(sources_rad, np.float64).reshape(-1, 2)
    det = np.asarray(detected_rad, np.float64).reshape(-1, 2)
    for k, h in enumerate(histograms):
        ax = fig.add_subplot(1, n, k + 1, projection="hammer")
        v = np.asarray(h, np.float64)
        pct = 100.0 * v / v.sum() if v.sum() > 0 else np.zeros_like(v)
        norm = PowerNorm(gamma=0.5, vmin=0.0, vmax=max(float(pct.max()), 1e-12))
        mesh = ax.pcolormesh(lon_e, lat_e, pct[cell], cmap=cmap, shading="flat", norm=norm,
                             rasterized=True)
        fig.colorbar(mesh, ax=ax, orientation="horizontal", shrink=0.7, pad=0.04,
                     label="% of positive relevance")
        for s, (az, el) in enumerate(src):
            ax.scatter(_wrap(az), el, marker="*", s=170, zorder=5, linewidth=0.8,
                       facecolor=SOURCE_COLOURS[s % len(SOURCE_COLOURS)], edgecolor="white",
                       label=f"talker {s + 1}")
        if k < len(det):
            ax.scatter(_wrap(det[k, 0]), det[k, 1], marker="X", s=80, facecolor="cyan",
                       edgecolor="black", linewidth=0.8, zorder=6, label="this detection")
        ax.grid(True, color="0.7", linewidth=0.4, alpha=0.6)
        ax.tick_params(labelsize=6, colors="0.35")
        ax.set_title(titles[k] if k < len(titles) else "", fontsize=9, pad=12)
        if k == 0:
            handles, labels = ax.get_legend_handles_labels()
            fig.legend(handles, labels, loc="outside lower center", ncols=len(handles),
                       fontsize=8, frameon=False)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


__all__ = ["SOURCE_COLOURS", "plot_source_maps"]
