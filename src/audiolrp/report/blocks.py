"""What a report page shows of one explained clip: its figures (as PNG, drawn by
:mod:`audiolrp.plots`) and its blocks of text, tables, images and audio, one group per section
(``doa``, ``heatmaps``, ``channels``, ``flipping``, ``listen``).

:mod:`audiolrp.report.pages` arranges these groups into the demo and recording pages.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from audiolrp.app.pipeline import ClipAnalysis, class_directions_rad
from audiolrp.plots import (
    channel_relevance_figure,
    doa_map_figure,
    fig2_panels,
    plot_pixel_flipping,
)
from audiolrp.report.html import Audio, Block, Image, Table, Text, figure_png, wav_bytes
from audiolrp.report.results import prediction_dict
from audiolrp.signal.layout import InputLayout

#: The order of a clip's block groups on a page.
CLIP_SECTIONS: tuple[str, ...] = ("doa", "heatmaps", "channels", "flipping", "listen")


@dataclass
class ClipFigures:
    """PNG bytes of the per-clip figures."""

    doa_map: bytes
    panels: bytes
    channels: bytes
    flipping: bytes | None

    def named(self) -> dict[str, bytes]:
        """The figures by file stem (``doa_map``, ``fig2_panels``, ``channel_relevance``,
        ``pixel_flipping``), those drawn only."""
        pngs = {"doa_map": self.doa_map, "fig2_panels": self.panels,
                "channel_relevance": self.channels, "pixel_flipping": self.flipping}
        return {k: v for k, v in pngs.items() if v is not None}


# -------------------------------------------------------------------------------- figures
def doa_map_png(
    a: ClipAnalysis, true_rad: tuple[float, float] | None = None, title_suffix: str = ""
) -> bytes:
    """The clip's DOA probability map with the predicted (and true) direction."""
    return figure_png(doa_map_figure(
        a.probabilities, class_directions_rad(), true_rad, (a.azimuth_rad, a.elevation_rad),
        title=f"Clip DOA probability{title_suffix}",
    ))


def panels_png(
    layout: InputLayout, a: ClipAnalysis, audio: np.ndarray, direct: np.ndarray | None = None
) -> bytes:
    """Fig. 2 panels of the W channel: input, relevance, direct sound, filtered input."""
    if a.heatmaps is None:
        raise ValueError("panels_png needs an explained clip (heatmaps)")
    filtered_w = a.filtered_audio[0] if a.filtered_audio is not None else None
    return figure_png(
        fig2_panels(
            audio[0], a.heatmaps[0], None if direct is None else direct[0], filtered_w,
            channel_label="Ambisonics channel 0 (W)", relevance_label=layout.heatmap_label,
        ),
        dpi=90,
    )


def flipping_png(a: ClipAnalysis) -> bytes | None:
    """Pixel-flipping curves (Fig. 4) of the clip, ``None`` when not computed."""
    pf = a.pixel_flipping
    if pf is None:
        return None
    n_ex = pf["n_examples"]
    return figure_png(plot_pixel_flipping(
        pf["results"], band="se" if n_ex > 1 else "none",
        ylabel=f"{pf.get('class_tracked', 'explained')}-class probability",
        title="Pixel flipping" + (f" (mean of {n_ex} scenes)" if n_ex > 1 else " (this example)"),
    ))


def clip_figures(
    layout: InputLayout,
    a: ClipAnalysis,
    audio: np.ndarray,
    direct: np.ndarray | None = None,
    true_rad: tuple[float, float] | None = None,
    title_suffix: str = "",
) -> ClipFigures:
    """Render the clip's figures: DOA map, Fig. 2 panels (channel W), channel relevance,
    pixel flipping."""
    if a.heatmaps is None or a.channel_relevance is None:
        raise ValueError("clip_figures needs an explained clip (heatmaps, channel relevance)")
    return ClipFigures(
        doa_map=doa_map_png(a, true_rad, title_suffix),
        panels=panels_png(layout, a, audio, direct),
        channels=figure_png(channel_relevance_figure(a.channel_relevance, layout.names)),
        flipping=flipping_png(a),
    )


# --------------------------------------------------------------------------------- blocks
def doa_blocks(a: ClipAnalysis, figs: ClipFigures, has_truth: bool = False) -> list[Block]:
    """The DOA map and the most probable classes (``has_truth``: the map marks the true
    direction, a simulated scene's)."""
    top = prediction_dict(a)["top"]
    star = "Star: true direction; cross" if has_truth else "Cross"
    return [
        Image(
            figs.doa_map,
            "Grey dots: the 425 DOA classes. Colour and size: clip probability (mean over the 50 "
            f"frames of the frame softmax). {star}: predicted direction (refined from the "
            "probabilities around the most probable class).",
            alt="DOA probability map",
        ),
        Table(
            [
                (t["class"], f"{t['azimuth_deg']:.1f}", f"{t['elevation_deg']:.1f}",
                 f"{t['probability']:.4f}")
                for t in top
            ],
            header=("class", "azimuth (deg)", "elevation (deg)", "probability"),
            caption="Most probable classes",
        ),
    ]


