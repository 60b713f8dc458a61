"""The network a run starts from: random weights from the seed, or a saved model's weights.

``init_from`` (fine-tuning) starts from the weights and input normalisation of a saved model
instead of a random initialisation; the earlier stage's training record is kept in the new
model's ``training["initialised_from"]``, so its card lists every stage.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from audiolrp.errors import AudioLRPError
from audiolrp.models import CRNN, LoadedModel, build_model
from audiolrp.models import load as load_model
from audiolrp.training.config import TrainConfig
from audiolrp.training.data import normalization_stats


def seed_everything(seed: int) -> None:
    """Seed the global torch, NumPy and Python generators (weight initialisation, dropout)."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 - seeds third-party global use
    random.seed(seed)


def load_init_model(config: TrainConfig) -> LoadedModel:
    """The saved model named by ``config.init_from`` (a run folder means its ``model.json``)."""
    src = Path(str(config.init_from))
    loaded = load_model(src / "model.json" if src.is_dir() else str(config.init_from))
    if loaded.feature != config.feature or (
        config.feature == "hoa" and loaded.order != config.order
    ):
        raise AudioLRPError(
            f"--init-from {config.init_from} is a {loaded.feature} model of order {loaded.order} "
            f"but this run trains feature={config.feature!r} order={config.order}: pass a "
            "matching model"
        )
    return loaded


def initialise_from(model: CRNN, init: LoadedModel, config: TrainConfig) -> dict[str, Any]:
    """Copy ``init``'s weights and normalisation into ``model``; describe where they came from."""
    try:
        model.load_state_dict(init.model.state_dict(), strict=True)
    except RuntimeError as err:
        first = str(err).splitlines()[0]
        raise AudioLRPError(
            f"--init-from {config.init_from} does not fit this architecture ({first}): pass "
            "the same --model-size/--n-filters/--lstm-hidden/--n-dense as that model"
        ) from None
    training = dict(init.config.get("training") or {})
    return {
        "model": str(config.init_from),
        "weights_sha256": init.config.get("weights_sha256"),
        "training": training,
    }


def initial_model(
    config: TrainConfig, train_dataset: Dataset, device: torch.device, *, resuming: bool
) -> tuple[CRNN, dict[str, Any] | None]:
    """Seed the generators and build the run's network on ``device``.

    Returns the model (random weights from ``config.seed`` with training-set normalisation,
    or the weights of ``config.init_from``) and the ``initialised_from`` record (``None`` for a
    random start). A run that is ``resuming`` gets its weights from the checkpoint instead, so
    ``init_from`` is not read.
    """
    seed_everything(config.seed)
    init = load_init_model(config) if not resuming and config.init_from else None
    if config.use_normalization and init is None:
        mean, std = normalization_stats(train_dataset)
    else:
        mean, std = None, None
    model = build_model(
        config.feature,
        config.order,
        size=config.model_size,
        norm_mean=mean,
        norm_std=std,
        n_filters=config.n_filters,
        lstm_hidden=config.lstm_hidden,
        n_dense=config.n_dense,
        **(config.model_kwargs or {}),
    )
    initialised_from = initialise_from(model, init, config) if init is not None else None
    model.to(device)
    if config.channels_last:
        model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    return model, initialised_from
