"""Resumable checkpoints: safetensors + JSON, never pickle.

Every ``checkpoint_every_steps`` optimizer steps and at every epoch end the training loop writes
``OUT/checkpoints/ckpt-STEP.{safetensors,json}`` and points ``latest.json`` at it.

Format (``format: "audiolrp-checkpoint"``, ``format_version: 1``):

``ckpt-STEP.safetensors``
    ``model.NAME`` (the state dict), ``optim.PARAM_ID.NAME`` (Adam moments and step),
    ``rng.torch`` and ``rng.cuda.I`` (RNG states).
``ckpt-STEP.json``
    ``weights_file``; ``optimizer`` (``param_groups`` and the non-tensor per-parameter state);
    ``scheduler`` (the plateau scheduler's state dict); ``rng`` (NumPy and Python global RNG
    states); ``state`` (:class:`~audiolrp.training.state.TrainState`, with the run's config).

:func:`restore_checkpoint` puts all of it back, so a resumed run continues exactly where the
checkpoint was written (bit-identical weights on the CPU).
"""

from __future__ import annotations

import contextlib
import json
import random
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import torch as st_torch
from torch import nn

from audiolrp.errors import AudioLRPError, ModelFileError
from audiolrp.io import atomic_write_bytes, json_default, write_json
from audiolrp.training.config import TrainConfig
from audiolrp.training.state import TrainState

CHECKPOINT_FORMAT = "audiolrp-checkpoint"
CHECKPOINT_VERSION = 1

#: Settings a resumed run must share with the run that wrote the checkpoint.
RESUME_MUST_MATCH: tuple[str, ...] = (
    "feature",
    "order",
    "arch",
    "model_size",
    "n_filters",
    "lstm_hidden",
    "n_dense",
    "model_kwargs",
    "batch_size",
    "seed",
    "label_sigma_deg",
    "init_from",
    "crop_frames",
    "schedule",
    "warmup_steps",
    "augment",
    "direction_targets",
    "select_by",
)
#: Of those, the settings added after the first checkpoints were written (not checked when a
#: checkpoint does not record them).
_ADDED_LATER: frozenset[str] = frozenset(
    {"crop_frames", "schedule", "warmup_steps", "augment", "direction_targets", "select_by"}
)


def _optimizer_to_parts(
    opt: torch.optim.Optimizer,
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    sd = opt.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    other_state: dict[str, dict[str, Any]] = {}
    for pid, st in sd["state"].items():
        for key, val in st.items():
            if torch.is_tensor(val):
                tensors[f"optim.{pid}.{key}"] = val.detach().cpu().contiguous().clone()
            else:
                other_state.setdefault(str(pid), {})[key] = val
    return tensors, {"param_groups": sd["param_groups"], "other_state": other_state}


def _optimizer_from_parts(
    opt: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], meta: dict[str, Any]
) -> None:
    state: dict[int, dict[str, Any]] = {}
    for key, val in tensors.items():
        if not key.startswith("optim."):
            continue
        _, pid, name = key.split(".", 2)
        state.setdefault(int(pid), {})[name] = val
    for pid, extra in meta.get("other_state", {}).items():
        state.setdefault(int(pid), {}).update(extra)
    opt.load_state_dict({"state": state, "param_groups": meta["param_groups"]})


def _rng_state() -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    tensors = {"rng.torch": torch.get_rng_state().clone()}
    if torch.cuda.is_available():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = s.clone()
    np_state = np.random.get_state()  # noqa: NPY002 - global state of third-party code
    assert isinstance(np_state, tuple)  # the legacy form (the default)
    py_state = random.getstate()
    meta = {
        "numpy": [
            np_state[0],
            np.asarray(np_state[1]).tolist(),
            *[float(v) if isinstance(v, float) else int(v) for v in np_state[2:]],
        ],
        "python": [py_state[0], list(py_state[1]), py_state[2]],
    }
    return tensors, meta


def _set_rng_state(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    if "rng.torch" in tensors:
        torch.set_rng_state(tensors["rng.torch"])
    cuda = [tensors[k] for k in sorted(tensors) if k.startswith("rng.cuda.")]
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)
    if "numpy" in meta:
        n = meta["numpy"]
        np.random.set_state((n[0], np.asarray(n[1], np.uint32), n[2], n[3], n[4]))  # noqa: NPY002
    if "python" in meta:
        p = meta["python"]
        random.setstate((p[0], tuple(p[1]), p[2]))


def checkpoint_dir(out_dir: Path) -> Path:
    """The checkpoint folder of a run folder."""
    return out_dir / "checkpoints"


def has_checkpoint(out_dir: Path) -> bool:
    """Whether ``out_dir`` holds a training run (a ``latest.json`` pointer)."""
    return (checkpoint_dir(out_dir) / "latest.json").exists()


