"""Direction-of-arrival figures: the clip's probability map over the 425 DOA classes and a
recording's DOA estimates over time.

Angles are given in radians (project convention) and drawn in degrees.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure


def _wrap_deg(az_deg: np.ndarray | float) -> np.ndarray:
    """Wrap azimuths to [-180, 180)."""
    return (np.asarray(az_deg, dtype=np.float64) + 180.0) % 360.0 - 180.0


def _seam_copies(az_deg: float | np.ndarray) -> np.ndarray:
    """A marker at azimuth -180 deg is also drawn at +180 deg (the map's two edges meet)."""
    az = float(az_deg)
    return np.array([az, -az]) if abs(abs(az) - 180.0) < 1e-6 else np.array([az])


def doa_map_figure(
    probabilities: np.ndarray,
    grid_rad: np.ndarray,
    true_rad: tuple[float, float] | None = None,
    predicted_rad: tuple[float, float] | None = None,
    title: str = "Clip DOA probability",
) -> Figure:
    """Azimuth/elevation map of the 425 DOA classes coloured by the clip probability.

    Parameters
    ----------
    probabilities
        ``(n_classes,)`` clip probabilities (mean over frames of the frame softmax).
    grid_rad
        ``(n_classes, 2)`` class directions ``[azimuth_rad, elevation_rad]``.
    true_rad, predicted_rad
        Optional ``(azimuth_rad, elevation_rad)`` of the true and predicted DOA.
    """
    p = np.asarray(probabilities, dtype=np.float64).reshape(-1)
    g = np.asarray(grid_rad, dtype=np.float64)
    if g.shape != (p.size, 2):
        raise ValueError(f"grid must be ({p.size}, 2), got {g.shape}")
    az = _wrap_deg(np.degrees(g[:, 0]))
    el = np.degrees(g[:, 1])
    fig = Figure(figsize=(8.0, 4.2))
    ax = fig.subplots()
    ax.scatter(az, el, s=6, c="#c4cad0", linewidths=0, zorder=1, label="DOA classes")
    order = np.argsort(p)
    pmax = float(p.max()) if p.size and p.max() > 0 else 1.0
    sizes = 10 + 140 * (p[order] / pmax)
    sc = ax.scatter(
        az[order], el[order], s=sizes, c=p[order], cmap="viridis", vmin=0.0, vmax=pmax,
        linewidths=0, alpha=0.9, zorder=2,
    )
    cb = fig.colorbar(sc, ax=ax, pad=0.02)
    cb.set_label("probability")
    if true_rad is not None:
        t_az = _seam_copies(_wrap_deg(np.degrees(true_rad[0])))
        ax.scatter(
            t_az, np.full(t_az.size, np.degrees(true_rad[1])), marker="*", s=320,
            facecolors="none", edgecolors="#d62728", linewidths=2.0, zorder=4, label="true DOA",
        )
    if predicted_rad is not None:
        p_az = _seam_copies(_wrap_deg(np.degrees(predicted_rad[0])))
        ax.scatter(
            p_az, np.full(p_az.size, np.degrees(predicted_rad[1])), marker="x",
            s=160, c="#111111", linewidths=2.2, zorder=5, label="predicted DOA",
        )
    ax.set_xlim(-186, 186)  # as every map of the report (plots.sphere): -180 left, 180 right
    ax.set_ylim(-92, 92)
    ax.set_xticks(np.arange(-180, 181, 45))
    ax.set_yticks(np.arange(-90, 91, 30))
    ax.set_xlabel("azimuth (deg, from +x towards +y)")
    ax.set_ylabel("elevation (deg)")
    ax.grid(True, color="#e3e6e9", linewidth=0.6, zorder=0)
    ax.set_title(title)
    ax.legend(loc="lower left", fontsize=8, framealpha=0.85)
    fig.tight_layout()
    return fig


def timeline_figure(
    times_s: np.ndarray,
    azimuth_rad: np.ndarray,
    elevation_rad: np.ndarray,
    confidence: np.ndarray,
    highlight: Sequence[int] = (),
) -> Figure:
    """DOA estimates of a recording over time: azimuth, elevation and confidence per window.

    Parameters
    ----------
    times_s
        Window centre times.
    azimuth_rad, elevation_rad
        Predicted direction per window.
    confidence
        Clip probability of the predicted class per window (0..1).
    highlight
        Window indices analysed in detail (circled).
    """
    t = np.asarray(times_s, dtype=np.float64)
    az = _wrap_deg(np.degrees(azimuth_rad))
    el = np.degrees(np.asarray(elevation_rad, dtype=np.float64))
    c = np.asarray(confidence, dtype=np.float64)
    fig = Figure(figsize=(8.0, 5.6))
    axes = fig.subplots(3, 1, sharex=True)
    vmax = max(1e-9, float(c.max())) if c.size else 1.0
    # limits beyond +-180 / +-90 deg: points at the seam or a pole are drawn whole
    for ax, y, label, lim, connect in (
        (axes[0], az, "azimuth (deg)", (-205, 205), False),  # no lines across the +-180 seam
        (axes[1], el, "elevation (deg)", (-105, 105), True),
    ):
        sc = ax.scatter(t, y, c=c, cmap="viridis", vmin=0.0, vmax=vmax, s=28, zorder=2)
        if connect:
            ax.plot(t, y, color="#9aa3ab", linewidth=0.8, zorder=1)
        for i in highlight:
            ax.scatter(t[i], y[i], s=140, facecolors="none", edgecolors="#d62728", linewidths=1.6,
                       zorder=3)
        ax.set_ylabel(label)
        ax.set_ylim(*lim)
        ax.grid(True, color="#e3e6e9", linewidth=0.6)
    axes[0].set_yticks([-180, -90, 0, 90, 180])
    axes[1].set_yticks([-90, -45, 0, 45, 90])
    fig.colorbar(sc, ax=list(axes), pad=0.02).set_label("confidence")
    width = float(np.min(np.diff(t))) * 0.8 if t.size > 1 else 0.4
    axes[2].bar(t, c, width=width, color="#2a6db0")
    axes[2].axhline(1 / 425, color="#d62728", linewidth=0.8, linestyle="--", label="chance (1/425)")
    axes[2].set_ylim(0, min(1.0, max(0.05, 1.15 * vmax)))
    if t.size:  # every bar and circle whole, the first and the last included
        axes[2].set_xlim(float(t.min()) - width, float(t.max()) + width)
    axes[2].set_ylabel("confidence")
    axes[2].set_xlabel("time (s, window centre)")
    axes[2].grid(True, color="#e3e6e9", linewidth=0.6)
    # above the bars' axes, not over the last bars
    axes[2].legend(fontsize=7, loc="lower right", bbox_to_anchor=(1.0, 1.0), frameon=False,
                   borderaxespad=0.1)
    fig.suptitle("DOA estimates over time")
    return fig


def directions_map_figure(
    azimuth_rad: np.ndarray,
    elevation_rad: np.ndarray,
    times_s: np.ndarray,
    confidence: np.ndarray,
    title: str = "DOA per window",
) -> Figure:
    """The directions of a recording's windows on the sphere (azimuth/elevation map, azimuth
    from -180 deg on the left to 180 deg on the right): colour = time, size = confidence;
    windows without a direction (NaN: silent) are left out.

    Parameters
    ----------
    azimuth_rad, elevation_rad
        ``(W,)`` direction per window (NaN: none).
    times_s
        ``(W,)`` window centre times.
    confidence
        ``(W,)`` clip probability of each window's class (0..1).
    """
    az = _wrap_deg(np.degrees(np.asarray(azimuth_rad, np.float64)))
    el = np.degrees(np.asarray(elevation_rad, np.float64))
    t = np.asarray(times_s, np.float64)
    c = np.asarray(confidence, np.float64)
    ok = np.isfinite(az) & np.isfinite(el)
    fig = Figure(figsize=(8.0, 4.4))
    ax = fig.subplots()
    cmax = max(1e-9, float(c[ok].max())) if ok.any() else 1.0
    sc = ax.scatter(az[ok], el[ok], c=t[ok], cmap="plasma", s=12 + 80 * c[ok] / cmax,
                    linewidths=0, alpha=0.85, zorder=2)
    fig.colorbar(sc, ax=ax, pad=0.02).set_label("time (s, window centre)")
    ax.set_xlim(-186, 186)
    ax.set_ylim(-92, 92)
    ax.set_xticks(np.arange(-180, 181, 45))
    ax.set_yticks(np.arange(-90, 91, 30))
    ax.set_xlabel("azimuth (deg, from +x towards +y)")
    ax.set_ylabel("elevation (deg)")
    ax.grid(True, color="#e3e6e9", linewidth=0.6, zorder=0)
    ax.set_title(f"{title} ({int(ok.sum())} of {az.size} windows; size: confidence)")
    fig.tight_layout()
    return fig


__all__ = ["directions_map_figure", "doa_map_figure", "timeline_figure"]
