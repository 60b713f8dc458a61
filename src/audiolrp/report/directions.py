"""Report sections "Where the network listened" (relevance in space).

Two section renderers built from :mod:`audiolrp.report.html` blocks:

* :func:`directions_section` -- one clip: the sphere maps of its positive relevance and its
  ``|W|^2`` energy (:func:`audiolrp.plots.sphere.plot_direction_analysis`) and, when the true
  source is known (simulated scenes), the shares within the source / image-source regions;
* :func:`directions_summary_section` -- a set of clips: the table of mean shares with bootstrap
  CIs and the angle-from-source profile (from
  :func:`audiolrp.analysis.directions.summarize_directions`).

Wiring into a report (demo of a simulated scene; ``relevance`` is the explained clip's
``(C, 50, 512)`` relevance, ``scene`` the :class:`~audiolrp.simulation.scenes.Scene`)::

    from audiolrp.analysis.directions import analyse_directions
    from audiolrp.report.directions import directions_section

    a = analyse_directions(relevance, scene.mixture,
                           source_rad=(scene.azimuth_rad, scene.elevation_rad),
                           room_m=scene.params["room_m"], source_m=scene.params["source_m"],
                           receiver_m=scene.params["receiver_m"],
                           predicted_rad=(pred_azimuth_rad, pred_elevation_rad))
    sections.append(directions_section(a))

For a recording (``audiolrp explain``) pass only the relevance, the audio and
``predicted_rad``: the section then shows the maps and the prediction, without shares.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from audiolrp.analysis.directions import (
    REGIONS,
    DirectionAnalysis,
    format_ci,
    percent_ci,
)
from audiolrp.plots.sphere import WEIGHT_LABELS, plot_angle_profile, plot_direction_analysis
from audiolrp.report.html import Image, Section, Table, Text, figure_png

__all__ = [
    "directions_section", "directions_summary_section", "percent_ci"]

_SHOWN = ("relevance_positive", "relevance_negative", "energy", "bins")

_METHOD = (
    "Every time-frequency bin is assigned the direction of its active intensity "
    "Re{conj(W) [X, Y, Z]} (first-order channels of the input); the bin's relevance, summed "
    "over its input channels, is added at that direction (nearest of the 425 DOA classes). "
    "The maps show where in the sound field the network found the evidence for its "
    "prediction, next to where the sound energy |W|^2 came from."
)


def directions_section(
    analysis: DirectionAnalysis,
    *,
    title: str = "Where the network listened",
    anchor: str = "directions",
    dpi: int = 110,
) -> Section:
    """A report section for one clip's :class:`~audiolrp.analysis.directions.DirectionAnalysis`.

    Parameters
    ----------
    analysis
        From :func:`audiolrp.analysis.directions.analyse_directions`.
    title, anchor
        Section heading and HTML anchor.
    dpi
        Resolution of the embedded map.

    Returns
    -------
    audiolrp.report.html.Section
        Text (method), the sphere maps (positive relevance and ``|W|^2`` energy, with the true
        source, first-order image sources and prediction where known) and, with a true source,
        a table of the shares within ``radius_deg`` of the source, of the image sources and
        elsewhere.
    """
    blocks: list[Any] = [Text(_METHOD)]
    fig = plot_direction_analysis(analysis)
    blocks.append(Image(figure_png(fig, dpi=dpi), caption=(
        "Hammer projection, azimuth counter-clockwise from the front (+x), elevation upwards. "
        "White star: true source; triangles: first-order image sources (wall reflections); "
        "cyan cross: prediction."), alt="relevance and energy maps on the sphere"))
    if analysis.shares is not None:
        r = analysis.radius_deg
        rows = [[WEIGHT_LABELS.get(w, w)] + [f"{100 * v:.1f} %" for v in analysis.shares[w]]
                for w in _SHOWN if w in analysis.shares]
        blocks.append(Table(rows, header=["weight", f"within {r:g}° of the source",
                                          f"within {r:g}° of an image source", "elsewhere"],
                            caption="Shares of each weight by the direction of the bins"))
        pos, en = analysis.shares.get("relevance_positive"), analysis.shares.get("energy")
        if pos is not None and en is not None:
            more = "more" if pos[0] > en[0] else "less"
            blocks.append(Text(
                f"{100 * pos[0]:.1f} % of the positive relevance lies in bins pointing within "
                f"{r:g}° of the true source, which hold {100 * en[0]:.1f} % of the energy: the "
                f"network listened to the direct sound {more} than its energy would suggest."))
    else:
        blocks.append(Text("The true source is unknown for this input: the maps show the "
                           "prediction only."))
    return Section(title=title, blocks=blocks, anchor=anchor)


def directions_summary_section(
    summary: Mapping[str, Any],
    *,
    title: str = "Where the networks listened: a set of scenes",
    anchor: str = "directions-summary",
    dpi: int = 110,
) -> Section:
    """A report section for :func:`audiolrp.analysis.directions.summarize_directions`: the mean
    shares with bootstrap CIs per region, the relevance-vs-energy difference and ratio in the
    source region, and the angle-from-source profile."""
    blocks: list[Any] = [Text(_METHOD)]
    shares = summary.get("shares") or {}
    r = summary.get("radius_deg", 15.0)
    if shares:
        rows = [[WEIGHT_LABELS.get(w, w)] + [percent_ci(shares[w][reg]) for reg in REGIONS]
                for w in _SHOWN if w in shares]
        blocks.append(Table(rows, header=["weight", f"within {r:g}° of the source",
                                          f"within {r:g}° of an image source", "elsewhere"],
                            caption=f"Mean share over {summary.get('n_with_source')} scenes "
                            f"[{100 * summary.get('level', 0.95):.0f} % bootstrap CI]; a "
                            f"uniform spread puts {100 * summary['cap_fraction']:.1f} % within "
                            f"{r:g}° of the source"))
        if summary.get("difference"):
            a, b = summary["compare"]
            blocks.append(Text(
                f"Source region, {WEIGHT_LABELS.get(a, a)} minus {WEIGHT_LABELS.get(b, b)}: "
                f"{percent_ci(summary['difference']['source'])} points; ratio "
                f"{format_ci(summary['ratio']['source'], 2)}."))
    if summary.get("mean_profiles"):
        prof = {w: summary["mean_profiles"][w] for w in _SHOWN if w in summary["mean_profiles"]}
        fig = plot_angle_profile(summary["profile_edges_deg"], prof, radius_deg=r)
        blocks.append(Image(figure_png(fig, dpi=dpi), caption=(
            "Share of each weight by the angle between the bin's intensity direction and the "
            "true source, divided by the share a uniform spread would give (1 = no "
            "preference)."), alt="weight by angle from the source"))
    return Section(title=title, blocks=blocks, anchor=anchor)
