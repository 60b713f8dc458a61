"""Training the multi-source CRNN (``audiolrp train --task multi``).

The network is the CRNN of Table 1 with the sigmoid head (:mod:`audiolrp.models.multisource`);
it may start from any single-source model of the same feature and size (``--init-from``: every
tensor, the output layer included, has the same shape). Targets follow Poschadel et al.'s
multi-source CRNN: per class ``t_k = max_s exp(-theta(d_s, c_k)^2 / (2 sigma^2))`` (soft, 1 at
each exact source direction ``d_s``, ``sigma = target_sigma_deg``), the same for every frame;
loss: frame-wise binary cross-entropy with logits. Optional exact sound-field augmentation
(rotation about the vertical axis, y/z mirrors: :mod:`audiolrp.signal.augmentation`) moves
every talker's direction with the field. Random crops of ``crop_frames`` frames. Adam with a
linear warm-up and a cosine decay over the planned steps.

After every epoch the validation clips give the loss, the detector thresholds with the best
source counting (:func:`audiolrp.evaluation.multisource.choose_detector`, with a source counter
fitted on the same clips when its cross-validated counting is at least as good,
:mod:`audiolrp.models.source_count`) and its matched error; the weights with the best
validation count accuracy (ties: lower matched error) are kept as
``OUT/model.{json,safetensors}`` with the detector (threshold, counter) in the description.

Checkpoints (``OUT/checkpoint.{safetensors,json}``, atomic, every ``checkpoint_every_steps``
and at epoch ends) hold the weights, the Adam state and the step; the batch order and every
random draw of step ``s`` are pure functions of ``(seed, epoch, batch)``, so ``--resume``
continues exactly. ``max_minutes`` stops cleanly (checkpoint written) after that much training
time in this process.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import torch as st_torch

from audiolrp.data.multisource import MultiSourceDataset
from audiolrp.errors import AudioLRPError
from audiolrp.evaluation.multisource import choose_detector, model_activity
from audiolrp.io import atomic_write_bytes, write_json
from audiolrp.models import CRNN, build_model, save
from audiolrp.models import load as load_model
from audiolrp.models.multisource import DETECTOR_KEY, SourceDetector
from audiolrp.signal.ambisonics import angular_error_deg, direction_from_vector, doa_grid
from audiolrp.signal.augmentation import random_field_transforms, sh_transform_matrix
from audiolrp.signal.feature_kinds import feature_kind
from audiolrp.signal.features import compute_features

CHECKPOINT_NAME: str = "checkpoint"


@dataclass
class MultiTrainConfig:
    """Every setting of a multi-source training run (module docstring)."""

    feature: str = "intensity"
    order: int = 1
    epochs: int = 10
    batch_size: int = 32
    lr: float = 5e-4
    min_lr: float = 1e-5
    warmup_steps: int = 50
    seed: int = 0
    checkpoint_every_steps: int = 100
    max_train_examples: int | None = None
    max_val_examples: int | None = None
    model_size: str = "full"
    init_from: str | None = None
    crop_frames: int = 25
    augment: bool = True
    target_sigma_deg: float = 8.0
    min_separation_deg: float = 25.0
    max_minutes: float | None = None
    progress: bool = True

    def __post_init__(self) -> None:
        feature_kind(self.feature)  # one-line error naming the registered kinds
        if self.epochs < 1 or self.batch_size < 1:
            raise AudioLRPError("--epochs and --batch-size must be >= 1")
        if not self.target_sigma_deg > 0:
            raise AudioLRPError(f"target width {self.target_sigma_deg} deg must be > 0")


def multisource_targets(
    azimuth_rad: np.ndarray, elevation_rad: np.ndarray, sigma_deg: float
) -> torch.Tensor:
    """Soft multi-source targets ``(B, 425)`` float32 (module docstring).

    Parameters
    ----------
    azimuth_rad, elevation_rad
        ``(B, S)`` talker directions, NaN for absent talkers.
    sigma_deg
        Width of each source's bump (degrees).
    """
    az = np.asarray(azimuth_rad, np.float64)
    el = np.asarray(elevation_rad, np.float64)
    grid = doa_grid()
    theta = angular_error_deg(az[..., None], el[..., None], grid[:, 0], grid[:, 1])  # (B,S,K)
    bump = np.exp(-0.5 * (theta / sigma_deg) ** 2)
    bump[~np.isfinite(az)] = 0.0
    return torch.from_numpy(bump.max(axis=1).astype(np.float32))


def _augment(
    audio: torch.Tensor, az: np.ndarray, el: np.ndarray, rng: np.random.Generator
) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    """Rotate/mirror each example's sound field and all of its talkers' directions."""
    order = math.isqrt(audio.shape[1]) - 1
    mats3 = np.stack([t.matrix3() for t in random_field_transforms(len(audio), rng)])
    mats = torch.as_tensor(np.stack([sh_transform_matrix(order, m) for m in mats3]),
                           dtype=audio.dtype)
    out = torch.bmm(mats, audio)
    v = np.stack([np.cos(az) * np.cos(el), np.sin(az) * np.cos(el), np.sin(el)], -1)
    v2 = np.einsum("bij,bsj->bsi", mats3, np.nan_to_num(v, nan=1.0))
    az2, el2 = direction_from_vector(v2)
    absent = ~np.isfinite(az)
    az2, el2 = np.asarray(az2, np.float64), np.asarray(el2, np.float64)
    az2[absent], el2[absent] = np.nan, np.nan
    return out, az2, el2


def _lr(config: MultiTrainConfig, step: int, total: int) -> float:
    if config.warmup_steps and step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    p = min(1.0, (step - config.warmup_steps) / max(1, total - config.warmup_steps))
    return config.min_lr + 0.5 * (config.lr - config.min_lr) * (1.0 + math.cos(math.pi * p))


def _batch_audio(ds: MultiSourceDataset, idx: list[int]) -> torch.Tensor:
    """The batch's stored audio at the order its features read (InputLayout.order)."""
    return torch.from_numpy(np.stack([ds.audio(i, order=ds.layout.order) for i in idx]))


