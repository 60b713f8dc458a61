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

A model of another architecture (a CRNN for ``--arch conformer``, or the reverse) gives the
front end both share (:data:`FRONT_END`: the input normalisation and the convolution blocks
of :func:`audiolrp.models.crnn.conv_front_end`), across orders too; the layers after it keep
their random initialisation from the seed.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from audiolrp.errors import AudioLRPError
from audiolrp.models import LoadedModel, build_architecture
from audiolrp.models import load as load_model
from audiolrp.models.files import DOAModel
from audiolrp.signal.feature_kinds import HOA, feature_kind
from audiolrp.signal.layout import InputLayout
from audiolrp.training.config import TrainConfig
from audiolrp.training.data import normalization_stats

#: State-dict prefixes of the front end every architecture shares (input normalisation and
#: convolution blocks): what ``--init-from`` copies from a model of another architecture.
FRONT_END: tuple[str, ...] = ("normalization.", "conv.")


def seed_everything(seed: int) -> None:
    """Seed the global torch, NumPy and Python generators (weight initialisation, dropout)."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 - seeds third-party global use
    random.seed(seed)


def has_random_layers(model: nn.Module) -> bool:
    """Whether the forward pass of ``model`` in training mode draws random numbers (dropout
    layers, or ``nn.MultiheadAttention``'s attention dropout, with a probability > 0)."""
    return any(
        (isinstance(m, nn.modules.dropout._DropoutNd) and m.p > 0)
        or (isinstance(m, nn.MultiheadAttention) and m.dropout > 0)
        for m in model.modules()
    )


@contextlib.contextmanager
def seeded_step(seed: int, step: int, rank: int, device: torch.device) -> Iterator[None]:
    """Run a training step's random draws (dropout) from a generator seeded by ``(seed, step,
    rank)`` and leave the global torch generator as it was.

    The global generator also feeds every DataLoader iterator, which an interrupted run creates
    again on resuming; dropout drawn from it would differ after a resume. Drawn from this
    per-step seed, a resumed run is bit-identical to an uninterrupted one.
    """
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        state = np.random.SeedSequence([int(seed), int(step), int(rank), 0xD50])
        torch.manual_seed(int(state.generate_state(1, np.uint64)[0] >> 1))
        yield


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


def initialise_from(model: nn.Module, init: LoadedModel, config: TrainConfig) -> dict[str, Any]:
    """Copy ``init``'s weights and normalisation into ``model`` (of another architecture: only
    the shared :data:`FRONT_END`); describe where they came from."""
    state = init.model.state_dict()
    same_arch = type(init.model) is type(model)
    if not same_arch:
        state = {k: v for k, v in state.items() if k.startswith(FRONT_END)}
    # across orders, only HOA channels have a relayout (adapt_input_order)
    relaid = feature_kind(config.feature) is HOA and init.order != config.model_order
    if relaid:
        state = adapt_input_order(state, init.order, config.model_order)
    if same_arch:
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as err:
            first = str(err).splitlines()[0]
            raise AudioLRPError(
                f"--init-from {config.init_from} does not fit this architecture ({first}): pass "
                "the same --model-size/--n-filters/--lstm-hidden/--n-dense as that model"
            ) from None
    else:
        _load_front_end(model, state, init, config)
    training = dict(init.config.get("training") or {})
    record: dict[str, Any] = {
        "model": str(config.init_from),
        "weights_sha256": init.config.get("weights_sha256"),
        "training": training,
    }
    if relaid:
        record["input_order_changed"] = {"from": init.order, "to": config.model_order}
    if not same_arch:
        record["architecture_changed"] = {
            "from": type(init.model).__name__, "to": type(model).__name__,
            "copied": "input normalisation and convolution front end",
        }
    return record


def _load_front_end(
    model: nn.Module, front: dict[str, torch.Tensor], init: LoadedModel, config: TrainConfig
) -> None:
    """Copy the shared front end ``front`` into ``model`` (one-line error on any misfit)."""
    own = model.state_dict()
    for key in ("pool_sizes", "n_bins"):
        theirs, ours = init.model.config.get(key), getattr(model, "config", {}).get(key)
        if theirs != ours:
            raise AudioLRPError(
                f"--init-from {config.init_from} pools its convolution blocks with {key}="
                f"{theirs}, this --arch {config.arch} with {ours}: pass the same model_kwargs"
            )
    for key, value in front.items():
        if key not in own or tuple(own[key].shape) != tuple(value.shape):
            got = tuple(own[key].shape) if key in own else "none"
            raise AudioLRPError(
                f"--init-from {config.init_from} is a {type(init.model).__name__} whose front "
                f"end does not fit this --arch {config.arch} ({key}: {tuple(value.shape)} vs "
                f"{got}): pass the --n-filters (or --model-size) of that model"
            )
    missing = sorted(k for k in own if k.startswith(FRONT_END) and k not in front)
    if missing:
        raise AudioLRPError(
            f"--init-from {config.init_from} lacks the front-end tensors {missing[:3]} of this "
            f"--arch {config.arch}: pass a model with the same convolution blocks"
        )
    model.load_state_dict(front, strict=False)


def initial_model(
    config: TrainConfig, train_dataset: Dataset, device: torch.device, *, resuming: bool
) -> tuple[DOAModel, dict[str, Any] | None]:
    """Seed the generators and build the run's network on ``device``.

    Returns the model of ``config.arch`` (random weights from ``config.seed`` with training-set
    normalisation, or the weights of ``config.init_from``) and the ``initialised_from`` record
    (``None`` for a random start). A run that is ``resuming`` gets its weights from the
    checkpoint instead, so ``init_from`` is not read.
    """
    seed_everything(config.seed)
    init = load_init_model(config) if not resuming and config.init_from else None
    if config.use_normalization and init is None:
        mean, std = normalization_stats(train_dataset)
    else:
        mean, std = None, None
    model = build_architecture(
        config.arch,
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
