"""Self-contained HTML reports: figures (PNG) and audio (WAV) embedded as base64 data URIs.

A report is a title plus a list of :class:`Section` objects, each holding blocks
(:class:`Table`, :class:`Image`, :class:`Audio`, :class:`Text`, :class:`JsonBlock`). The
rendered page needs no network access: no external CSS, JavaScript or fonts; every text is
escaped with :func:`html.escape`. :func:`write_report` writes the page atomically (temporary file
in the same folder, then :func:`os.replace`).
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from audiolrp.audio_io import audio_bytes
from audiolrp.constants import FS_HZ
from audiolrp.io import atomic_write_bytes, json_default, json_text


@dataclass
class Table:
    """A table of rows; ``header`` (optional) names the columns."""

    rows: Sequence[Sequence[Any]]
    header: Sequence[str] | None = None
    caption: str = ""


@dataclass
class Image:
    """A PNG image embedded as ``data:image/png;base64,...``."""

    png: bytes
    caption: str = ""
    alt: str = ""


@dataclass
class Audio:
    """A WAV file embedded as ``data:audio/wav;base64,...`` in an ``<audio controls>`` player."""

    wav: bytes
    caption: str = ""


@dataclass
class Text:
    """A paragraph of plain text (escaped)."""

    text: str


@dataclass
class JsonBlock:
    """A JSON value shown pretty-printed in a collapsible ``<details>`` block."""

    value: Any
    summary: str = "results.json"


Block = Table | Image | Audio | Text | JsonBlock


@dataclass
class Section:
    """A report section with a heading and its blocks."""

    title: str
    blocks: list[Block] = field(default_factory=list)
    anchor: str = ""


CSS = """
:root { --fg:#1d232a; --muted:#5c6670; --line:#d9dee3; --bg:#ffffff; --accent:#2a6db0; }
* { box-sizing: border-box; }
body { margin:0; background:#f4f6f8; color:var(--fg);
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
  line-height:1.45; }
main { max-width: 1060px; margin: 0 auto; padding: 24px 20px 60px; }
header h1 { margin: 0 0 4px; font-size: 1.6rem; }
header p { margin: 0; color: var(--muted); }
nav { margin: 14px 0 8px; font-size: .92rem; }
nav a { color: var(--accent); margin-right: 14px; text-decoration: none; }
section { background: var(--bg); border: 1px solid var(--line); border-radius: 8px;
  padding: 16px 20px; margin: 18px 0; }
section h2 { margin: 0 0 12px; font-size: 1.2rem; }
table { border-collapse: collapse; font-size: .92rem; margin: 6px 0 10px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 12px 4px 0; text-align: left;
  vertical-align: top; }
th { color: var(--muted); font-weight: 600; }
figure { margin: 10px 0 16px; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 4px; }
figcaption, .caption { color: var(--muted); font-size: .88rem; margin-top: 4px; }
.audio { display: flex; align-items: center; gap: 14px; margin: 8px 0; flex-wrap: wrap; }
.audio audio { width: 320px; max-width: 100%; }
pre { background: #f7f8fa; border: 1px solid var(--line); border-radius: 4px; padding: 10px;
  overflow-x: auto; font-size: .82rem; }
details summary { cursor: pointer; color: var(--accent); }
footer { color: var(--muted); font-size: .82rem; margin-top: 28px; }
"""


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def png_data_uri(png: bytes) -> str:
    """``data:image/png;base64,...`` for PNG bytes."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def wav_data_uri(wav: bytes) -> str:
    """``data:audio/wav;base64,...`` for WAV bytes."""
    return "data:audio/wav;base64," + base64.b64encode(wav).decode("ascii")


def figure_png(fig: Any, dpi: int = 110) -> bytes:
    """Render a matplotlib figure to PNG bytes and close it (if pyplot manages it).

    The library draws on :class:`matplotlib.figure.Figure` objects, which need no backend and no
    closing; a figure made with ``pyplot`` is released from pyplot here.
    """
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    finally:
        if getattr(fig.canvas, "manager", None) is not None:
            import matplotlib.pyplot as plt  # noqa: PLC0415 - only for pyplot's own figures

            plt.close(fig)
    return buf.getvalue()


def wav_bytes(audio: np.ndarray, fs_hz: int = FS_HZ, normalize: bool = True) -> bytes:
    """Encode mono audio as 16-bit PCM WAV bytes.

    Parameters
    ----------
    audio
        1-D signal.
    fs_hz
        Sample rate.
    normalize
        Scale the peak to -1 dBFS (silence stays silent) so quiet relevance-filtered signals
        are audible; otherwise values are clipped to [-1, 1].
    """

    x = np.nan_to_num(np.asarray(audio, dtype=np.float64).reshape(-1))
    if normalize:
        peak = float(np.max(np.abs(x))) if x.size else 0.0
        if peak > 0:
            x = x * (10 ** (-1 / 20) / peak)
    return audio_bytes(np.clip(x, -1.0, 1.0), fs_hz)


def _render_block(block: Block) -> str:
    if isinstance(block, Table):
        parts = ["<table>"]
        if block.caption:
            parts.append(f"<caption class=\"caption\">{_esc(block.caption)}</caption>")
        if block.header:
            parts.append("<tr>" + "".join(f"<th>{_esc(h)}</th>" for h in block.header) + "</tr>")
        for row in block.rows:
            parts.append("<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in row) + "</tr>")
        parts.append("</table>")
        return "".join(parts)
    if isinstance(block, Image):
        cap = f"<figcaption>{_esc(block.caption)}</figcaption>" if block.caption else ""
        alt = _esc(block.alt or block.caption or "figure")
        return f"<figure><img src=\"{png_data_uri(block.png)}\" alt=\"{alt}\">{cap}</figure>"
    if isinstance(block, Audio):
        return (
            f"<div class=\"audio\"><audio controls preload=\"metadata\" "
            f"src=\"{wav_data_uri(block.wav)}\"></audio>"
            f"<span class=\"caption\">{_esc(block.caption)}</span></div>"
        )
    if isinstance(block, Text):
        return f"<p>{_esc(block.text)}</p>"
    if isinstance(block, JsonBlock):
        text = json.dumps(block.value, indent=2, ensure_ascii=False, default=json_default)
        return f"<details><summary>{_esc(block.summary)}</summary><pre>{_esc(text)}</pre></details>"
    raise TypeError(f"unknown report block {type(block).__name__}")


def render_html(
    title: str, sections: Sequence[Section], subtitle: str = "", footer: str = ""
) -> str:
    """The complete HTML page (a string) for ``sections``."""
    anchors = []
    for i, sec in enumerate(sections):
        anchors.append(sec.anchor or f"s{i + 1}")
    nav = "".join(
        f"<a href=\"#{_esc(a)}\">{_esc(s.title)}</a>"
        for a, s in zip(anchors, sections, strict=True)
    )
    body = []
    for a, sec in zip(anchors, sections, strict=True):
        inner = "".join(_render_block(b) for b in sec.blocks)
        body.append(f"<section id=\"{_esc(a)}\"><h2>{_esc(sec.title)}</h2>{inner}</section>")
    sub = f"<p>{_esc(subtitle)}</p>" if subtitle else ""
    foot = f"<footer>{_esc(footer)}</footer>" if footer else ""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{_esc(title)}</title><style>{CSS}</style></head><body><main>"
        f"<header><h1>{_esc(title)}</h1>{sub}</header><nav>{nav}</nav>"
        + "".join(body)
        + foot
        + "</main></body></html>\n"
    )


def write_atomic(path: str | Path, data: bytes | str) -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` atomically (:mod:`audiolrp.io`)."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return atomic_write_bytes(path, raw)


def write_report(
    path: str | Path,
    title: str,
    sections: Sequence[Section],
    subtitle: str = "",
    footer: str = "",
) -> Path:
    """Render and atomically write a self-contained HTML report; returns its path."""
    return write_atomic(path, render_html(title, sections, subtitle=subtitle, footer=footer))


def json_dumps(value: Any) -> str:
    """JSON text (indent 2) that also accepts NumPy scalars/arrays and paths."""
    return json_text(value, ensure_ascii=False)


__all__ = [
    "Audio",
    "Image",
    "JsonBlock",
    "Section",
    "Table",
    "Text",
    "figure_png",
    "json_dumps",
    "png_data_uri",
    "render_html",
    "wav_bytes",
    "wav_data_uri",
    "write_atomic",
    "write_report",
]
