"""`audiolrp demo`: simulate a scene, predict its DOA, explain it with LRP, write a report."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from audiolrp.cli.app import app, forget_new_dirs, prepare_output_dir
from audiolrp.errors import AudioLRPError

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2


def run_guarded(job: Callable[[], Any]) -> Any:
    """Run ``job``; turn user errors into one line + exit 2, internal errors into exit 1.

    :class:`~audiolrp.errors.AudioLRPError` -> ``error: <message>`` on stderr, exit code 2.
    Any other exception -> ``internal error: <type>: <message>`` on stderr and exit code 1
    (set ``AUDIOLRP_DEBUG=1`` to see the traceback). Ctrl-C -> exit 130. On any failure the
    output folders the job created with :func:`~audiolrp.cli.app.prepare_output_dir` are
    removed again if they are still empty.
    """
    try:
        result = job()
    except AudioLRPError as err:
        forget_new_dirs(remove_empty=True)
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    except KeyboardInterrupt:
        forget_new_dirs(remove_empty=True)
        typer.echo("interrupted", err=True)
        raise typer.Exit(130) from None
    except typer.Exit:
        forget_new_dirs(remove_empty=True)
        raise
    except Exception as err:  # noqa: BLE001 - the CLI's last line of defence
        forget_new_dirs(remove_empty=True)
        if os.environ.get("AUDIOLRP_DEBUG"):
            raise
        msg = str(err).strip().splitlines()[0] if str(err).strip() else ""
        typer.echo(
            f"internal error: {type(err).__name__}: {msg} (set AUDIOLRP_DEBUG=1 for the "
            "traceback and please report it)",
            err=True,
        )
        raise typer.Exit(EXIT_INTERNAL) from None
    forget_new_dirs(remove_empty=False)
    return result


def print_json(results: dict[str, Any]) -> None:
    """Print ``results`` as JSON on stdout (NumPy values converted)."""
    from audiolrp.report.html import json_dumps

    sys.stdout.write(json_dumps(results))
    sys.stdout.flush()


DEMO_EPILOG = """\
Examples:

  audiolrp demo                             (intensity model, writes ./audiolrp-demo/)

  audiolrp demo --model hoa2 --seed 3       (2nd-order HOA model, another scene)

  audiolrp demo --snr-db 5 --rt60-s 0.8 --out noisy-room

  audiolrp demo --model my_model.json --json  (any saved model, JSON output)

Open OUT/report.html in a browser: it works offline (figures and audio are embedded).
"""


DEMO_HELP = (
    "Simulate a speech scene, predict its DOA, explain it with LRP, write an HTML report.\n\n"
    "A reverberant, noisy speech scene is simulated (seeded), its direction of arrival is "
    "predicted by a CRNN, the prediction is explained with Layer-wise Relevance Propagation, "
    "and channel relevance, pixel flipping and the relevance auralization are computed. The "
    "output folder gets report.html, the figures (PNG), WAV files (input W channel, direct "
    "sound, relevance-filtered audio) and results.json. Progress goes to stderr."
)


@app.command(help=DEMO_HELP, epilog=DEMO_EPILOG)
def demo(
    model: Annotated[
        str,
        typer.Option("--model", "-m",
                     help="Shipped model name (hoa2, intensity) or path of a saved NAME.json."),
    ] = "intensity",
    seed: Annotated[int, typer.Option(help="Seed of the simulated scene.", min=0)] = 0,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Output folder (created if missing).")
    ] = Path("audiolrp-demo"),
    order: Annotated[
        int | None,
        typer.Option(help="Ambisonics order of the simulated scene (default: what the model "
                     "needs).", min=1, max=4),
    ] = None,
    snr_db: Annotated[
        float | None, typer.Option("--snr-db", help="Signal-to-noise ratio of the scene (dB).")
    ] = None,
    rt60_s: Annotated[
        float | None,
        typer.Option("--rt60-s", help="Reverberation time of the simulated room (s).", min=0.0),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print results.json to stdout instead of a summary.")
    ] = False,
    no_pixel_flipping: Annotated[
        bool, typer.Option("--no-pixel-flipping", help="Skip the pixel-flipping analysis.")
    ] = False,
    pf_scenes: Annotated[
        int,
        typer.Option("--pf-scenes", min=1,
                     help="Scenes in the pixel-flipping mean curve (this one + next seeds)."),
    ] = 4,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress messages.")] = False,
) -> None:
    """Simulate a scene, predict its DOA, explain it with LRP, write an HTML report."""

    def job() -> dict[str, Any]:
        prepare_output_dir(out)
        from audiolrp.report.pages import run_demo

        return run_demo(
            out_dir=out, model=model, seed=seed, order=order, snr_db=snr_db, rt60_s=rt60_s,
            pixel_flipping=not no_pixel_flipping, quiet=quiet, pixel_flipping_scenes=pf_scenes,
        )

    results = run_guarded(job)
    if json_output:
        print_json(results)
        return
    pred, truth = results["prediction"], results["truth"]
    report = Path(results["output_dir"]) / "report.html"
    typer.echo(
        f"true DOA:      azimuth {truth['azimuth_deg']:7.1f} deg, elevation "
        f"{truth['elevation_deg']:6.1f} deg (class {truth['class']})"
    )
    typer.echo(
        f"predicted DOA: azimuth {pred['azimuth_deg']:7.1f} deg, elevation "
        f"{pred['elevation_deg']:6.1f} deg (class {pred['class']}, confidence "
        f"{pred['confidence']:.3f}); error {results['angular_error_deg']:.1f} deg"
    )
    typer.echo(f"report: {report.resolve()}")
    typer.echo(f"        (open it in a browser; took {results['timing_s']['total']:.1f} s)")


__all__ = ["demo", "print_json", "run_guarded"]

