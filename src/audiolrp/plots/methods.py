"""Figures of the attribution-method comparison (``audiolrp analyze methods``).

Each function takes the JSON-ready summary of
:meth:`audiolrp.analysis.method_comparison.MethodComparison.summary` (so figures can be redrawn
from a saved ``methods.json``) and returns a :class:`matplotlib.figure.Figure`:

* :func:`plot_flipping_curves` -- mean true-class probability vs. flipped bins, most relevant
  first and least relevant first, with the bootstrap bands;
* :func:`plot_aopc_bars` -- AOPC (MRF, LRF, MRF - LRF) per method with bootstrap intervals;
* :func:`plot_randomisation_cascade` -- heatmap similarity (trained vs. randomised model) per
  cascade step, Spearman of ``|R|`` and Pearson of the heatmap, with bootstrap intervals.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure

_ORDERS = (("mrf", "most relevant first"), ("lrf", "least relevant first"))


def _colours(names: list[str]) -> dict[str, Any]:
    cmap = colormaps["tab20" if len(names) > 10 else "tab10"]
    return {n: cmap(i % cmap.N) for i, n in enumerate(names)}


def _style(name: str, summary: Mapping[str, Any]) -> dict[str, Any]:
    if name == summary.get("floor"):
        return {"linestyle": ":", "linewidth": 1.5}
    if name == summary.get("reference"):
        return {"linewidth": 2.2}
    return {"linewidth": 1.2}


def plot_flipping_curves(summary: Mapping[str, Any]) -> Figure:
    """Pixel-flipping curves of every method: two panels (MRF, LRF), mean over examples with
    the percentile bootstrap band; the legend gives each method's AOPC."""
    methods: Mapping[str, Any] = summary["methods"]
    pct = 100.0 * np.asarray(summary["fractions"], dtype=np.float64)
    colours = _colours(list(methods))
    fig = Figure(figsize=(11.0, 4.2))
    axes = fig.subplots(1, 2, sharey=True)
    for ax, (key, title) in zip(axes, _ORDERS, strict=True):
        for name, m in methods.items():
            c = m["curves"][key]
            aopc = m["aopc"][key]["mean"]
            ax.plot(pct, c["mean"], color=colours[name], label=f"{name} ({aopc:.3f})",
                    **_style(name, summary))
            lo = np.clip(np.asarray(c["ci_low"], dtype=np.float64), 0.0, 1.0)
            hi = np.clip(np.asarray(c["ci_high"], dtype=np.float64), 0.0, 1.0)
            ax.fill_between(pct, lo, hi, color=colours[name], alpha=0.15, lw=0)
        ax.set_title(f"{title} (AOPC in legend)")
        ax.set_xlabel("flipped time-frequency bins / %")
        ax.legend(fontsize=7)
    axes[0].set_ylabel("true-class probability")
    fig.suptitle(f"Pixel flipping, {summary['n_examples']} examples, "
                 f"{int(100 * summary['level'])} % bootstrap bands", fontsize=10)
    fig.tight_layout()
    return fig


def plot_aopc_bars(summary: Mapping[str, Any]) -> Figure:
    """AOPC per method, most relevant first, least relevant first and their difference, as
    horizontal bars with the bootstrap intervals as error bars (the best gap on top)."""
    methods: Mapping[str, Any] = summary["methods"]
    names = sorted(methods, key=lambda n: methods[n]["aopc"]["gap"]["mean"])
    fig = Figure(figsize=(11.0, 0.42 * len(names) + 1.6))
    axes = fig.subplots(1, 3, sharey=True)
    ypos = np.arange(len(names))
    titles = {"mrf": "AOPC most relevant first (higher: better)",
              "lrf": "AOPC least relevant first (lower: better)",
              "gap": "AOPC MRF - LRF (higher: better)"}
    for ax, key in zip(axes, ("mrf", "lrf", "gap"), strict=True):
        mean = np.array([methods[n]["aopc"][key]["mean"] for n in names], dtype=np.float64)
        lo = np.array([methods[n]["aopc"][key]["ci_low"] for n in names], dtype=np.float64)
        hi = np.array([methods[n]["aopc"][key]["ci_high"] for n in names], dtype=np.float64)
        err = np.stack([mean - lo, hi - mean])
        colours = ["0.6" if n == summary.get("floor") else
                   ("C3" if n == summary.get("reference") else "C0") for n in names]
        ax.barh(ypos, mean, xerr=err, color=colours, capsize=3, height=0.65)
        ax.axvline(0.0, color="0.3", lw=0.8)
        ax.set_title(titles[key], fontsize=9)
    axes[0].set_yticks(ypos, names)
    fig.suptitle(f"AOPC with {int(100 * summary['level'])} % bootstrap intervals, "
                 f"{summary['n_examples']} examples", fontsize=10)
    fig.tight_layout()
    return fig


def plot_randomisation_cascade(summary: Mapping[str, Any]) -> Figure:
    """Similarity of each method's heatmaps on the trained and the randomised model per cascade
    step (layers randomised from the output down), Spearman of ``|R|`` and Pearson of the
    heatmap, mean over the sanity examples with the bootstrap interval."""
    methods = {n: m for n, m in summary["methods"].items() if "randomisation" in m}
    steps = list(summary["cascade"])
    colours = _colours(list(methods))
    fig = Figure(figsize=(11.0, 4.4))
    axes = fig.subplots(1, 2, sharey=True)
    xs = np.arange(len(steps))
    panels = (("spearman_abs", "Spearman rank correlation of |R|"),
              ("pearson", "Pearson correlation of the heatmap"))
    for ax, (key, title) in zip(axes, panels, strict=True):
        for name, m in methods.items():
            rows = m["randomisation"][key]
            mean = np.array([r["mean"] for r in rows], dtype=np.float64)
            lo = np.array([r["ci_low"] for r in rows], dtype=np.float64)
            hi = np.array([r["ci_high"] for r in rows], dtype=np.float64)
            ax.plot(xs, mean, marker="o", ms=3, color=colours[name], label=name,
                    **_style(name, summary))
            ax.fill_between(xs, lo, hi, color=colours[name], alpha=0.12, lw=0)
        ax.axhline(0.0, color="0.3", lw=0.8)
        ax.set_xticks(xs, ["trained"] + [f"+{s}" for s in steps[1:]], rotation=45,
                      ha="right", fontsize=8)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("layers randomised (cumulative, from the output down)")
    axes[0].set_ylabel("similarity to the trained model's heatmap")
    axes[1].legend(fontsize=7)
    fig.suptitle(f"Cascading model randomisation (Adebayo et al. 2018), "
                 f"{summary['n_sanity_examples']} examples", fontsize=10)
    fig.tight_layout()
    return fig


__all__ = ["plot_aopc_bars", "plot_flipping_curves", "plot_randomisation_cascade"]
