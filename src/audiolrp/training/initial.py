"""The network a run starts from: random weights from the seed, or a saved model's weights.

``init_from`` (fine-tuning) starts from the weights and input normalisation of a saved model
instead of a random initialisation; the earlier stage's training record is kept in the new
model's ``training["initialised_from"]``, so its card lists every stage.

An HOA model may also start from an HOA model of another order (:func:`adapt_input_order`):
the input channels both layouts share (same ACN, same magnitude / phase part) keep their
first-convolution weights and normalisation; channels only the saved model has are dropped,
and channels only the new model has start with zero weights (so the new network computes
exactly what the saved one computes from the shared channels), with the mean statistics of
their part (magnitude or phase) of the saved model.
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
from audiolrp.signal.feature_kinds import HOA, feature_kind
from audiolrp.signal.layout import InputLayout
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
    if loaded.feature != config.feature:
        raise AudioLRPError(
            f"--init-from {config.init_from} is a {loaded.feature} model of order {loaded.order} "
            f"but this run trains feature={config.feature!r} order={config.order}: pass a "
            "model of the same feature"
        )
    return loaded


def adapt_input_order(
    state: dict[str, torch.Tensor], from_order: int, to_order: int
) -> dict[str, torch.Tensor]:
    """A CRNN state dict of an order-``from_order`` HOA model, re-laid for order ``to_order``.

    The first convolution (``conv.0.weight``, shape ``(F, C, 3, 3)``) and the input
    normalisation (``normalization.mean`` / ``std``, shape ``(C,)``) are the only tensors whose
    size depends on the input channels ``C = 2 (N+1)^2``. Channels are matched by name
    (:attr:`audiolrp.signal.layout.InputLayout.names`, e.g. ``"ACN3 phase"``). A channel of
    the new layout that the old one lacks gets zero weights and the mean normalisation
    statistics of the old model's channels of its part (magnitude or phase).

    Parameters
    ----------
    state
        ``model.state_dict()`` of the saved HOA model.
    from_order, to_order
        Ambisonics orders of the saved model and of the model to initialise.

    Returns
    -------
    dict
        A new state dict; tensors that do not depend on the input channels are shared.
    """
    old = InputLayout.of(HOA.name, from_order)
    new = InputLayout.of(HOA.name, to_order)
    index = {name: i for i, name in enumerate(old.names)}
    out = dict(state)
    w = state["conv.0.weight"]
    new_w = w.new_zeros((w.shape[0], new.n_channels, *w.shape[2:]))
    for j, name in enumerate(new.names):
        if name in index:
            new_w[:, j] = w[:, index[name]]
    out["conv.0.weight"] = new_w
    part_of = {c: "magnitude" for c in new.groups["magnitude"] or ()}
    part_of.update({c: "phase" for c in new.groups["phase"] or ()})
    for key in ("normalization.mean", "normalization.std"):
        v = state[key]
        part_mean = {p: v[list(old.groups[p] or ())].mean() for p in ("magnitude", "phase")}
        out[key] = torch.stack(
            [
                v[index[name]] if name in index else part_mean[part_of[j]]
                for j, name in enumerate(new.names)
            ]
        )
    return out


def initialise_from(model: CRNN, init: LoadedModel, config: TrainConfig) -> dict[str, Any]:
    """Copy ``init``'s weights and normalisation into ``model``; describe where they came from."""
    state = init.model.state_dict()
    # across orders, only HOA channels have a relayout (adapt_input_order)
    relaid = feature_kind(config.feature) is HOA and init.order != config.model_order
    if relaid:
        state = adapt_input_order(state, init.order, config.model_order)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        first = str(err).splitlines()[0]
        raise AudioLRPError(
            f"--init-from {config.init_from} does not fit this architecture ({first}): pass "
            "the same --model-size/--n-filters/--lstm-hidden/--n-dense as that model"
        ) from None
    training = dict(init.config.get("training") or {})
    record: dict[str, Any] = {
        "model": str(config.init_from),
        "weights_sha256": init.config.get("weights_sha256"),
        "training": training,
    }
    if relaid:
        record["input_order_changed"] = {"from": init.order, "to": config.model_order}
    return record


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