def save_checkpoint(
    out_dir: Path,
    *,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.ReduceLROnPlateau,
    state: TrainState | dict[str, Any],
    keep: int = 2,
) -> Path:
    """Write ``checkpoints/ckpt-STEP.{safetensors,json}`` then point ``latest.json`` at it.

    Each file goes to a temporary name and is renamed into place; ``latest.json`` is replaced
    last, so a kill at any moment leaves the previous complete checkpoint in charge. The
    ``keep`` newest checkpoints are kept.
    """
    state_dict = state.to_dict() if isinstance(state, TrainState) else state
    ckdir = checkpoint_dir(out_dir)
    ckdir.mkdir(parents=True, exist_ok=True)
    step = int(state_dict["global_step"])
    stem = f"ckpt-{step:09d}"
    tensors = {
        f"model.{k}": v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()
    }
    opt_tensors, opt_meta = _optimizer_to_parts(optimizer)
    rng_tensors, rng_meta = _rng_state()
    tensors.update(opt_tensors)
    tensors.update(rng_tensors)
    blob = st_torch.save(tensors, metadata={"format": CHECKPOINT_FORMAT})
    meta = {
        "format": CHECKPOINT_FORMAT,
        "format_version": CHECKPOINT_VERSION,
        "weights_file": f"{stem}.safetensors",
        "optimizer": opt_meta,
        "scheduler": scheduler.state_dict(),
        "rng": rng_meta,
        "state": state_dict,
    }
    atomic_write_bytes(ckdir / f"{stem}.safetensors", blob)
    write_json(ckdir / f"{stem}.json", meta, indent=1)
    write_json(ckdir / "latest.json", {"checkpoint": stem}, indent=None)
    old = sorted(p for p in ckdir.glob("ckpt-*.json") if p.stem != stem)
    for p in old[: max(0, len(old) - (keep - 1))]:
        with contextlib.suppress(OSError):
            p.with_suffix(".safetensors").unlink()
            p.unlink()
    return ckdir / f"{stem}.json"


def load_checkpoint(out_dir: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]] | None:
    """Read the latest checkpoint of a run: ``(tensors, meta)`` (``None`` when there is none).

    Raises
    ------
    ModelFileError
        The checkpoint is damaged or not an audiolrp checkpoint.
    """
    ckdir = checkpoint_dir(out_dir)
    pointer = ckdir / "latest.json"
    if not pointer.exists():
        return None
    try:
        stem = json.loads(pointer.read_text())["checkpoint"]
        meta = json.loads((ckdir / f"{stem}.json").read_text())
        tensors = st_torch.load((ckdir / f"{stem}.safetensors").read_bytes())
    except Exception as err:  # noqa: BLE001 - any damage is reported the same way
        msg = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ModelFileError(
            f"checkpoint in {ckdir} is unreadable ({msg}): delete {ckdir} to start afresh"
        ) from None
    if meta.get("format") != CHECKPOINT_FORMAT:
        raise ModelFileError(f"{ckdir / stem}.json is not an audiolrp checkpoint: delete {ckdir}")
    return tensors, meta


def _jsonish(value: Any) -> Any:
    """``value`` as it reads back from JSON (tuples become lists)."""
    return json.loads(json.dumps(value, default=json_default))


def check_resume_config(saved: dict[str, Any], config: TrainConfig, out_dir: Path) -> None:
    """Raise :class:`AudioLRPError` if ``config`` changes a setting of :data:`RESUME_MUST_MATCH`
    from ``saved`` (the checkpoint's ``state["config"]``)."""
    saved_cfg = TrainConfig.from_dict(saved)
    for key in RESUME_MUST_MATCH:
        if key not in saved and key in _ADDED_LATER:
            continue  # checkpoint written before these options existed
        if _jsonish(getattr(saved_cfg, key)) != _jsonish(getattr(config, key)):
            raise AudioLRPError(
                f"--resume with {key}={getattr(config, key)!r} but the run in {out_dir} used "
                f"{getattr(saved_cfg, key)!r}: use the original settings or a new folder"
            )


def restore_checkpoint(
    checkpoint: tuple[dict[str, torch.Tensor], dict[str, Any]],
    *,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.ReduceLROnPlateau,
    device: torch.device,
    config: TrainConfig,
    out_dir: Path,
    command: str | None,
) -> TrainState:
    """Put a checkpoint back: weights, optimizer, scheduler and global RNG states; return its
    state, with ``command`` appended to the resume commands and ``config`` as the run's config.

    ``config`` must match the checkpoint's (:func:`check_resume_config`); a finished run that
    is resumed with more ``epochs`` than it ran is reopened.
    """
    tensors, meta = checkpoint
    check_resume_config(meta["state"].get("config", {}), config, out_dir)
    model_sd = {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}
    model.load_state_dict(model_sd, strict=True)
    model.to(device)
    _optimizer_from_parts(optimizer, tensors, meta["optimizer"])
    scheduler.load_state_dict(meta["scheduler"])
    _set_rng_state(tensors, meta.get("rng", {}))
    state = TrainState.from_dict(meta["state"])
    state.resume_commands = [*state.resume_commands, command]
    state.config = asdict(config)
    if state.finished and not state.stopped_early and state.epoch < config.epochs:
        state.finished = False  # resumed with a larger --epochs: train on
    return state
