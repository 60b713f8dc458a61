"""Multi-source commands' bodies: ``audiolrp simulate --sources`` and
``audiolrp analyze sources`` (the CLI stays thin)."""

from __future__ import annotations

import os
from typing import Any

from audiolrp.data.multisource import generate_multisource_dataset, multisource_spec
from audiolrp.data.spec import DatasetSpec
from audiolrp.errors import AudioLRPError
from audiolrp.simulation.multisource import MultiSourceConfig, parse_sources
from audiolrp.training.multisource import MultiTrainConfig, train_multisource


def simulate_multisource_dataset(
    out_dir: str | os.PathLike[str],
    spec: DatasetSpec,
    sources: str,
    min_separation_deg: float,
    *,
    workers: int = 1,
    shard: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """``audiolrp simulate OUT --sources LO-HI``: a multi-source dataset folder."""
    if shard is not None:
        raise AudioLRPError("--shard is not supported with --sources; run on one machine")
    multi = MultiSourceConfig(
        n_sources=parse_sources(sources), min_separation_deg=min_separation_deg
    )
    return generate_multisource_dataset(out_dir, multisource_spec(spec, multi), workers=workers)


def train_multisource_command(
    data: str, out: str | os.PathLike[str], *, feature: str, epochs: int, batch_size: int,
    lr: float, warmup_steps: int, seed: int, checkpoint_every: int,
    max_train_examples: int | None, max_val_examples: int | None, model_size: str,
    init_from: str | None, crop_frames: int, augment: bool, label_sigma_deg: float,
    max_minutes: float | None, resume: bool, progress: bool, command: str,
) -> dict[str, Any]:
    """``audiolrp train DATA OUT --task multi``: the options of ``train`` mapped onto
    :class:`~audiolrp.training.multisource.MultiTrainConfig` (``--label-sigma-deg 0`` means the
    default target width of 8 degrees)."""
    if "," in data:
        raise AudioLRPError("--task multi trains on one dataset folder; pass a single DATA")
    config = MultiTrainConfig(
        feature=feature, order=1, epochs=epochs, batch_size=batch_size, lr=lr,
        warmup_steps=warmup_steps, seed=seed, checkpoint_every_steps=max(1, checkpoint_every),
        max_train_examples=max_train_examples, max_val_examples=max_val_examples,
        model_size=model_size, init_from=init_from, crop_frames=crop_frames, augment=augment,
        target_sigma_deg=label_sigma_deg if label_sigma_deg > 0 else 8.0,
        max_minutes=max_minutes, progress=progress,
    )
    return train_multisource(data, out, config, resume=resume, command=command)
