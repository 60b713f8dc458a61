"""Training of the DOA CRNNs (Table 1) with resumable checkpoints and optional DDP.

Training follows the paper's setup (Poschadel et al. 2021, as used by Kiyan et al.): Adam,
softmax cross-entropy per frame (the clip label is repeated for all 50 frames, since ``forward``
returns pre-softmax scores per frame), validation after every epoch, learning-rate reduction on
plateau, early stopping and keeping the best (lowest validation loss) weights. The clip
prediction used for accuracies is the argmax of the mean frame probability
(:func:`audiolrp.models.clip_probabilities`).

Two optional departures from the paper's recipe, both off by default and recorded in the model
card when used: ``label_sigma_deg > 0`` replaces the one-hot frame target by a Gaussian over the
great-circle distance from the labelled class (:func:`angular_label_targets`), so near misses
cost less than far ones; ``init_from`` starts from the weights (and normalisation) of a saved
model instead of a random initialisation (fine-tuning; the earlier stage's commands are kept).

Resumability. Every ``checkpoint_every_steps`` optimizer steps and at every epoch end a
checkpoint is written to ``OUT/checkpoints/``: tensors (model, optimizer moments, RNG state) in
safetensors, everything else (optimizer hyper-parameters, scheduler state, NumPy/Python RNG
states, the position ``(epoch, batch)`` in the data order, early-stopping state, history) in
JSON; never pickle. Each epoch's data order is a pure function of ``(seed, epoch)`` (a
:class:`~torch.utils.data.DistributedSampler` re-seeded per epoch), so ``resume=True`` skips the
batches already seen and, on the CPU, ends with bit-identical weights to an uninterrupted run.

Distributed training. When launched by ``torchrun`` (environment ``WORLD_SIZE > 1``) the same
:func:`train` call joins a process group (NCCL on GPUs, Gloo on CPUs), wraps the model in
:class:`~torch.nn.parallel.DistributedDataParallel` and shards each epoch's order across ranks;
only rank 0 writes logs, checkpoints and models.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import platform
import random
import re
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
import torch.distributed as dist
from safetensors import torch as st_torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Subset
from tqdm.auto import tqdm

from audiolrp.constants import N_FRAMES
from audiolrp.data.datasets import open_splits
from audiolrp.errors import AudioLRPError, DatasetError, ModelFileError
from audiolrp.evaluation import DEFAULT_EVAL_SEED, evaluate
from audiolrp.io import atomic_path, atomic_write_bytes, json_default, write_json
from audiolrp.models import (
    CRNN,
    FEATURES,
    MODEL_SIZES,
    PRETRAINED_DIR,
    build_model,
    clip_probabilities,
    n_input_channels,
    save,
)
from audiolrp.models import load as load_model
from audiolrp.models import load as reload
from audiolrp.signal.ambisonics import (
    angular_error_deg,
    class_distance_deg,
    doa_grid,
    nearest_class,
)
from audiolrp.signal.augmentation import (
    apply_field_transforms,
    direction_targets,
    random_field_transforms,
)
from audiolrp.signal.features import stft_frames

CHECKPOINT_FORMAT = "audiolrp-checkpoint"
CHECKPOINT_VERSION = 1


class TrainingInterrupted(RuntimeError):
    """Raised by :func:`train` when ``stop_after_steps`` is reached (simulates a kill in tests)."""


@dataclass
class TrainConfig:
    """Hyper-parameters and data selection of one training run.

    Attributes
    ----------
    feature, order
        ``"hoa"`` with Ambisonics order N (``2 (N+1)^2`` input channels) or ``"intensity"``
        (6 channels from the first-order signals; ``order`` is ignored).
    epochs, batch_size, lr, weight_decay
        Adam optimisation settings.
    patience
        Early stopping: epochs without validation-loss improvement before stopping.
    lr_patience, lr_factor, min_lr
        :class:`~torch.optim.lr_scheduler.ReduceLROnPlateau` on the validation loss.
    grad_clip_norm
        Gradient-norm clipping (``None`` disables it).
    num_workers
        DataLoader worker processes.
    seed
        Seeds the weight initialisation and the per-epoch data order.
    checkpoint_every_steps
        Write a resumable checkpoint every this many optimizer steps (0: only at epoch ends).
    max_train_examples, max_val_examples
        Use only the first examples of the splits (``None``: all).
    model_size, n_filters, lstm_hidden, n_dense
        Architecture preset (:data:`audiolrp.models.MODEL_SIZES`) and explicit overrides.
    model_kwargs
        Further :class:`~audiolrp.models.CRNN` keyword arguments (e.g. ``n_bins`` and
        ``pool_sizes`` for toy inputs in tests); ``None`` for Table 1.
    normalize
        Put training-set statistics into the model's ``InputNormalization``; ``None`` means
        the paper's choice: yes for HOA, no for intensity.
    label_sigma_deg
        0 (the paper): one-hot cross-entropy targets. ``> 0``: Gaussian angular targets of
        this standard deviation in degrees (:func:`angular_label_targets`).
    init_from
        Saved model (name or path, :func:`audiolrp.models.load`) whose weights and input
        normalisation initialise the network; ``None``: random initialisation from ``seed``.
    device
        ``"auto"`` (GPU when present), ``"cpu"`` or ``"cuda"``.
    progress
        Show a tqdm progress bar (rank 0 only).
    precision
        ``"fp32"``, ``"bf16"`` (``torch.autocast`` to bfloat16 for the training step; the
        weights, optimizer and validation stay float32) or ``"auto"``: bf16 on a GPU or on a
        CPU with native bfloat16 instructions (``avx512_bf16``/``amx_bf16``), else fp32.
    channels_last
        Run the convolutions in the ``channels_last`` memory format (same numbers, faster on
        CPUs).
    crop_frames
        Train on random windows of this many consecutive STFT frames (0 or 50: whole clips).
        The CRNN is frame-wise up to its BiLSTM, so a crop is a shorter clip; validation and
        evaluation always use whole 1-s clips.
    schedule
        ``"plateau"`` (the paper: halve on a validation plateau) or ``"cosine"`` (linear
        warm-up over ``warmup_steps``, then cosine decay from ``lr`` to ``min_lr`` over
        ``epochs`` epochs).
    augment
        Exact sound-field augmentation (:mod:`audiolrp.signal.augmentation`): every training example
        is rotated about the vertical axis by a random angle and mirrored in y and z with
        probability 1/2, in the Ambisonics domain before the features; the source direction
        moves with it. Implies ``direction_targets``.
    direction_targets
        Gaussian targets (``label_sigma_deg``) centred on the exact source direction of each
        scene instead of on its class (needs a dataset with stored directions).
    select_by
        Which epoch's weights are kept: ``"val_loss"`` (the paper) or ``"val_error"`` (lowest
        mean angular error on the validation set).
    """

    feature: str = "hoa"
    order: int | None = 2
    epochs: int = 30
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.0
    patience: int = 6
    lr_patience: int = 2
    lr_factor: float = 0.5
    min_lr: float = 1e-5
    grad_clip_norm: float | None = 5.0
    num_workers: int = 0
    seed: int = 0
    checkpoint_every_steps: int = 200
    max_train_examples: int | None = None
    max_val_examples: int | None = None
    model_size: str = "full"
    n_filters: int | None = None
    lstm_hidden: int | None = None
    n_dense: int | None = None
    model_kwargs: dict[str, Any] | None = None
    normalize: bool | None = None
    label_sigma_deg: float = 0.0
    init_from: str | None = None
    device: str = "auto"
    progress: bool = True
    precision: str = "auto"
    channels_last: bool = True
    crop_frames: int = 25
    schedule: str = "plateau"
    warmup_steps: int = 0
    augment: bool = False
    direction_targets: bool = False
    select_by: str = "val_loss"

    def validate(self) -> None:
        """Raise :class:`AudioLRPError` with one line for an invalid setting."""
        if self.feature not in FEATURES:
            raise AudioLRPError(
                f"unknown feature {self.feature!r}: use one of {', '.join(FEATURES)}"
            )
        if self.feature == "hoa" and (self.order is None or self.order < 0):
            raise AudioLRPError(f"HOA training needs --order N >= 0, got {self.order!r}")
        if self.model_size not in MODEL_SIZES:
            raise AudioLRPError(
                f"unknown model size {self.model_size!r}: use one of {', '.join(MODEL_SIZES)}"
            )
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise AudioLRPError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.lr > 0:
            raise AudioLRPError(f"learning rate must be > 0, got {self.lr}")
        if self.patience < 1:
            raise AudioLRPError(f"patience must be >= 1, got {self.patience}")
        if self.checkpoint_every_steps < 0 or self.num_workers < 0:
            raise AudioLRPError("checkpoint_every_steps and num_workers must be >= 0")
        if not (math.isfinite(self.label_sigma_deg) and self.label_sigma_deg >= 0):
            raise AudioLRPError(
                f"--label-sigma-deg must be a finite angle >= 0 (0: one-hot), got "
                f"{self.label_sigma_deg}"
            )
        if self.device not in ("auto", "cpu", "cuda"):
            raise AudioLRPError(f"unknown device {self.device!r}: use auto, cpu or cuda")
        if self.precision not in ("auto", "fp32", "bf16"):
            raise AudioLRPError(f"unknown precision {self.precision!r}: use auto, fp32 or bf16")
        if self.schedule not in ("plateau", "cosine"):
            raise AudioLRPError(f"unknown schedule {self.schedule!r}: use plateau or cosine")
        if self.select_by not in ("val_loss", "val_error"):
            raise AudioLRPError(
                f"unknown --select-by {self.select_by!r}: use val_loss or val_error"
            )
        if not 0 <= self.crop_frames <= N_FRAMES:
            raise AudioLRPError(
                f"--crop-frames must be in 0..{N_FRAMES} (0: whole clips), got {self.crop_frames}"
            )
        if self.warmup_steps < 0:
            raise AudioLRPError(f"--warmup-steps must be >= 0, got {self.warmup_steps}")
        if (self.augment or self.direction_targets) and not self.label_sigma_deg > 0:
            raise AudioLRPError(
                "--augment and --direction-targets train on Gaussian targets around the exact "
                "direction: pass --label-sigma-deg > 0 (e.g. 8)"
            )

    @property
    def uses_direction_targets(self) -> bool:
        """Whether training needs stored audio and directions."""
        return bool(self.augment or self.direction_targets)

    @property
    def use_normalization(self) -> bool:
        """Whether the model gets an input normalisation layer."""
        return self.feature == "hoa" if self.normalize is None else bool(self.normalize)

    @property
    def model_order(self) -> int:
        """Ambisonics order recorded with the model (1 for intensity)."""
        return 1 if self.feature == "intensity" else int(self.order or 0)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """A config from a dict, ignoring unknown keys (older records)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class TrainResult:
    """Outcome of :func:`train`.

    ``model`` holds the best weights (lowest validation loss), on the CPU in eval mode;
    ``model_path`` is the JSON file of the same model saved in ``out_dir`` (``model.json``;
    ``None`` on ranks other than 0). ``last_model`` is this process's network after the last
    epoch (under DDP every rank's copy is identical).
    """

    model: CRNN
    model_path: Path | None
    out_dir: Path
    history: list[dict[str, Any]]
    best_epoch: int
    best_val_loss: float
    best_val_accuracy: float
    epochs_run: int
    steps: int
    stopped_early: bool
    train_time_s: float
    config: TrainConfig
    data_recipe: dict[str, Any] = field(default_factory=dict)
    hardware: dict[str, Any] = field(default_factory=dict)
    last_model: CRNN | None = None


