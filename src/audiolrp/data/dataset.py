"""Reading a dataset: features computed on the fly from the stored audio of a split
(:class:`FeatureDataset`), several folders as one (:class:`FeatureDatasets`, :func:`open_splits`)
and batches without a ``DataLoader`` (:func:`iter_batches`)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch

from audiolrp.constants import CLIP_SAMPLES
from audiolrp.data.manifest import load_manifest
from audiolrp.data.spec import PARTS
from audiolrp.errors import DatasetError
from audiolrp.signal.feature_kinds import FEATURE_KINDS
from audiolrp.signal.features import HoaStats, compute_features
from audiolrp.signal.layout import InputLayout
from audiolrp.simulation.scenes import SPLITS


class FeatureDataset(torch.utils.data.Dataset):
    """Features computed on the fly from the stored audio of one split.

    Parameters
    ----------
    root
        Dataset folder (with ``manifest.json``).
    split
        ``"train"``, ``"val"`` or ``"test"``.
    feature
        ``"hoa"`` (``2 (N+1)^2`` channels) or ``"intensity"`` (6 channels).
    order
        HOA order N <= stored order (default: stored order); ignored for intensity.
    return_meta
        ``__getitem__`` also returns :meth:`meta` of the example.
    return_audio
        ``__getitem__`` returns the audio ``(K, 16000)`` instead of features, for the batched
        path: features are then computed per batch by :meth:`collate` (torch, any device).

    Items are ``(features float32 (C, 50, 512), label int64)`` tensors.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        split: str,
        feature: str = "hoa",
        order: int | None = None,
        return_meta: bool = False,
        return_audio: bool = False,
    ) -> None:

        self.root = Path(root)
        if split not in SPLITS:
            raise DatasetError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
        kind = FEATURE_KINDS.get(feature)
        if kind is None:
            raise DatasetError(
                f"unknown feature {feature!r}; use one of {', '.join(FEATURE_KINDS)}"
            )
        self.manifest = load_manifest(self.root)
        self.split = split
        self.feature = feature
        self.stored_order = int(self.manifest["order"])
        if self.stored_order < kind.min_audio_order:
            raise DatasetError(
                f"{feature} features need order-{kind.min_audio_order} audio; simulate "
                f"order>={kind.min_audio_order}"
            )
        if kind.fixed_order is not None:
            self.order = kind.fixed_order
        else:
            self.order = self.stored_order if order is None else int(order)
            if not 0 <= self.order <= self.stored_order:
                raise DatasetError(
                    f"order {self.order} requested but {self.root} stores order "
                    f"{self.stored_order}; pass order <= {self.stored_order}"
                )
        self.return_meta = return_meta
        self.return_audio = return_audio
        self.shards = [s for s in self.manifest["shards"] if s["split"] == split]
        self.shards.sort(key=lambda s: s["index"])
        labels: list[np.ndarray] = []
        self._index: list[tuple[int, int]] = []
        for si, s in enumerate(self.shards):
            path = self.root / s["file"]
            if not path.is_file():
                raise DatasetError(
                    f"shard {path} is missing; re-run `audiolrp simulate {self.root}`"
                )
            if path.stat().st_size != s["bytes"]:
                raise DatasetError(
                    f"shard {path} has {path.stat().st_size} bytes, manifest says {s['bytes']} "
                    f"(truncated?); re-run `audiolrp simulate {self.root}`"
                )
            try:
                with h5py.File(path, "r") as f:
                    lab = f["label"][()]
            except (OSError, KeyError) as err:
                raise DatasetError(
                    f"shard {path} is unreadable ({err}); re-run `audiolrp simulate {self.root}`"
                ) from None
            labels.append(lab)
            self._index += [(si, r) for r in range(len(lab))]
        self.labels = np.concatenate(labels) if labels else np.zeros(0, np.int64)
        self._files: dict[int, Any] = {}
        self._pid = os.getpid()

    # -- internals
    def _file(self, si: int) -> Any:

        if self._pid != os.getpid():  # forked DataLoader worker: reopen handles
            self._files, self._pid = {}, os.getpid()
        f = self._files.get(si)
        if f is None:
            path = self.root / self.shards[si]["file"]
            try:
                f = h5py.File(path, "r")
            except OSError as err:
                raise DatasetError(
                    f"shard {path} is unreadable ({err}); re-run `audiolrp simulate {self.root}`"
                ) from None
            self._files[si] = f
        return f

    def __getstate__(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["_files"] = {}
        return d

    def __len__(self) -> int:
        return len(self._index)

    @property
    def layout(self) -> InputLayout:
        """The :class:`~audiolrp.signal.layout.InputLayout` of the features."""
        return InputLayout(self.feature, self.order)

    @property
    def n_channels(self) -> int:
        """Feature channels C."""
        return self.layout.n_channels

    def audio(self, i: int, part: str = "mixture", order: int | None = None) -> np.ndarray:
        """Stored audio of example ``i``, float32 ``((order+1)^2, 16000)``.

        ``order`` defaults to the dataset's order for HOA features and the stored order for
        intensity. ``part`` is ``"mixture"`` or, where stored, ``"direct"`` (also
        ``"reverberant"``/``"noise"`` with ``all_parts``).
        """
        if not -len(self) <= i < len(self):
            raise IndexError(f"index {i} out of range for {len(self)} examples")
        si, r = self._index[i]
        f = self._file(si)
        if part not in f:
            stored = [p for p in PARTS if p in f]
            raise DatasetError(
                f"part {part!r} is not stored in split {self.split!r} (stored: {stored}); "
                "simulate with --direct-splits/--all-parts to keep it"
            )
        if order is None:  # a kind of fixed order (intensity) may read the stored channels
            fixed = FEATURE_KINDS[self.feature].fixed_order is not None
            o = self.stored_order if fixed else self.order
        else:
            o = order
        if not 0 <= o <= self.stored_order:
            raise DatasetError(f"order {o} not available; stored order is {self.stored_order}")
        k = (o + 1) ** 2
        try:
            x = f[part][r, :k]
        except OSError as err:
            raise DatasetError(
                f"shard {self.shards[si]['file']} is corrupt ({err}); re-run simulate"
            ) from None
        return np.asarray(x, dtype=np.float32)

    def meta(self, i: int) -> dict[str, Any]:
        """Scene parameters of example ``i`` (label, az/el, snr_db, rt60_s, room, ...)."""
        si, r = self._index[i]
        f = self._file(si)
        key = ("_params", si)
        cache = self.__dict__.setdefault("_params_cache", {})
        if key not in cache:
            cache[key] = json.loads(bytes(f["params_json"][()]).decode("utf-8"))
        d = dict(cache[key][r])
        d["shard"] = self.shards[si]["file"]
        return d

    def features_from_audio(self, audio: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Features ``(..., C, 50, 512)`` float32 of audio ``(..., K, 16000)`` (torch)."""
        t = torch.as_tensor(audio)
        if t.is_complex():  # an STFT (e.g. of training crops, features.stft_frames)
            return compute_features(t, self.feature, self.order).float()
        if not t.is_floating_point():
            raise DatasetError("audio must be floating point")
        out = compute_features(t.float(), self.feature, self.order)
        return out.float()

    def __getitem__(self, i: int) -> Any:
        x = self.audio(i, order=self.order)  # only the channels the feature needs
        y = torch.tensor(int(self.labels[i]), dtype=torch.int64)
        item: Any
        if self.return_audio:
            item = (torch.from_numpy(x), y)
        else:
            item = (self.features_from_audio(x), y)
        if self.return_meta:
            return (*item, self.meta(i))
        return item

    def collate(
        self, batch: Sequence[Any], device: str | torch.device | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Batched feature path: stack audio items (``return_audio=True``), move them to
        ``device`` and compute the features there in one call."""
        xs = torch.stack([torch.as_tensor(b[0]) for b in batch])
        ys = torch.stack([torch.as_tensor(b[1], dtype=torch.int64) for b in batch])
        if device is not None:
            xs, ys = xs.to(device), ys.to(device)
        if xs.dim() == 3 and xs.shape[-1] == CLIP_SAMPLES:
            xs = self.features_from_audio(xs)
        return xs, ys

    def collate_fn(self, device: str | torch.device | None = None) -> Callable[..., Any]:
        """A ``DataLoader`` ``collate_fn`` bound to ``device`` (see :meth:`collate`)."""

        def fn(batch: Sequence[Any]) -> tuple[torch.Tensor, torch.Tensor]:
            return self.collate(batch, device)

        return fn

    def hoa_stats(self, order: int | None = None) -> HoaStats:
        """Train-split HOA statistics of ``order`` (default the dataset's) from the manifest."""
        o = self.order if order is None else order
        table = self.manifest["normalization"].get("hoa") or {}
        if str(o) not in table:
            raise DatasetError(
                f"manifest of {self.root} has no HOA statistics for order {o} (empty train "
                "split?); simulate a train split"
            )
        return HoaStats.from_dict(table[str(o)])

    def normalization_stats(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-channel ``(mean (C,), std (C,))`` float32 for ``InputNormalization``: HOA from
        the train split's magnitude/phase statistics, zeros/ones for intensity."""
        layout = self.layout
        return layout.normalization(self.hoa_stats() if layout.kind.uses_statistics else None)

    def close(self) -> None:
        """Close the open HDF5 files."""
        for f in self._files.values():
            f.close()
        self._files = {}


class FeatureDatasets(torch.utils.data.Dataset):
    """Several :class:`FeatureDataset` splits (e.g. one per speech corpus) used as one.

    Example ``i`` is example ``i - offset_k`` of part ``k``; every part must give the same
    feature and order. :meth:`normalization_stats` pools the parts' per-channel statistics
    exactly (count-weighted means and second moments).
    """

    def __init__(self, parts: Sequence[FeatureDataset]) -> None:
        if not parts:
            raise DatasetError("no dataset folders given: pass at least one")
        kinds = {(p.feature, p.order) for p in parts}
        if len(kinds) != 1:
            raise DatasetError(
                f"dataset folders give different features/orders {sorted(kinds)}: pass folders "
                "of the same stored order"
            )
        self.parts = list(parts)
        self.feature, self.order = parts[0].feature, parts[0].order
        self.offsets = np.cumsum([0] + [len(p) for p in parts])
        self.labels = np.concatenate([p.labels for p in parts])
        self.return_audio = False
        self.return_meta = False
        self.root = parts[0].root
        self.manifest = parts[0].manifest

    def _locate(self, i: int) -> tuple[FeatureDataset, int]:
        if not 0 <= i < len(self):
            raise IndexError(f"index {i} out of range for {len(self)} examples")
        k = int(np.searchsorted(self.offsets, i, side="right") - 1)
        return self.parts[k], int(i - self.offsets[k])

    def __len__(self) -> int:
        return int(self.offsets[-1])

    @property
    def n_channels(self) -> int:
        """Number of feature channels."""
        return self.parts[0].n_channels

    def audio(self, i: int, part: str = "mixture", order: int | None = None) -> np.ndarray:
        """Stored audio ``part`` of example ``i`` (``(K, 16000)``), up to ``order``."""
        ds, j = self._locate(i)
        return ds.audio(j, part, order)

    def meta(self, i: int) -> dict[str, Any]:
        """Scene parameters of example ``i``."""
        ds, j = self._locate(i)
        return ds.meta(j)

    def features_from_audio(self, audio: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Features of audio, as the parts compute them."""
        return self.parts[0].features_from_audio(audio)

    def __getitem__(self, i: int) -> Any:
        ds, j = self._locate(i)
        ds.return_audio, ds.return_meta = self.return_audio, self.return_meta
        return ds[j]

    def collate(
        self, batch: Sequence[Any], device: str | torch.device | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """A training batch ``(features, labels)`` from raw items."""
        return self.parts[0].collate(batch, device)

    def collate_fn(self, device: str | torch.device | None = None) -> Callable[..., Any]:
        """A ``DataLoader`` collate function computing features on ``device``."""
        def fn(batch: Sequence[Any]) -> tuple[torch.Tensor, torch.Tensor]:
            return self.collate(batch, device)

        return fn

    def normalization_stats(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-channel mean/std over all parts (weighted by their sizes)."""
        n = np.array([len(p) for p in self.parts], np.float64)
        stats = [p.normalization_stats() for p in self.parts]
        means = np.stack([m for m, _ in stats]).astype(np.float64)
        second = np.stack([s.astype(np.float64) ** 2 + m**2 for m, s in stats])
        w = (n / n.sum())[:, None]
        mean = (w * means).sum(0)
        std = np.sqrt(np.maximum((w * second).sum(0) - mean**2, 0.0))
        std[std < 1e-8] = 1.0
        return mean.astype(np.float32), std.astype(np.float32)

    def close(self) -> None:
        """Close the open HDF5 files."""
        for p in self.parts:
            p.close()


def open_splits(
    roots: Sequence[str | os.PathLike[str]], split: str, feature: str, order: int | None
) -> FeatureDataset | FeatureDatasets:
    """One split of one or several dataset folders (several: :class:`FeatureDatasets`)."""
    parts = [FeatureDataset(r, split, feature=feature, order=order) for r in roots]
    return parts[0] if len(parts) == 1 else FeatureDatasets(parts)


def iter_batches(
    dataset: FeatureDataset, indices: Iterable[int], batch_size: int,
    device: str | torch.device | None = None,
) -> Iterable[tuple[torch.Tensor, torch.Tensor]]:
    """Batches of features computed in torch from stacked audio (fast path without workers)."""
    idx = list(indices)
    for s in range(0, len(idx), batch_size):
        chunk = idx[s : s + batch_size]
        audio = torch.from_numpy(np.stack([dataset.audio(i, order=dataset.order) for i in chunk]))
        labels = torch.as_tensor(dataset.labels[chunk], dtype=torch.int64)
        if device is not None:
            audio, labels = audio.to(device), labels.to(device)
        yield dataset.features_from_audio(audio), labels


__all__ = [
    "FeatureDataset",
    "FeatureDatasets",
    "iter_batches",
    "open_splits",
]
