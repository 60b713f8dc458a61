"""Self-contained HTML reports (figures and audio embedded) for explained DOA predictions.

:mod:`audiolrp.report.html` renders and writes the page; :mod:`audiolrp.report.figures` draws
the report's own figures (DOA probability map, DOA timeline, fall-back analysis plots).
"""

from audiolrp.report.html import (
    Audio,
    Image,
    JsonBlock,
    Section,
    Table,
    Text,
    figure_png,
    json_dumps,
    render_html,
    wav_bytes,
    write_atomic,
    write_report,
)

__all__ = [
    "Audio",
    "Image",
    "JsonBlock",
    "Section",
    "Table",
    "Text",
    "figure_png",
    "json_dumps",
    "render_html",
    "wav_bytes",
    "write_atomic",
    "write_report",
]