# ------------------------------------------------------------------------------------------
# Data
# ------------------------------------------------------------------------------------------


def _collate(items: Sequence[Any]) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack ``(features, label, ...)`` items into ``(B, C, T, F)`` float32 and ``(B,)`` int64."""
    xs = [torch.as_tensor(np.asarray(it[0]), dtype=torch.float32) for it in items]
    ys = [int(it[1]) for it in items]
    return torch.stack(xs), torch.tensor(ys, dtype=torch.int64)


def _base_dataset(dataset: Dataset) -> Dataset:
    while isinstance(dataset, Subset):
        dataset = dataset.dataset
    return dataset


def _batched_feature_path(
    dataset: Dataset, device: torch.device, num_workers: int
) -> tuple[Callable[[Sequence[Any]], tuple[torch.Tensor, torch.Tensor]], bool]:
    """``(collate_fn, on_device)``: for a ``FeatureDataset`` items are raw audio and features
    are computed per batch in torch (on ``device`` when there are no workers); other datasets
    yield features and use :func:`_collate`."""
    base: Any = _base_dataset(dataset)  # duck-typed FeatureDataset
    if hasattr(base, "return_audio") and callable(getattr(base, "collate_fn", None)):
        base.return_audio = True
        base.return_meta = False
        on_device = num_workers == 0
        return base.collate_fn(device if on_device else None), on_device
    return _collate, False


def _n_channels(dataset: Dataset) -> int:
    base = _base_dataset(dataset)
    n = getattr(base, "n_channels", None)
    if isinstance(n, int):
        return n
    return int(np.asarray(dataset[0][0]).shape[0])


def data_roots(data_root: str | os.PathLike[str]) -> list[Path]:
    """Dataset folders named by ``data_root``: one path, or several joined by commas."""
    return [Path(p) for p in str(data_root).split(",") if p.strip()]


def open_split(data_root: str | os.PathLike[str], split: str, config: TrainConfig) -> Dataset:
    """Open one split of one or several (comma-separated) simulated dataset folders."""
    roots = data_roots(data_root)
    for root in roots:
        if not root.is_dir():
            raise DatasetError(
                f"dataset folder {root} not found: create it with `audiolrp simulate`"
            )

    order = config.order if config.feature == "hoa" else None
    return open_splits(roots, split, config.feature, order)


def read_data_recipe(data_root: str | os.PathLike[str] | None) -> dict[str, Any]:
    """The data recipe (``config`` and ``seed`` of ``manifest.json``) of a dataset folder."""
    if data_root is None:
        return {}
    roots = data_roots(data_root)
    if len(roots) > 1:
        parts = [read_data_recipe(r) for r in roots]
        return {"datasets": parts, "dataset": ",".join(str(p.get("dataset")) for p in parts)}
    path = Path(data_root) / "manifest.json"
    if not path.exists():
        return {}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise DatasetError(
            f"{path} is not valid JSON ({err}): re-run `audiolrp simulate`"
        ) from None
    recipe: dict[str, Any] = {"dataset": str(Path(data_root).resolve())}
    for key in (
        "config",
        "seed",
        "order",
        "splits",
        "counts",
        "n_train",
        "n_val",
        "n_test",
        "version",
        "format",
        "corpus",
        "shard_size",
        "dtype",
    ):
        if key in manifest:
            recipe[key] = manifest[key]
    return recipe


def compute_normalization_stats(
    dataset: Dataset, max_examples: int = 256
) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean/std over (the first ``max_examples`` of) a dataset.

    Used only for datasets without ``normalization_stats()`` (``FeatureDataset`` provides the
    manifest statistics: shared magnitude / phase statistics as in the paper).
    """
    n = min(len(dataset), max_examples)  # type: ignore[arg-type]
    if n == 0:
        raise DatasetError("training dataset is empty: simulate at least one training example")
    acc: np.ndarray | None = None
    acc2: np.ndarray | None = None
    count = 0
    for i in range(n):
        x = np.asarray(dataset[i][0], dtype=np.float64)
        s = x.reshape(x.shape[0], -1)
        acc = s.sum(1) if acc is None else acc + s.sum(1)
        acc2 = (s**2).sum(1) if acc2 is None else acc2 + (s**2).sum(1)
        count += s.shape[1]
    assert acc is not None and acc2 is not None  # n >= 1
    mean = acc / count
    var = np.maximum(acc2 / count - mean**2, 0.0)
    std = np.sqrt(var)
    std[std < 1e-8] = 1.0
    return mean.astype(np.float32), std.astype(np.float32)


def _normalization_stats(dataset: Dataset) -> tuple[np.ndarray, np.ndarray]:
    getter = getattr(_base_dataset(dataset), "normalization_stats", None)
    if callable(getter):
        mean, std = getter()
        return np.asarray(mean, np.float32), np.asarray(std, np.float32)
    return compute_normalization_stats(dataset)


