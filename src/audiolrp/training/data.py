"""Training data: the dataset folders, each epoch's example order and the training batches.

Each epoch's order is a pure function of ``(seed, epoch)`` (a
:class:`~torch.utils.data.DistributedSampler` re-seeded per epoch, sharded across DDP ranks),
and every random draw of a batch (time crops, sound-field augmentation) comes from
:func:`batch_rng` ``(seed, epoch, batch)``, so a resumed run sees exactly the batches of an
uninterrupted one.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from torch.utils.data import Dataset, DistributedSampler, Subset

from audiolrp.constants import N_FRAMES
from audiolrp.data.datasets import open_splits
from audiolrp.data.manifest import MANIFEST_NAME, load_manifest
from audiolrp.errors import AudioLRPError, DatasetError
from audiolrp.models import n_input_channels
from audiolrp.signal.ambisonics import nearest_class
from audiolrp.signal.augmentation import (
    apply_field_transforms,
    direction_targets,
    random_field_transforms,
)
from audiolrp.signal.features import stft_frames
from audiolrp.training.config import TrainConfig

Collate = Callable[[Sequence[Any]], tuple[torch.Tensor, torch.Tensor]]
"""A ``collate_fn``: dataset items -> ``(features (B, C, T, F), labels (B,))``."""


def collate_features(items: Sequence[Any]) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack ``(features, label, ...)`` items into ``(B, C, T, F)`` float32 and ``(B,)`` int64."""
    xs = [torch.as_tensor(np.asarray(it[0]), dtype=torch.float32) for it in items]
    ys = [int(it[1]) for it in items]
    return torch.stack(xs), torch.tensor(ys, dtype=torch.int64)


def base_dataset(dataset: Dataset) -> Dataset:
    """The dataset under any (nested) :class:`~torch.utils.data.Subset`."""
    while isinstance(dataset, Subset):
        dataset = dataset.dataset
    return dataset


def batched_feature_path(
    dataset: Dataset, device: torch.device, num_workers: int
) -> tuple[Collate, bool]:
    """``(collate_fn, on_device)``: for a ``FeatureDataset`` items are raw audio and features
    are computed per batch in torch (on ``device`` when there are no workers); other datasets
    yield features and use :func:`collate_features`."""
    base: Any = base_dataset(dataset)  # duck-typed FeatureDataset
    if hasattr(base, "return_audio") and callable(getattr(base, "collate_fn", None)):
        base.return_audio = True
        base.return_meta = False
        on_device = num_workers == 0
        return base.collate_fn(device if on_device else None), on_device
    return collate_features, False


def n_feature_channels(dataset: Dataset) -> int:
    """Feature channels C of the dataset's items."""
    base = base_dataset(dataset)
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

    return open_splits(roots, split, config.feature, config.model_order)


def read_data_recipe(data_root: str | os.PathLike[str] | None) -> dict[str, Any]:
    """The data recipe (``config`` and ``seed`` of ``manifest.json``) of a dataset folder."""
    if data_root is None:
        return {}
    roots = data_roots(data_root)
    if len(roots) > 1:
        parts = [read_data_recipe(r) for r in roots]
        return {"datasets": parts, "dataset": ",".join(str(p.get("dataset")) for p in parts)}
    if not (Path(data_root) / MANIFEST_NAME).exists():
        return {}
    manifest = load_manifest(data_root)
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


def open_training_data(
    data_root: str | os.PathLike[str] | None,
    config: TrainConfig,
    train_dataset: Dataset | None = None,
    val_dataset: Dataset | None = None,
    data_recipe: dict[str, Any] | None = None,
) -> tuple[Dataset, Dataset, dict[str, Any]]:
    """The training and validation sets of a run and the data recipe stored with its model.

    Given datasets override the folder's splits; ``config.max_train_examples`` /
    ``max_val_examples`` keep only the first examples. The recipe (default: from
    ``manifest.json``) gets the numbers of examples used (``n_train_used``, ``n_val_used``).

    Raises
    ------
    AudioLRPError
        Neither a folder nor both datasets are given, or a split is empty.
    """
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
    return train_ds, val_ds, {**recipe, "n_train_used": n_train, "n_val_used": n_val}


def check_feature_channels(dataset: Dataset, config: TrainConfig) -> None:
    """Raise :class:`DatasetError` unless the dataset's features fit ``config``'s model."""
    n_in = n_input_channels(config.feature, config.order)
    n_data = n_feature_channels(dataset)
    if n_data != n_in:
        raise DatasetError(
            f"training features have {n_data} channels but feature={config.feature!r} "
            f"order={config.order} needs {n_in}: pass the matching --feature/--order"
        )


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


def normalization_stats(dataset: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean/std for the model's input normalisation: the dataset's own
    ``normalization_stats()`` (manifest statistics) or :func:`compute_normalization_stats`."""
    getter = getattr(base_dataset(dataset), "normalization_stats", None)
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


def split_batches(order: list[int], batch_size: int) -> list[list[int]]:
    """Consecutive batches of ``batch_size`` indices (the last one may be shorter)."""
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def base_indices(dataset: Dataset, indices: Sequence[int]) -> list[int]:
    """Indices into the base dataset of ``indices`` of a (nested) ``Subset``."""
    idx = list(indices)
    while isinstance(dataset, Subset):
        idx = [int(dataset.indices[i]) for i in idx]
        dataset = dataset.dataset
    return idx


def dataset_directions(dataset: Dataset) -> np.ndarray | None:
    """``(n, 2)`` float64 [azimuth_rad, elevation_rad] of every example's exact source
    direction, from the stored scene parameters (``None`` if the dataset stores none)."""
    base = base_dataset(dataset)
    meta = getattr(base, "meta", None)
    if not callable(meta):
        return None
    idx = base_indices(dataset, range(len(dataset)))  # type: ignore[arg-type]
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
        base: Any = base_dataset(dataset)
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
        self.audio_order = int(base.order)  # the order the features read (intensity: 1)

    def __call__(
        self, indices: Sequence[int], epoch: int, batch: int
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Batch ``batch`` of ``epoch`` (training-set ``indices``): features, labels (nearest
        class of the moved direction) and soft targets around the moved direction."""
        rng = batch_rng(self.config.seed, epoch, batch)
        idx = list(indices)
        base_idx = base_indices(self.dataset, idx)
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
