"""Channel relevance figures: the paper's Fig. 3 (relevance shares per DOA group), the
direction correlation of its generalisation, and one example's signed relevance per channel
(arrays from :mod:`audiolrp.analysis.channel_relevance`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from audiolrp.analysis.channel_relevance import ChannelRelevanceStats, DirectionCorrelation


def plot_channel_relevance(
    stats: ChannelRelevanceStats, ylabel: str = "relevance share", title: str | None = None
) -> Figure:
    """Fig. 3: per channel, one bar (mean) per group, dot = median, whiskers = 5th/95th pct."""
    n_g, n_c = stats.mean.shape
    fig = Figure(figsize=(max(6.0, 1.2 * n_c), 3.5))
    ax = fig.subplots()
    width = 0.8 / n_g
    x = np.arange(n_c)
    for gi, name in enumerate(stats.groups):
        pos = x - 0.4 + width * (gi + 0.5)
        bars = ax.bar(pos, stats.mean[gi], width, label=f"DOA {name} (n={stats.count[gi]})",
                      alpha=0.75)
        color = bars.patches[0].get_facecolor() if bars.patches else None
        err = np.stack([stats.median[gi] - stats.p5[gi], stats.p95[gi] - stats.median[gi]])
        ax.errorbar(pos, stats.median[gi], yerr=np.maximum(err, 0), fmt="o", ms=3,
                    color="k", ecolor=color if color is not None else "k", capsize=2, lw=1)
    ax.set_xticks(x, stats.channel_names)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8, ncols=min(n_g, 4))
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_direction_correlation(corr: DirectionCorrelation) -> Figure:
    """Scatter of each channel's share against ``|d_axis|`` with Pearson r / Spearman rho."""
    idx = [c for c, a in enumerate(corr.channel_axes) if a is not None]
    n_cols = min(3, max(1, len(idx)))
    n_rows = -(-max(1, len(idx)) // n_cols)
    fig = Figure(figsize=(3.2 * n_cols, 2.8 * n_rows))
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    for ax in axes.flat[len(idx):]:
        ax.set_visible(False)
    for ax, c in zip(axes.flat, idx, strict=False):
        a = corr.channel_axes[c]
        if a is None:  # not in idx
            continue
        ax.scatter(corr.abs_components[:, a], corr.shares[:, c], s=4, alpha=0.4)
        ax.set_xlabel(f"|d_{'xyz'[a]}|")
        ax.set_ylabel("relevance share")
        ax.set_title(f"{corr.channel_names[c]}: r={corr.pearson_r[c]:.2f}, "
                     f"rho={corr.spearman_rho[c]:.2f}", fontsize=9)
    fig.tight_layout()
    return fig


def channel_relevance_figure(values: np.ndarray, names: Sequence[str]) -> Figure:
    """Bar chart of one example's signed relevance per input channel (summed over time and
    frequency; the single-example counterpart of the paper's Fig. 3)."""
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    fig = Figure(figsize=(max(5.0, 0.42 * v.size + 2), 3.4))
    ax = fig.subplots()
    colors = ["#2a6db0" if x >= 0 else "#d62728" for x in v]
    ax.bar(np.arange(v.size), v, color=colors)
    ax.set_xticks(np.arange(v.size))
    rotate = v.size > 4
    ax.set_xticklabels(list(names), rotation=50 if rotate else 0,
                       ha="right" if rotate else "center", fontsize=8)
    ax.axhline(0, color="#444", linewidth=0.7)
    ax.set_ylabel("relevance (sum over t, f)")
    ax.set_title("Channel relevance")
    ax.grid(True, axis="y", color="#e3e6e9", linewidth=0.6)
    fig.tight_layout()
    return fig


__all__ = ["channel_relevance_figure", "plot_channel_relevance", "plot_direction_correlation"]
