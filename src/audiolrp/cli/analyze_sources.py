"""`audiolrp analyze sources`: whose relevance is it, for each source a multi-source model
detects (body in :func:`audiolrp.app.multisource.analyse_sources`; docs/multisource.md).

Writes ``results.json`` (detections, matched error, counting, per detection the shares of its
positive relevance near each talker's direction and in the bins each talker dominates, beside
the same shares of the energy), ``sources-I.png`` (one sphere map per detection) and
``sources.html`` (the page, drawn by :func:`audiolrp.report.sources.write_sources_report`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from audiolrp.cli.analyze import analyze_app
from audiolrp.cli.app import SHIPPED_MULTISOURCE_MODELS, prepare_output_dir, print_json
from audiolrp.errors import AudioLRPError
from audiolrp.simulation.corpora import corpus_help

EPILOG = """\
Examples:

  audiolrp analyze sources --n-examples 20 -o sources    (the shipped multi-intensity model)

  audiolrp analyze sources --model runs/multi/model.json --n-examples 20 -o sources

  audiolrp analyze sources -m multi-intensity --sources 2-2 --json
"""


@analyze_app.command("sources", epilog=EPILOG)
def sources_cmd(
    model: Annotated[str, typer.Option("--model", "-m", help=(
        f"Shipped multi-source model ({', '.join(SHIPPED_MULTISOURCE_MODELS)}) or path of a "
        "saved NAME.json of one (sigmoid head, `train --task multi`)."))] = "multi-intensity",
    n_examples: Annotated[int, typer.Option(help="Simulated multi-talker scenes.")] = 20,
    seed: Annotated[int, typer.Option(help="Seed of the simulated scenes.")] = 0,
    sources: Annotated[str, typer.Option(help="Talkers per scene, LO-HI (1..3).")] = "2-3",
    min_separation_deg: Annotated[float, typer.Option(
        "--min-separation-deg", help="Smallest angle between two talkers (degrees).")] = 30.0,
    corpus: Annotated[str | None, typer.Option(
        help=corpus_help("Speech of the simulated scenes", default="model's recipe"))] = None,
    threshold: Annotated[float | None, typer.Option(
        help="Detector threshold; replaces the model file's detector, its learned source "
             "counter included (default: the detector chosen on validation)."
    )] = None,
    n_maps: Annotated[int, typer.Option(help="Scenes drawn as sphere maps.")] = 3,
    threads: Annotated[int | None, typer.Option(
        help="torch intra-op threads (default: torch's choice).")] = None,
    out: Annotated[Path, typer.Option(
        "--out", "-o", help="Output folder (created if missing).")] = Path("analysis-sources"),
    progress: Annotated[bool, typer.Option(help="Progress bar on stderr.")] = True,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print the results as JSON instead of a summary.")] = False,
) -> None:
    """Whose relevance is it: explain each detected source of a multi-source model and
    measure how much of the explanation sits at that talker (its direction; the bins it
    dominates) versus the other talkers, beside the energy in the same bins."""
    if n_examples < 1 or n_maps < 0:
        raise AudioLRPError(f"--n-examples must be >= 1 and --n-maps >= 0, got {n_examples}, "
                            f"{n_maps}")
    if threads is not None:
        if threads < 1:
            raise AudioLRPError(f"--threads must be >= 1, got {threads}")
        import torch

        torch.set_num_threads(threads)
    prepare_output_dir(out)
    from audiolrp.app.multisource import analyse_sources

    result = analyse_sources(
        model, n_examples=n_examples, seed=seed, sources=sources,
        min_separation_deg=min_separation_deg, corpus=corpus, out=out, n_figures=n_maps,
        threshold=threshold, progress=progress and not as_json,
    )
    from audiolrp.report.sources import write_sources_report

    page = write_sources_report(result, out)
    if as_json:
        print_json(result)
        return
    echo_summary(result)
    typer.echo(f"wrote {page}")


def echo_summary(result: dict[str, Any]) -> None:
    """The human-readable summary of :func:`sources_cmd`."""
    from audiolrp.evaluation.multisource import format_multisource

    typer.echo(format_multisource(f"model {result['model']}", result["detection"]))
    s = result["summary"]
    typer.echo(f"{s['n_matched']} of {s['n_detections']} detections matched to a talker; mean "
               "share of a detection's positive relevance (energy |W|^2 of the same bins):")
    for kind, what in (("direction", "near the talker's direction"),
                       ("dominance", "in bins the talker dominates")):
        d = s[kind]
        typer.echo(f"  {what:30s} own {d['own']:.3f} ({d['energy_own']:.3f}), others "
                   f"{d['others']:.3f} ({d['energy_others']:.3f})")
    if result["figures"]:
        typer.echo(f"wrote {', '.join(result['figures'])}")


__all__ = ["sources_cmd"]
