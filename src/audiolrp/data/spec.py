"""The dataset recipe and the names inside a dataset folder.

A dataset is a pure function of its :class:`DatasetSpec`; scene ``i`` of a split is simulated
from :func:`scene_seed`. The folder layout and shard contents are described in
:mod:`audiolrp.data`.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from audiolrp.errors import AudioLRPError, DatasetError
from audiolrp.simulation.scenes import SPLITS, SceneConfig

FORMAT_VERSION: int = 1
MANIFEST_NAME: str = "manifest.json"
SPEC_NAME: str = "dataset_spec.json"
SPLIT_CODES: dict[str, int] = {"train": 0, "val": 1, "test": 2}
#: Every audio part a shard can store, in this order.
PARTS: tuple[str, ...] = ("mixture", "direct", "reverberant", "noise")


@dataclass
class DatasetSpec:
    """Everything a dataset is a pure function of.

    Attributes
    ----------
    config
        Scene generator configuration (its ``order`` is the stored HOA order).
    seed
        Master seed.
    counts
        Examples per split, e.g. ``{"train": 1000, "val": 100, "test": 100}``.
    shard_size
        Scenes per shard file.
    dtype
        Storage dtype of the audio, ``"float32"`` (default) or ``"float16"`` (half the size;
        relative error ~5e-4 per sample, see ``docs/data.md``).
    direct_splits
        Splits whose shards also hold the direct sound (needed by the analyses).
    all_parts
        Also store ``reverberant`` and ``noise`` for the splits in ``direct_splits``.
    """

    config: SceneConfig = field(default_factory=SceneConfig)
    seed: int = 0
    counts: dict[str, int] = field(default_factory=lambda: {"train": 1000, "val": 100, "test": 100})
    shard_size: int = 256
    dtype: str = "float32"
    direct_splits: tuple[str, ...] = ("test",)
    all_parts: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.config, dict):
            self.config = SceneConfig.from_dict(self.config)
        self.counts = {s: int(self.counts.get(s, 0)) for s in SPLITS}
        if any(v < 0 for v in self.counts.values()):
            raise AudioLRPError(f"example counts {self.counts} must be >= 0")
        if self.shard_size < 1:
            raise AudioLRPError(f"shard_size={self.shard_size} must be >= 1")
        if self.dtype not in ("float32", "float16"):
            raise AudioLRPError(f"dtype={self.dtype!r}; use 'float32' or 'float16'")
        self.direct_splits = tuple(self.direct_splits)
        bad = set(self.direct_splits) - set(SPLITS)
        if bad:
            raise AudioLRPError(f"unknown splits {sorted(bad)} in direct_splits; use {SPLITS}")

    def to_dict(self) -> dict[str, Any]:
        """The spec as JSON-ready plain data (``dataset_spec.json``)."""
        return {
            "config": self.config.to_dict(),
            "seed": int(self.seed),
            "counts": dict(self.counts),
            "shard_size": int(self.shard_size),
            "dtype": self.dtype,
            "direct_splits": list(self.direct_splits),
            "all_parts": bool(self.all_parts),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DatasetSpec:
        """The spec written by :meth:`to_dict`."""
        try:
            return cls(
                config=SceneConfig.from_dict(d["config"]),
                seed=int(d["seed"]),
                counts=dict(d["counts"]),
                shard_size=int(d["shard_size"]),
                dtype=str(d.get("dtype", "float32")),
                direct_splits=tuple(d.get("direct_splits", ("test",))),
                all_parts=bool(d.get("all_parts", False)),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise DatasetError(
                f"dataset spec is incomplete ({err!r}); re-run `audiolrp simulate`"
            ) from None

    def fingerprint(self) -> str:
        """sha256 of the canonical JSON of the spec (stored in every shard)."""
        return hashlib.sha256(
            json.dumps(self.to_dict(), sort_keys=True).encode("utf-8")
        ).hexdigest()

    def shard_ids(self) -> list[tuple[str, int]]:
        """All ``(split, index)`` in canonical order (train, val, test)."""
        return [
            (s, i) for s in SPLITS for i in range(math.ceil(self.counts[s] / self.shard_size))
        ]

    def shard_range(self, split: str, index: int) -> range:
        """Example indices of shard ``index`` of ``split``."""
        lo = index * self.shard_size
        return range(lo, min(lo + self.shard_size, self.counts[split]))

    def parts(self, split: str) -> tuple[str, ...]:
        """Stored audio parts of ``split`` (the mixture; also direct/rest for test sets)."""
        if split not in self.direct_splits:
            return ("mixture",)
        return PARTS if self.all_parts else ("mixture", "direct")


def shard_name(split: str, index: int) -> str:
    """File name of a shard, e.g. ``train-00003.h5``."""
    return f"{split}-{index:05d}.h5"


def scene_seed(seed: int, split: str, index: int) -> np.random.SeedSequence:
    """Seed of scene ``index`` of ``split``: ``SeedSequence([seed, split_code, index])``."""
    return np.random.SeedSequence([int(seed), SPLIT_CODES[split], int(index)])


__all__ = [
    "FORMAT_VERSION",
    "MANIFEST_NAME",
    "PARTS",
    "SPEC_NAME",
    "SPLIT_CODES",
    "DatasetSpec",
    "scene_seed",
    "shard_name",
]
