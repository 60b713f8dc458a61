"""``sources.html``: the page of ``audiolrp analyze sources`` (whose relevance is it), drawn
from the finished result of :func:`audiolrp.app.multisource.analyse_sources` (the dict saved
as ``results.json``) and its ``sources-I.png`` figures; nothing is measured here.

The page holds what was measured (one paragraph), the table of mean shares over the matched
detections -- own talker vs other talkers, the detection's positive relevance beside the
mixture's energy ``|W|^2`` in the same bins, for (a) bins near each talker's direction and
(b) bins each talker dominates -- in percent, the sphere maps (embedded) and the settings.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from audiolrp.report.html import Block, Image, Section, Table, Text, write_report

#: The two measures of :mod:`audiolrp.analysis.per_source`, as the table names them.
MEASURES = (
    ("direction", "(a) near the talker's direction"),
    ("dominance", "(b) bins the talker dominates"),
)

HEADER = (
    "measure",
    "own: relevance %",
    "own: energy %",
    "others: relevance %",
    "others: energy %",
    "own > others (detections %)",
)

_METHOD = (
    "Each simulated scene holds several talkers; the model's detector finds the sources and "
    "each detection is explained with LRP (relevance from the detected class's score at every "
    "frame). Its positive relevance is measured two ways: (a) in space, a time-frequency bin "
    "belongs to the talker whose direction is within 15 deg of the bin's active-intensity "
    "direction; (b) in time-frequency, a bin belongs to the talker (or the noise) with the "
    "largest W energy in it. The table gives, averaged over the detections matched to a "
    "talker, the share of the detection's positive relevance in its own talker's bins and in "
    "the other talkers' bins, each beside the share of the mixture's energy |W|^2 in the same "
    "bins: relevance above energy at the own talker means the explanation prefers that talker "
    "beyond loudness."
)


def _pct(v: Any) -> str:
    """A fraction (0..1) in percent with one decimal; ``n/a`` for None or NaN."""
    if v is None or not math.isfinite(float(v)):
        return "n/a"
    return f"{100.0 * float(v):.1f}"


def shares_table(summary: Mapping[str, Any]) -> tuple[tuple[str, ...], list[list[str]]]:
    """``(header, rows)`` of the mean shares (percent), one row per measure."""
    rows = []
    for kind, label in MEASURES:
        d = summary[kind]
        rows.append([label, _pct(d["own"]), _pct(d["energy_own"]), _pct(d["others"]),
                     _pct(d["energy_others"]), _pct(d.get("own_above_others"))])
    return HEADER, rows


def _settings(result: Mapping[str, Any]) -> list[list[str]]:
    scenes, multi, det = result["scenes"], result["scenes"]["multisource"], result["detector"]
    lo, hi = multi["n_sources"]
    return [
        ["model", str(result["model"])],
        ["scenes", f"{scenes['n_examples']} ({scenes['split']} split, {lo}-{hi} talkers, at "
                   f"least {multi['min_separation_deg']:g} deg apart, speech "
                   f"{scenes['speech']})"],
        ["seed", str(scenes["seed"])],
        ["detector threshold", f"{det['threshold']:g}"],
        ["detector relative threshold", f"{det['relative']:g} of the clip's maximum"],
        ["detector separation", f"{det['min_separation_deg']:g} deg, at most "
                                f"{det['max_sources']} sources, refined within "
                                f"{det['refine_radius_deg']:g} deg"],
    ]


def _figure_png(path: str, out_dir: Path) -> bytes | None:
    """The PNG bytes of a figure the analysis wrote (its path as saved, else by name in
    ``out_dir``); None if it is gone."""
    for p in (Path(path), out_dir / Path(path).name):
        if p.is_file():
            return p.read_bytes()
    return None


def sources_section(result: Mapping[str, Any], out_dir: Path) -> Section:
    """The result as one report :class:`~audiolrp.report.html.Section`."""
    s = result["summary"]
    header, rows = shares_table(s)
    blocks: list[Block] = [
        Text(_METHOD),
        Text(f"{s['n_matched']} of {s['n_detections']} detections matched to a talker."),
        Table(rows, header, caption="Mean over the matched detections, in percent: share of "
              "the detection's positive relevance (energy: share of |W|^2 in the same bins)."),
    ]
    for path in result.get("figures", []):
        png = _figure_png(path, out_dir)
        if png is not None:
            blocks.append(Image(png, caption=f"{Path(path).name}: positive relevance of each "
                                "detection on the sphere, all talkers marked"))
    blocks.append(Table(_settings(result), ("setting", "value"), caption="Settings"))
    return Section("Whose relevance is it?", blocks, anchor="sources")


def write_sources_report(result: Mapping[str, Any], out_dir: str | Path) -> Path:
    """Write ``sources.html`` for a finished ``analyze sources`` result into ``out_dir``
    (the folder of its ``results.json`` and figures); returns its path."""
    out = Path(out_dir)
    n = result["scenes"]["n_examples"]
    return write_report(out / "sources.html", "audiolrp analyze sources",
                        [sources_section(result, out)],
                        subtitle=f"model {result['model']}, {n} scenes")


__all__ = ["HEADER", "MEASURES", "shares_table", "sources_section", "write_sources_report"]
