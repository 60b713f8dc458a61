"""`audiolrp train` and `audiolrp evaluate` subcommands.

``audiolrp train DATA OUT`` trains a CRNN on a dataset folder (``audiolrp simulate``), writing
logs, resumable checkpoints and ``OUT/model.{json,safetensors}``; ``--resume`` continues an
interrupted run; ``--export-name NAME`` then evaluates the model on a fresh seeded test set and
writes ``NAME.safetensors``, ``NAME.json``, ``NAME.md`` (model card) into
``audiolrp/pretrained/`` (or ``--export-dir``). For DDP launch the same command with
``torchrun --nproc_per_node K --no-python audiolrp train ...``.

``audiolrp evaluate --model NAME_OR_PATH [--data DIR]`` reports accuracy, great-circle errors
and SNR/RT60 breakdowns, on a dataset split or on a freshly simulated seeded test set.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from audiolrp.cli.app import (
    MODEL_HELP,
    CorpusOption,
    JsonOption,
    ProgressOption,
    SnrDbOption,
    ThreadsOption,
    app,
    check_at_least,
    check_threads,
    parse_range,
    prepare_output_dir,
    print_json,
)
from audiolrp.errors import AudioLRPError
from audiolrp.signal.feature_kinds import FEATURE_KINDS


def _command_line() -> str:
    args = sys.argv[1:]
    return "audiolrp " + shlex.join(args) if args else "audiolrp train"


@app.command("train")
def train_command(
    data: Annotated[str, typer.Argument(
        help="Dataset folder written by `audiolrp simulate`; several joined by commas (e.g. one "
        "per speech corpus) are used as one training set.")],
    out: Annotated[Path, typer.Argument(help="Output folder (logs, checkpoints, model).")],
    feature: Annotated[str, typer.Option(
        help=f"Input features: {' or '.join(FEATURE_KINDS)}.")] = "hoa",
    order: Annotated[int, typer.Option(help="HOA order N (ignored for intensity).")] = 2,
    epochs: Annotated[int, typer.Option(help="Maximum number of epochs.")] = 30,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Examples per step.")] = 32,
    lr: Annotated[float, typer.Option(help="Adam learning rate.")] = 1e-3,
    patience: Annotated[int, typer.Option(
        help="Early stopping: epochs without val-loss improvement.")] = 6,
    lr_patience: Annotated[int, typer.Option(
        "--lr-patience", help="Epochs without improvement before LR halves.")] = 2,
    seed: Annotated[int, typer.Option(help="Seed of initialisation and data order.")] = 0,
    num_workers: Annotated[int, typer.Option("--num-workers", help="DataLoader workers.")] = 0,
    checkpoint_every: Annotated[int, typer.Option(
        "--checkpoint-every", help="Checkpoint every N steps (0: epoch ends).")] = 200,
    max_train_examples: Annotated[int | None, typer.Option(
        "--max-train-examples", help="Use only the first N.")] = None,
    max_val_examples: Annotated[int | None, typer.Option(
        "--max-val-examples", help="Use only the first N.")] = None,
    arch: Annotated[str, typer.Option(
        help="Network: crnn (Table 1, BiLSTMs) or conformer (the same convolution front end, "
        "conformer blocks in place of the BiLSTMs; docs/models.md).")] = "crnn",
    model_size: Annotated[str, typer.Option(
        "--model-size", help="Size preset of --arch: full (Table 1), small, tiny.")] = "full",
    n_filters: Annotated[int | None, typer.Option("--n-filters", help="Conv filters.")] = None,
    lstm_hidden: Annotated[int | None, typer.Option(
        "--lstm-hidden", help="LSTM blocks per direction.")] = None,
    n_dense: Annotated[int | None, typer.Option("--n-dense", help="Hidden dense units.")] = None,
    label_sigma_deg: Annotated[float, typer.Option(
        "--label-sigma-deg", help="0: one-hot targets (the paper); >0: Gaussian angular "
        "targets of this std (deg).")] = 0.0,
    init_from: Annotated[str | None, typer.Option(
        "--init-from", help="Start from this saved model (name, model JSON or training "
        "folder): fine-tune. An HOA model of another order gives its shared input channels.")
    ] = None,
    precision: Annotated[str, typer.Option(
        help="auto (bf16 autocast where the CPU/GPU has it), bf16 or fp32.")] = "auto",
    channels_last: Annotated[bool, typer.Option(
        help="Convolutions in channels_last memory format.")] = True,
    crop_frames: Annotated[int, typer.Option(
        "--crop-frames", help="Train on random crops of N frames (0: whole clips).")] = 25,
    schedule: Annotated[str, typer.Option(
        help="plateau (the paper) or cosine (sized to --epochs).")] = "plateau",
    warmup_steps: Annotated[int, typer.Option(
        "--warmup-steps", help="Linear LR warm-up steps (cosine).")] = 0,
    augment: Annotated[bool, typer.Option(
        help="Rotate/mirror each training scene's sound field (exact, Ambisonics domain).")
    ] = False,
    direction_targets: Annotated[bool, typer.Option(
        help="Gaussian targets around the exact source direction (not its class).")] = False,
    select_by: Annotated[str, typer.Option(
        "--select-by", help="Keep the epoch with the best val_loss or val_error.")] = "val_loss",
    device: Annotated[str, typer.Option(help="auto (GPU if present), cpu or cuda.")] = "auto",
    threads: ThreadsOption = None,
    resume: Annotated[bool, typer.Option(
        "--resume", help="Continue the interrupted run in OUT.")] = False,
    progress: ProgressOption = True,
    export_name: Annotated[str | None, typer.Option(
        "--export-name", help="After training, ship the model as NAME (+ card).")] = None,
    export_dir: Annotated[Path | None, typer.Option(
        "--export-dir", help="Where to export (default audiolrp/pretrained/).")] = None,
    eval_examples: Annotated[int, typer.Option(
        "--eval-examples", help="Simulated test examples for the card.")] = 500,
    eval_seed: Annotated[int | None, typer.Option(
        "--eval-seed", help="Seed of the card's test set.")] = None,
    task: Annotated[str, typer.Option(
        help="single (softmax, one talker) or multi (sigmoid head, several talkers; a dataset "
        "from `simulate --sources`, docs/multisource.md).")] = "single",
    max_minutes: Annotated[float | None, typer.Option(
        "--max-minutes", help="--task multi: stop cleanly after this much training (resume "
        "later).")] = None,
    json_out: JsonOption = False,
) -> None:
    """Train a DOA CRNN (Table 1) or conformer (--arch) with Adam, early stopping and
    resumable checkpoints.

    Example (the recipe of the shipped models, docs/models.md):

      audiolrp train data/debian,data/espeak runs/int --feature intensity --augment
      --label-sigma-deg 8 --schedule cosine --lr 5e-4 --select-by val_error --epochs 20
    """
    _train(dict(locals()))


#: Options of ``train`` that are :class:`~audiolrp.training.TrainConfig` fields of that name.
_CONFIG_OPTIONS = (
    "order", "epochs", "batch_size", "lr", "patience", "lr_patience", "seed", "num_workers",
    "max_train_examples", "max_val_examples", "arch", "model_size", "n_filters", "lstm_hidden",
    "n_dense", "label_sigma_deg", "init_from", "precision", "channels_last", "crop_frames",
    "schedule", "warmup_steps", "augment", "direction_targets", "select_by", "device",
)
#: Options of ``train --task multi`` (keywords of ``train_multisource_command``).
_MULTI_OPTIONS = (
    "epochs", "batch_size", "lr", "warmup_steps", "seed", "checkpoint_every",
    "max_train_examples", "max_val_examples", "model_size", "init_from", "crop_frames",
    "augment", "label_sigma_deg", "max_minutes", "resume",
)


def _train(opts: dict[str, Any]) -> None:
    """The work of :func:`train_command` (``opts``: its options by parameter name)."""
    from audiolrp.training import TrainConfig
    from audiolrp.training.checkpoints import has_checkpoint

    data, out, task, resume = opts["data"], opts["out"], opts["task"], opts["resume"]
    check_threads(opts["threads"])
    if resume and task != "multi" and not has_checkpoint(out):
        raise AudioLRPError(
            f"--resume: {out} holds no training run to continue: drop --resume to start a new "
            "run there, or pass the OUT folder of the interrupted run"
        )
    show = opts["progress"] and not opts["json_out"]
    if task == "multi" and opts["arch"] != "crnn":
        raise AudioLRPError(
            f"--arch {opts['arch']} trains one talker: drop --task multi (several talkers train "
            "the CRNN with its sigmoid head)"
        )
    if task == "multi":
        from audiolrp.app.multisource import train_multisource_command

        prepare_output_dir(out, option="OUT", resumable=lambda p: (p / "checkpoint.json").is_file())
        print_json(train_multisource_command(
            data, out, feature=opts["feature"].lower(), progress=show, command=_command_line(),
            **{k: opts[k] for k in _MULTI_OPTIONS}))
        return
    if task != "single":
        raise AudioLRPError(f"--task {task!r} is unknown; use single or multi")
    prepare_output_dir(out, option="OUT", resumable=has_checkpoint)
    if opts["export_dir"] is not None:
        prepare_output_dir(opts["export_dir"], option="--export-dir")
    config = TrainConfig(
        feature=opts["feature"].lower(), checkpoint_every_steps=opts["checkpoint_every"],
        progress=show, **{k: opts[k] for k in _CONFIG_OPTIONS},
    )
    from audiolrp.app.training import run_training

    summary = run_training(
        data, out, config, resume=resume, command=_command_line(),
        export_name=opts["export_name"], export_dir=opts["export_dir"],
        eval_examples=opts["eval_examples"], eval_seed=opts["eval_seed"], progress=show,
    )
    if summary is not None:  # None: a DDP rank other than 0 (rank 0 reports)
        _echo_summary(summary, opts["json_out"])


def _echo_summary(summary: dict[str, Any], json_out: bool) -> None:
    if json_out:
        print_json(summary)
    else:
        for key, value in summary.items():
            typer.echo(f"{key}: {value}")


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
