"""Relevance against the direct-to-residual ratio (the paper's third finding, bin by bin):
the arrays of :func:`audiolrp.analysis.direct_sound.ratio_profile`, drawn."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.figure import Figure

from audiolrp.errors import AudioLRPError


def plot_direct_ratio_profile(
    edges_db: np.ndarray,
    profiles: Mapping[str, np.ndarray],
    *,
    reference: str = "bins (uniform)",
    title: str | None = None,
) -> Figure:
    """Where each weight lies on the direct-to-residual axis.

    Left: the share of each weight (e.g. positive relevance, input energy, bins) per band of the
    direct-to-residual ratio. Right: each weight's share divided by the ``reference`` share
    (density per bin; 1 = the weight is spread like the bins), on a log axis. A weight that
    prefers direct-dominated bins rises to the right of 0 dB.

    Parameters
    ----------
    edges_db
        ``(B + 1,)`` band edges in dB.
    profiles
        Name -> ``(B,)`` shares (mean over examples).
    reference
        Name of the profile the right panel divides by (skipped when absent).
    title
        Figure title.
    """
    edges = np.asarray(edges_db, dtype=np.float64)
    centres = 0.5 * (edges[:-1] + edges[1:])
    for name, p in profiles.items():
        if np.shape(p) != centres.shape:
            raise AudioLRPError(f"profile {name!r} has shape {np.shape(p)}, expected "
                                f"{centres.shape} for {edges.size} band edges")
    fig = Figure(figsize=(9.0, 3.6))
    ax, ax2 = fig.subplots(1, 2)
    ref = profiles.get(reference)
    for name, p in profiles.items():
        p = np.asarray(p, dtype=np.float64)
        (line,) = ax.plot(centres, p, marker="o", ms=3, label=name)
        if ref is not None and name != reference:
            with np.errstate(divide="ignore", invalid="ignore"):
                dens = np.where(np.asarray(ref) > 0, p / np.asarray(ref), np.nan)
            ax2.plot(centres, dens, marker="o", ms=3, color=line.get_color(), label=name)
    for a in (ax, ax2):
        a.axvline(0.0, color="0.5", lw=0.8, ls="--")
        a.set_xlabel("direct-to-residual ratio of the bin / dB")
    ax.set_ylabel("share of the weight")
    ax.legend(fontsize=8)
    if ref is not None:
        ax2.set_yscale("log")
        ax2.axhline(1.0, color="0.5", lw=0.8)
        ax2.set_ylabel(f"share / share of {reference}")
        ax2.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


__all__ = ["plot_direct_ratio_profile"]
