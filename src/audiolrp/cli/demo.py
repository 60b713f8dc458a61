"""`audiolrp demo`: simulate a scene, predict its DOA, explain it with LRP, write a report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from audiolrp.cli.app import (
    MODEL_HELP,
    app,
    check_model,
    check_report_target,
    prepare_output_dir,
    print_json,
)
from audiolrp.errors import AudioLRPError

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


def run_demo(
    out_dir: str | Path = "audiolrp-demo",
    model: str = "intensity",
    seed: int = 0,
    order: int | None = None,
    snr_db: float | None = None,
    rt60_s: float | None = None,
    pixel_flipping: bool = True,
    quiet: bool = False,
    pixel_flipping_scenes: int = 4,
) -> dict[str, Any]:
    """The demo in three calls: load the model, analyse a simulated scene
    (:func:`audiolrp.app.demo.analyse_demo`), draw the report
    (:func:`audiolrp.report.pages.write_demo_report`). Returns ``results.json``'s content."""
    from audiolrp.app.demo import analyse_demo
    from audiolrp.app.explainer import Explainer
    from audiolrp.progress import Progress
    from audiolrp.report.pages import ReportFolder, write_demo_report

    folder = ReportFolder.check(out_dir)
    prog = Progress(6 + int(pixel_flipping), enabled=not quiet)
    with prog.step(f"loading model {model!r}", "load_model"):
        ex = Explainer.load(model)
    demo = analyse_demo(ex, seed, order, snr_db, rt60_s, pixel_flipping, pixel_flipping_scenes,
                        progress=prog)
    return write_demo_report(folder, ex, demo, prog)


@app.command(help=DEMO_HELP, epilog=DEMO_EPILOG)
def demo(
    model: Annotated[
        str,
        typer.Option("--model", "-m", help=MODEL_HELP),
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
        typer.Option("--rt60-s", help="Reverberation time of the simulated room in s (> 0)."),
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
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite a report.html in OUT not written by "
                           "audiolrp.")
    ] = False,
) -> None:
    """Simulate a scene, predict its DOA, explain it with LRP, write an HTML report."""
    if rt60_s is not None and not rt60_s > 0:
        raise AudioLRPError(f"--rt60-s {rt60_s:g} is not a reverberation time: pass seconds > 0, "
                            "e.g. --rt60-s 0.5")
    check_report_target(out, force=force)
    check_model(model)
    prepare_output_dir(out)
    results = run_demo(
        out_dir=out, model=model, seed=seed, order=order, snr_db=snr_db, rt60_s=rt60_s,
        pixel_flipping=not no_pixel_flipping, quiet=quiet, pixel_flipping_scenes=pf_scenes,
    )
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


__all__ = ["demo"]

