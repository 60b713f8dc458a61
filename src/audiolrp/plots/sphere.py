"""Maps on the sphere: where in the sound field the network listened.

* :func:`plot_direction_map` -- histograms over directions (e.g. positive LRP relevance and
  ``|W|^2`` energy per DOA class, :mod:`audiolrp.analysis.directions`) as azimuth-elevation
  maps in the Hammer equal-area projection, with the true source, its first-order image
  sources and the predicted direction marked;
* :func:`plot_direction_analysis` -- the same for one :class:`DirectionAnalysis` (the figure
  of a report section);
* :func:`plot_angle_profile` -- weight per angle from the true source relative to a uniform
  spread.

Azimuth runs from -180 deg (left) to 180 deg (right), counter-clockwise from +x (front) seen
from above, so +90 deg is the left-hand side of the listener; elevation upwards.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.colors import PowerNorm
from matplotlib.figure import Figure

from audiolrp.analysis.directions import DirectionAnalysis, nearest_direction
from audiolrp.signal.ambisonics import unit_vector

#: Labels of the weights of :mod:`audiolrp.analysis.directions` on the maps.
WEIGHT_LABELS: dict[str, str] = {
    "relevance_positive": "positive relevance",
    "relevance_negative": "negative relevance",
    "energy": "energy |W|²",
    "intensity": "active intensity |I_a|",
    "bins": "time-frequency bins",
}

__all__ = ["WEIGHT_LABELS", "plot_angle_profile", "plot_direction_analysis",
           "plot_direction_map"]


def _raster(values: np.ndarray, grid_rad: np.ndarray, step_deg: float) -> tuple[
        np.ndarray, np.ndarray, np.ndarray]:
    """Cell edges (lon, lat) and the value of the nearest grid direction at each cell centre."""
    n_lon, n_lat = int(round(360 / step_deg)), int(round(180 / step_deg))
    lon_e = np.linspace(-np.pi, np.pi, n_lon + 1)
    lat_e = np.linspace(-np.pi / 2, np.pi / 2, n_lat + 1)
    lon_c, lat_c = (lon_e[:-1] + lon_e[1:]) / 2, (lat_e[:-1] + lat_e[1:]) / 2
    lo, la = np.meshgrid(lon_c, lat_c)
    idx = nearest_direction(unit_vector(lo, la), grid_rad)
    return lon_e, lat_e, values[idx]


def _wrap(az: np.ndarray) -> np.ndarray:
    return (np.asarray(az, dtype=np.float64) + np.pi) % (2 * np.pi) - np.pi


def plot_direction_map(
    panels: Mapping[str, np.ndarray],
    grid_rad: np.ndarray,
    *,
    source_rad: np.ndarray | None = None,
    images_rad: np.ndarray | None = None,
    predicted_rad: np.ndarray | None = None,
    title: str = "",
    step_deg: float = 2.0,
    cmap: str = "magma",
) -> Figure:
    """Histograms over directions as Hammer-projection maps, one panel each.

    Parameters
    ----------
    panels
        Panel title -> ``(K,)`` non-negative mass per grid direction (shown in % of the
        panel's total on a square-root colour scale; each grid direction's Voronoi cell is
        filled with its value).
    grid_rad
        ``(K, 2)`` [az, el] of the histogram's directions.
    source_rad, predicted_rad
        ``(2,)`` [az, el] of the true source (white star) and the prediction (cyan cross).
    images_rad
        ``(n, 2)`` first-order image sources (white triangles).
    title
        Figure title.
    step_deg
        Raster resolution of the maps.
    cmap
        Matplotlib colormap name.

    Returns
    -------
    matplotlib.figure.Figure
    """
    n = max(1, len(panels))
    fig = Figure(figsize=(6.2 * min(n, 2), 3.6 * ((n + 1) // 2) + 0.5), layout="constrained")
    grid = np.asarray(grid_rad, dtype=np.float64)
    handles: list[Any] = []
    labels: list[str] = []
    for i, (name, vals) in enumerate(panels.items()):
        ax = fig.add_subplot((n + 1) // 2, min(n, 2), i + 1, projection="hammer")
        v = np.asarray(vals, dtype=np.float64)
        total = v.sum()
        pct = 100.0 * v / total if total > 0 else np.zeros_like(v)
        lon_e, lat_e, img = _raster(pct, grid, step_deg)
        norm = PowerNorm(gamma=0.5, vmin=0.0, vmax=max(float(pct.max()), 1e-12))
        mesh = ax.pcolormesh(lon_e, lat_e, img, cmap=cmap, shading="flat", norm=norm,
                             rasterized=True)
        fig.colorbar(mesh, ax=ax, orientation="horizontal", shrink=0.6, pad=0.04,
                     label="% of the total per grid direction (square-root colour scale)")
        if images_rad is not None:
            im = np.asarray(images_rad, dtype=np.float64).reshape(-1, 2)
            ax.scatter(_wrap(im[:, 0]), im[:, 1], marker="^", s=46, facecolor="white",
                       edgecolor="black", linewidth=0.8, zorder=4,
                       label="first-order image sources")
        if source_rad is not None:
            s = np.asarray(source_rad, dtype=np.float64).reshape(2)
            ax.scatter(_wrap(s[0]), s[1], marker="*", s=180, facecolor="white",
                       edgecolor="black", linewidth=0.8, zorder=5, label="true source")
        if predicted_rad is not None:
            p = np.asarray(predicted_rad, dtype=np.float64).reshape(2)
            ax.scatter(_wrap(p[0]), p[1], marker="X", s=90, facecolor="cyan",
                       edgecolor="black", linewidth=0.8, zorder=6, label="prediction")
        ax.grid(True, color="0.7", linewidth=0.4, alpha=0.6)
        ax.tick_params(labelsize=7, colors="0.35")
        ax.set_title(name, fontsize=10, pad=14)
        if i == 0:
            handles, labels = ax.get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncols=len(handles),
                   fontsize=8, frameon=False)
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def plot_direction_analysis(
    analysis: DirectionAnalysis,
    weights: tuple[str, ...] = ("relevance_positive", "energy"),
    title: str = "Where the network listened (azimuth-elevation, Hammer projection)",
) -> Figure:
    """Maps of one example's :class:`~audiolrp.analysis.directions.DirectionAnalysis`
    (default panels: positive relevance and ``|W|^2`` energy), with its true source, image
    sources and prediction marked and the source-region shares in the panel titles."""
    panels = {}
    for w in weights:
        if w not in analysis.histograms:
            continue
        label = WEIGHT_LABELS.get(w, w)
        if analysis.shares is not None and w in analysis.shares:
            s = analysis.shares[w]
            label += (f"\nwithin {analysis.radius_deg:g}° of source {100 * s[0]:.1f} %, "
                      f"of image sources {100 * s[1]:.1f} %")
        panels[label] = analysis.histograms[w]
    return plot_direction_map(
        panels, analysis.grid_rad, source_rad=analysis.source_rad,
        images_rad=analysis.images_rad, predicted_rad=analysis.predicted_rad, title=title,
    )


def plot_angle_profile(
    edges_deg: np.ndarray,
    profiles: Mapping[str, np.ndarray],
    *,
    radius_deg: float | None = None,
    title: str = "Weight by angle from the true source",
) -> Figure:
    """Share per angle-from-source bin divided by the share a uniform spread would put there
    (the bin's fraction of the sphere), log scale: 1 = no preference for the direction.

    Parameters
    ----------
    edges_deg
        ``(M + 1,)`` angle bin edges.
    profiles
        Weight name -> ``(M,)`` share per bin (e.g. ``mean_profiles`` of
        :func:`audiolrp.analysis.directions.summarize_directions`).
    radius_deg
        Draws the source region's radius.
    """
    e = np.radians(np.asarray(edges_deg, dtype=np.float64))
    uniform = (np.cos(e[:-1]) - np.cos(e[1:])) / 2.0
    centres = np.degrees((e[:-1] + e[1:]) / 2)
    fig = Figure(figsize=(6.4, 3.8), layout="constrained")
    ax = fig.add_subplot()
    for name, prof in profiles.items():
        p = np.asarray(prof, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(uniform > 0, p / uniform, np.nan)
        ax.plot(centres, ratio, marker=".", label=WEIGHT_LABELS.get(name, name))
    ax.axhline(1.0, color="0.5", linewidth=0.8, linestyle=":")
    if radius_deg is not None:
        ax.axvline(radius_deg, color="0.3", linewidth=0.8, linestyle="--",
                   label=f"source region ({radius_deg:g}°)")
    ax.set_yscale("log")
    ax.set_xlim(0, 180)
    ax.set_xlabel("angle between the bin's intensity direction and the true source (deg)")
    ax.set_ylabel("share / uniform share")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(True, alpha=0.3)
    return fig