def _save_checkpoint(out: Path, model: CRNN, opt: torch.optim.Optimizer,
                     state: dict[str, Any]) -> None:
    tensors = {f"model.{k}": v.detach().cpu().contiguous().clone()
               for k, v in model.state_dict().items()}
    sd = opt.state_dict()
    other: dict[str, Any] = {}
    for pid, st in sd["state"].items():
        for key, val in st.items():
            if torch.is_tensor(val):
                tensors[f"optim.{pid}.{key}"] = val.detach().cpu().contiguous().clone()
            else:
                other.setdefault(str(pid), {})[key] = val
    atomic_write_bytes(out / f"{CHECKPOINT_NAME}.safetensors", st_torch.save(tensors))
    write_json(out / f"{CHECKPOINT_NAME}.json",
               {**state, "optimizer": {"param_groups": sd["param_groups"], "other": other}})


def _load_checkpoint(out: Path, model: CRNN, opt: torch.optim.Optimizer) -> dict[str, Any]:
    meta = json.loads((out / f"{CHECKPOINT_NAME}.json").read_text(encoding="utf-8"))
    tensors = st_torch.load((out / f"{CHECKPOINT_NAME}.safetensors").read_bytes())
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    ost: dict[int, dict[str, Any]] = {}
    for k, v in tensors.items():
        if k.startswith("optim."):
            _, pid, name = k.split(".", 2)
            ost.setdefault(int(pid), {})[name] = v
    for pid, extra in meta["optimizer"]["other"].items():
        ost.setdefault(int(pid), {}).update(extra)
    opt.load_state_dict({"state": ost, "param_groups": meta["optimizer"]["param_groups"]})
    return meta


def _validate(model: CRNN, val: MultiSourceDataset, idx: list[int], config: MultiTrainConfig,
              ) -> tuple[dict[str, Any], SourceDetector]:
    """Validation record and the detector chosen on the validation clips (thresholds and, when
    its cross-validated counting is at least as good, a source counter)."""
    model.eval()
    audio = np.stack([val.audio(i, order=1) for i in idx])
    act = model_activity(model, audio, config.feature)
    az, el = val.source_azimuth_rad[idx], val.source_elevation_rad[idx]
    tgt = multisource_targets(az, el, config.target_sigma_deg).numpy()
    p = np.clip(act, 1e-7, 1 - 1e-7)
    clip_bce = float(-np.mean(tgt * np.log(p) + (1 - tgt) * np.log(1 - p)))
    true = [val.directions(i) for i in idx]
    det, m = choose_detector(act, true, SourceDetector(
        min_separation_deg=config.min_separation_deg), fit_counter=True)
    model.train()
    return {"val_clip_bce": clip_bce, "threshold": det.threshold, "relative": det.relative,
            "counter": det.counter is not None,
            "count_accuracy": m["count_accuracy"],
            "threshold_rule_count_accuracy": m["threshold_rule_count_accuracy"],
            "counter_cv_count_accuracy": m["counter_cv_count_accuracy"],
            "matched_error_mean_deg": m["matched_error_deg"]["mean"],
            "matched_error_median_deg": m["matched_error_deg"]["median"],
            "misses": m["misses"], "false_alarms": m["false_alarms"]}, det


