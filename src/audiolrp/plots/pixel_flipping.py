"""The paper's Fig. 4: pixel-flipping curves (score versus flipped time-frequency bins) with
their 95 % bands and AOPC (results of :func:`audiolrp.analysis.pixel_flipping.pixel_flipping`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np
from matplotlib.figure import Figure

from audiolrp.analysis.pixel_flipping import PixelFlippingResult


def plot_pixel_flipping(
    results: Mapping[str, PixelFlippingResult],
    *,
    band: Literal["se", "bootstrap", "none"] = "se",
    ylabel: str | None = None,
    title: str | None = None,
) -> Figure:
    """Fig. 4: mean score vs. fraction of flipped bins, one curve (with 95 % band) per result.

    The legend gives each curve's AOPC.
    """
    fig = Figure(figsize=(5.5, 3.6))
    ax = fig.subplots()
    for name, res in results.items():
        pct = 100.0 * res.fractions
        (line,) = ax.plot(pct, res.mean, label=f"{name} (AOPC {res.aopc:.3f})")
        if band != "none":
            lo, hi = res.ci if band == "se" else res.bootstrap_ci()
            if res.score == "probability":  # a probability band cannot leave [0, 1]
                lo, hi = np.clip(lo, 0.0, 1.0), np.clip(hi, 0.0, 1.0)
            ax.fill_between(pct, lo, hi, color=line.get_color(), alpha=0.2, lw=0)
    first = next(iter(results.values()), None)
    if ylabel is None:
        ylabel = "true-class probability" if first is None or first.score == "probability" \
            else "true-class score (pre-softmax)"
    ax.set_xlabel("flipped time-frequency bins / %")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


__all__ = ["plot_pixel_flipping"]
