"""The attribution-method comparison as a report section (HTML) and as Markdown.

Both render the JSON-ready summary of
:meth:`audiolrp.analysis.method_comparison.MethodComparison.summary` (``methods.json`` of
``audiolrp analyze methods``): one table (AOPC most/least relevant first and their difference
with bootstrap intervals, paired differences vs. the paper preset and vs. random, the
randomisation similarity, time per example), plain-language findings, and the figures of
:mod:`audiolrp.plots.methods`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from audiolrp.io import atomic_write_bytes, atomic_write_text, write_json
from audiolrp.plots.methods import (
    plot_aopc_bars,
    plot_flipping_curves,
    plot_randomisation_cascade,
)
from audiolrp.report.html import Image, Section, Table, Text, figure_png, write_report

HEADER = (
    "method",
    "AOPC MRF",
    "AOPC LRF",
    "MRF - LRF",
    "vs paper (MRF - LRF)",
    "vs random (MRF - LRF)",
    "Spearman |R|, top layer random",
    "Spearman |R|, all random",
    "s / example",
)


def _num(v: Any, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    return f"{float(v):.{digits}f}"


def _ci(d: Mapping[str, Any] | None, digits: int = 3, signed: bool = False) -> str:
    if not d:
        return "-"
    mean = d.get("mean")
    if mean is None or not math.isfinite(float(mean)):
        return "n/a"
    sign = "+" if signed else ""
    return (f"{float(mean):{sign}.{digits}f} [{_num(d.get('ci_low'), digits)}, "
            f"{_num(d.get('ci_high'), digits)}]")


def _excludes_zero(d: Mapping[str, Any] | None) -> bool:
    if not d or d.get("ci_low") is None or d.get("ci_high") is None:
        return False
    return float(d["ci_low"]) > 0 or float(d["ci_high"]) < 0


def methods_table(summary: Mapping[str, Any]) -> tuple[tuple[str, ...], list[list[str]]]:
    """``(header, rows)`` of the comparison table, one row per method (in the run's order).

    Intervals are ``mean [low, high]`` (bootstrap, the run's level); "vs" columns are paired
    differences of the per-example AOPC gap (this method minus the other).
    """
    rows = []
    for name, m in summary["methods"].items():
        rand = m.get("randomisation")
        top = _ci(rand["spearman_abs"][1], 2) if rand and len(rand["spearman_abs"]) > 1 else "-"
        full = _ci(rand["spearman_abs"][-1], 2) if rand and len(rand["spearman_abs"]) > 1 \
            else "-"
        rows.append([
            name,
            _ci(m["aopc"]["mrf"], 4),
            _ci(m["aopc"]["lrf"], 4),
            _ci(m["aopc"]["gap"], 4),
            _ci(m.get("vs_paper", {}).get("gap"), 4, signed=True) if "vs_paper" in m else "-",
            _ci(m.get("vs_random", {}).get("gap"), 4, signed=True) if "vs_random" in m else "-",
            top,
            full,
            _num(m["explain_s_per_example"], 3),
        ])
    return HEADER, rows


def methods_findings(summary: Mapping[str, Any]) -> list[str]:
    """Plain-language findings, one sentence each, read off the numbers (nothing assumed)."""
    methods: Mapping[str, Any] = summary["methods"]
    level = int(round(100 * float(summary["level"])))
    out: list[str] = []
    ranked = sorted(methods, key=lambda n: -float(methods[n]["aopc"]["gap"]["mean"]))
    best = ranked[0]
    out.append(
        f"Largest area between the MRF and LRF curves: {best} "
        f"({_ci(methods[best]['aopc']['gap'], 4)}); order: {', '.join(ranked)}."
    )
    ref = summary.get("reference")
    if ref:
        better = [n for n in methods if n != ref and _excludes_zero(methods[n]["vs_paper"]["gap"])
                  and float(methods[n]["vs_paper"]["gap"]["mean"]) > 0]
        worse = [n for n in methods if n != ref and _excludes_zero(methods[n]["vs_paper"]["gap"])
                 and float(methods[n]["vs_paper"]["gap"]["mean"]) < 0]
        tied = [n for n in methods if n != ref and n not in better and n not in worse]
        out.append(
            f"Against the paper preset (paired, {level} % intervals of the gap difference): "
            f"better: {', '.join(better) or 'none'}; worse: {', '.join(worse) or 'none'}; "
            f"not distinguishable: {', '.join(tied) or 'none'}."
        )
    floor = summary.get("floor")
    if floor:
        at_floor = [n for n in methods if n != floor
                    and not (_excludes_zero(methods[n]["vs_random"]["gap"])
                             and float(methods[n]["vs_random"]["gap"]["mean"]) > 0)]
        out.append(
            "Not distinguishable from (or below) the random floor: "
            f"{', '.join(at_floor) or 'none'}."
        )
    with_rand = {n: m["randomisation"] for n, m in methods.items() if "randomisation" in m}
    if with_rand and len(summary.get("cascade", [])) > 1:
        parts = [f"{n} {_num(r['spearman_abs'][-1]['mean'], 2)}" for n, r in with_rand.items()]
        out.append(
            "Model randomisation (Spearman of |R| between the trained and the fully randomised "
            f"model, {summary['n_sanity_examples']} examples; near 0 = the heatmap depends on "
            f"the model, near 1 = it does not): {'; '.join(parts)}."
        )
    return out


def methods_section(
    summary: Mapping[str, Any], figures: Mapping[str, bytes] | None = None,
    title: str = "Attribution methods: faithfulness and sanity",
) -> Section:
    """The comparison as a report :class:`~audiolrp.report.html.Section`.

    ``figures`` (name -> PNG bytes) defaults to the three figures of
    :mod:`audiolrp.plots.methods` drawn from ``summary``.
    """
    if figures is None:
        figures = comparison_figures(summary)
    header, rows = methods_table(summary)
    blocks: list[Any] = [
        Text(
            f"{summary['n_examples']} examples, {summary['steps']} pixel-flipping steps "
            f"(bins of all channels set to the input normalisation's zero, true-class clip "
            f"probability), {summary['n_boot']} bootstrap resamples (seed {summary['seed']}), "
            f"randomisation cascade on {summary['n_sanity_examples']} examples."
        ),
        Table(rows, header, caption="AOPC mean [bootstrap interval]; 'vs' columns: paired "
              "differences of MRF - LRF on the same examples."),
    ]
    blocks += [Text(s) for s in methods_findings(summary)]
    captions = {
        "flipping_curves": "Pixel-flipping curves with bootstrap bands",
        "aopc_bars": "AOPC per method with bootstrap intervals",
        "randomisation": "Cascading model randomisation: similarity to the trained heatmaps",
    }
    for key, png in figures.items():
        blocks.append(Image(png, caption=captions.get(key, key)))
    return Section(title, blocks, anchor="methods")


def comparison_figures(summary: Mapping[str, Any]) -> dict[str, bytes]:
    """The comparison's figures as PNG bytes: flipping curves, AOPC bars and (when run) the
    randomisation cascade."""
    figs = {"flipping_curves": plot_flipping_curves(summary),
            "aopc_bars": plot_aopc_bars(summary)}
    if len(summary.get("cascade", [])) > 1:
        figs["randomisation"] = plot_randomisation_cascade(summary)
    return {k: figure_png(f) for k, f in figs.items()}


def methods_markdown(
    summary: Mapping[str, Any], figure_files: Sequence[str] = (), command: str = ""
) -> str:
    """The comparison as Markdown: settings, the table, the findings and links to the figure
    files (paths relative to the Markdown file)."""
    header, rows = methods_table(summary)
    lines = ["# Attribution methods: faithfulness and sanity", ""]
    if command:
        lines += ["```", command, "```", ""]
    lines += [
        f"{summary['n_examples']} examples, {summary['steps']} flipping steps, "
        f"{summary['n_boot']} bootstrap resamples (seed {summary['seed']}, "
        f"{int(round(100 * float(summary['level'])))} % intervals), randomisation on "
        f"{summary['n_sanity_examples']} examples.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    lines.append("")
    lines += [f"- {s}" for s in methods_findings(summary)]
    lines.append("")
    lines += [f"![{f}]({f})" for f in figure_files]
    return "\n".join(lines) + "\n"


#: The figures of a comparison and their file names.
FIGURES = {
    "flipping_curves": "flipping_curves.png",
    "aopc_bars": "aopc_bars.png",
    "randomisation": "randomisation.png",
}


def write_methods_report(
    out: Path, record: dict[str, Any], summary: Mapping[str, Any], model: str
) -> list[str]:
    """Write a finished comparison (the record and summary of
    :func:`audiolrp.app.methods.run_methods`) into ``out``: the figures, ``methods.html``,
    ``methods.md`` and ``methods.json`` (the record with its ``files``, written last); returns
    every path, ``methods.json`` first."""
    figures = comparison_figures(summary)
    files = [str(atomic_write_bytes(out / FIGURES[key], png)) for key, png in figures.items()]
    n = record["data"]["n_examples"]
    files.append(str(write_report(out / "methods.html", "audiolrp analyze methods",
                                  [methods_section(record, figures)],
                                  subtitle=f"model {model}, {n} examples")))
    md = methods_markdown(record, [FIGURES[k] for k in figures], command=record["command"])
    files.append(str(atomic_write_text(out / "methods.md", md)))
    files.insert(0, str(out / "methods.json"))
    record["files"] = files
    write_json(out / "methods.json", record, allow_nan=False, default=None)
    return files


__all__ = [
    "FIGURES",
    "write_methods_report",
    "HEADER",
    "comparison_figures",
    "methods_findings",
    "methods_markdown",
    "methods_section",
    "methods_table",
]