def epoch_order(
    n: int, epoch: int, seed: int, *, world_size: int = 1, rank: int = 0, shuffle: bool = True
) -> list[int]:
    """This rank's example order for one epoch: a pure function of ``(seed, epoch)``."""
    indices = cast(Dataset[int], range(n))  # a sampler needs only len()
    sampler: DistributedSampler[int] = DistributedSampler(
        indices, num_replicas=world_size, rank=rank, shuffle=shuffle, seed=seed, drop_last=False
    )
    sampler.set_epoch(epoch)
    return list(iter(sampler))


def _batches(order: list[int], batch_size: int) -> list[list[int]]:
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def _base_indices(dataset: Dataset, indices: Sequence[int]) -> list[int]:
    """Indices into the base dataset of ``indices`` of a (nested) ``Subset``."""
    idx = list(indices)
    while isinstance(dataset, Subset):
        idx = [int(dataset.indices[i]) for i in idx]
        dataset = dataset.dataset
    return idx


def dataset_directions(dataset: Dataset) -> np.ndarray | None:
    """``(n, 2)`` float64 [azimuth_rad, elevation_rad] of every example's exact source
    direction, from the stored scene parameters (``None`` if the dataset stores none)."""
    base = _base_dataset(dataset)
    meta = getattr(base, "meta", None)
    if not callable(meta):
        return None
    idx = _base_indices(dataset, range(len(dataset)))  # type: ignore[arg-type]
    try:
        rows = [meta(i) for i in idx]
        return np.array([[r["azimuth_rad"], r["elevation_rad"]] for r in rows], np.float64)
    except (KeyError, TypeError):
        return None


def batch_rng(seed: int, epoch: int, batch: int) -> np.random.Generator:
    """The random stream of one training batch (crops, augmentation): a pure function of
    ``(seed, epoch, batch)``, so a resumed run draws exactly what the uninterrupted one did."""
    return np.random.default_rng([int(seed), int(epoch), int(batch), 0xA11D])


def random_time_crops(x: torch.Tensor, n_frames: int, rng: np.random.Generator) -> torch.Tensor:
    """Random windows of ``n_frames`` consecutive frames of features ``(B, C, T, F)``, one
    start per example (uniform over ``0..T - n_frames``); no-op when ``n_frames`` is 0 or T."""
    t = x.shape[2]
    if n_frames in (0, t):
        return x
    starts = rng.integers(0, t - n_frames + 1, size=x.shape[0])
    return torch.stack([x[i, :, s : s + n_frames] for i, s in enumerate(starts.tolist())])


