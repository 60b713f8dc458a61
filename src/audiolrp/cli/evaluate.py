"""`audiolrp evaluate` subcommand.

``audiolrp evaluate --model NAME_OR_PATH [--data DIR]`` reports accuracy, great-circle errors
and SNR/RT60 breakdowns, on a dataset split or on a freshly simulated seeded test set
(:func:`audiolrp.evaluation.evaluate`), beside the classic intensity-vector estimator.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from audiolrp.cli.app import (
    MODEL_HELP,
    CorpusOption,
    JsonOption,
    ProgressOption,
    SnrDbOption,
    app,
    check_at_least,
    parse_range,
    prepare_output_dir,
    print_json,
)
from audiolrp.errors import AudioLRPError

EVALUATE_EPILOG = """\
Examples:

  audiolrp evaluate --model intensity            # the model card's test set

  audiolrp evaluate --model intensity --off-grid --corpus espeak --n-examples 200

  audiolrp evaluate --model hoa2 --off-grid --point-noise 1,4

  audiolrp evaluate --model intensity --speech-tilt -6,-6   # a duller talker

  audiolrp evaluate --model intensity --speech-lowpass 4000,4000   # speech sampled at 8 kHz

  audiolrp evaluate --model hoa2 --mic sphere32   # recorded by a 32-capsule sphere

  audiolrp evaluate --model runs/hoa2/model.json --data data/hoa4 --split test