def heatmap_blocks(
    layout: InputLayout, figs: ClipFigures, has_direct: bool = False, has_filtered: bool = True
) -> list[Block]:
    """What the relevance heatmap shows, and the Fig. 2 panels (panel (c), the noise-free
    direct sound, only when ``has_direct``: a simulated scene; (d) when ``has_filtered``)."""
    what = (
        "relevance summed over the 6 intensity channels; they mix all four FOA channels, so one "
        "map serves them all and is drawn over the W channel"
        if layout.is_intensity
        else "magnitude + phase relevance of the W channel"
    )
    if has_direct and has_filtered:
        panels = (" Panels (c) and (d) compare the noise-free direct sound with the input "
                  "filtered by the relevance (Eq. 3, 4).")
    elif has_filtered:
        panels = (" Panel (d) shows the input filtered by the relevance (Eq. 3, 4); a "
                  "recording has no separate direct sound, so there is no panel (c).")
    else:
        panels = ""
    return [
        Text(
            "Relevance of the predicted class's pre-softmax score, attributed to every "
            f"time-frequency bin ({what}; paper Fig. 2). Spectrograms are in dBp: dB relative "
            "to their own peak. Red: evidence for the predicted direction; blue: evidence "
            f"against.{panels}"
        ),
        Image(figs.panels, "Fig. 2-style panels for Ambisonics channel 0 (W).",
              alt="spectrograms and relevance heatmap"),
    ]


def channel_blocks(layout: InputLayout, a: ClipAnalysis, figs: ClipFigures) -> list[Block]:
    """Relevance per input channel: bar chart and table with shares."""
    if a.channel_relevance is None:
        raise ValueError("channel_blocks needs the clip's channel relevance")
    total_abs = float(np.abs(a.channel_relevance).sum()) or 1.0
    rows = [
        (n, f"{v:.4g}", f"{100 * abs(v) / total_abs:.1f} %")
        for n, v in zip(layout.names, a.channel_relevance, strict=True)
    ]
    return [
        Image(figs.channels, "Relevance summed over time and frequency per input channel "
              "(paper Fig. 3).", alt="channel relevance"),
        Table(rows, header=("channel", "relevance", "share of |relevance|")),
    ]


def flipping_blocks(a: ClipAnalysis, figs: ClipFigures) -> list[Block]:
    """How pixel flipping was run, and its curves (none when not computed)."""
    if figs.flipping is None:
        return []
    pf = a.pixel_flipping or {}
    if pf.get("class_tracked") == "true":
        scope = (f"{pf['n_examples']} simulated scenes (this one and the next seeds; "
                 "relevance and score of each scene's true class, mean and 95 % band)")
    else:
        scope = "this example (relevance and score of the explained class)"
    return [
        Text(
            "Time-frequency bins are set to zero (the normalised zero), most relevant first "
            "(LRP) or in random order, in all input channels or in one channel group only; "
            "a faithful explanation makes the score fall faster than the random baseline "
            f"(paper Fig. 4). Computed on {scope}."
        ),
        Image(figs.flipping, "Score of the explained class versus removed bins.",
              alt="pixel flipping curve"),
    ]


def listen_blocks(
    a: ClipAnalysis, audio: np.ndarray, direct: np.ndarray | None = None
) -> list[Block]:
    """Players for the input, the direct sound and the relevance-filtered input (W channel)."""
    listen: list[Block] = [Audio(wav_bytes(audio[0]), "input, W channel (noisy, reverberant)")]
    if direct is not None:
        listen.append(Audio(wav_bytes(direct[0]), "direct sound only, W channel (noise-free)"))
    if a.filtered_audio is not None:
        listen.append(
            Audio(wav_bytes(a.filtered_audio[0]), "relevance-filtered input, W channel (Eq. 3)")
        )
    listen.append(Text("Players are peak-normalised to -1 dBFS for listening."))
    return listen


def clip_blocks(
    layout: InputLayout,
    a: ClipAnalysis,
    figs: ClipFigures,
    audio: np.ndarray,
    direct: np.ndarray | None = None,
    has_truth: bool = False,
) -> dict[str, list[Block]]:
    """Report blocks of one clip, by section (:data:`CLIP_SECTIONS`; ``flipping`` only when
    pixel flipping was run); ``direct`` and ``has_truth`` for a simulated scene (its direct
    sound, its true direction on the DOA map)."""
    blocks = {
        "doa": doa_blocks(a, figs, has_truth),
        "heatmaps": heatmap_blocks(layout, figs, direct is not None,
                                   a.filtered_audio is not None),
        "channels": channel_blocks(layout, a, figs),
        "flipping": flipping_blocks(a, figs),
        "listen": listen_blocks(a, audio, direct),
    }
    return {k: v for k, v in blocks.items() if v}


__all__ = [
    "CLIP_SECTIONS",
    "ClipFigures",
    "channel_blocks",
    "clip_blocks",
    "clip_figures",
    "doa_blocks",
    "doa_map_png",
    "flipping_blocks",
    "heatmap_blocks",
    "listen_blocks",
    "panels_png",
]