def train_multisource(
    data: str | os.PathLike[str], out: str | os.PathLike[str], config: MultiTrainConfig, *,
    resume: bool = False, command: str | None = None,
) -> dict[str, Any]:
    """Train (or resume) a multi-source CRNN on a multi-source dataset folder.

    Returns
    -------
    dict
        ``model`` (path of the kept model or None), ``steps``, ``epochs_run``, ``best`` (the
        kept epoch's validation record), ``train_time_s``, ``stopped`` (``"done"`` or
        ``"max_minutes"``).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    train, val, n_train, val_idx = _open_data(data, config)
    torch.manual_seed(config.seed)
    model, init_record = _initial_model(config, resume)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    steps_per_epoch = math.ceil(n_train / config.batch_size)
    total = steps_per_epoch * config.epochs
    state: dict[str, Any] = {"step": 0, "history": [], "best": None, "train_time_s": 0.0,
                             "config": dataclasses.asdict(config), "initialised_from": init_record,
                             "commands": [command] if command else []}
    if resume:
        if not (out / f"{CHECKPOINT_NAME}.json").is_file():
            raise AudioLRPError(f"--resume: {out} holds no multi-source checkpoint")
        saved = _load_checkpoint(out, model, opt)
        state.update({k: saved[k] for k in ("step", "history", "best", "train_time_s",
                                            "initialised_from", "commands")})
        if command:
            state["commands"].append(command)
    model.train()
    t_start = time.perf_counter()
    t_base = float(state["train_time_s"])
    stopped = "done"
    loss_fn = torch.nn.BCEWithLogitsLoss()
    while state["step"] < total:
        epoch, b = divmod(int(state["step"]), steps_per_epoch)
        order = np.random.default_rng([config.seed, epoch, 0x0D]).permutation(n_train)
        idx = order[b * config.batch_size : (b + 1) * config.batch_size].tolist()
        rng = np.random.default_rng([config.seed, epoch, b, 0xA11D])
        for g in opt.param_groups:
            g["lr"] = _lr(config, int(state["step"]), total)
        loss = _train_step(model, opt, loss_fn, train, idx, rng, config)
        state["step"] += 1
        state.setdefault("recent_loss", [])
        state["recent_loss"] = (state["recent_loss"] + [loss])[-50:]
        elapsed = t_base + time.perf_counter() - t_start
        state["train_time_s"] = elapsed
        end_of_epoch = state["step"] % steps_per_epoch == 0
        if config.progress and state["step"] % 10 == 0:
            print(f"step {state['step']}/{total} loss {np.mean(state['recent_loss']):.4f} "
                  f"{elapsed / 60:.1f} min", flush=True)
        if end_of_epoch:
            _end_epoch(model, val, val_idx, config, state, epoch, elapsed, out, data)
        over = config.max_minutes is not None and (
            time.perf_counter() - t_start) / 60 >= config.max_minutes
        if end_of_epoch or over or state["step"] % config.checkpoint_every_steps == 0:
            _save_checkpoint(out, model, opt, state)
        if over:
            stopped = "max_minutes"
            break
    model_path = out / "model.json"
    return {"model": str(model_path) if model_path.is_file() else None,
            "steps": state["step"], "epochs_run": len(state["history"]),
            "best": state["best"], "train_time_s": round(float(state["train_time_s"]), 1),
            "stopped": stopped}


def _open_data(
    data: str | os.PathLike[str], config: MultiTrainConfig
) -> tuple[MultiSourceDataset, MultiSourceDataset, int, list[int]]:
    """The train and val splits, the number of training examples used and the val indices."""
    train = MultiSourceDataset(data, "train", feature=config.feature, order=config.order)
    val = MultiSourceDataset(data, "val", feature=config.feature, order=config.order)
    n_train = len(train) if config.max_train_examples is None else min(
        len(train), config.max_train_examples)
    val_idx = list(range(len(val) if config.max_val_examples is None else min(
        len(val), config.max_val_examples)))
    if n_train == 0 or not val_idx:
        raise AudioLRPError(f"{data} needs train and val examples for --task multi")
    return train, val, n_train, val_idx


def _initial_model(config: MultiTrainConfig, resume: bool) -> tuple[CRNN, dict[str, Any] | None]:
    """The sigmoid-head CRNN, from ``--init-from`` unless resuming, and its record."""
    model = build_model(config.feature, config.order, size=config.model_size, head="sigmoid")
    if not config.init_from or resume:
        return model, None
    src = Path(config.init_from)
    init = load_model(src / "model.json" if src.is_dir() else config.init_from)
    if init.feature != config.feature:
        raise AudioLRPError(
            f"--init-from {config.init_from} is a {init.feature} model; pass a "
            f"{config.feature} model"
        )
    model.load_state_dict(init.model.state_dict(), strict=True)
    return model, {"model": str(config.init_from),
                   "weights_sha256": init.config.get("weights_sha256"),
                   "training": init.config.get("training") or {}}


def _train_step(
    model: CRNN, opt: torch.optim.Optimizer, loss_fn: torch.nn.Module, train: MultiSourceDataset,
    idx: list[int], rng: np.random.Generator, config: MultiTrainConfig,
) -> float:
    """One step on examples ``idx``: augmentation and crops drawn from ``rng``, soft targets,
    frame-wise BCE, an Adam step (learning rate already set); returns the loss."""
    audio = _batch_audio(train, idx)
    az = train.source_azimuth_rad[idx]
    el = train.source_elevation_rad[idx]
    if config.augment:
        audio, az, el = _augment(audio.double(), az, el, rng)
        audio = audio.float()
    x = compute_features(audio, config.feature, config.order).float()
    if config.crop_frames and config.crop_frames < x.shape[2]:
        starts = rng.integers(0, x.shape[2] - config.crop_frames + 1, size=len(x))
        x = torch.stack([x[i, :, s : s + config.crop_frames]
                         for i, s in enumerate(starts.tolist())])
    y = multisource_targets(az, el, config.target_sigma_deg)
    scores = model(x)
    loss = loss_fn(scores, y[:, None, :].expand_as(scores))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return float(loss.detach())


def _end_epoch(
    model: CRNN, val: MultiSourceDataset, val_idx: list[int], config: MultiTrainConfig,
    state: dict[str, Any], epoch: int, elapsed: float, out: Path, data: str | os.PathLike[str],
) -> None:
    """Validate, record the epoch in ``state["history"]`` and keep the model when it is the
    best so far (count accuracy, ties: lower matched error)."""
    val_rec, detector = _validate(model, val, val_idx, config)
    rec = {"epoch": epoch + 1, "step": state["step"],
           "train_loss": float(np.mean(state["recent_loss"])), **val_rec, "time_s": elapsed}
    err = rec["matched_error_mean_deg"]
    key = (rec["count_accuracy"], -(err if err is not None else 180.0))
    rec["is_best"] = state["best"] is None or key > (
        state["best"]["count_accuracy"],
        -(state["best"]["matched_error_mean_deg"] or 180.0))
    state["history"].append(rec)
    if config.progress:
        print(json.dumps(rec), flush=True)
    if rec["is_best"]:
        state["best"] = rec
        _save_model(model, out, config, state, data, detector)


def _save_model(model: CRNN, out: Path, config: MultiTrainConfig, state: dict[str, Any],
                data: str | os.PathLike[str], detector: SourceDetector) -> None:
    best = state["best"]
    spec = json.loads((Path(data) / "dataset_spec.json").read_text(encoding="utf-8"))
    save(
        model, out / "model.json", feature=config.feature, order=config.order,
        data_recipe={"datasets": [{"dataset": Path(data).name, **spec}]},
        metrics={"validation": best},
        training={
            "task": "multi",
            "loss": "frame-wise binary cross-entropy against soft multi-source targets, sigma "
                    f"= {config.target_sigma_deg} deg (max over sources)",
            "config": dataclasses.asdict(config),
            "commands": state["commands"],
            "steps": state["step"],
            "train_time_s": round(float(state["train_time_s"]), 1),
            "history": state["history"],
            "initialised_from": state["initialised_from"],
            "hardware": f"{platform.processor() or platform.machine()}, "
                        f"{torch.get_num_threads()} torch thread(s), torch {torch.__version__}",
        },
        extra={DETECTOR_KEY: {**detector.to_dict(),
                              "chosen_on": f"validation split after epoch {best['epoch']}: "
                                           "best source counting (thresholds, or the source "
                                           "counter when its cross-validated counting is at "
                                           "least as good)"}},
    )


__all__ = [
    "MultiTrainConfig",
    "multisource_targets",
    "train_multisource",
]
