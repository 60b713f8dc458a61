"""`audiolrp explain FILE`: DOA estimates of an Ambisonics recording, explained with LRP."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from audiolrp.cli.app import (
    MODEL_HELP,
    app,
    check_model,
    check_report_target,
    fmt_or_dash,
    prepare_output_dir,
    print_json,
)
from audiolrp.errors import AudioLRPError

EXPLAIN_EPILOG = """\
Examples:

  audiolrp explain rec.wav                     (AmbiX ACN/SN3D, intensity model)

  audiolrp explain rec_fuma.wav --format fuma  (FuMa, orders 1 to 3)

  audiolrp explain rec.flac --model hoa2 --hop-s 0.25 --windows 0,4

  audiolrp explain rec.wav --json > rec.json   (machine-readable results)

Input: WAV/FLAC, (N+1)^2 channels (N = 1..4), any length and sample rate.
"""


def _parse_windows(text: str | None) -> list[int] | None:
    if text is None or not text.strip():
        return None
    try:
        values = [int(v) for v in text.replace(" ", "").split(",") if v != ""]
    except ValueError:
        raise AudioLRPError(
            f"--windows {text!r} is not a list of window indices: pass e.g. --windows 0,3"
        ) from None
    if any(v < 0 for v in values):
        raise AudioLRPError(f"--windows {text!r} has a negative index: pass indices >= 0")
    return values or None


EXPLAIN_HELP = (
    "Predict and explain the DOA of an Ambisonics recording in sliding 1-s windows.\n\n"
    "Each window's direction of arrival is predicted by the model (a CRNN or a conformer) and "
    "explained with Layer-wise Relevance Propagation; the most confident window (or --windows) "
    "gets the detailed analyses (relevance heatmaps, channel relevance, pixel flipping, "
    "auralization). Prints a table of the estimates (or --json) and writes report.html, "
    "figures, WAVs and results.json."
)


def run_recording(
    path: str | Path,
    out_dir: str | Path | None = None,
    model: str = "intensity",
    format: str = "ambix",
    hop_s: float = 0.5,
    windows: list[int] | None = None,
    pixel_flipping: bool = True,
    quiet: bool = False,
    max_detailed: int = 3,
    method: str | None = None,
) -> dict[str, Any]:
    """Explain in three calls: load the model, analyse the recording window by window
    (:func:`audiolrp.app.windows.analyse_recording`), draw the report
    (:func:`audiolrp.report.pages.write_recording_report`). Returns ``results.json``'s
    content. ``method``: the relevance method (``None``: the model architecture's preset)."""
    from audiolrp.app.explainer import Explainer
    from audiolrp.app.windows import analyse_recording, hop_samples
    from audiolrp.progress import Progress
    from audiolrp.report.pages import (
        ReportFolder,
        default_recording_out_dir,
        write_recording_report,
    )

    hop_samples(hop_s)  # a bad --hop-s is reported before anything else
    folder = ReportFolder.check(default_recording_out_dir(path) if out_dir is None else out_dir)
    prog = Progress(6, enabled=not quiet)
    with prog.step(f"loading model {model!r}", "load_model"):
        ex = Explainer.load(model, method=method)
    rec = analyse_recording(ex, path, format, hop_s, windows, pixel_flipping, max_detailed,
                            progress=prog, show_bar=not quiet)
    return write_recording_report(folder, ex, rec, prog)


@app.command(help=EXPLAIN_HELP, epilog=EXPLAIN_EPILOG)
def explain(
    file: Annotated[Path, typer.Argument(help="Ambisonics WAV/FLAC recording.")],
    model: Annotated[
        str,
        typer.Option("--model", "-m", help=MODEL_HELP),
    ] = "intensity",
    format: Annotated[
        str, typer.Option("--format", "-f", help="Channel convention: ambix (ACN/SN3D) or fuma.")
    ] = "ambix",
    hop_s: Annotated[
        float, typer.Option("--hop-s", help="Hop between the 1-s analysis windows (s).")
    ] = 0.5,
    windows: Annotated[
        str | None,
        typer.Option(help="Comma-separated window indices to analyse in detail (default: the "
                     "most confident window)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Output folder (default: ./FILE-audiolrp)."),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print results.json to stdout instead of a table.")
    ] = False,
    no_pixel_flipping: Annotated[
        bool, typer.Option("--no-pixel-flipping", help="Skip the pixel-flipping analysis.")
    ] = False,
    method: Annotated[
        str | None,
        typer.Option(help="Relevance method: an LRP preset (paper, attn_lrp, cp_lrp, ...) or "
                     "gradient, ...; default: paper for a CRNN, attn_lrp for a conformer."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress messages.")] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite a report.html in OUT not written by "
                           "audiolrp.")
    ] = False,
) -> None:
    """Predict and explain the DOA of an Ambisonics recording in sliding 1-s windows."""
    from audiolrp.app.recordings import check_audio_path
    from audiolrp.report.pages import default_recording_out_dir

    fmt = format.lower()
    if fmt not in ("ambix", "fuma"):
        raise AudioLRPError(f"--format {format!r} is unknown: use ambix or fuma")
    check_audio_path(file)
    check_model(model)
    if method is not None:
        from audiolrp.lrp import parse_method

        try:
            parse_method(method)
        except AudioLRPError as e:  # name the option
            raise AudioLRPError(str(e).replace("unknown method", "unknown --method", 1)) from None
    target = out if out is not None else default_recording_out_dir(file)
    check_report_target(target, force=force)
    out_dir = prepare_output_dir(target)
    results = run_recording(
        file, out_dir=out_dir, model=model, format=fmt, hop_s=hop_s,
        windows=_parse_windows(windows), pixel_flipping=not no_pixel_flipping, quiet=quiet,
        method=method,
    )
    if json_output:
        print_json(results)
        return
    typer.echo(f"{'window':>6} {'start_s':>8} {'azimuth_deg':>12} {'elevation_deg':>14} "
               f"{'class':>6} {'confidence':>11}  flag")

    for w in results["windows"]:
        flag = "silent" if w["silent"] else "quiet" if w["quiet"] else ""
        typer.echo(
            f"{w['index']:>6} {w['start_s']:>8.2f} {fmt_or_dash(w['azimuth_deg'], '>12.1f')} "
            f"{fmt_or_dash(w['elevation_deg'], '>14.1f')} {fmt_or_dash(w['class'], '>6d')} "
            f"{w['confidence']:>11.3f}  {flag}".rstrip()
        )
    report = Path(results["output_dir"]) / "report.html"
    typer.echo(f"report: {report.resolve()}")


__all__ = ["explain"]
