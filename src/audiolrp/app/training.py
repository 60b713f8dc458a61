"""A training run from the command line (`audiolrp train`): train, summarise, and optionally
ship the model with its card (:func:`audiolrp.training.export_model`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from audiolrp import training
from audiolrp.training import TrainConfig


def run_training(
    data: str, out: Path, config: TrainConfig, *, resume: bool, command: str,
    export_name: str | None = None, export_dir: Path | None = None, eval_examples: int = 500,
    eval_seed: int | None = None, progress: bool = True, refinement_scenes: int = 0,
) -> dict[str, Any] | None:
    """Train on ``data`` into ``out`` and, with ``export_name``, export the model (fresh
    seeded test set, card) into ``export_dir``. Returns the summary (model, best epoch and
    validation numbers, epochs, steps, early stop, time, exported files), or ``None`` on a
    DDP rank other than 0 (rank 0 reports). ``refinement_scenes`` validation scenes choose the
    exported model's direction refinement first (0: the class direction)."""
    # through the package, so that tests may patch audiolrp.training.train / export_model
    result = training.train(data, out, config, resume=resume, command=command)
    summary: dict[str, Any] = {
        "model": str(result.model_path) if result.model_path else None,
        "best_epoch": result.best_epoch,
        "best_val_loss": result.best_val_loss,
        "best_val_accuracy": result.best_val_accuracy,
        "epochs_run": result.epochs_run,
        "steps": result.steps,
        "stopped_early": result.stopped_early,
        "train_time_s": round(result.train_time_s, 2),
    }
    if result.model_path is None:  # DDP rank > 0: rank 0 reports
        return None
    if export_name is not None:
        files = training.export_model(
            result.model_path,
            export_name,
            export_dir,
            eval_examples=eval_examples,
            eval_seed=eval_seed,
            progress=progress,
            refinement_scenes=refinement_scenes,
        )
        summary["exported"] = {k: str(v) for k, v in files.items()}
    return summary


__all__ = ["run_training"]