"""


@app.command("evaluate", epilog=EVALUATE_EPILOG)
def evaluate_command(
    model: Annotated[str, typer.Option("--model", help=MODEL_HELP)],
    data: Annotated[Path | None, typer.Option(
        "--data", help="Dataset folder; default: simulate a fresh seeded test set.")] = None,
    split: Annotated[str, typer.Option(help="Split of --data to evaluate.")] = "test",
    max_examples: Annotated[int | None, typer.Option(
        "--max-examples", help="Use only the first N of --data.")] = None,
    n_examples: Annotated[int | None, typer.Option(
        "--n-examples", help="Simulated examples (default: model card's, or 500).")] = None,
    seed: Annotated[int | None, typer.Option(
        help="Seed of the simulated test set (default: model card's).")] = None,
    off_grid: Annotated[bool, typer.Option(
        "--off-grid", help="Simulated sources at uniformly random (off-grid) directions.")
    ] = False,
    corpus: CorpusOption = None,
    snr_db: SnrDbOption = None,
    point_noise: Annotated[str | None, typer.Option(
        "--point-noise", help="Add LOW,HIGH directional pink-noise sources per simulated "
        "scene (e.g. 1,4), 30-100 % of the noise power, beside the babble.")] = None,
    speech_tilt: Annotated[str | None, typer.Option(
        "--speech-tilt", help="Spectral tilt LOW,HIGH (dB per octave around 1 kHz) of the "
        "target talker, e.g. -6,-6 for a duller voice or recording chain (babble unchanged).")
    ] = None,
    speech_lowpass: Annotated[str | None, typer.Option(
        "--speech-lowpass", help="Band limit LOW,HIGH (Hz, low-pass cut-off drawn "
        "log-uniformly) of the target talker, e.g. 4000,4000 for speech recorded at 8 kHz "
        "(babble unchanged).")] = None,
    mic: Annotated[str | None, typer.Option(
        "--mic", help="Microphone of the simulated test set: ideal, tetra (tetrahedral array, "
        "orders 0-1) or sphere32 (32-capsule rigid sphere, orders 0-4); default: the card's.")
    ] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Write metrics.json, predictions and errors.png.")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Examples per batch.")] = 16,
    device: Annotated[str, typer.Option(help="cpu or cuda.")] = "cpu",
    plot: Annotated[bool, typer.Option(help="Write errors.png into --out.")] = True,
    progress: ProgressOption = True,
    json_out: JsonOption = False,
) -> None:
    """Accuracy, great-circle errors and SNR/RT60 breakdowns of a DOA model, beside the
    classic intensity-vector estimator on the same clips."""
    from audiolrp.evaluation import evaluate, format_metrics

    check_at_least(("--batch-size", batch_size, 1), ("--n-examples", n_examples, 1))
    if device not in ("cpu", "cuda"):
        raise AudioLRPError(f"unknown --device {device!r}: use cpu or cuda")
    overrides = _test_set_overrides(off_grid, corpus, snr_db, point_noise, speech_tilt,
                                    speech_lowpass, mic)
    if overrides and data is not None:
        raise AudioLRPError(
            "--off-grid, --corpus, --snr-db, --point-noise, --speech-tilt, --speech-lowpass and "
            "--mic describe a simulated test set: drop them or drop --data"
        )
    if out is not None:
        prepare_output_dir(out)
    result = evaluate(
        model, overrides=overrides or None, data_root=data, split=split,
        max_examples=max_examples, n_examples=n_examples, seed=seed, batch_size=batch_size,
        device=device, out_dir=out, plot=plot, progress=progress and not json_out,
    )
    if json_out:
        print_json(
            {"metrics": result.metrics, "test_data": result.test_data, "files": result.files}
        )
        return
    name = str(result.metrics.get("model") or model)
    # a path is named as the user gave it ("runs/hoa2/model.json", not "model")
    typer.echo(f"model: {name if name == model else model}")
    typer.echo(f"test data: {result.test_data}")
    typer.echo(format_metrics(result.metrics))
    for key, path in result.files.items():
        typer.echo(f"{key}: {path}")


def _test_set_overrides(
    off_grid: bool, corpus: str | None, snr_db: str | None, point_noise: str | None,
    speech_tilt: str | None, speech_lowpass: str | None, mic: str | None,
) -> dict[str, Any]:
    """SceneConfig overrides of the simulated test set from the options of ``evaluate``
    (one-line errors for values out of range)."""
    from audiolrp.evaluation import point_noise_overrides
    from audiolrp.simulation.scenes import LOWPASS_RANGE_HZ, MAX_TILT_DB_PER_OCTAVE

    overrides: dict[str, Any] = {}
    if off_grid:
        overrides["direction_sampling"] = "uniform"
    if corpus is not None:
        overrides["speech"] = corpus
    if snr_db is not None:
        overrides["snr_db"] = list(parse_range(snr_db, "--snr-db", "10,20"))
    if point_noise is not None:
        low, high = (int(v) for v in parse_range(point_noise, "--point-noise", "1,4", int))
        if low < 1 or high > 16:
            raise AudioLRPError(f"--point-noise {point_noise!r} needs 1 <= LOW <= HIGH <= 16: "
                                "pass e.g. --point-noise 1,4")
        overrides.update(point_noise_overrides(low, high))
    if speech_tilt is not None:
        tilt = parse_range(speech_tilt, "--speech-tilt", "-6,-6")
        if max(abs(tilt[0]), abs(tilt[1])) > MAX_TILT_DB_PER_OCTAVE:
            raise AudioLRPError(
                f"--speech-tilt {speech_tilt!r} is beyond +-{MAX_TILT_DB_PER_OCTAVE:g} dB per "
                "octave: pass e.g. --speech-tilt -6,-6"
            )
        overrides["speech_tilt_db_per_octave"] = list(tilt)
    if speech_lowpass is not None:
        cut = parse_range(speech_lowpass, "--speech-lowpass", "4000,4000")
        if not LOWPASS_RANGE_HZ[0] <= cut[0] <= cut[1] <= LOWPASS_RANGE_HZ[1]:
            raise AudioLRPError(
                f"--speech-lowpass {speech_lowpass!r} is outside {LOWPASS_RANGE_HZ[0]:g}-"
                f"{LOWPASS_RANGE_HZ[1]:g} Hz: pass e.g. --speech-lowpass 4000,4000"
            )
        overrides["speech_lowpass_hz"] = list(cut)
    if mic is not None:
        from audiolrp.simulation.microphones import MIC_NAMES

        if mic not in MIC_NAMES:
            raise AudioLRPError(f"--mic {mic!r} is unknown: use {', '.join(MIC_NAMES)}")
        overrides["mic"] = mic
        if mic == "tetra":  # first order only (the model's order still wins and is checked)
            overrides["order"] = 1
    return overrides
