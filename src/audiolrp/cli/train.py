"""`audiolrp train` subcommand (`audiolrp evaluate` is in :mod:`audiolrp.cli.evaluate`).

``audiolrp train DATA OUT`` trains a CRNN on a dataset folder (``audiolrp simulate``), writing
logs, resumable checkpoints and ``OUT/model.{json,safetensors}``; ``--resume`` continues an
interrupted run; ``--export-name NAME`` then evaluates the model on a fresh seeded test set and
writes ``NAME.safetensors``, ``NAME.json``, ``NAME.md`` (model card) into
``audiolrp/pretrained/`` (or ``--export-dir``). For DDP launch the same command with
``torchrun --nproc_per_node K --no-python audiolrp train ...``.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from audiolrp.cli.app import (
    JsonOption,
    ProgressOption,
    ThreadsOption,
    app,
    check_at_least,
    check_threads,
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
    refinement_scenes: Annotated[int, typer.Option(
        "--refine-scenes", help="Validation scenes (off-grid) the exported model's "
        "direction refinement is chosen on before its card is evaluated; 0: class direction.",
    )] = 400,
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
    check_at_least(("--refine-scenes", opts["refinement_scenes"], 0))
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
        refinement_scenes=opts["refinement_scenes"],
    )
    if summary is not None:  # None: a DDP rank other than 0 (rank 0 reports)
        _echo_summary(summary, opts["json_out"])


def _echo_summary(summary: dict[str, Any], json_out: bool) -> None:
    if json_out:
        print_json(summary)
    else:
        for key, value in summary.items():
            typer.echo(f"{key}: {value}")