class DirectionBatches:
    """Training batches with targets from the exact source directions, optionally augmented.

    For batch ``b`` of epoch ``e``: the stored audio of the examples, each transformed by a
    random :class:`~audiolrp.signal.augmentation.FieldTransform` (``augment``), the model features
    computed per batch (torch), the direction moved with the field, soft targets
    :func:`~audiolrp.signal.augmentation.direction_targets` and the nearest class as label. All
    draws
    come from :func:`batch_rng`.
    """

    #: The underlying ``FeatureDataset`` (duck-typed: ``audio``, ``features_from_audio``, ...).
    base: Any

    def __init__(self, dataset: Dataset, config: TrainConfig, device: torch.device) -> None:
        base: Any = _base_dataset(dataset)
        for attr in ("audio", "features_from_audio", "meta"):
            if not callable(getattr(base, attr, None)):
                raise DatasetError(
                    "--augment/--direction-targets need a dataset folder written by "
                    "`audiolrp simulate` (stored audio and directions)"
                )
        dirs = dataset_directions(dataset)
        if dirs is None:
            raise DatasetError(
                "the training set stores no source directions: re-simulate it with "
                "`audiolrp simulate`"
            )
        self.dataset, self.base, self.config, self.device = dataset, base, config, device
        self.directions = dirs
        self.audio_order = 1 if getattr(base, "feature", "hoa") == "intensity" else base.order

    def __call__(
        self, indices: Sequence[int], epoch: int, batch: int
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:

        rng = batch_rng(self.config.seed, epoch, batch)
        idx = list(indices)
        base_idx = _base_indices(self.dataset, idx)
        audio = torch.from_numpy(
            np.stack([self.base.audio(j, order=self.audio_order) for j in base_idx])
        )
        az, el = self.directions[idx, 0], self.directions[idx, 1]
        if self.config.augment:
            audio, az, el = apply_field_transforms(
                audio, az, el, random_field_transforms(len(idx), rng)
            )
        audio = audio.to(self.device)
        crop = self.config.crop_frames
        if crop in (0, N_FRAMES):
            x = self.base.features_from_audio(audio)
        else:  # only the cropped frames are transformed (same numbers as cropping features)

            starts = rng.integers(0, N_FRAMES - crop + 1, size=len(idx))
            x = self.base.features_from_audio(stft_frames(audio.float(), starts.tolist(), crop))
        q = direction_targets(az, el, self.config.label_sigma_deg).to(self.device)
        y = torch.as_tensor(nearest_class(az, el), dtype=torch.int64, device=self.device)
        return x, y, q


def autocast_dtype(config: TrainConfig, device: torch.device) -> torch.dtype | None:
    """``torch.bfloat16`` when the training step runs under autocast, else ``None``."""
    if config.precision == "fp32":
        return None
    if config.precision == "bf16" or device.type == "cuda":
        return torch.bfloat16
    with contextlib.suppress(OSError):
        flags = Path("/proc/cpuinfo").read_text()
        if "avx512_bf16" in flags or "amx_bf16" in flags:
            return torch.bfloat16
    return None


def scheduled_lr(config: TrainConfig, step: int, total_steps: int) -> float:
    """Learning rate of optimizer step ``step`` (0-based) under ``schedule="cosine"``:
    linear warm-up over ``warmup_steps``, then ``min_lr + (lr - min_lr) (1 + cos(pi p)) / 2``
    with ``p`` the fraction of the remaining steps done."""
    if config.warmup_steps and step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    span = max(1, total_steps - config.warmup_steps)
    p = min(1.0, (step - config.warmup_steps) / span)
    return config.min_lr + 0.5 * (config.lr - config.min_lr) * (1.0 + math.cos(math.pi * p))


# ------------------------------------------------------------------------------------------
# Distributed set-up
# ------------------------------------------------------------------------------------------


@dataclass
class _Dist:
    world_size: int = 1
    rank: int = 0
    local_rank: int = 0
    initialised_here: bool = False

    @property
    def active(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def _setup_distributed(device_kind: str) -> _Dist:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return _Dist()
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", str(rank)))

    here = False
    if not dist.is_initialized():
        backend = "nccl" if device_kind == "cuda" else "gloo"
        dist.init_process_group(backend=backend, rank=rank, world_size=world)
        here = True
    return _Dist(world, rank, local_rank, here)


def _resolve_device(config: TrainConfig) -> torch.device:
    if config.device == "cpu":
        return torch.device("cpu")
    if config.device == "cuda" and not torch.cuda.is_available():
        raise AudioLRPError("--device cuda requested but no CUDA GPU is visible: use --device cpu")
    if torch.cuda.is_available():
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        return torch.device("cuda", local)
    return torch.device("cpu")


def hardware_description(device: torch.device, world_size: int = 1) -> dict[str, Any]:
    """Hardware summary for model cards (CPU model, threads, GPUs, process count)."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    info: dict[str, Any] = {
        "device": str(device),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "processes": world_size,
        "torch": torch.__version__,
        "python": platform.python_version(),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


# ------------------------------------------------------------------------------------------
# Checkpoints (safetensors + JSON, no pickle)
# ------------------------------------------------------------------------------------------


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


def _checkpoint_dir(out_dir: Path) -> Path:
    return out_dir / "checkpoints"


def save_checkpoint(
    out_dir: Path,
    *,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.ReduceLROnPlateau,
    state: dict[str, Any],
    keep: int = 2,
) -> Path:
    """Write ``checkpoints/ckpt-STEP.{safetensors,json}`` then point ``latest.json`` at it.

    Each file goes to a temporary name and is renamed into place; ``latest.json`` is replaced
    last, so a kill at any moment leaves the previous complete checkpoint in charge.
    """
    ckdir = _checkpoint_dir(out_dir)
    ckdir.mkdir(parents=True, exist_ok=True)
    step = int(state["global_step"])
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
        "state": state,
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
    """Read the latest checkpoint of a run (``None`` when there is none)."""
    ckdir = _checkpoint_dir(out_dir)
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


# ------------------------------------------------------------------------------------------
# Loss, validation, logs
# ------------------------------------------------------------------------------------------


def angular_label_targets(sigma_deg: float) -> torch.Tensor:
    """Soft frame targets: row ``y`` is a Gaussian over the angle from class ``y``.

    ``q_k(y) = exp(-d(k, y)^2 / (2 sigma^2)) / sum_j exp(-d(j, y)^2 / (2 sigma^2))`` with
    ``d`` the great-circle angle (degrees) between the class directions of :func:`doa_grid`.
    Because the grid is nearly uniform (neighbours 8.6-10 deg apart), ``sigma_deg`` of about
    the neighbour spacing spreads a label over its ring of neighbours. ``sigma_deg -> 0`` gives
    the one-hot targets of the paper's cross-entropy. Returns float32 ``(425, 425)``; rows sum
    to 1.
    """
    grid = doa_grid()
    return direction_targets(grid[:, 0], grid[:, 1], sigma_deg)


def framewise_cross_entropy(
    scores: torch.Tensor,
    labels: torch.Tensor,
    targets: torch.Tensor | None = None,
    soft_targets: torch.Tensor | None = None,
) -> torch.Tensor:
    """Mean cross-entropy of every frame's pre-softmax scores against the clip label.

    Parameters
    ----------
    scores
        ``(B, T, n_classes)`` pre-softmax scores.
    labels
        ``(B,)`` class indices, repeated for all ``T`` frames.
    targets
        ``None``: one-hot targets (the paper). Otherwise an ``(n_classes, n_classes)``
        table whose row ``y`` is the target distribution of label ``y``
        (:func:`angular_label_targets`); the loss is ``-sum_k q_k(y) log softmax(s)_k``
        averaged over all frames.
    soft_targets
        ``(B, n_classes)`` target distribution per example (e.g. centred on the exact source
        direction, :func:`audiolrp.signal.augmentation.direction_targets`); overrides ``targets``.
    """
    b, t, c = scores.shape
    if soft_targets is not None:
        log_p = nn.functional.log_softmax(scores.float(), dim=-1)
        q = soft_targets.to(device=scores.device, dtype=log_p.dtype)
        return -(log_p * q[:, None, :]).sum(-1).mean()
    if targets is None:
        return nn.functional.cross_entropy(scores.reshape(b * t, c), labels.repeat_interleave(t))
    log_p = nn.functional.log_softmax(scores, dim=-1)  # (B, T, C)
    q = targets.to(device=scores.device, dtype=scores.dtype)[labels]  # (B, C)
    return -(log_p * q[:, None, :]).sum(-1).mean()


def _run_validation(
    model: nn.Module,
    dataset: Dataset,
    indices: list[int],
    batch_size: int,
    device: torch.device,
    num_workers: int,
    collate: Callable[[Sequence[Any]], tuple[torch.Tensor, torch.Tensor]] = _collate,
    targets: torch.Tensor | None = None,
    distance_deg: torch.Tensor | None = None,
    directions: np.ndarray | None = None,
    sigma_deg: float = 0.0,
) -> tuple[list[float], np.ndarray]:
    """Validation on whole clips in float32.

    Returns ``([loss * n, correct, angular error sum (deg), n], errors)`` summed over this
    rank's share. The angular error is between the predicted class direction and the exact
    source direction when ``directions`` (``(n, 2)`` radians, aligned with ``dataset``) is
    given, else the labelled class direction (``distance_deg``: :func:`class_distance_deg`).
    With ``directions`` and ``sigma_deg > 0`` the loss uses direction-centred targets (as in
    training with ``direction_targets``).
    """
    model.eval()
    loss_sum = correct = count = 0.0
    errors: list[np.ndarray] = []
    grid = doa_grid()
    if indices:
        batches = _batches(indices, batch_size)
        loader = DataLoader(
            dataset, batch_sampler=batches, collate_fn=collate, num_workers=num_workers
        )
        with torch.no_grad():
            for (x, y), idx in zip(loader, batches, strict=True):
                x, y = x.to(device), y.to(device)
                scores = model(x)
                soft = None
                if directions is not None and sigma_deg > 0:

                    d = directions[idx]
                    soft = direction_targets(d[:, 0], d[:, 1], sigma_deg).to(device)
                loss = framewise_cross_entropy(scores, y, targets, soft)
                loss_sum += float(loss) * len(y)
                pred = clip_probabilities(scores).argmax(-1).cpu().numpy()
                correct += float((pred == y.cpu().numpy()).sum())
                if directions is not None:
                    d = directions[idx]
                    errors.append(
                        angular_error_deg(grid[pred, 0], grid[pred, 1], d[:, 0], d[:, 1])
                    )
                elif distance_deg is not None:
                    errors.append(
                        distance_deg[torch.as_tensor(pred), y.cpu()].numpy().astype(np.float64)
                    )
                count += len(y)
    err = np.concatenate(errors) if errors else np.zeros(0)
    return [loss_sum, correct, float(err.sum()), count], err


def _all_reduce(values: Sequence[float], dist_info: _Dist, device: torch.device) -> list[float]:
    if not dist_info.active:
        return list(values)

    t = torch.tensor(list(values), dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()


LOG_COLUMNS = (
    "epoch",
    "step",
    "train_loss",
    "train_accuracy",
    "val_loss",
    "val_accuracy",
    "val_mean_error_deg",
    "val_median_error_deg",
    "examples_seen",
    "lr",
    "epoch_time_s",
    "is_best",
)


def _write_logs(out_dir: Path, history: list[dict[str, Any]]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(LOG_COLUMNS), extrasaction="ignore")
    writer.writeheader()
    for row in history:
        writer.writerow(row)
    atomic_write_bytes(out_dir / "log.csv", buf.getvalue().encode())
    write_json(out_dir / "log.json", history, indent=1)


# ------------------------------------------------------------------------------------------
# Training
# ------------------------------------------------------------------------------------------


def train(
    data_root: str | os.PathLike[str] | None,
    out_dir: str | os.PathLike[str],
    config: TrainConfig | None = None,
    *,
    resume: bool = False,
    train_dataset: Dataset | None = None,
    val_dataset: Dataset | None = None,
    data_recipe: dict[str, Any] | None = None,
    command: str | None = None,
    stop_after_steps: int | None = None,
    on_epoch_end: Callable[[dict[str, Any]], None] | None = None,
) -> TrainResult:
    """Train a CRNN on ``data_root/{train,val}`` and keep the best weights in ``out_dir``.

    Parameters
    ----------
    data_root
        Dataset folder written by ``audiolrp simulate`` (``manifest.json`` + splits), read via
        ``audiolrp.data.datasets.FeatureDataset``. May be ``None`` when both datasets are given.
    out_dir
        Output folder: ``model.json``/``model.safetensors`` (best weights, loadable with
        :func:`audiolrp.models.load`), ``log.csv``, ``log.json``, ``train_config.json`` and
        ``checkpoints/``.
    config
        :class:`TrainConfig` (defaults when ``None``).
    resume
        Continue from the latest checkpoint in ``out_dir`` (no-op start when none exists).
        Without ``resume`` an existing checkpoint is an error, so runs are never mixed.
    train_dataset, val_dataset
        Map-style datasets of ``(features (C, 50, 512), label)`` overriding the folder's splits.
    data_recipe
        Data description stored with the model (default: from ``manifest.json``).
    command
        The training command line, stored with the model.
    stop_after_steps
        Raise :class:`TrainingInterrupted` right after this global step (as if killed; tests).
    on_epoch_end
        Called with each epoch's log row.

    Returns
    -------
    TrainResult
    """
    config = config or TrainConfig()
    config.validate()
    out = Path(out_dir)
    device = _resolve_device(config)
    dist_info = _setup_distributed(device.type)
    try:
        return _train(
            data_root,
            out,
            config,
            device,
            dist_info,
            resume=resume,
            train_dataset=train_dataset,
            val_dataset=val_dataset,
            data_recipe=data_recipe,
            command=command,
            stop_after_steps=stop_after_steps,
            on_epoch_end=on_epoch_end,
        )
    finally:
        if dist_info.initialised_here:
            dist.destroy_process_group()


def _load_init_model(config: TrainConfig) -> Any:
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


def _initialise_from(model: CRNN, init: Any, config: TrainConfig) -> dict[str, Any]:
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


def _training_info(
    state: dict[str, Any], config: TrainConfig, hardware: dict[str, Any], command: str | None
) -> dict[str, Any]:
    """The ``training`` record stored with a model (command, recipe, compute, lineage)."""
    return {
        "command": state.get("command") or command,
        "resume_commands": state.get("resume_commands", []),
        "config": asdict(config),
        "train_time_s": float(state["elapsed_s"]),
        "hardware": hardware,
        "best_epoch": state["best_epoch"],
        "epochs_run": state["epoch"],
        "steps": state["global_step"],
        "examples_seen": state.get("examples_seen"),
        "stopped_early": state["stopped_early"],
        "initialised_from": state.get("initialised_from"),
        "history": list(state.get("history") or []),
    }


def _jsonish(value: Any) -> Any:
    """``value`` as it reads back from JSON (tuples become lists)."""
    return json.loads(json.dumps(value, default=json_default))


def _train(
    data_root: str | os.PathLike[str] | None,
    out: Path,
    config: TrainConfig,
    device: torch.device,
    dist_info: _Dist,
    *,
    resume: bool,
    train_dataset: Dataset | None,
    val_dataset: Dataset | None,
    data_recipe: dict[str, Any] | None,
    command: str | None,
    stop_after_steps: int | None,
    on_epoch_end: Callable[[dict[str, Any]], None] | None,
) -> TrainResult:
    if (train_dataset is None or val_dataset is None) and data_root is None:
        raise AudioLRPError(
            "no training data: pass a dataset folder written by `audiolrp simulate`"
        )
    def split(given: Dataset | None, name: str) -> Dataset:
        if given is not None:
            return given
        assert data_root is not None  # checked above
        return open_split(data_root, name, config)

    train_ds, val_ds = split(train_dataset, "train"), split(val_dataset, "val")
    if config.max_train_examples is not None:
        n = min(len(train_ds), config.max_train_examples)  # type: ignore[arg-type]
        train_ds = Subset(train_ds, range(n))
    if config.max_val_examples is not None:
        n = min(len(val_ds), config.max_val_examples)  # type: ignore[arg-type]
        val_ds = Subset(val_ds, range(n))
    n_train, n_val = len(train_ds), len(val_ds)  # type: ignore[arg-type]
    if n_train == 0 or n_val == 0:
        raise DatasetError(
            f"need training and validation examples, got {n_train} and {n_val}: simulate more"
        )
    recipe = data_recipe if data_recipe is not None else read_data_recipe(data_root)
    recipe = {**recipe, "n_train_used": n_train, "n_val_used": n_val}

    ckpt = load_checkpoint(out) if resume else None
    if not resume and (_checkpoint_dir(out) / "latest.json").exists():
        raise AudioLRPError(
            f"{out} already holds a training run: pass --resume to continue it or choose a new "
            "output folder"
        )

    n_in = n_input_channels(config.feature, config.order)
    n_data = _n_channels(train_ds)
    if n_data != n_in:
        raise DatasetError(
            f"training features have {n_data} channels but feature={config.feature!r} "
            f"order={config.order} needs {n_in}: pass the matching --feature/--order"
        )
    torch.manual_seed(config.seed)
    np.random.seed(config.seed % 2**32)  # noqa: NPY002 - seeds third-party global use
    random.seed(config.seed)
    init = _load_init_model(config) if ckpt is None and config.init_from else None
    if config.use_normalization and init is None:
        mean, std = _normalization_stats(train_ds)
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
    initialised_from: dict[str, Any] | None = None
    if init is not None:
        initialised_from = _initialise_from(model, init, config)
    model.to(device)
    if config.channels_last:
        model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    amp_dtype = autocast_dtype(config, device)
    targets = (
        angular_label_targets(config.label_sigma_deg).to(device)
        if config.label_sigma_deg > 0
        else None
    )
    distance_deg = torch.from_numpy(class_distance_deg())
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer,
        mode="min",
        factor=config.lr_factor,
        patience=config.lr_patience,
        min_lr=config.min_lr,
    )

    state: dict[str, Any] = {
        "epoch": 0,
        "batch": 0,
        "global_step": 0,
        "history": [],
        "best_val_loss": math.inf,
        "best_val_accuracy": 0.0,
        "best_val_error_deg": math.inf,
        "examples_seen": 0,
        "best_epoch": -1,
        "bad_epochs": 0,
        "finished": False,
        "stopped_early": False,
        "elapsed_s": 0.0,
        "accum": {"loss_sum": 0.0, "correct": 0.0, "count": 0.0},
        "config": asdict(config),
        "command": command,
        "resume_commands": [],
        "initialised_from": initialised_from,
    }
    if ckpt is not None:
        tensors, meta = ckpt
        saved_cfg = TrainConfig.from_dict(meta["state"].get("config", {}))
        for key in (
            "feature",
            "order",
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
        ):
            if key not in meta["state"].get("config", {}) and key in (
                "crop_frames", "schedule", "warmup_steps", "augment", "direction_targets",
                "select_by",
            ):
                continue  # checkpoint written before these options existed
            if _jsonish(getattr(saved_cfg, key)) != _jsonish(getattr(config, key)):
                raise AudioLRPError(
                    f"--resume with {key}={getattr(config, key)!r} but the run in {out} used "
                    f"{getattr(saved_cfg, key)!r}: use the original settings or a new folder"
                )
        model_sd = {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}
        model.load_state_dict(model_sd, strict=True)
        model.to(device)
        _optimizer_from_parts(optimizer, tensors, meta["optimizer"])
        scheduler.load_state_dict(meta["scheduler"])
        _set_rng_state(tensors, meta.get("rng", {}))
        state.update(meta["state"])
        state["resume_commands"] = [*state.get("resume_commands", []), command]
        state["config"] = asdict(config)
        if state["finished"] and not state["stopped_early"] and state["epoch"] < config.epochs:
            state["finished"] = False  # resumed with a larger --epochs: train on

    if dist_info.is_main:
        out.mkdir(parents=True, exist_ok=True)
        write_json(
            out / "train_config.json",
            {"config": asdict(config), "data_recipe": recipe, "command": command},
        )

    ddp_model: nn.Module = model
    if dist_info.active:

        ddp_model = DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    hardware = hardware_description(device, dist_info.world_size)

    t_start = time.perf_counter() - float(state["elapsed_s"])
    val_indices = list(range(dist_info.rank, n_val, dist_info.world_size))
    train_collate, train_on_device = _batched_feature_path(train_ds, device, config.num_workers)
    val_collate, _ = _batched_feature_path(val_ds, device, config.num_workers)
    direction_batches = (
        DirectionBatches(train_ds, config, device) if config.uses_direction_targets else None
    )
    val_directions = dataset_directions(val_ds)
    steps_per_epoch = len(_batches(epoch_order(
        n_train, 0, config.seed, world_size=dist_info.world_size, rank=dist_info.rank
    ), config.batch_size))
    total_steps = steps_per_epoch * config.epochs
    while not state["finished"] and state["epoch"] < config.epochs:
        epoch = int(state["epoch"])
        t_epoch = time.perf_counter()
        order = epoch_order(
            n_train, epoch, config.seed, world_size=dist_info.world_size, rank=dist_info.rank
        )
        batches = _batches(order, config.batch_size)
        start_batch = int(state["batch"])
        source: Any
        if direction_batches is not None:
            source = (
                direction_batches(batches[b], epoch, b) for b in range(start_batch, len(batches))
            )
        else:
            loader = DataLoader(
                train_ds,
                batch_sampler=batches[start_batch:],
                collate_fn=train_collate,
                num_workers=config.num_workers,
                pin_memory=device.type == "cuda" and not train_on_device,
            )
            source = (
                (
                    random_time_crops(x, config.crop_frames, batch_rng(config.seed, epoch, b)),
                    y,
                    None,
                )
                for b, (x, y) in enumerate(loader, start=start_batch)
            )
        bar = tqdm(
            total=len(batches),
            initial=start_batch,
            desc=f"epoch {epoch + 1}/{config.epochs}",
            # None: tqdm hides itself when stderr is not a terminal (background runs)
            disable=True if not (config.progress and dist_info.is_main) else None,
            leave=False,
            dynamic_ncols=True,
        )
        accum = state["accum"]
        ddp_model.train()
        for b, (x, y, q) in enumerate(source, start=start_batch):
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            if config.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            if config.schedule == "cosine":
                for group in optimizer.param_groups:
                    group["lr"] = scheduled_lr(config, int(state["global_step"]), total_steps)
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast(
                device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None
            ):
                scores = ddp_model(x)
            scores = scores.float()
            loss = framewise_cross_entropy(scores, y, targets, q)
            loss.backward()
            if config.grad_clip_norm is not None:
                nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip_norm)
            optimizer.step()
            with torch.no_grad():
                accum["loss_sum"] += float(loss) * len(y)
                accum["correct"] += float((clip_probabilities(scores).argmax(-1) == y).sum())
                accum["count"] += len(y)
            state["global_step"] += 1
            state["examples_seen"] = int(state.get("examples_seen", 0)) + len(y) * max(
                1, dist_info.world_size
            )
            state["batch"] = b + 1
            bar.update(1)
            bar.set_postfix(
                loss=f"{accum['loss_sum'] / accum['count']:.3f}",
                acc=f"{accum['correct'] / accum['count']:.3f}",
            )
            every = config.checkpoint_every_steps
            if every and state["global_step"] % every == 0 and b + 1 < len(batches):
                state["elapsed_s"] = time.perf_counter() - t_start
                if dist_info.is_main:
                    save_checkpoint(
                        out, model=model, optimizer=optimizer, scheduler=scheduler, state=state
                    )
            if stop_after_steps is not None and state["global_step"] >= stop_after_steps:
                bar.close()
                raise TrainingInterrupted(f"stopped after step {state['global_step']}")
        bar.close()

        tr_loss_sum, tr_correct, tr_count = _all_reduce(
            [accum["loss_sum"], accum["correct"], accum["count"]], dist_info, device
        )
        val_sums, val_errors = _run_validation(
            ddp_model,  # under DDP its forward broadcasts rank 0's BatchNorm buffers
            val_ds,
            val_indices,
            config.batch_size,
            device,
            config.num_workers,
            val_collate,
            targets,
            distance_deg,
            val_directions,
            config.label_sigma_deg if config.uses_direction_targets else 0.0,
        )
        v_loss_sum, v_correct, v_err_sum, v_count = _all_reduce(val_sums, dist_info, device)
        val_loss = v_loss_sum / v_count
        val_acc = v_correct / v_count
        val_err = v_err_sum / v_count
        if config.schedule == "plateau":
            scheduler.step(val_loss)
        if config.select_by == "val_error":
            improved = val_err < state.get("best_val_error_deg", math.inf)
        else:
            improved = val_loss < state["best_val_loss"]
        row = {
            "epoch": epoch + 1,
            "step": state["global_step"],
            "train_loss": tr_loss_sum / tr_count,
            "train_accuracy": tr_correct / tr_count,
            "val_loss": val_loss,
            "val_accuracy": val_acc,
            "val_mean_error_deg": val_err,
            "val_median_error_deg": float(np.median(val_errors)) if len(val_errors) else None,
            "examples_seen": int(state.get("examples_seen", 0)),
            "lr": optimizer.param_groups[0]["lr"],
            "epoch_time_s": time.perf_counter() - t_epoch,
            "is_best": improved,
        }
        state["history"].append(row)
        if improved:
            state.update(
                best_val_loss=val_loss,
                best_val_accuracy=val_acc,
                best_val_error_deg=val_err,
                best_epoch=epoch + 1,
                bad_epochs=0,
            )
        else:
            state["bad_epochs"] += 1
        state.update(
            epoch=epoch + 1, batch=0, accum={"loss_sum": 0.0, "correct": 0.0, "count": 0.0}
        )
        if state["bad_epochs"] >= config.patience:
            state["stopped_early"] = True
            state["finished"] = True
        if state["epoch"] >= config.epochs:
            state["finished"] = True
        state["elapsed_s"] = time.perf_counter() - t_start
        if dist_info.is_main:
            if improved:
                save(
                    model,
                    out / "best",
                    feature=config.feature,
                    order=config.model_order,
                    data_recipe=recipe,
                    metrics={
                        "val_loss": val_loss,
                        "val_accuracy": val_acc,
                        "val_mean_error_deg": val_err,
                        "epoch": epoch + 1,
                    },
                    # every improvement is a complete model: exportable before the run ends
                    training=_training_info(state, config, hardware, command),
                )
            _write_logs(out, state["history"])
            save_checkpoint(out, model=model, optimizer=optimizer, scheduler=scheduler, state=state)
            if config.progress:
                print(
                    f"epoch {epoch + 1}: train loss {row['train_loss']:.4f} acc "
                    f"{row['train_accuracy']:.3f} | val loss {val_loss:.4f} acc {val_acc:.3f} "
                    f"err {row['val_mean_error_deg']:.1f} deg"
                    f"{' *' if improved else ''} | lr {row['lr']:.2e} | "
                    f"{row['epoch_time_s']:.0f} s",
                    file=sys.stderr,
                    flush=True,
                )
        if on_epoch_end is not None:
            on_epoch_end(row)
        if dist_info.active:

            dist.barrier()

    train_time_s = float(state["elapsed_s"])
    # Best weights: every rank reads the file rank 0 wrote (ranks hold identical weights).
    best_path = out / "best.json"

    if dist_info.active:

        dist.barrier()
    last_model = model.cpu().to(memory_format=torch.contiguous_format).eval()  # type: ignore[call-overload]
    best_model = load_model(best_path).model if best_path.exists() else last_model
    model_path: Path | None = None
    training_info = _training_info(state, config, hardware, command)
    if dist_info.is_main:
        model_path = save(
            best_model,
            out / "model",
            feature=config.feature,
            order=config.model_order,
            data_recipe=recipe,
            training=training_info,
            metrics={
                "val_loss": state["best_val_loss"],
                "val_accuracy": state["best_val_accuracy"],
                "val_mean_error_deg": state.get("best_val_error_deg"),
            },
        )
    return TrainResult(
        model=best_model,
        model_path=model_path,
        out_dir=out,
        history=list(state["history"]),
        best_epoch=int(state["best_epoch"]),
        best_val_loss=float(state["best_val_loss"]),
        best_val_accuracy=float(state["best_val_accuracy"]),
        epochs_run=int(state["epoch"]),
        steps=int(state["global_step"]),
        stopped_early=bool(state["stopped_early"]),
        train_time_s=train_time_s,
        config=config,
        data_recipe=recipe,
        hardware=hardware,
        last_model=last_model,
    )


# ------------------------------------------------------------------------------------------
# Export of shipped models (model files + model card)
# ------------------------------------------------------------------------------------------


def _fmt_num(v: Any, digits: int = 3) -> str:
    return f"{v:.{digits}f}" if isinstance(v, float) else str(v)


def _training_stages(training: dict[str, Any]) -> list[dict[str, Any]]:
    """The chain of training stages, first stage first (``init_from`` links them)."""
    stages: list[dict[str, Any]] = []
    tr: dict[str, Any] | None = training
    while tr:
        stages.insert(0, tr)
        tr = (tr.get("initialised_from") or {}).get("training")
    return stages


def _training_stage_lines(training: dict[str, Any]) -> list[str]:
    stages = _training_stages(training)
    lines: list[str] = []
    for i, tr in enumerate(stages, start=1):
        cfg = tr.get("config") or {}
        sigma = float(cfg.get("label_sigma_deg") or 0.0)
        loss = (
            f"cross-entropy against Gaussian angular targets, sigma = {sigma:g} deg"
            if sigma > 0
            else "cross-entropy against one-hot targets (the paper)"
        )
        prefix = f"Stage {i} " if len(stages) > 1 else ""
        init = tr.get("initialised_from") or {}
        init_text = (
            f"; initialised from the stage {i - 1} model "
            f"(`{_display_command(init.get('model'))}`)"
            if init.get("training")
            else f"; initialised from the weights of `{init.get('model')}` (sha256 "
            f"`{init.get('weights_sha256')}`; that file holds no training record)"
        )
        lines += [
            f"- **{prefix}Command**: `{_display_command(tr.get('command'))}`",
            *[
                f"- **Resumed with**: `{_display_command(c)}`"
                for c in tr.get("resume_commands") or []
                if c
            ],
            f"- **{prefix}Loss**: frame-wise {loss}"
            + (init_text if init else "")
            + f"; Adam, batch {cfg.get('batch_size')}; {_recipe_text(cfg)}.",
            f"- **{prefix}Time**: {float(tr.get('train_time_s') or 0.0) / 60:.2f} min, "
            f"{tr.get('epochs_run')} epoch(s) ({tr.get('steps')} steps"
            + (f", {tr.get('examples_seen')} examples" if tr.get("examples_seen") else "")
            + f"; {(tr.get('hardware') or {}).get('torch_threads')} CPU thread(s)), best epoch "
            f"{tr.get('best_epoch')}, early stop: {tr.get('stopped_early')}.",
        ]
    if len(stages) > 1:
        total_min = sum(float(t.get("train_time_s") or 0.0) for t in stages) / 60
        lines.append(f"- **Total training time**: {total_min:.2f} min over {len(stages)} stages.")
    return lines


def _training_data_lines(recipe: dict[str, Any]) -> list[str]:
    """Card lines describing the training dataset(s) of the last stage."""
    parts = recipe.get("datasets") or [recipe]
    lines = [
        f"Simulated with `audiolrp simulate`; {len(parts)} dataset folder(s) used as one "
        f"training set ({recipe.get('n_train_used')} train / {recipe.get('n_val_used')} val "
        "examples in all). Not TIMIT as in the paper.",
        "",
    ]
    for i, part in enumerate(parts, start=1):
        corpus = (part.get("corpus") or {}).get("name", "embedded eSpeak synthetic speech")
        prefix = f"Dataset {i}: " if len(parts) > 1 else ""
        lines += [
            f"{prefix}seed {part.get('seed')}, counts {part.get('counts')}, speech corpus "
            f"`{corpus}`, stored as {part.get('dtype', 'float32')}. Scene configuration "
            "(`SceneConfig`):",
            "",
            "| field | value |",
            "|---|---|",
            *[f"| {k} | {json.dumps(v)} |" for k, v in sorted((part.get("config") or {}).items())],
            "",
        ]
    return lines


def _test_recipe_text(recipe: dict[str, Any]) -> str:
    """One phrase describing a simulated test set's scene configuration."""
    cfg = recipe.get("config") or {}
    where = "on the class grid" if cfg.get("direction_sampling", "grid") == "grid" else "off-grid"
    speech = cfg.get("speech") or "espeak"
    split_note = " (its test split: speakers never used in training)" if speech == "debian" else ""
    return (
        f"sources {where}, SNR {cfg.get('snr_db', [0.0, 30.0])} dB, RT60 "
        f"{cfg.get('rt60_s', [0.2, 0.8])} s, speech `{speech}`{split_note}"
    )


def _display_command(command: str | None) -> str:
    """A command with absolute paths shortened to their last component (cards never quote
    the folders of the machine a model was trained on)."""

    return re.sub(r"(?<![\w.-])/(?:[\w.+-]+/)+([\w.+-]+)", r"\1", str(command))


def _recipe_text(cfg: dict[str, Any]) -> str:
    """The training-step options of a stage in words (defaults of older stages: the paper)."""
    bits = []
    if cfg.get("augment"):
        bits.append(
            "exact sound-field augmentation (random rotation about the vertical axis, y/z "
            "mirrors) with targets centred on the exact direction"
        )
    elif cfg.get("direction_targets"):
        bits.append("targets centred on the exact source direction")
    crop = int(cfg.get("crop_frames") or 0)
    if crop and crop != N_FRAMES:
        bits.append(f"random {crop}-frame crops")
    sched = cfg.get("schedule") or "plateau"
    bits.append(
        f"cosine schedule from lr {cfg.get('lr')} (warm-up {cfg.get('warmup_steps')} steps)"
        if sched == "cosine"
        else f"lr {cfg.get('lr')} halved on validation plateaus"
    )
    if cfg.get("precision") and cfg.get("precision") != "fp32":
        bits.append(f"precision {cfg.get('precision')} (bf16 autocast where the CPU has it)")
    if cfg.get("select_by") == "val_error":
        bits.append("weights kept at the lowest validation angular error")
    return "; ".join(bits)


def model_card_markdown(name: str, config: dict[str, Any]) -> str:
    """Markdown model card of a saved model description (:func:`audiolrp.models.save` JSON)."""
    arch = config.get("architecture", {})
    tr = config.get("training", {}) or {}
    hw = tr.get("hardware", {}) or {}
    recipe = config.get("data_recipe", {}) or {}
    metrics = config.get("metrics", {}) or {}
    ev = config.get("evaluation", {}) or {}
    feature = config.get("feature")
    desc = (
        f"HOA order {config.get('order')} magnitude + phase ({arch.get('n_in')} channels)"
        if feature == "hoa"
        else "active + reactive intensity of the first-order signals (6 channels)"
    )
    parts = recipe.get("datasets") or [recipe]
    corpora = sorted({str((p.get("corpus") or {}).get("name")) for p in parts if p.get("corpus")})
    names = {"debian": "recorded speech (Debian corpus)", "espeak": "synthetic (eSpeak) speech"}
    speech = (
        " and ".join(names.get(c, f"speech from the `{c}` corpus") for c in corpora)
        if corpora
        else names["espeak"]
    )
    norm = config.get("normalization", {}) or {}
    identity = all(v == 0 for v in norm.get("mean", [0])) and all(
        v == 1 for v in norm.get("std", [1])
    )
    norm_text = "none (identity)" if identity else "training-set statistics (stored in the model)"
    lines = [
        f"# Model card: `{name}`",
        "",
        "DOA classification CRNN of Table 1 (Kiyan et al.; Poschadel et al. 2021): 425 direction "
        "classes, clip prediction = argmax of the mean frame softmax.",
        "",
        f"- **Input**: {desc}; STFT hop {config.get('stft', {}).get('hop_samples')} samples, "
        f"{config.get('stft', {}).get('n_frames')} frames x {config.get('stft', {}).get('n_bins')} "
        "bins at 16 kHz.",
        f"- **Architecture**: n_filters={arch.get('n_filters')}, pool_sizes="
        f"{arch.get('pool_sizes')}, lstm_hidden={arch.get('lstm_hidden')} x "
        f"{arch.get('n_lstm_layers')} BiLSTM, dense={arch.get('n_dense')}.",
        f"- **Normalisation**: {norm_text}.",
        f"- **Files**: `{name}.safetensors` (sha256 `{config.get('weights_sha256')}`), "
        f"`{name}.json` (full description).",
        "",
        "## Training data",
        "",
        *_training_data_lines(recipe),
        "## Training",
        "",
        *_training_stage_lines(tr),
        f"- **Hardware**: {hw.get('cpu')} ({hw.get('cpu_count')} CPUs, "
        f"{hw.get('torch_threads')} torch threads), device {hw.get('device')}"
        f"{', GPU ' + str(hw.get('gpu')) if hw.get('gpu') else ''}, {hw.get('processes')} "
        f"process(es), torch {hw.get('torch')}.",
        "",
        "## Test metrics",
        "",
        f"Freshly simulated test set: {ev.get('n_examples')} examples, seed {ev.get('seed')} "
        "(scene i = test split scene i of `audiolrp simulate --seed SEED`), "
        f"{_test_recipe_text(ev.get('recipe') or {})}. Reproduce with `{ev.get('command')}`.",
        "",
        "| metric | value |",
        "|---|---|",
        f"| accuracy (exact class) | {_fmt_num(metrics.get('accuracy'))} |",
        f"| accuracy within neighbour (<= {_fmt_num(metrics.get('neighbour_tolerance_deg'), 1)} "
        f"deg) | {_fmt_num(metrics.get('accuracy_within_neighbour'))} |",
    ]
    for key, label in (
        ("error_vs_true_direction_deg", "error vs true direction (deg)"),
        ("error_vs_true_class_deg", "error vs true class direction (deg)"),
        ("error_ignoring_axis_signs_deg", "error ignoring the signs of x, y, z (deg)"),
    ):
        m = metrics.get(key)
        if not m:
            continue
        lines.append(
            f"| {label}: mean / median | {_fmt_num(m.get('mean'), 2)} / "
            f"{_fmt_num(m.get('median'), 2)} |"
        )
    base = metrics.get("baseline_intensity_vector")
    if base:
        be = base["error_vs_true_direction_deg"]
        lines.append(
            f"| classic intensity-vector estimator, same clips: mean / median (deg) | "
            f"{_fmt_num(be.get('mean'), 2)} / {_fmt_num(be.get('median'), 2)} |"
        )
        lines.append(
            f"| share within 10 deg: model / classic | "
            f"{_fmt_num(base.get('model_share_within_10_deg'))} / "
            f"{_fmt_num(base.get('share_within_10_deg'))} |"
        )
    extra_sets = ev.get("extra_test_sets") or []
    if extra_sets:
        lines += [
            "",
            "Other test sets (same seed and size, one setting changed; the classic "
            "intensity-vector estimator on the same clips):",
            "",
            "| test set | exact class | model mean / median (deg) | classic mean / median (deg) "
            "| within 10 deg: model / classic | reproduce |",
            "|---|---|---|---|---|---|",
        ]
        for ex in extra_sets:
            m = ex.get("metrics") or {}
            e = m.get("error_vs_true_direction_deg") or {}
            b = m.get("baseline_intensity_vector") or {}
            bb = b.get("error_vs_true_direction_deg") or {}
            lines.append(
                f"| {ex.get('name')} | {_fmt_num(m.get('accuracy'))} | "
                f"{_fmt_num(e.get('mean'), 2)} / {_fmt_num(e.get('median'), 2)} | "
                f"{_fmt_num(bb.get('mean'), 2)} / {_fmt_num(bb.get('median'), 2)} | "
                f"{_fmt_num(b.get('model_share_within_10_deg'))} / "
                f"{_fmt_num(b.get('share_within_10_deg'))} | `{ex.get('command')}` |"
            )
    for key, unit in (("by_snr_db", "SNR (dB)"), ("by_rt60_s", "RT60 (s)")):
        rows = metrics.get(key) or []
        if rows:
            lines += [
                "",
                f"By {unit}:",
                "",
                f"| {unit} | n | accuracy | mean error (deg) |",
                "|---|---|---|---|",
            ]
            for r in rows:
                lines.append(
                    f"| {r['low']:.2f} - {r['high']:.2f} | {r['n']} | {r['accuracy']:.3f} | "
                    f"{r['mean_error_deg']:.2f} |"
                )
    lines += [
        "",
        f"![errors]({name}-errors.png)",
        "",
        "## Limitations",
        "",
        f"Trained on simulated shoebox rooms with {speech} and ideal diffuse babble; "
        "compact training budget (CPU), so accuracy is below the paper's TIMIT-trained models. "
        "Intended for reproducing the LRP analyses, not as a production DOA estimator.",
        "",
    ]
    return "\n".join(lines)


def export_model(
    model_path: str | os.PathLike[str],
    name: str,
    export_dir: str | os.PathLike[str] | None = None,
    *,
    eval_examples: int = 500,
    eval_seed: int | None = None,
    eval_recipe: dict[str, Any] | None = None,
    extra_test_sets: dict[str, dict[str, Any]] | None = None,
    batch_size: int = 16,
    progress: bool = False,
) -> dict[str, Path]:
    """Evaluate a trained model on a fresh seeded test set and write ``NAME.safetensors``,
    ``NAME.json`` (with ``metrics`` and an ``evaluation`` entry), ``NAME.md`` (model card) and
    ``NAME-errors.png`` into ``export_dir`` (default ``audiolrp/pretrained/``).

    ``audiolrp evaluate --model NAME`` then re-simulates the same test set (seed and recipe from
    the ``evaluation`` entry) and reproduces the card's metrics; the entry also stores the
    predicted class of every test clip, so tests can compare re-simulated predictions one by one.

    ``eval_recipe`` fixes the test-set recipe (default: the model's training data recipe; pass
    an earlier card's recipe to keep test sets comparable across models). ``extra_test_sets``
    maps a name to :class:`~audiolrp.simulation.scenes.SceneConfig` overrides (e.g. off-grid
    directions,
    another corpus); each is evaluated with the same seed and size and listed on the card.
    """


    if not name or not all(c.isalnum() or c in "-_." for c in name):
        raise AudioLRPError(f"export name {name!r} must be letters, digits, '-', '_' or '.'")
    out = Path(export_dir) if export_dir is not None else PRETRAINED_DIR
    out.mkdir(parents=True, exist_ok=True)
    loaded = load_model(model_path)
    seed = DEFAULT_EVAL_SEED if eval_seed is None else int(eval_seed)
    recipe = eval_recipe if eval_recipe is not None else loaded.data_recipe
    work = Path(loaded.path).parent / f"export-eval-{name}"
    result = evaluate(
        loaded,
        n_examples=eval_examples,
        seed=seed,
        recipe=recipe,
        out_dir=work,
        batch_size=batch_size,
        progress=progress,
    )
    speech = str(((recipe or {}).get("config") or {}).get("speech") or "espeak")
    evaluation: dict[str, Any] = {
        "n_examples": eval_examples,
        "seed": seed,
        "recipe": recipe,
        "command": (
            "audiolrp corpus debian && " if speech == "debian" else ""
        ) + f"audiolrp evaluate --model {name}",
        "predictions": result.predictions.pred.tolist(),
        "extra_test_sets": [],
    }
    for set_name, overrides in (extra_test_sets or {}).items():
        extra = evaluate(
            loaded,
            n_examples=eval_examples,
            seed=seed,
            recipe=recipe,
            overrides=overrides,
            batch_size=batch_size,
            plot=False,
            progress=progress,
        )
        flags = " ".join(
            ["--off-grid"] * (overrides.get("direction_sampling") == "uniform")
            + ([f"--corpus {overrides['speech']}"] if "speech" in overrides else [])
            + (
                [f"--snr-db {overrides['snr_db'][0]:g},{overrides['snr_db'][1]:g}"]
                if "snr_db" in overrides
                else []
            )
        )
        evaluation["extra_test_sets"].append(
            {
                "name": set_name,
                "overrides": overrides,
                "command": f"audiolrp evaluate --model {name} {flags}".strip(),
                "metrics": {
                    k: extra.metrics.get(k)
                    for k in (
                        "n_examples",
                        "accuracy",
                        "error_vs_true_direction_deg",
                        "baseline_intensity_vector",
                    )
                },
            }
        )
    json_path = save(
        loaded.model,
        out / name,
        feature=loaded.feature,
        order=loaded.order,
        data_recipe=loaded.data_recipe,
        metrics=result.metrics,
        training=loaded.config.get("training") or {},
        extra={"name": name, "evaluation": evaluation},
    )

    card = model_card_markdown(name, reload(json_path).config)
    atomic_write_bytes(out / f"{name}.md", card.encode("utf-8"))
    files = {"json": json_path, "weights": out / f"{name}.safetensors", "card": out / f"{name}.md"}
    if "plot" in result.files:
        png = out / f"{name}-errors.png"
        with atomic_path(png) as tmp:
            shutil.copyfile(result.files["plot"], tmp)
        files["plot"] = png
    return files


__all__ = [
    "LOG_COLUMNS",
    "angular_label_targets",
    "class_distance_deg",
    "TrainConfig",
    "TrainResult",
    "TrainingInterrupted",
    "compute_normalization_stats",
    "epoch_order",
    "export_model",
    "model_card_markdown",
    "framewise_cross_entropy",
    "hardware_description",
    "load_checkpoint",
    "open_split",
    "read_data_recipe",
    "save_checkpoint",
    "train",
]
