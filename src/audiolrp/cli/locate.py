"""`audiolrp locate FILE`: the direction of arrival per window of a recording, no explanations."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from audiolrp.cli.app import (
    MODEL_HELP,
    SHIPPED_MULTISOURCE_MODELS,
    app,
    fmt_or_dash,
    prepare_output_dir,
    print_json,
)
from audiolrp.errors import AudioLRPError

LOCATE_EPILOG = """\
Examples:

  audiolrp locate rec.wav                          (AmbiX ACN/SN3D, hoa1 model, 1-s hop)

  audiolrp locate rec.wav --model hoa2 --hop-s 0.5 (2nd-order recording or higher)

  audiolrp locate rec_fuma.wav --format fuma --json > doa.json

  audiolrp locate rec.flac --out rec-doa            (locate.json, directions.png, timeline.png)

  audiolrp locate rec.wav --views 0                (the model's views: finer, several times slower)

  audiolrp locate rec.wav --model multi-intensity  (several talkers at once: each window's talkers)

Input: WAV/FLAC, (N+1)^2 channels (N = 1..4), any length, sample rate and level. The file is
streamed: memory does not grow with its length.
"""

LOCATE_HELP = (
    "Print the direction of arrival of every 1-s window of an Ambisonics recording.\n\n"
    "Each window is brought to the level the model was trained at and classified by a CRNN; "
    "the direction is refined from the probabilities around the most probable of the 425 "
    "classes (both are printed). Silent windows get no direction; quiet windows (30 dB or more "
    "below the recording's loud windows) are flagged. With a multi-source model "
    "(multi-intensity) each window lists the talkers it detects. No explanation is computed: "
    "use `audiolrp explain` for that."
)


@app.command(help=LOCATE_HELP, epilog=LOCATE_EPILOG)
def locate(
    file: Annotated[Path, typer.Argument(help="Ambisonics WAV/FLAC recording.")],
    model: Annotated[
        str, typer.Option("--model", "-m", help=MODEL_HELP + " Several talkers per window: "
                          + ", ".join(SHIPPED_MULTISOURCE_MODELS) + ".")
    ] = "hoa1",
    format: Annotated[
        str, typer.Option("--format", "-f", help="Channel convention: ambix (ACN/SN3D) or fuma.")
    ] = "ambix",
    hop_s: Annotated[
        float, typer.Option("--hop-s", help="Hop between the 1-s windows in seconds (>= 0.05).")
    ] = 1.0,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Also write locate.json and the direction plots here."),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print locate.json to stdout instead of a table.")
    ] = False,
    views: Annotated[
        int, typer.Option("--views", help="Rotated/mirrored views of the sound field averaged "
                          "into each direction: 1 (fastest) to 16, each one more forward pass; "
                          "0: the model's own choice (docs/models.md).")
    ] = 1,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Print the direction of arrival of every 1-s window of an Ambisonics recording."""

    from audiolrp.app.explainer import Explainer
    from audiolrp.app.locate import count_windows, locate_recording
    from audiolrp.app.recordings import check_audio_path
    from audiolrp.io import write_json
    from audiolrp.progress import progress_bar

    fmt = format.lower()
    if fmt not in ("ambix", "fuma"):
        raise AudioLRPError(f"--format {format!r} is unknown: use ambix or fuma")
    if not 0 <= views <= 16:
        raise AudioLRPError(f"--views {views} is invalid: pass 0 (the model's choice) to 16")
    check_audio_path(file)
    lm = Explainer.load(model).model
    if lm.task == "multi" and views != 1:
        raise AudioLRPError(f"--views {views} does not apply to the multi-source model "
                            f"{lm.name!r} (its talkers come from one view): drop --views")
    out_dir = prepare_output_dir(out) if out is not None else None
    n = count_windows(lm, file, fmt, hop_s)
    bar = progress_bar(n, enabled=not quiet and n > 1)
    loc = locate_recording(lm, file, format=fmt, hop_s=hop_s, progress=bar,
                           views=views or None)
    results = loc.to_dict()
    if out_dir is not None:
        from audiolrp.plots import directions_map_figure, save_figure, timeline_figure

        times, az, el, weight = loc.points()
        save_figure(directions_map_figure(az, el, times, weight,
                                          title=f"{file.name}, {lm.name}"),
                    out_dir / "directions.png")
        save_figure(timeline_figure(times, az, el, weight), out_dir / "timeline.png")
        write_json(out_dir / "locate.json", results)
    if json_output:
        print_json(results)
        return
    if loc.multisource:
        _print_sources(results)
        return
    typer.echo(f"{'window':>6} {'start_s':>8} {'azimuth_deg':>11} {'elevation_deg':>13} "
               f"{'class':>5} {'class_az':>8} {'class_el':>8} {'confidence':>10} "
               f"{'level_dbfs':>10}  flag")
    for w in results["windows"]:
        flag = "silent" if w["silent"] else "quiet" if w["quiet"] else ""
        cols = [("azimuth_deg", "11.1f"), ("elevation_deg", "13.1f"), ("class", "5d"),
                ("class_azimuth_deg", "8.1f"), ("class_elevation_deg", "8.1f")]
        typer.echo(
            f"{w['index']:>6} {w['start_s']:>8.2f} "
            + " ".join(fmt_or_dash(w[key], spec) for key, spec in cols)
            + f" {w['confidence']:>10.3f} {fmt_or_dash(w['level_dbfs'], '10.1f')}  {flag}".rstrip()
        )
    if results["n_silent"] or results["n_quiet"]:
        typer.echo(f"{results['n_silent']} silent and {results['n_quiet']} quiet window(s): "
                   "their directions are not a talker's", err=True)


def _print_sources(results: dict[str, Any]) -> None:
    """The table of a multi-source model: one line per window, its talkers as az/el pairs."""
    typer.echo(f"{'window':>6} {'start_s':>8} {'n':>2} {'level_dbfs':>10}  "
               "talkers (azimuth_deg/elevation_deg activity), flag")
    for w in results["windows"]:
        flag = "silent" if w["silent"] else "quiet" if w["quiet"] else ""
        talkers = ", ".join(f"{s['azimuth_deg']:.1f}/{s['elevation_deg']:.1f} "
                            f"{s['activity']:.3f}" for s in w["sources"])
        typer.echo(f"{w['index']:>6} {w['start_s']:>8.2f} {w['n_sources']:>2} "
                   f"{fmt_or_dash(w['level_dbfs'], '10.1f')}  {talkers}"
                   + (f"  {flag}" if flag else ""))
    if results["n_silent"] or results["n_quiet"]:
        typer.echo(f"{results['n_silent']} silent and {results['n_quiet']} quiet window(s): "
                   "their talkers are background at most", err=True)


__all__ = ["locate"]
